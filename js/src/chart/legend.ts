// The chart's legend: grouped by run (newest first), each series with its line style and
// its value, at the cursor's x while the cursor is over a plot, else the latest.

import { formatNumber, h } from "../widget";
import { nearest } from "./columns";
import { GAP, Run } from "./runs";
import { ChartStore } from "./store";

export interface LegendStyle {
  colour(run: Run, name: string): string;
  /** CSS border style of a series' swatch (its dash). */
  dash(name: string): string;
  /** Opacity of a previous run's swatches. */
  faded: number;
}

export class Legend {
  readonly el = h("div", "sse-legend");
  private readonly store: ChartStore;
  private items: { el: HTMLElement; run: Run; name: string }[] = [];
  private x: HTMLElement | null = null;
  private note: HTMLElement | null = null;
  /** Exact points of each run for the hover values, copied once per data version. */
  private exact = new Map<Run, { xs: Float64Array; ys: Map<string, Float64Array | null> }>();
  private exactVersion = -1;

  constructor(store: ChartStore) {
    this.store = store;
  }

  build(style: LegendStyle): void {
    const store = this.store;
    this.el.replaceChildren();
    this.items = [];
    this.x = h("span", "sse-legend-x");
    this.el.append(this.x);
    const grouped = store.runs.length > 1;
    for (const run of [...store.runs].reverse()) {
      const group = h("span", "sse-legend-run");
      group.dataset.run = run.label;
      if (run.faded) group.dataset.faded = "true";
      if (grouped) {
        const head = h("span", "sse-legend-run-name", run.faded ? `${run.label} (previous)` : run.label);
        if (store.byRun) head.style.color = style.colour(run, "");
        group.append(head);
      }
      for (const name of store.names) {
        if (!run.ys.has(name)) continue;
        const item = h("span", "sse-legend-item");
        item.dataset.series = name;
        item.dataset.run = run.label;
        const swatch = h("span", "sse-swatch");
        swatch.style.borderTopColor = style.colour(run, name);
        swatch.style.borderTopStyle = style.dash(name);
        if (run.faded) swatch.style.opacity = String(style.faded);
        const value = h("span", "sse-legend-value");
        value.dataset.series = name;
        value.dataset.run = run.label;
        item.append(swatch, h("span", "sse-legend-name", name), value);
        group.append(item);
        this.items.push({ el: value, run, name });
      }
      this.el.append(group);
    }
    this.note = h("span", "sse-legend-note");
    this.el.append(this.note);
  }

  /** Show the values at `x` (NaN: the latest), `xText` as the cursor's position, and notes. */
  update(x: number, xText: string, notes: string[]): void {
    const hovering = Number.isFinite(x);
    if (this.x) {
      if (this.x.textContent !== xText) this.x.textContent = xText;
      this.x.dataset.x = hovering ? String(x) : "";
    }
    for (const item of this.items) {
      const y = hovering ? this.valueAt(item.run, item.name, x) : item.run.latest.get(item.name) ?? NaN;
      const text = y === GAP ? "gap" : formatNumber(y);
      if (item.el.textContent !== text) item.el.textContent = text;
      item.el.dataset.value = Number.isFinite(y) ? String(y) : "";
    }
    if (this.note) {
      const text = notes.join("; ");
      if (this.note.textContent !== text) this.note.textContent = text;
    }
  }

  private valueAt(run: Run, name: string, x: number): number {
    if (this.exactVersion !== this.store.version) {
      this.exact = new Map();
      this.exactVersion = this.store.version;
    }
    let held = this.exact.get(run);
    if (!held) {
      held = { xs: Float64Array.from(run.linearX()), ys: new Map() };
      this.exact.set(run, held);
    }
    let ys = held.ys.get(name);
    if (ys === undefined) {
      const linear = run.linear(name);
      ys = linear ? Float64Array.from(linear) : null;
      held.ys.set(name, ys);
    }
    if (!ys) return NaN;
    const i = nearest(held.xs, ys, x);
    return i >= 0 ? ys[i] : NaN;
  }
}

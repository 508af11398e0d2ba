// LiveChart: metric events drawn with uPlot from typed-array ring buffers.
//
// Every `metric` event appends one x and one value per series to a fixed-size ring
// (`window` points). At most once per animation frame the ring is copied, in order, into
// linear scratch arrays and handed to uPlot, which draws min/max per pixel column when
// points outnumber pixels, so 100,000 points in view cost a few milliseconds a frame.

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { Envelope } from "./stream";
import { Model, StreamStore, defineWidget, formatNumber, frame, h } from "./widget";

const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
];
const MAX_AUTO_SERIES = 16;

export class ChartStore extends StreamStore {
  readonly kind = "chart";
  capacity = 0;
  names: string[] = [];
  /** Series named by the widget (`series` trait); empty means "every value seen". */
  fixed = false;
  xs = new Float64Array(0);
  ys: Float64Array[] = [];
  latest: number[] = [];
  head = 0;
  count = 0;
  /** Bumped on every change of data; views redraw when theirs is behind. */
  version = 0;
  /** Bumped when the set of series changes; views rebuild the plot. */
  layout = 0;
  /** x from event time (seconds since the epoch) rather than from `data.x`. */
  timeAxis: boolean | null = null;
  /** The newest x taken; an older one means a new run (see add). */
  private lastX = -Infinity;
  private scratchX = new Float64Array(0);
  private scratchY: Float64Array[] = [];

  constructor(model: Model) {
    super(model);
    this.configure();
    model.on("change:series", () => this.configure());
    model.on("change:window", () => this.configure());
  }

  /** (Re)build the rings from the traits, keeping the points already held. */
  private configure(): void {
    const wanted = (this.model.get("series") as string[] | null) ?? [];
    const capacity = Math.max(2, Math.floor(Number(this.model.get("window")) || 10000));
    const names = wanted.length ? [...wanted] : [...this.names];
    const old = { names: this.names, ys: this.ys, xs: this.xs, head: this.head, count: this.count, cap: this.capacity };
    this.fixed = wanted.length > 0;
    this.allocate(names, capacity);
    const keep = Math.min(old.count, capacity);
    for (let k = old.count - keep; k < old.count; k++) {
      const from = (old.head - old.count + k + old.cap) % Math.max(old.cap, 1);
      const to = this.head;
      this.xs[to] = old.xs[from];
      this.names.forEach((name, s) => {
        const o = old.names.indexOf(name);
        this.ys[s][to] = o >= 0 ? old.ys[o][from] : NaN;
      });
      this.head = (this.head + 1) % this.capacity;
      this.count += 1;
    }
    this.layout += 1;
    this.version += 1;
    this.invalidate();
  }

  private allocate(names: string[], capacity: number): void {
    this.capacity = capacity;
    this.names = names;
    this.xs = new Float64Array(capacity);
    this.ys = names.map(() => new Float64Array(capacity).fill(NaN));
    this.latest = names.map(() => NaN);
    this.scratchX = new Float64Array(capacity);
    this.scratchY = names.map(() => new Float64Array(capacity));
    this.head = 0;
    this.count = 0;
  }

  private addSeries(name: string): number {
    const ring = new Float64Array(this.capacity).fill(NaN);
    this.names = [...this.names, name];
    this.ys = [...this.ys, ring];
    this.latest = [...this.latest, NaN];
    this.scratchY = [...this.scratchY, new Float64Array(this.capacity)];
    this.layout += 1;
    return this.names.length - 1;
  }

  protected take(event: Envelope): void {
    if (event.type !== "metric" || event.data === null || typeof event.data !== "object") return;
    const data = event.data;
    let values = data.values;
    if (values === null || typeof values !== "object") {
      // Lenient: a flat `{"x": 3, "loss": 0.2}` is read as values too.
      values = {};
      for (const [k, v] of Object.entries(data)) if (k !== "x" && typeof v === "number") values[k] = v;
    }
    const hasX = typeof data.x === "number" && Number.isFinite(data.x);
    if (this.timeAxis === null) {
      this.timeAxis = !hasX;
      this.layout += 1;
    }
    const x = hasX && !this.timeAxis ? data.x : event.ts;
    if (!this.fixed) {
      for (const name of Object.keys(values)) {
        if (!this.names.includes(name) && this.names.length < MAX_AUTO_SERIES && typeof values[name] === "number") {
          this.addSeries(name);
        }
      }
    }
    if (this.count > 0 && x < this.lastX) {
      // x went back: a new run restarted its step count on this channel. uPlot needs x
      // in order, so the chart starts over with the new run rather than draw a tangle.
      this.head = 0;
      this.count = 0;
      this.latest = this.names.map(() => NaN);
    }
    this.lastX = x;
    const i = this.head;
    this.xs[i] = x;
    for (let s = 0; s < this.names.length; s++) {
      const v = values[this.names[s]];
      const y = typeof v === "number" ? v : NaN;
      this.ys[s][i] = y;
      if (!Number.isNaN(y)) this.latest[s] = y;
    }
    this.head = (i + 1) % this.capacity;
    if (this.count < this.capacity) this.count += 1;
    this.version += 1;
  }

  protected clear(): void {
    this.head = 0;
    this.count = 0;
    this.latest = this.names.map(() => NaN);
    this.timeAxis = null;
    this.layout += 1;
    this.version += 1;
  }

  /** The ring in order, as views over scratch arrays: `[x, ...series]` for uPlot. */
  linear(): (Float64Array | (number | null)[])[] {
    const n = this.count;
    const start = (this.head - n + this.capacity) % this.capacity;
    const copy = (ring: Float64Array, out: Float64Array) => {
      const first = Math.min(n, this.capacity - start);
      out.set(ring.subarray(start, start + first), 0);
      if (first < n) out.set(ring.subarray(0, n - first), first);
      return out.subarray(0, n);
    };
    return [copy(this.xs, this.scratchX), ...this.ys.map((ring, s) => withGaps(copy(ring, this.scratchY[s])))];
  }

  /** Test hook: the points held, oldest first (the last `limit` of them). */
  snapshot(limit = 1000): { title: string; count: number; x: number[]; series: Record<string, number[]> } {
    const data = this.linear();
    const from = Math.max(0, this.count - limit);
    const series: Record<string, number[]> = {};
    const numbers = (values: Float64Array | (number | null)[]): number[] =>
      Array.from(values.slice(from) as ArrayLike<number | null>, (v) => (v === null ? NaN : v));
    this.names.forEach((name, s) => (series[name] = numbers(data[s + 1])));
    return { title: String(this.model.get("title") ?? ""), count: this.count, x: numbers(data[0]), series };
  }
}

/**
 * uPlot marks a gap with null and takes NaN for a number, which turns the y range (and
 * every path) into NaN: a series that is sparse (a validation loss logged once an epoch,
 * on a channel whose other series come every step) would blank the whole chart. Dense
 * series stay typed arrays; a series with gaps is handed over as an array with nulls.
 */
function withGaps(values: Float64Array): Float64Array | (number | null)[] {
  let gap = -1;
  for (let i = 0; i < values.length; i++) {
    if (values[i] !== values[i]) {
      gap = i;
      break;
    }
  }
  if (gap < 0) return values;
  const out: (number | null)[] = new Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] !== values[i] ? null : values[i];
  return out;
}

function cssVar(el: HTMLElement, name: string, fallback: string): string {
  const value = getComputedStyle(el).getPropertyValue(name).trim();
  return value || fallback;
}

function renderChart(store: ChartStore, el: HTMLElement, model: Model) {
  const f = frame(el, store, "chart");
  const legend = h("div", "sse-legend");
  const plotBox = h("div", "sse-plot");
  const empty = h("div", "sse-empty");
  f.body.append(legend, plotBox, empty);
  let plot: uPlot | null = null;
  let drawnVersion = -1;
  let drawnLayout = -1;
  let legendValues: HTMLElement[] = [];

  const height = () => Math.max(80, Number(model.get("height")) || 240);
  const width = () => Math.max(120, plotBox.clientWidth || f.root.clientWidth || 600);

  const build = () => {
    plot?.destroy();
    plot = null;
    legend.replaceChildren();
    legendValues = [];
    store.names.forEach((name, s) => {
      const item = h("span", "sse-legend-item");
      const swatch = h("span", "sse-swatch");
      swatch.style.background = PALETTE[s % PALETTE.length];
      const value = h("span", "sse-legend-value");
      value.dataset.series = name;
      item.append(swatch, h("span", "sse-legend-name", name), value);
      legend.append(item);
      legendValues.push(value);
    });
    if (store.count === 0) return;
    const axisColor = cssVar(f.root, "--jp-ui-font-color2", "#666");
    const gridColor = cssVar(f.root, "--jp-border-color2", "rgba(128,128,128,0.2)");
    const axis = { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor, width: 1 } };
    const opts: uPlot.Options = {
      width: width(),
      height: height(),
      pxAlign: 0,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: store.timeAxis === true } },
      axes: [axis, axis],
      series: [
        {},
        ...store.names.map((name, s) => ({
          label: name,
          stroke: PALETTE[s % PALETTE.length],
          width: 1.5,
          points: { show: false },
          spanGaps: true,
        })),
      ],
    };
    plot = new uPlot(opts, store.linear() as unknown as uPlot.AlignedData, plotBox);
  };

  const draw = () => {
    f.update();
    empty.textContent = store.count === 0 ? `waiting for metrics on ${store.channels.join(", ")}` : "";
    empty.style.display = store.count === 0 ? "" : "none";
    if (store.layout !== drawnLayout || (plot === null && store.count > 0)) {
      drawnLayout = store.layout;
      drawnVersion = store.version;
      build();
    } else if (store.version !== drawnVersion && plot !== null) {
      drawnVersion = store.version;
      plot.setData(store.linear() as unknown as uPlot.AlignedData, true);
    }
    legendValues.forEach((el, s) => {
      const text = formatNumber(store.latest[s]);
      if (el.textContent !== text) el.textContent = text;
    });
  };

  const resize = new ResizeObserver(() => {
    if (plot !== null) {
      const w = width();
      if (w !== plot.width) plot.setSize({ width: w, height: height() });
    }
  });
  resize.observe(plotBox);
  const onHeight = () => plot?.setSize({ width: width(), height: height() });
  model.on("change:height", onHeight);
  const onTitle = () => f.update();
  model.on("change:title", onTitle);
  const removeView = store.addView(draw);
  return () => {
    removeView();
    resize.disconnect();
    model.off("change:height", onHeight);
    model.off("change:title", onTitle);
    plot?.destroy();
  };
}

export default defineWidget((model) => new ChartStore(model), renderChart);

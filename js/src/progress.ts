// ProgressBoard / ProgressBar: one bar per task from `progress` events.
//
// Rate and ETA are derived here from `n` and the hub's `ts` over a sliding window of
// recent samples, so publishers send only counts. Elapsed time for running tasks ticks
// on the browser clock from the moment the last event arrived, which keeps it free of
// clock skew between the browser and the server.

import "./style.css";
import { requestStop } from "./cancel";
import { Envelope } from "./stream";
import { Model, StreamStore, defineWidget, formatDuration, formatNumber, frame, h } from "./widget";

const RATE_WINDOW_S = 10;
const FINISHED = new Set(["done", "failed", "cancelled"]);

export interface Task {
  key: string;
  task: string;
  channel: string;
  label: string;
  n: number;
  total: number | null;
  unit: string;
  status: string;
  parent: string | null;
  message: string;
  firstTs: number;
  lastTs: number;
  receivedAt: number;
  samples: Array<[number, number]>;
  order: number;
  cancellable: boolean;
}

export class ProgressStore extends StreamStore {
  readonly kind = "progress";
  tasks = new Map<string, Task>();
  version = 0;
  /** Tasks whose Stop was clicked (shared by every view of the model): clicked once. */
  stopping = new Set<string>();
  /** Why a Stop request was refused, by task key. */
  stopErrors = new Map<string, string>();
  private order = 0;

  /** Ask the hub to stop a task; a second click while it stops does nothing. */
  stop(key: string): void {
    const t = this.tasks.get(key);
    if (!t || this.stopping.has(key) || FINISHED.has(t.status)) return;
    this.stopping.add(key);
    this.stopErrors.delete(key);
    this.invalidate();
    void requestStop(this.baseUrl, String(this.model.get("ticket") ?? ""), t.channel, t.task).then((result) => {
      if (!result.ok) {
        this.stopping.delete(key);
        this.stopErrors.set(key, `Stop refused (${result.status}): ${result.message}`);
      }
      this.invalidate();
    });
  }

  protected take(event: Envelope): void {
    if (event.type !== "progress" || !event.data || typeof event.data !== "object") return;
    const d = event.data;
    const id = d.task === undefined || d.task === null ? "" : String(d.task);
    const only = this.model.get("task");
    if (only && id !== only && String(d.parent ?? "") !== only) return;
    // Tasks are keyed per channel: two jobs may both call their task "epoch".
    const key = `${event.channel}\u0000${id}`;
    let t = this.tasks.get(key);
    if (!t) {
      t = {
        key, task: id, channel: event.channel, label: id, n: 0, total: null, unit: "it",
        status: "running", parent: null, message: "", firstTs: event.ts, lastTs: event.ts,
        receivedAt: performance.now(), samples: [], order: this.order++, cancellable: true,
      };
      this.tasks.set(key, t);
    }
    if (typeof d.label === "string" && d.label) t.label = d.label;
    if (typeof d.n === "number" && Number.isFinite(d.n)) t.n = d.n;
    if (typeof d.total === "number" && Number.isFinite(d.total)) t.total = d.total;
    else if (d.total === null) t.total = null;
    if (typeof d.unit === "string" && d.unit) t.unit = d.unit;
    if (typeof d.status === "string" && d.status) t.status = d.status;
    if (d.parent !== undefined) t.parent = d.parent === null ? null : String(d.parent);
    if (typeof d.message === "string") t.message = d.message;
    t.cancellable = d.cancellable !== false;
    t.lastTs = event.ts;
    t.receivedAt = performance.now();
    t.samples.push([event.ts, t.n]);
    while (t.samples.length > 2 && event.ts - t.samples[0][0] > RATE_WINDOW_S) t.samples.shift();
    this.version += 1;
  }

  protected clear(): void {
    this.tasks.clear();
    this.version += 1;
  }

  /** Items per second over the recent window, or NaN. */
  rate(t: Task): number {
    if (t.samples.length < 2) return NaN;
    const [t0, n0] = t.samples[0];
    const [t1, n1] = t.samples[t.samples.length - 1];
    return t1 > t0 ? (n1 - n0) / (t1 - t0) : NaN;
  }

  elapsed(t: Task): number {
    const base = t.lastTs - t.firstTs;
    return FINISHED.has(t.status) ? base : base + (performance.now() - t.receivedAt) / 1000;
  }

  /** Tasks in display order: each parent followed by its children, with their depth. */
  ordered(): Array<{ task: Task; depth: number; children: number }> {
    const byParent = new Map<string, Task[]>();
    const roots: Task[] = [];
    for (const t of this.tasks.values()) {
      const parentKey = t.parent === null ? null : `${t.channel}\u0000${t.parent}`;
      if (parentKey !== null && this.tasks.has(parentKey) && parentKey !== t.key) {
        const list = byParent.get(parentKey) ?? [];
        list.push(t);
        byParent.set(parentKey, list);
      } else {
        roots.push(t);
      }
    }
    const out: Array<{ task: Task; depth: number; children: number }> = [];
    const seen = new Set<string>();
    const visit = (t: Task, depth: number) => {
      if (seen.has(t.key)) return;
      seen.add(t.key);
      const children = (byParent.get(t.key) ?? []).sort((a, b) => a.order - b.order);
      out.push({ task: t, depth, children: children.length });
      for (const c of children) visit(c, depth + 1);
    };
    for (const r of roots.sort((a, b) => a.order - b.order)) visit(r, 0);
    return out;
  }

  snapshot() {
    return this.ordered().map(({ task, depth }) => ({
      task: task.task, channel: task.channel, label: task.label, n: task.n, total: task.total,
      status: task.status, parent: task.parent, depth,
    }));
  }
}

interface Row {
  root: HTMLElement;
  toggle: HTMLButtonElement;
  label: HTMLElement;
  fill: HTMLElement;
  percent: HTMLElement;
  counts: HTMLElement;
  timing: HTMLElement;
  status: HTMLElement;
  message: HTMLElement;
  stop: HTMLButtonElement;
}

function makeRow(onToggle: () => void, onStop: () => void): Row {
  const root = h("div", "sse-task");
  const top = h("div", "sse-task-top");
  const toggle = h("button", "sse-toggle");
  toggle.type = "button";
  toggle.addEventListener("click", onToggle);
  const label = h("span", "sse-task-label");
  const percent = h("span", "sse-task-percent");
  const status = h("span", "sse-task-status");
  const stop = h("button", "sse-stop");
  stop.type = "button";
  stop.addEventListener("click", onStop);
  top.append(toggle, label, percent, status, stop);
  const bar = h("div", "sse-bar");
  const fill = h("div", "sse-bar-fill");
  bar.append(fill);
  const meta = h("div", "sse-task-meta");
  const counts = h("span", "sse-task-counts");
  const timing = h("span", "sse-task-timing");
  const message = h("span", "sse-task-message");
  meta.append(counts, timing, message);
  root.append(top, bar, meta);
  return { root, toggle, label, fill, percent, counts, timing, status, message, stop };
}

function set(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

// Without a hub (transport "comm") the click could only travel over the comm, which waits
// behind the running cell: the button stays, disabled, and says so.
const NO_HUB_STOP =
  "Stop needs the sse-widgets server extension: without it the click would reach the kernel " +
  "only after the running cell ends. Use the notebook's interrupt (■) instead.";

function drawStop(button: HTMLButtonElement, t: Task, store: ProgressStore, model: Model): void {
  const show = Boolean(model.get("cancel")) && t.cancellable && !FINISHED.has(t.status);
  button.style.display = show ? "" : "none";
  if (!show) return;
  const stopping = store.stopping.has(t.key);
  const noHub = store.transport === "comm"; // the kernel's choice, or this page's fallback
  set(button, stopping ? "Stopping…" : "Stop");
  button.disabled = stopping || noHub;
  button.setAttribute("aria-label", `Stop ${t.label}`);
  button.title = noHub ? NO_HUB_STOP : stopping ? "asked to stop; waiting for the task to end" : `Stop ${t.label}`;
}

function renderBoard(store: ProgressStore, el: HTMLElement, model: Model) {
  const f = frame(el, store, "progress");
  const controls = h("div", "sse-progress-controls");
  const hideFinished = h("button", "sse-link");
  hideFinished.type = "button";
  const list = h("div", "sse-tasks");
  const empty = h("div", "sse-empty");
  controls.append(hideFinished);
  f.body.append(controls, list, empty);
  const rows = new Map<string, Row>();
  const collapsed = new Set<string>();
  const expanded = new Set<string>();
  let hide = Boolean(model.get("collapse_finished"));
  hideFinished.addEventListener("click", () => {
    hide = !hide;
    draw();
  });

  const draw = () => {
    f.update();
    const items = store.ordered();
    const finished = items.filter((i) => FINISHED.has(i.task.status) && i.depth === 0).length;
    hideFinished.textContent = hide ? `show finished (${finished})` : `hide finished (${finished})`;
    controls.style.display = finished > 0 && !model.get("task") ? "" : "none";
    empty.textContent = items.length === 0 ? `waiting for progress on ${store.channels.join(", ")}` : "";
    empty.style.display = items.length === 0 ? "" : "none";
    const hiddenUnder = new Set<string>();
    const keep = new Set<string>();
    const order: HTMLElement[] = [];
    for (const { task: t, depth, children } of items) {
      const parentKey = t.parent === null ? null : `${t.channel}\u0000${t.parent}`;
      const done = FINISHED.has(t.status);
      if (parentKey !== null && hiddenUnder.has(parentKey)) {
        hiddenUnder.add(t.key);
        continue;
      }
      if (hide && depth === 0 && done) {
        hiddenUnder.add(t.key);
        continue;
      }
      // Finished parents fold their children away unless the user opened them.
      const folded = children > 0 && (collapsed.has(t.key) || (done && !expanded.has(t.key)));
      if (folded) hiddenUnder.add(t.key);
      let row = rows.get(t.key);
      if (!row) {
        const key = t.key;
        row = makeRow(() => {
          const isDone = FINISHED.has(store.tasks.get(key)?.status ?? "");
          const open = !(collapsed.has(key) || (isDone && !expanded.has(key)));
          if (open) {
            collapsed.add(key);
            expanded.delete(key);
          } else {
            collapsed.delete(key);
            expanded.add(key);
          }
          draw();
        }, () => store.stop(key));
        rows.set(t.key, row);
      }
      keep.add(t.key);
      order.push(row.root);
      row.root.dataset.status = t.status;
      row.root.dataset.task = t.task;
      row.root.style.paddingLeft = `${depth * 18}px`;
      row.toggle.style.visibility = children > 0 ? "visible" : "hidden";
      set(row.toggle, folded ? "▸" : "▾");
      set(row.label, t.label);
      const pct = t.total && t.total > 0 ? Math.max(0, Math.min(100, (100 * t.n) / t.total)) : null;
      set(row.percent, pct === null ? "" : `${Math.floor(pct)}%`);
      row.fill.style.width = pct === null ? (done ? "100%" : "0%") : `${pct}%`;
      row.fill.classList.toggle("sse-indeterminate", pct === null && !done);
      set(row.status, t.status);
      set(row.counts, `${formatNumber(t.n)}${t.total !== null ? "/" + formatNumber(t.total) : ""} ${t.unit}`);
      const rate = store.rate(t);
      const parts = [`elapsed ${formatDuration(store.elapsed(t))}`];
      if (Number.isFinite(rate) && rate > 0) {
        parts.push(`${formatNumber(Number(rate.toPrecision(3)))} ${t.unit}/s`);
        if (!done && t.total !== null && t.total > t.n) parts.push(`ETA ${formatDuration((t.total - t.n) / rate)}`);
      }
      set(row.timing, parts.join(" · "));
      set(row.message, store.stopErrors.get(t.key) ?? t.message);
      drawStop(row.stop, t, store, model);
    }
    for (const [key, row] of rows) {
      if (!keep.has(key)) {
        row.root.remove();
        if (!store.tasks.has(key)) rows.delete(key);
      }
    }
    // Reorder only when needed: moving nodes restarts CSS transitions.
    order.forEach((node, i) => {
      if (list.children[i] !== node) list.insertBefore(node, list.children[i] ?? null);
    });
  };

  // Elapsed time and ETA move without events; a slow tick is enough for them.
  const tick = setInterval(() => {
    for (const t of store.tasks.values()) if (!FINISHED.has(t.status)) return store.invalidate();
  }, 1000);
  const removeView = store.addView(draw);
  return () => {
    clearInterval(tick);
    removeView();
  };
}

export default defineWidget((model) => new ProgressStore(model), renderBoard);

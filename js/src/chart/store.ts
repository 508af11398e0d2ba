// The chart's data: runs of points, filled from `metric` events.
//
// A chart that follows a pattern or several channels draws each channel as a run (one
// colour per run). On any channel, x going back (a new run restarting its step count)
// starts a new run and keeps the previous one, faded, instead of erasing it (the last
// three). `max_runs` bounds the runs held: the oldest started is dropped first.

import { Envelope } from "../stream";
import { Model, StreamStore } from "../widget";
import { ABSENT, GAP, Run } from "./runs";

const MAX_AUTO_SERIES = 16;
/** Previous runs of one channel kept (faded) beside its current run. */
export const KEEP_PREVIOUS = 3;
/** Channels whose run was dropped by `max_runs`, remembered so they do not come straight back. */
const MAX_RETIRED = 1000;

export type XAxis = "step" | "time" | "elapsed";

export class ChartStore extends StreamStore {
  readonly kind = "chart";
  window = 10000;
  maxRuns = 10;
  names: string[] = [];
  /** Series named by the widget (`series` trait); false means "every value seen". */
  fixed = false;
  /** Oldest started first. */
  runs: Run[] = [];
  /** Bumped on every change of data; views redraw when theirs is behind. */
  version = 0;
  /** Bumped when runs or series come or go; views rebuild their plots. */
  layout = 0;
  /** The x axis in use; "auto" is decided by the first event (its `x`, or the event time). */
  axis: XAxis | null = null;
  private current = new Map<string, Run>();
  private order = 0;
  private retired = new Map<string, number>();
  private values = new Float64Array(0);

  constructor(model: Model) {
    super(model);
    this.configure();
    model.on("change:series", () => this.configure());
    model.on("change:window", () => this.configure());
    model.on("change:max_runs", () => this.configure());
    model.on("change:x_axis", () => this.clear());
    model.on("change:smoothing", () => {
      for (const run of this.runs) run.setWeight(this.smoothing);
      this.changed(false);
    });
  }

  /** The EMA weight in use (0 = off); each run keeps its smoothed series up to date. */
  get smoothing(): number {
    const s = Number(this.model.get("smoothing"));
    return Number.isFinite(s) && s > 0 && s < 1 ? s : 0;
  }

  /** One colour per run (a pattern or several channels), else one per series. */
  get byRun(): boolean {
    const channels = this.channels;
    return channels.length > 1 || channels.some((c) => c.includes("*"));
  }

  /** Every point held, in all runs. */
  get total(): number {
    return this.runs.reduce((sum, run) => sum + run.count, 0);
  }

  /** The points of the newest run (what a single-run chart shows). */
  get count(): number {
    return this.runs.length ? this.runs[this.runs.length - 1].count : 0;
  }

  private configure(): void {
    const wanted = (this.model.get("series") as string[] | null) ?? [];
    this.fixed = wanted.length > 0;
    if (this.fixed) this.names = [...wanted];
    this.window = Math.max(2, Math.floor(Number(this.model.get("window")) || 10000));
    this.maxRuns = Math.max(1, Math.floor(Number(this.model.get("max_runs")) || 10));
    for (const run of this.runs) run.resize(this.window);
    this.trimRuns();
    this.changed(true);
  }

  private changed(layout: boolean): void {
    if (layout) this.layout += 1;
    this.version += 1;
    this.invalidate();
  }

  private runLabel(channel: string, generation: number): string {
    let name = channel;
    const patterns = this.channels;
    if (patterns.length === 1 && patterns[0].endsWith("*") && !patterns[0].slice(0, -1).includes("*")) {
      // "train/*": the runs are "a" and "b", not "train/a" and "train/b".
      const prefix = patterns[0].slice(0, -1);
      if (channel.startsWith(prefix) && channel.length > prefix.length) name = channel.slice(prefix.length);
    }
    return generation === 0 ? name : `${name} (${generation + 1})`;
  }

  private startRun(channel: string, generation: number): Run {
    const run = new Run(channel, generation, this.order++, this.runLabel(channel, generation), this.window);
    run.setWeight(this.smoothing);
    this.runs.push(run);
    this.current.set(channel, run);
    const previous = this.runs.filter((r) => r.channel === channel && r !== run);
    previous.forEach((r) => (r.faded = true));
    for (const old of previous.slice(0, Math.max(0, previous.length - KEEP_PREVIOUS))) this.drop(old);
    this.trimRuns();
    this.layout += 1;
    return run;
  }

  private drop(run: Run): void {
    this.runs = this.runs.filter((r) => r !== run);
    if (this.current.get(run.channel) === run) {
      this.current.delete(run.channel);
      this.retired.set(run.channel, run.lastStep);
      if (this.retired.size > MAX_RETIRED) this.retired.delete(this.retired.keys().next().value as string);
    }
  }

  private trimRuns(): void {
    while (this.runs.length > this.maxRuns) this.drop(this.runs[0]);
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
    if (this.axis === null) {
      const wanted = String(this.model.get("x_axis") ?? "auto");
      this.axis = wanted === "step" || wanted === "time" || wanted === "elapsed" ? wanted : hasX ? "step" : "time";
      this.layout += 1;
    }
    if (!this.fixed) {
      for (const name of Object.keys(values)) {
        const v = values[name];
        if (!this.names.includes(name) && this.names.length < MAX_AUTO_SERIES && (typeof v === "number" || v === null)) {
          this.names = [...this.names, name];
          this.layout += 1;
        }
      }
    }
    const channel = event.channel;
    let run = this.current.get(channel);
    if (run === undefined) {
      const retiredAt = this.retired.get(channel);
      // A channel dropped by max_runs comes back only with a new run (x going back).
      if (retiredAt !== undefined && !(hasX && data.x < retiredAt)) return;
      this.retired.delete(channel);
      const generation = this.runs.reduce((g, r) => (r.channel === channel ? Math.max(g, r.generation + 1) : g), 0);
      run = this.startRun(channel, retiredAt !== undefined ? Math.max(generation, 1) : generation);
    } else if (hasX && run.count > 0 && data.x < run.lastStep) {
      // x went back: a new run restarted its step count on this channel.
      run = this.startRun(channel, run.generation + 1);
    }
    if (hasX) run.lastStep = data.x;
    const ts = typeof event.ts === "number" ? event.ts : Date.now() / 1000;
    if (run.count === 0) run.firstTs = ts;
    let x: number;
    if (this.axis === "step") x = hasX ? data.x : run.count > 0 ? run.lastX + 1 : 0;
    else if (this.axis === "time") x = ts;
    else x = ts - run.firstTs;
    // uPlot needs x in order; event times from two publishers can cross by a millisecond.
    if (x < run.lastX) x = run.lastX;
    if (this.values.length < this.names.length) this.values = new Float64Array(this.names.length * 2);
    for (let s = 0; s < this.names.length; s++) {
      const v = values[this.names[s]];
      this.values[s] = typeof v === "number" ? (Number.isFinite(v) ? v : GAP) : v === null ? GAP : ABSENT;
    }
    run.push(x, this.names, this.values);
    this.version += 1;
  }

  protected clear(): void {
    this.runs = [];
    this.current.clear();
    this.retired.clear();
    this.axis = null;
    this.changed(true);
  }

  /** Test hook: the newest run's points (the last `limit`), and every run held. */
  snapshot(limit = 1000): {
    title: string; count: number; total: number; axis: XAxis | null; x: number[];
    series: Record<string, number[]>;
    runs: { id: string; label: string; channel: string; faded: boolean; count: number }[];
  } {
    const run = this.runs[this.runs.length - 1];
    const series: Record<string, number[]> = {};
    let x: number[] = [];
    if (run) {
      const xs = run.linearX();
      const from = Math.max(0, xs.length - limit);
      x = Array.from(xs.subarray(from));
      for (const name of this.names) {
        const ys = run.linear(name);
        series[name] = ys ? Array.from(ys.subarray(from), (v) => (v === GAP ? NaN : v)) : x.map(() => NaN);
      }
    }
    return {
      title: String(this.model.get("title") ?? ""), count: this.count, total: this.total, axis: this.axis,
      x, series,
      runs: this.runs.map((r) => ({ id: r.id, label: r.label, channel: r.channel, faded: r.faded, count: r.count })),
    };
  }
}

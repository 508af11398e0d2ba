// One run's points: x and one value per series, in rings that grow up to the window.
//
// Values are stored as float64 with two markers that JSON numbers can never be: NaN for
// "this event had no value for the series" (a sparse series such as a validation loss
// logged once an epoch: drawn across) and -Infinity for a published null or NaN (a gap:
// the line breaks there). Rings start small and double, so ten runs with a 100,000-point
// window cost what they hold, not ten full windows.

import { Chunks } from "./chunks";
import { ABSENT, GAP } from "./markers";
import { smooth } from "./smoothing";

export { ABSENT, GAP };
const FIRST_CAPACITY = 1024;

export class Run {
  /** Unique within a chart: `<channel>#<generation>`. */
  readonly id: string;
  readonly channel: string;
  /** 0 for a channel's first run; +1 each time x goes back on that channel. */
  readonly generation: number;
  /** Order of creation within the chart (newer runs have larger numbers). */
  readonly order: number;
  label: string;
  /** A previous run of its channel, kept faded beside the current one. */
  faded = false;
  /** The largest number of points held; older points fall off. */
  limit: number;
  xs: Float64Array;
  ys = new Map<string, Float64Array>();
  head = 0;
  count = 0;
  /** Points pushed since the run started (held or fallen off): with `bound`, which points are in view. */
  pushed = 0;
  /** The newest `data.x` taken; a smaller one starts a new run. */
  lastStep = -Infinity;
  /** The newest x drawn (x is kept non-decreasing: uPlot needs x in order). */
  lastX = -Infinity;
  /** Event time of the first point, for the elapsed axis. */
  firstTs = NaN;
  /** The newest value of each series (finite numbers only). */
  latest = new Map<string, number>();
  /** Smoothing weight; with one > 0, `smoothed` holds each series' EMA, kept up as points come. */
  weight = 0;
  private smoothed = new Map<string, Float64Array>();
  /** Per-chunk extremes of each raw and smoothed ring, kept up as points come (chunks.ts). */
  private rawChunks = new Map<string, Chunks>();
  private smoothedChunks = new Map<string, Chunks>();
  /** Per series: the EMA so far and weight^k, to extend it by one point (smoothing.ts). */
  private ema = new Map<string, { last: number; power: number }>();
  private capacity: number;
  private scratchX = new Float64Array(0);
  private scratch = new Map<string, Float64Array>();
  private scratchSmoothed = new Map<string, Float64Array>();

  constructor(channel: string, generation: number, order: number, label: string, limit: number) {
    this.channel = channel;
    this.generation = generation;
    this.order = order;
    this.id = `${channel}#${generation}`;
    this.label = label;
    this.limit = limit;
    this.capacity = Math.min(limit, FIRST_CAPACITY);
    this.xs = new Float64Array(this.capacity);
  }

  /** Append one point; `values[name]` is a number, GAP or ABSENT for each of `names`. */
  push(x: number, names: string[], values: Float64Array): void {
    if (this.count === this.capacity && this.capacity < this.limit) this.grow(Math.min(this.limit, this.capacity * 2));
    const i = this.head;
    this.xs[i] = x;
    for (let s = 0; s < names.length; s++) {
      const y = values[s];
      let ring = this.ys.get(names[s]);
      if (ring === undefined) {
        if (y !== y) continue; // never had a value: no ring needed yet
        ring = new Float64Array(this.capacity).fill(ABSENT);
        this.ys.set(names[s], ring);
        this.rawChunks.set(names[s], new Chunks(this.capacity));
      }
      ring[i] = y;
      (this.rawChunks.get(names[s]) as Chunks).write(i, y);
      if (y === y && y !== GAP) this.latest.set(names[s], y);
      if (this.weight > 0) this.smoothOne(names[s], i, y);
    }
    // A series this event did not name still needs "absent" in this slot.
    if (this.ys.size > names.length) {
      for (const [name, ring] of this.ys) {
        if (names.includes(name)) continue;
        ring[i] = ABSENT;
        (this.rawChunks.get(name) as Chunks).write(i, ABSENT);
        const smoothed = this.smoothed.get(name);
        if (smoothed) {
          smoothed[i] = ABSENT;
          (this.smoothedChunks.get(name) as Chunks).write(i, ABSENT);
        }
      }
    }
    this.head = (i + 1) % this.capacity;
    if (this.count < this.capacity) this.count += 1;
    this.pushed += 1;
    this.lastX = x;
  }

  /** Extend a series' EMA by the value at ring slot `i` (the step of `smooth`, one point). */
  private smoothOne(name: string, i: number, y: number): void {
    let ring = this.smoothed.get(name);
    if (ring === undefined) {
      ring = new Float64Array(this.capacity).fill(ABSENT);
      this.smoothed.set(name, ring);
      this.smoothedChunks.set(name, new Chunks(this.capacity));
    }
    const chunks = this.smoothedChunks.get(name) as Chunks;
    if (y !== y || y === GAP) {
      ring[i] = y;
      chunks.write(i, y);
      return;
    }
    let state = this.ema.get(name);
    if (state === undefined) {
      state = { last: 0, power: 1 };
      this.ema.set(name, state);
    }
    state.last = state.last * this.weight + (1 - this.weight) * y;
    state.power *= this.weight;
    ring[i] = state.last / (1 - state.power);
    chunks.write(i, ring[i]);
  }

  /** Change the smoothing weight: the EMA is computed again over the points held. */
  setWeight(weight: number): void {
    this.weight = weight;
    this.smoothed.clear();
    this.smoothedChunks.clear();
    this.ema.clear();
    this.scratchSmoothed.clear();
    if (!(weight > 0)) return;
    const start = (this.head - this.count + this.capacity) % this.capacity;
    for (const name of this.ys.keys()) {
      const raw = this.linear(name) as Float64Array;
      const linear = smooth(raw, weight, new Float64Array(raw.length));
      const ring = new Float64Array(this.capacity).fill(ABSENT);
      for (let k = 0; k < linear.length; k++) ring[(start + k) % this.capacity] = linear[k];
      this.smoothed.set(name, ring);
      this.smoothedChunks.set(name, Chunks.fromRing(ring, this.head));
      // The state that continues the EMA: replay it over the finite values.
      const state = { last: 0, power: 1 };
      for (let k = 0; k < raw.length; k++) {
        const y = raw[k];
        if (y !== y || y === GAP) continue;
        state.last = state.last * weight + (1 - weight) * y;
        state.power *= weight;
      }
      this.ema.set(name, state);
    }
  }

  /** Change the window; keeps the newest points that fit. */
  resize(limit: number): void {
    this.limit = limit;
    if (limit < this.count || limit < this.capacity) this.grow(Math.min(limit, Math.max(this.count, FIRST_CAPACITY)));
  }

  private grow(capacity: number): void {
    const keep = Math.min(this.count, capacity);
    const order = (ring: Float64Array, fill: number) => {
      const out = new Float64Array(capacity).fill(fill);
      const linear = this.copy(ring, new Float64Array(this.count));
      out.set(linear.subarray(this.count - keep), 0);
      return out;
    };
    this.xs = order(this.xs, 0);
    for (const [name, ring] of this.ys) this.ys.set(name, order(ring, ABSENT));
    for (const [name, ring] of this.smoothed) this.smoothed.set(name, order(ring, ABSENT));
    this.capacity = capacity;
    this.count = keep;
    this.head = keep % capacity;
    for (const [name, ring] of this.ys) this.rawChunks.set(name, Chunks.fromRing(ring, this.head));
    for (const [name, ring] of this.smoothed) this.smoothedChunks.set(name, Chunks.fromRing(ring, this.head));
    this.scratchX = new Float64Array(0);
    this.scratch.clear();
    this.scratchSmoothed.clear();
  }

  private copy(ring: Float64Array, out: Float64Array): Float64Array {
    const n = this.count;
    const start = (this.head - n + this.capacity) % this.capacity;
    const first = Math.min(n, this.capacity - start);
    out.set(ring.subarray(start, start + first), 0);
    if (first < n) out.set(ring.subarray(0, n - first), first);
    return out.subarray(0, n);
  }

  /** Where the oldest point sits in the rings, and the rings' size (for reading in place). */
  get start(): number {
    return (this.head - this.count + this.capacity) % this.capacity;
  }

  get size(): number {
    return this.capacity;
  }

  /** A series' ring (raw, or smoothed with smoothing on), or undefined if the run has none. */
  ring(name: string, smoothed = false): Float64Array | undefined {
    return smoothed ? this.smoothed.get(name) : this.ys.get(name);
  }

  /** A ring's per-chunk extremes (chunks.ts), or undefined if the run has no such ring. */
  chunks(name: string, smoothed = false): Chunks | undefined {
    return smoothed ? this.smoothedChunks.get(name) : this.rawChunks.get(name);
  }

  /** The first and last x held. */
  firstX(): number {
    return this.count ? this.xs[this.start] : NaN;
  }

  /** How many points have lo ≤ x ≤ hi (x is in order: two binary searches). */
  countIn(lo: number, hi: number): number {
    return this.bound(hi, true) - this.bound(lo, false);
  }

  /** The number of points (oldest first) with x < value, or x ≤ value when `strict`. */
  bound(value: number, strict = false): number {
    const start = this.start;
    let a = 0;
    let b = this.count;
    while (a < b) {
      const mid = (a + b) >> 1;
      let i = start + mid;
      if (i >= this.capacity) i -= this.capacity;
      const x = this.xs[i];
      if (strict ? x <= value : x < value) a = mid + 1;
      else b = mid;
    }
    return a;
  }

  /** x in order (a view over a scratch array, valid until the next call). */
  linearX(): Float64Array {
    if (this.scratchX.length < this.capacity) this.scratchX = new Float64Array(this.capacity);
    return this.copy(this.xs, this.scratchX);
  }

  /** One series in order, or null if the run never had a value for it. */
  linear(name: string): Float64Array | null {
    const ring = this.ys.get(name);
    if (ring === undefined) return null;
    let out = this.scratch.get(name);
    if (out === undefined || out.length < this.capacity) {
      out = new Float64Array(this.capacity);
      this.scratch.set(name, out);
    }
    return this.copy(ring, out);
  }

  /** One series' smoothed values in order (with smoothing on), or null. */
  linearSmoothed(name: string): Float64Array | null {
    const ring = this.smoothed.get(name);
    if (ring === undefined) return null;
    let out = this.scratchSmoothed.get(name);
    if (out === undefined || out.length < this.capacity) {
      out = new Float64Array(this.capacity);
      this.scratchSmoothed.set(name, out);
    }
    return this.copy(ring, out);
  }
}

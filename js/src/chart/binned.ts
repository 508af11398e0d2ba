// A line's binned columns kept from frame to frame. While the column grid stays (the same
// origin and width: the window slides but does not grow), only the columns whose points
// changed are binned again: from the column of the previous newest point on, and those the
// oldest points fell off. The rest shift. At 10,000 points a second that is a few columns
// a frame instead of a thousand.

import { Chunks } from "./chunks";
import { Grid, decimate } from "./decimate";
import { Run } from "./runs";

/**
 * A grid of columns that does not move with the view: columns are counted from `origin`,
 * `width` apart in x. Its `grid` is what `decimate` bins onto (so the columns a point falls
 * in are computed the same way every time).
 */
export interface ColumnGrid {
  origin: number;
  width: number;
  grid: Grid;
}

/** Columns up to 2^40: far more than a chart sliding for years ever counts. */
const MANY = 2 ** 40;

export function columnGrid(origin: number, width: number): ColumnGrid {
  return { origin, width, grid: { lo: origin, hi: origin + MANY * width, bins: MANY, x: new Float64Array(0) } };
}

/** The column `x` falls in, as `decimate` computes it. */
export function columnOf(columns: ColumnGrid, x: number): number {
  const { lo, hi, bins } = columns.grid;
  return Math.min(bins - 1, Math.floor((x - lo) * (bins / (hi - lo))));
}

export class BinnedLine {
  private grid: ColumnGrid | null = null;
  private key = "";
  /** Column of `values[0]`, `values[1]`, and how many columns are held. */
  private base = 0;
  private held = 0;
  private values = new Float64Array(0);
  private scratch = new Float64Array(0);
  /** The run as it was binned: points pushed, points fallen off, its first and last x. */
  private pushed = 0;
  private dropped = 0;
  private firstX = NaN;
  private lastX = NaN;

  /**
   * The line's columns `first` to `last` of `columns` (2 values each, as `decimate` gives
   * them). `key` names what else the values depend on (the smoothing weight); a new grid or
   * key bins every column again.
   */
  update(run: Run, ys: Float64Array, chunks: Chunks | undefined, columns: ColumnGrid,
    first: number, last: number, key: string): Float64Array {
    const n = last - first + 1;
    const dropped = run.pushed - run.count;
    const ranges: [number, number][] = [];
    if (columns !== this.grid || key !== this.key || first < this.base || this.held === 0) {
      this.grid = columns;
      this.key = key;
      this.reserve(n, 0);
      ranges.push([first, last]);
    } else {
      // Shift to start at `first`; columns new on the right hold nothing of this run yet.
      const shift = first - this.base;
      const keep = Math.min(n, Math.max(0, this.held - shift));
      this.reserve(Math.max(n, this.held), this.held);
      if (keep > 0 && shift > 0) this.values.copyWithin(0, 2 * shift, 2 * this.held);
      this.values.fill(NaN, 2 * keep, 2 * n);
      if (run.pushed !== this.pushed) {
        const from = this.lastX === this.lastX ? columnOf(columns, this.lastX) : first;
        ranges.push([Math.max(first, from), last]);
      }
      if (dropped !== this.dropped && this.firstX === this.firstX) {
        const to = run.count > 0 ? columnOf(columns, run.firstX()) : last;
        ranges.push([Math.max(first, columnOf(columns, this.firstX)), Math.min(last, to)]);
      }
    }
    this.base = first;
    this.held = n;
    for (const [from, to] of ranges) {
      if (from > to) continue;
      if (this.scratch.length < 2 * (to - from + 1)) this.scratch = new Float64Array(2 * (to - from + 1));
      this.values.set(decimate(run, ys, chunks, columns.grid, false, { n: 0 }, this.scratch, from, to), 2 * (from - first));
    }
    this.pushed = run.pushed;
    this.dropped = dropped;
    this.firstX = run.count > 0 ? run.firstX() : NaN;
    this.lastX = run.count > 0 ? run.lastX : NaN;
    return this.values.subarray(0, 2 * n);
  }

  /** Room for `n` columns, keeping the first `keep`. */
  private reserve(n: number, keep: number): void {
    if (this.values.length >= 2 * n) return;
    const values = new Float64Array(2 * n + 64).fill(NaN);
    values.set(this.values.subarray(0, 2 * keep));
    this.values = values;
  }
}

// From runs to what uPlot reads: x merged across runs, markers turned into `undefined` and
// `null`, and the exact point nearest the cursor for the legend.

import { GAP } from "./runs";

export type Column = Float64Array | (number | null | undefined)[];

/** k-way merge of runs' sorted x; equal x of different runs share one position. */
export function mergeX(xsList: Float64Array[]): { x: Float64Array; maps: Int32Array[] } {
  const total = xsList.reduce((n, xs) => n + xs.length, 0);
  const out = new Float64Array(total);
  const maps = xsList.map((xs) => new Int32Array(xs.length));
  const at = xsList.map(() => 0);
  let n = 0;
  for (;;) {
    let min = Infinity;
    for (let k = 0; k < xsList.length; k++) if (at[k] < xsList[k].length && xsList[k][at[k]] < min) min = xsList[k][at[k]];
    if (min === Infinity) break;
    for (let k = 0; k < xsList.length; k++) {
      if (at[k] < xsList[k].length && xsList[k][at[k]] === min) maps[k][at[k]++] = n;
    }
    out[n++] = min;
  }
  return { x: out.subarray(0, n), maps };
}

/** Markers to what uPlot reads: dense stays a typed array. */
export function forUplot(values: Float64Array, log: boolean, skipped: { n: number }): Column {
  let dense = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== v || v === GAP || (log && v <= 0)) {
      dense = false;
      break;
    }
  }
  if (dense) return values;
  const out: (number | null | undefined)[] = new Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== v) out[i] = undefined;
    else if (v === GAP) out[i] = null;
    else if (log && v <= 0) {
      out[i] = undefined;
      skipped.n += 1;
    } else out[i] = v;
  }
  return out;
}

/** The index of the point of `ys` (not absent) nearest to `x` in `xs`, or -1. */
export function nearest(xs: Float64Array, ys: Float64Array, x: number): number {
  const n = xs.length;
  if (n === 0) return -1;
  const spacing = n > 1 ? (xs[n - 1] - xs[0]) / (n - 1) : 0;
  if (x < xs[0] - spacing || x > xs[n - 1] + spacing) return -1;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  let best = -1;
  let bestDist = Infinity;
  // Outwards from the insertion point to the closest value the series has (a sparse series
  // has one every few hundred points); bounded so a hover never scans the whole window.
  for (let d = 0; d < 4096; d++) {
    const left = lo - 1 - d;
    const right = lo + d;
    if (left < 0 && right >= n) break;
    const leftDist = left >= 0 ? x - xs[left] : Infinity;
    const rightDist = right < n ? xs[right] - x : Infinity;
    if (best >= 0 && leftDist > bestDist && rightDist > bestDist) break;
    if (left >= 0 && ys[left] === ys[left] && Math.abs(leftDist) < bestDist) {
      best = left;
      bestDist = Math.abs(leftDist);
    }
    if (right < n && ys[right] === ys[right] && Math.abs(rightDist) < bestDist) {
      best = right;
      bestDist = Math.abs(rightDist);
    }
  }
  return best;
}

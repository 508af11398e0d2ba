// Smoothing of a series for drawing: the debiased exponential moving average of TensorBoard's
// scalar charts (tensorboard/components/vz_line_chart2/line-chart.ts, `resmoothDataset`).
//
// A plain EMA started at 0 is biased towards 0 for its first ~1/(1-w) points; dividing by
// 1 - w^k (k = points taken so far) removes that, so the smoothed line starts on the data.
// Markers (absent, gap) are not numbers to average: they pass through unchanged and leave
// the average where it was, so a NaN gap stays a gap in the smoothed line too.

/**
 * Smooth `values` (NaN = absent, -Infinity = gap) with weight `weight` (0 ≤ w < 1) into
 * `out`; returns the view of `out` holding the result.
 */
export function smooth(values: Float64Array, weight: number, out: Float64Array): Float64Array {
  const n = values.length;
  const result = out.subarray(0, n);
  if (!(weight > 0)) {
    result.set(values);
    return result;
  }
  const take = 1 - weight;
  let last = 0;
  // w^k, kept by multiplication rather than Math.pow per point; it underflows to 0 after a
  // few thousand points, where the debias factor is 1 anyway.
  let power = 1;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v !== v || v === -Infinity) {
      result[i] = v;
      continue;
    }
    last = last * weight + take * v;
    power *= weight;
    result[i] = last / (1 - power);
  }
  return result;
}

// How a binned line is drawn (decimate.ts gives it each column's extremes): one vertical
// stroke per pixel column, from the column's lowest value to its highest, reaching to where
// the previous column ended so that columns join.
//
// uPlot's own linear path would zigzag between the two extremes of each column, a
// diagonal stroke per column and another to the next one. Skia, Chromium's software
// rasteriser, draws a hairline that is exactly vertical, at a pixel's centre, one pixel
// per row; a diagonal one touches two per row, and the zigzag covers each column's height
// about twice. Measured in headless Chromium, 8 lines on 944 columns: 6.5 ms as a zigzag
// against 1.5 ms as bars for training-like curves, 17.5 ms against 2.6 ms for pure noise.
// (A filled band between the extremes is slower still: 20-190 ms.) It is the same set of
// pixels the zigzag covers, to within a pixel.

import uPlot from "uplot";

/** A path builder (uPlot `series.paths`) drawing dense data as one bar per pixel column. */
export const columnBars: uPlot.Series.PathBuilder = (u, seriesIdx, idx0, idx1) => {
  const xs = u.data[0] as ArrayLike<number>;
  const ys = u.data[seriesIdx] as ArrayLike<number | null | undefined>;
  const path = new Path2D();
  // Positions in canvas pixels, as `u.valToPos(v, key, true)` gives them, without its
  // calls per point on linear scales (a log y scale still goes through it).
  const { left, top: plotTop, width, height } = u.bbox;
  const sx = u.scales.x;
  const sy = u.scales.y;
  const x0 = sx.min ?? 0;
  const xScale = width / ((sx.max ?? 1) - x0);
  const linearY = sy.distr === 1;
  const y0 = sy.min ?? 0;
  const yScale = height / ((sy.max ?? 1) - y0);
  const yPos = (v: number) => (linearY ? plotTop + height - (v - y0) * yScale : u.valToPos(v, "y", true));
  let column = NaN;
  let top = 0;
  let bottom = 0;
  /** Where the previous column ended (its last value, canvas px); NaN after a gap. */
  let last = NaN;
  let lastColumn = NaN;
  const flush = () => {
    if (column !== column) return;
    if (bottom - top < 1) {
      // A flat column still shows: a bar one pixel tall around its value.
      const mid = (top + bottom) / 2;
      top = mid - 0.5;
      bottom = mid + 0.5;
    }
    path.moveTo(column + 0.5, top);
    path.lineTo(column + 0.5, bottom);
  };
  for (let i = idx0; i <= idx1; i++) {
    const v = ys[i];
    if (v === undefined) continue; // no value here: the line goes across
    if (v === null) {
      // A published gap: the line breaks.
      flush();
      column = NaN;
      last = NaN;
      continue;
    }
    const px = Math.floor(left + (xs[i] - x0) * xScale);
    const py = yPos(v);
    if (px !== column) {
      flush();
      lastColumn = column === column ? column : lastColumn;
      top = bottom = py;
      if (last === last) {
        if (px === lastColumn + 1) {
          top = Math.min(top, last);
          bottom = Math.max(bottom, last);
        } else {
          // Columns without values in between: a straight line across them.
          path.moveTo(lastColumn + 0.5, last);
          path.lineTo(px + 0.5, py);
        }
      }
      column = px;
    } else if (py < top) top = py;
    else if (py > bottom) bottom = py;
    last = py;
  }
  flush();
  return { stroke: path, fill: null, clip: null, band: null, flags: 0 };
};

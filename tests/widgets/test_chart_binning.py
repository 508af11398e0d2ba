"""The chart's binning (js/src/chart/decimate.ts) from per-chunk extremes kept up as points
arrive (chunks.ts), and its columns kept from frame to frame (binned.ts), give exactly what
binning every point gives, run in Node on the real TypeScript: random runs with gaps,
absent values and values <= 0, rings that wrapped, grew, shrank and were smoothed again,
whole and zoomed views, linear and log axes, windows filling and sliding.
"""

from __future__ import annotations

from pathlib import Path

from node_support import bundle, run_node

# Runs are filled at random; each is binned with its chunks and without (point by point),
# and the two results and counts of skipped values must be the same.
SCRIPT = r"""
const { Run, decimate, makeGrid, BinnedLine, columnGrid, columnOf } = await import(process.argv[2]);
let seed = 7;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const names = ["a", "b"];
let cases = 0, chunked = 0;
const mismatches = [];
let x = 0;
const values = new Float64Array(2);
const push = (run, n) => {
  for (let k = 0; k < n; k++) {
    x += random() < 0.1 ? 0 : random() * 2;
    for (let s = 0; s < 2; s++) {
      const r = random();
      // Whole numbers: equal extremes, whose first must be kept, and zeros for the log axis.
      values[s] = r < 0.05 ? NaN : r < 0.08 ? -Infinity : Math.round((random() - 0.2) * 10);
    }
    run.push(x, names, values);
  }
};
const compare = (run, what) => {
  const first = run.firstX(), last = run.lastX;
  for (const [lo, hi] of [[first, last], [first + (last - first) * 0.3, first + (last - first) * 0.6]]) {
    if (!(hi > lo)) continue;
    for (const bins of [1, 7, 64, 1000]) {
      const grid = makeGrid(lo, hi, bins);
      for (const log of [false, true]) {
        for (const name of names) {
          for (const smoothed of [false, true]) {
            const ring = run.ring(name, smoothed);
            if (!ring) continue;
            const a = { n: 0 }, b = { n: 0 };
            const fast = decimate(run, ring, run.chunks(name, smoothed), grid, log, a);
            const slow = decimate(run, ring, undefined, grid, log, b);
            cases += 1;
            if (run.countIn(lo, hi) >= 4 * bins) chunked += 1;
            const same = a.n === b.n && fast.every((v, i) => Object.is(v, slow[i]));
            if (!same && mismatches.length < 5) mismatches.push({ what, lo, hi, bins, log, name, smoothed });
          }
        }
      }
    }
  }
};
for (const window of [2, 5, 17, 100, 1000, 1023, 4099]) {
  for (const fill of [0.3, 1, 2.7]) {
    for (const weight of [0, 0.6]) {
      const what = `window ${window}, ${fill} windows pushed, smoothing ${weight}`;
      const run = new Run("c", 0, 0, "c", window);
      run.setWeight(weight);
      const n = Math.max(1, Math.round(window * fill));
      push(run, Math.floor(n / 2));
      compare(run, what + ", half");
      push(run, n - Math.floor(n / 2));
      compare(run, what);
      // The smoothed rings computed again, then a few points: the head's chunk is part new.
      run.setWeight(weight > 0 ? 0.45 : 0);
      compare(run, what + ", new weight");
      push(run, 5);
      compare(run, what + ", new weight, 5 more");
      // A smaller window: the rings are reordered.
      run.resize(Math.max(2, window - 3));
      compare(run, what + ", resized");
      push(run, 21);
      compare(run, what + ", resized, 21 more");
    }
  }
}
// Columns kept from frame to frame (binned.ts) against binning every column afresh, as a
// window fills and slides by a few points a frame, the smoothing weight changing once.
let frames = 0, kept = 0;
for (const window of [100, 1000, 4099]) {
  for (const bins of [7, 64]) {
    const run = new Run("c", 0, 0, "c", window);
    let weight = 0.6;
    run.setWeight(weight);
    const caches = new Map();
    let grid = null;
    for (let frame = 0; frame < 400; frame++) {
      push(run, 1 + Math.floor(random() * window / 40));
      if (frame === 200) run.setWeight((weight = 0.3));
      const lo = run.firstX(), hi = run.lastX;
      if (!(hi > lo)) continue;
      const n = grid ? columnOf(grid, hi) - columnOf(grid, lo) + 1 : 0;
      if (!grid || n < bins || n > 1.3 * bins) grid = columnGrid(lo, (hi - lo) / bins);
      else kept += 1;
      const first = columnOf(grid, lo), last = columnOf(grid, hi);
      for (const name of names) {
        for (const smoothed of [false, true]) {
          const ring = run.ring(name, smoothed);
          if (!ring) continue;
          const id = name + smoothed;
          if (!caches.has(id)) caches.set(id, new BinnedLine());
          const got = caches.get(id).update(run, ring, run.chunks(name, smoothed), grid, first, last, String(weight));
          const want = decimate(run, ring, undefined, grid.grid, false, { n: 0 }, undefined, first, last);
          frames += 1;
          const same = got.length === want.length && got.every((v, i) => Object.is(v, want[i]));
          if (!same && mismatches.length < 5) mismatches.push({ what: "kept columns", window, bins, frame, name, smoothed });
        }
      }
    }
  }
}
process.stdout.write(JSON.stringify({ cases, chunked, frames, kept, mismatches }));
"""

ENTRY = ('export { Run } from "./runs"; export { decimate, makeGrid } from "./decimate";'
         'export { BinnedLine, columnGrid, columnOf } from "./binned";\n')


def test_binning_from_chunk_extremes_equals_binning_every_point(tmp_path: Path) -> None:
    binning = bundle(tmp_path, entry=ENTRY, folder="chart")
    script = tmp_path / "check.mjs"
    script.write_text(SCRIPT)
    result = run_node([str(script), binning.as_uri()])
    assert result["mismatches"] == []
    # Dense enough for whole chunks to fall inside columns in many of them.
    assert result["chunked"] > 1000, result
    # Most frames kept their grid, so their columns were mostly shifted, not binned again.
    assert result["kept"] > 1000, result

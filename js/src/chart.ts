// LiveChart: metric events drawn with uPlot, in panels, with runs side by side.
//
// The store (chart/store.ts) keeps each run's points in rings; each view (chart/view.ts)
// draws them at most once per animation frame. When points outnumber pixels, each line is
// binned to its min/max per pixel column from extremes the rings keep per chunk
// (chart/chunks.ts, chart/decimate.ts; columns kept from frame to frame, chart/binned.ts)
// and drawn as one bar per column (chart/bars.ts), so 100,000 points in view cost a few
// milliseconds a frame.

import "uplot/dist/uPlot.min.css";
import "./style.css";
import { ChartStore } from "./chart/store";
import { renderChart } from "./chart/view";
import { defineWidget } from "./widget";

export { ChartStore };

export default defineWidget((model) => new ChartStore(model), renderChart);

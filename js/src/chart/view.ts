// What one view of a chart draws: the panels (one uPlot each, stacked, sharing x, cursor and
// zoom), the legend grouped by run, and the controls.
//
// Data reach uPlot at most once per animation frame (the store's `invalidate`), and only
// for a panel whose view changed (`viewKey`). With more points in view than 4 per device
// pixel column, every line is binned from the rings onto one column grid (decimate.ts),
// keeping from frame to frame the columns whose points did not change (binned.ts), and
// drawn as one bar per column (bars.ts). Otherwise each run's rings are copied in order; with one run,
// its x array is handed over as it is; with several, their x are merged (k-way, equal x
// shared) and each series is placed at its run's positions. Series come as float64 with
// markers (runs.ts); they are handed to uPlot as typed arrays when dense, else as arrays
// where `undefined` is "no point here" (drawn across) and `null` is a gap (the line
// breaks), which is how uPlot tells the two apart (uPlot `paths/linear.js`: `undefined`
// is skipped, `null` starts a gap unless spanGaps).

import uPlot from "uplot";
import { Model, formatDuration, formatNumber, frame, h } from "../widget";
import { columnBars } from "./bars";
import { download, fileName, stackCanvases, toCsv } from "./export";
import { Column, forUplot, mergeX } from "./columns";
import { BinnedLine, ColumnGrid, columnGrid, columnOf } from "./binned";
import { decimate } from "./decimate";
import { Legend } from "./legend";
import { backgroundOf, paintBackground, withOpaqueCanvases } from "./opaque";
import { PanelSpec, PanelsTrait, layoutPanels } from "./panels";
import { Run } from "./runs";
import { ChartStore } from "./store";

const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
];
/** Dash patterns by a series' place in its panel, when colour tells runs apart. */
const DASHES: number[][] = [[], [6, 4], [2, 3], [10, 3, 2, 3]];
const DASH_CSS = ["solid", "dashed", "dotted", "dashed"];
const FADED = 0.35;
const linear = uPlot.paths.linear!();
const RAW_UNDER_SMOOTHED = 0.25;

interface Line {
  run: Run;
  name: string;
  smoothed: boolean;
  /** The line binned onto the column grid, kept from frame to frame (binned.ts). */
  cache?: BinnedLine;
  /** On a log axis, binned afresh each frame into this (decimate.ts). */
  binned?: Float64Array;
}

interface Panel {
  spec: PanelSpec;
  lines: Line[];
  log: boolean;
  root: HTMLElement;
  box: HTMLElement;
  plot: uPlot | null;
  /** Points not drawn because a log axis cannot show them (≤ 0), by series name. */
  skipped: Map<string, number>;
  /** What the plot was last handed (see `viewKey`); the same again is not drawn again. */
  drawn: string;
}

/** What the panels draw this frame: exact points (merged across runs), or a column grid. */
interface Prepared {
  /** The x range in view (all runs', or the zoom's). */
  lo: number;
  hi: number;
  x: Float64Array;
  /** Set when points in view outnumber pixel columns: lines are binned onto its columns
   * `first` to `last` (binned.ts, decimate.ts). */
  grid: ColumnGrid | null;
  first: number;
  last: number;
  /** Exact mode: raw and smoothed values of each run's series at merged positions. */
  columns: Map<string, Float64Array>;
}

function withAlpha(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

function cssVar(el: HTMLElement, name: string, fallback: string): string {
  const value = getComputedStyle(el).getPropertyValue(name).trim();
  return value || fallback;
}

function isPowerOfTen(v: number): boolean {
  if (!(v > 0)) return false;
  const e = Math.round(Math.log10(v));
  return Math.abs(v / Math.pow(10, e) - 1) < 1e-9;
}

export function renderChart(store: ChartStore, el: HTMLElement, model: Model) {
  const f = frame(el, store, "chart");
  const tools = h("div", "sse-chart-tools");
  const legend = new Legend(store);
  const panelsBox = h("div", "sse-panels");
  const empty = h("div", "sse-empty");
  f.body.append(tools, legend.el, panelsBox, empty);
  const syncKey = `sse-chart-${store.uid}-${Math.random().toString(36).slice(2)}`;

  // --- controls -------------------------------------------------------------------------
  const smoothingLabel = h("label", "sse-chart-control");
  const slider = h("input", "sse-smoothing");
  slider.type = "range";
  slider.min = "0";
  slider.max = "0.99";
  slider.step = "0.01";
  slider.setAttribute("aria-label", "Smoothing");
  const smoothingValue = h("output", "sse-smoothing-value");
  smoothingLabel.append(h("span", "", "smoothing"), slider, smoothingValue);
  const follow = h("button", "sse-chart-button", "Follow latest");
  follow.type = "button";
  const csvButton = h("button", "sse-chart-button", "Download CSV");
  csvButton.type = "button";
  const pngButton = h("button", "sse-chart-button", "Download PNG");
  pngButton.type = "button";
  tools.append(smoothingLabel, follow, csvButton, pngButton);

  let panels: Panel[] = [];
  let prepared: Prepared | null = null;
  let drawnVersion = -1;
  let drawnLayout = -1;
  let zoom: { min: number; max: number } | null = null;
  let hoverX = NaN;
  /** What the opaque canvases are painted with first (opaque.ts), read when panels are built. */
  let background = "#fff";
  const logOf = new Map<string, boolean>();

  const smoothing = () => store.smoothing;
  const pixelRatio = () => Math.max(1, window.devicePixelRatio || 1);
  const panelHeight = () => Math.max(80, Number(model.get("height")) || 240);
  // Read from the layout only when it changed (the ResizeObserver below): reading
  // clientWidth after the legend's text changed would force a layout in every frame.
  let measured = 0;
  const width = () => {
    if (measured === 0) measured = panelsBox.clientWidth || f.root.clientWidth;
    return Math.max(120, measured || 600);
  };
  const panelsTrait = (): PanelsTrait => {
    const value = model.get("_panels");
    return value === null || Array.isArray(value) ? value : "auto";
  };
  const xLabel = () => String(model.get("x_label") ?? "") || (store.axis === "step" ? "step" : store.axis === "elapsed" ? "elapsed" : "time");
  const formatX = (x: number): string => {
    if (!Number.isFinite(x)) return "–";
    if (store.axis === "time") return new Date(x * 1000).toLocaleTimeString();
    if (store.axis === "elapsed") return formatDuration(x);
    return formatNumber(x);
  };

  // Line width. A dense, noisy series is drawn by uPlot as one vertical stroke per pixel
  // column (its min/max); Skia, Chromium's software rasteriser, draws a stroke no wider
  // than a device pixel as a hairline, several times faster than a wider one, which it must
  // outline first (measured: one noisy 20,000-point series, 26 fps at 1.5 px, 60 at 1 px).
  // So lines are 1.5 px while there are fewer points than pixels, and 1 px past that; a
  // binned line one device pixel (its bars fill device pixel columns, bars.ts).
  const lineWidth = (line: Line, points: number): number =>
    prepared?.grid ? 1 / pixelRatio() : points > width() || (smoothing() > 0 && !line.smoothed) ? 1 : 1.5;
  const applyWidths = (panel: Panel, points: number) => {
    const plot = panel.plot;
    if (!plot) return;
    panel.lines.forEach((line, i) => {
      const s = plot.series[i + 1];
      if (s) s.width = lineWidth(line, points);
    });
  };

  // --- colours --------------------------------------------------------------------------
  const runColours = new Map<string, number>();
  const colourOf = (line: { run: Run; name: string }): string => {
    if (store.byRun) {
      let index = runColours.get(line.run.channel);
      if (index === undefined) {
        index = runColours.size;
        runColours.set(line.run.channel, index);
      }
      return PALETTE[index % PALETTE.length];
    }
    return PALETTE[Math.max(0, store.names.indexOf(line.name)) % PALETTE.length];
  };
  const dashIndex = (panel: PanelSpec, name: string) => (store.byRun ? Math.max(0, panel.series.indexOf(name)) % DASHES.length : 0);

  // --- data -----------------------------------------------------------------------------
  const key = (run: Run, name: string, smoothed: boolean) => `${run.id}\u0000${name}\u0000${smoothed ? "s" : "r"}`;

  // The column grid stays while the columns in view number between `bins` and 1.3 × that
  // (the window slides without growing), so that lines keep their binned columns (binned.ts);
  // a zoom has a grid of its own.
  let binGrid: ColumnGrid | null = null;
  let binZoom = "";
  const columnsFor = (lo: number, hi: number, bins: number): ColumnGrid => {
    const zoomKey = zoom ? `${zoom.min} ${zoom.max}` : "";
    if (binGrid && zoomKey === binZoom) {
      const n = columnOf(binGrid, hi) - columnOf(binGrid, lo) + 1;
      if (n >= bins && n <= 1.3 * bins) return binGrid;
    }
    binZoom = zoomKey;
    binGrid = columnGrid(lo, (hi - lo) / bins);
    return binGrid;
  };

  const prepare = (): Prepared => {
    const weight = smoothing();
    const runs = store.runs;
    let lo = zoom ? zoom.min : Infinity;
    let hi = zoom ? zoom.max : -Infinity;
    if (!zoom) {
      for (const run of runs) {
        if (run.count === 0) continue;
        lo = Math.min(lo, run.firstX());
        hi = Math.max(hi, run.lastX);
      }
    }
    // One column per device pixel (uPlot draws at devicePixelRatio).
    const bins = Math.max(64, Math.round(width() * pixelRatio()));
    const inView = zoom ? runs.reduce((n, run) => n + run.countIn(lo, hi), 0) : store.total;
    if (hi > lo && inView > 4 * bins) {
      const grid = columnsFor(lo, hi, bins);
      const first = columnOf(grid, lo);
      const last = columnOf(grid, hi);
      const x = new Float64Array(2 * (last - first + 1));
      for (let c = first; c <= last; c++) {
        x[2 * (c - first)] = grid.origin + (c + 0.25) * grid.width;
        x[2 * (c - first) + 1] = grid.origin + (c + 0.75) * grid.width;
      }
      return { lo, hi, x, grid, first, last, columns: new Map() };
    }
    const xsList = runs.map((run) => run.linearX());
    const merged = runs.length === 1 ? { x: xsList[0], maps: [] as Int32Array[] } : mergeX(xsList);
    const out: Prepared = { lo, hi, x: merged.x, grid: null, first: 0, last: -1, columns: new Map() };
    const place = (values: Float64Array, k: number): Float64Array => {
      if (runs.length === 1) return values;
      const column = new Float64Array(merged.x.length).fill(NaN);
      const map = merged.maps[k];
      for (let i = 0; i < values.length; i++) column[map[i]] = values[i];
      return column;
    };
    runs.forEach((run, k) => {
      for (const name of store.names) {
        const ys = run.linear(name);
        if (ys === null) continue;
        out.columns.set(key(run, name, false), place(ys, k));
        const sm = weight > 0 ? run.linearSmoothed(name) : null;
        if (sm) out.columns.set(key(run, name, true), place(sm, k));
      }
    });
    return out;
  };

  const panelData = (panel: Panel, data: Prepared): uPlot.AlignedData => {
    panel.skipped.clear();
    const columns: Column[] = [data.x];
    for (const line of panel.lines) {
      const skipped = { n: 0 };
      let values: Float64Array | undefined;
      if (data.grid) {
        const ring = line.run.ring(line.name, line.smoothed);
        const chunks = line.run.chunks(line.name, line.smoothed);
        if (ring && panel.log) {
          // Values ≤ 0 are counted per frame for the legend's note: binned afresh.
          values = decimate(line.run, ring, chunks, data.grid.grid, true, skipped, line.binned, data.first, data.last);
          line.binned = values;
        } else if (ring) {
          line.cache ??= new BinnedLine();
          values = line.cache.update(line.run, ring, chunks, data.grid, data.first, data.last, String(smoothing()));
        }
        columns.push(values ? forUplot(values, false, { n: 0 }) : new Array(data.x.length).fill(undefined));
      } else {
        values = data.columns.get(key(line.run, line.name, line.smoothed));
        columns.push(values ? forUplot(values, panel.log, skipped) : new Array(data.x.length).fill(undefined));
      }
      if (skipped.n && !line.smoothed) panel.skipped.set(line.name, (panel.skipped.get(line.name) ?? 0) + skipped.n);
    }
    return columns as unknown as uPlot.AlignedData;
  };

  /**
   * What a panel shows, as a key: the x range, how it is drawn, the smoothing, and for each
   * of its runs which points are in view (counted since the run started, one beyond each
   * edge for the line that leaves the view). Points outside a zoomed view change nothing.
   */
  const viewKey = (panel: Panel, data: Prepared): string => {
    const grid = data.grid ? `${data.grid.origin} ${data.grid.width} ${data.first} ${data.last}` : "exact";
    let key = `${data.lo} ${data.hi} ${grid} ${smoothing()}`;
    let last: Run | null = null;
    for (const line of panel.lines) {
      const run = line.run;
      if (run === last) continue;
      last = run;
      const dropped = run.pushed - run.count;
      const from = Math.max(0, run.bound(data.lo) - 1);
      const to = Math.min(run.count, run.bound(data.hi, true) + 1);
      key += ` ${dropped + from}-${dropped + to}`;
    }
    return key;
  };

  /** Hand the current data to every panel; while zoomed, keep the zoomed x range. */
  const refresh = () => {
    if (store.runs.length === 0) return;
    prepared = prepare();
    for (const p of panels) {
      if (!p.plot) continue;
      const key = viewKey(p, prepared);
      if (key === p.drawn) continue;
      p.drawn = key;
      applyWidths(p, prepared.x.length);
      if (zoom) {
        // Zoomed: new data must not move the view.
        p.plot.setData(panelData(p, prepared), false);
        p.plot.setScale("x", zoom);
      } else {
        p.plot.setData(panelData(p, prepared), true);
      }
    }
    showRange();
  };

  // --- zoom -----------------------------------------------------------------------------
  const showRange = () => {
    const scale = panels[0]?.plot?.scales.x;
    f.root.dataset.zoomed = zoom ? "true" : "false";
    f.root.dataset.binned = prepared?.grid ? "true" : "false";
    if (scale && scale.min != null && scale.max != null) {
      f.root.dataset.xMin = String(scale.min);
      f.root.dataset.xMax = String(scale.max);
    }
    follow.disabled = zoom === null;
    follow.setAttribute("aria-pressed", zoom === null ? "true" : "false");
  };
  const zoomTo = (min: number, max: number) => {
    if (!(max > min)) return;
    zoom = { min, max };
    refresh();
  };
  const followLatest = () => {
    zoom = null;
    refresh();
  };
  follow.addEventListener("click", followLatest);

  const onSelect = (u: uPlot) => {
    const sel = u.select;
    if (sel.width >= 2) zoomTo(u.posToVal(sel.left, "x"), u.posToVal(sel.left + sel.width, "x"));
    // Clear the drawn selection on every panel (the cursor sync drew it on all).
    for (const p of panels) if (p.plot && p.plot.select.width > 0) p.plot.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
  };

  // --- legend ---------------------------------------------------------------------------
  const buildLegend = () =>
    legend.build({
      colour: (run, name) => colourOf({ run, name }),
      dash: (name) => {
        const panel = panels.find((p) => p.spec.series.includes(name))?.spec ?? { name: "", series: [name] };
        return DASH_CSS[dashIndex(panel, name)];
      },
      faded: FADED,
    });
  const updateLegend = () => {
    const notes: string[] = [];
    for (const p of panels) {
      for (const [name, n] of p.skipped) notes.push(`${name}: ${n} value${n === 1 ? "" : "s"} ≤ 0 not shown on the log scale`);
    }
    const hovering = Number.isFinite(hoverX) && prepared !== null;
    legend.update(hovering ? hoverX : NaN, hovering ? `${xLabel()} ${formatX(hoverX)}` : "", notes);
  };

  const onCursor = (u: uPlot) => {
    const left = u.cursor.left;
    const x = left != null && left >= 0 ? u.posToVal(left, "x") : NaN;
    if (x === hoverX || (x !== x && hoverX !== hoverX)) return;
    hoverX = x;
    updateLegend();
  };

  // --- plots ----------------------------------------------------------------------------
  const buildPanel = (panel: Panel, data: Prepared, last: boolean) => {
    panel.plot?.destroy();
    panel.plot = null;
    const axisColor = cssVar(f.root, "--jp-ui-font-color2", "#666");
    const gridColor = cssVar(f.root, "--jp-border-color2", "rgba(128,128,128,0.2)");
    background = backgroundOf(f.root);
    f.root.dataset.axisColor = axisColor;
    const grid = { stroke: gridColor, width: 1 };
    const ticks = { stroke: gridColor, width: 1 };
    const xAxis: uPlot.Axis = { stroke: axisColor, grid, ticks };
    if (store.axis === "elapsed") xAxis.values = (_u, splits) => splits.map((v) => formatDuration(v));
    if (last) {
      xAxis.label = xLabel();
      xAxis.labelSize = 18;
      xAxis.labelFont = "11px sans-serif";
    }
    const yAxis: uPlot.Axis = {
      stroke: axisColor, grid, ticks, size: 56,
      values: (_u, splits) => {
        // Labels only at powers of ten on a log axis (its grid still marks 2..9).
        const labels = splits.map((v) => (panel.log ? (isPowerOfTen(v) ? formatNumber(v) : "") : formatNumber(v)));
        panel.box.dataset.yTicks = labels.filter((t) => t !== "").join(" ");
        return labels;
      },
    };
    const weight = smoothing();
    const series: uPlot.Series[] = [{}];
    for (const line of panel.lines) {
      const base = colourOf(line);
      let alpha = line.run.faded ? FADED : 1;
      if (weight > 0 && !line.smoothed) alpha *= RAW_UNDER_SMOOTHED;
      const dash = DASHES[dashIndex(panel.spec, line.name)];
      series.push({
        label: `${line.run.label} ${line.name}${line.smoothed ? " (smoothed)" : ""}`,
        stroke: alpha === 1 ? base : withAlpha(base, alpha),
        width: lineWidth(line, data.x.length),
        dash: dash.length ? dash : undefined,
        // Binned lines as one bar per pixel column (bars.ts), but a dashed one as a line:
        // its dashes would restart on every bar.
        paths: dash.length ? linear : (u, i, i0, i1) => (prepared?.grid ? columnBars : linear)(u, i, i0, i1),
        points: { show: false },
        spanGaps: false,
      });
    }
    const opts: uPlot.Options = {
      width: width(),
      height: panelHeight() + (last && xAxis.label ? 18 : 0),
      pxAlign: 0,
      legend: { show: false },
      cursor: {
        sync: { key: syncKey, setSeries: false, scales: ["x", null] },
        drag: { x: true, y: false, setScale: false },
        // Double-click returns to the live window (ours, below), not to uPlot's reset.
        bind: { dblclick: () => null },
        points: { show: false },
      },
      scales: {
        x: { time: store.axis === "time" },
        y: panel.log ? { distr: 3, log: 10 } : {},
      },
      axes: [xAxis, yAxis],
      series,
      hooks: {
        drawClear: [paintBackground(() => background)],
        setSelect: [onSelect],
        setCursor: [onCursor],
        setScale: [
          (u, key) => {
            if (key !== "x") return;
            const { min, max } = u.scales.x;
            if (min != null && max != null) {
              panel.box.dataset.xMin = String(min);
              panel.box.dataset.xMax = String(max);
            }
            if (panel === panels[0]) showRange();
          },
        ],
      },
    };
    panel.plot = withOpaqueCanvases(() => new uPlot(opts, panelData(panel, data), panel.box));
    panel.drawn = viewKey(panel, data);
    applyWidths(panel, data.x.length);
    panel.box.dataset.distr = panel.log ? "log" : "linear";
    panel.box.dataset.lines = String(panel.lines.length);
    if (zoom) panel.plot.setScale("x", zoom);
    panel.plot.over.addEventListener("dblclick", followLatest);
  };

  const build = () => {
    for (const p of panels) p.plot?.destroy();
    panels = [];
    panelsBox.replaceChildren();
    const weight = smoothing();
    const specs = layoutPanels(store.names, panelsTrait());
    for (const spec of specs) {
      const lines: Line[] = [];
      for (const run of store.runs) {
        for (const name of spec.series) {
          if (!run.ys.has(name)) continue;
          lines.push({ run, name, smoothed: false });
          if (weight > 0) lines.push({ run, name, smoothed: true });
        }
      }
      const root = h("div", "sse-panel");
      root.dataset.panel = spec.name;
      const head = h("div", "sse-panel-head");
      head.append(h("span", "sse-panel-name", spec.name));
      const logLabel = h("label", "sse-chart-control");
      const logBox = h("input");
      logBox.type = "checkbox";
      logBox.setAttribute("aria-label", "Log scale");
      const log = logOf.get(spec.name) ?? Boolean(model.get("log_y"));
      logBox.checked = log;
      logLabel.append(logBox, h("span", "", "log"));
      head.append(logLabel);
      const box = h("div", "sse-plot");
      root.append(head, box);
      panelsBox.append(root);
      const panel: Panel = { spec, lines, log, root, box, plot: null, skipped: new Map(), drawn: "" };
      logBox.addEventListener("change", () => {
        logOf.set(spec.name, logBox.checked);
        panel.log = logBox.checked;
        if (prepared) buildPanel(panel, prepared, panel === panels[panels.length - 1]);
        updateLegend();
      });
      panels.push(panel);
    }
    f.root.dataset.panels = String(panels.length);
    buildLegend();
    if (store.runs.length === 0) return;
    prepared = prepare();
    panels.forEach((p, i) => buildPanel(p, prepared!, i === panels.length - 1));
    showRange();
  };

  const draw = () => {
    f.update();
    const waiting = store.runs.length === 0;
    empty.textContent = waiting ? `waiting for metrics on ${store.channels.join(", ")}` : "";
    empty.style.display = waiting ? "" : "none";
    tools.style.display = waiting ? "none" : "";
    const s = smoothing();
    if (document.activeElement !== slider) slider.value = String(s);
    smoothingValue.textContent = s.toFixed(2);
    if (store.layout !== drawnLayout) {
      drawnLayout = store.layout;
      drawnVersion = store.version;
      build();
    } else if (store.version !== drawnVersion && store.runs.length > 0) {
      drawnVersion = store.version;
      refresh();
    }
    updateLegend();
  };

  slider.addEventListener("input", () => {
    model.set("smoothing", Math.min(0.99, Math.max(0, Number(slider.value))));
    model.save_changes();
  });
  let shownSmoothing = smoothing();
  const onSmoothing = () => {
    // Turning smoothing on or off adds or removes lines (rebuild); otherwise new values only.
    const now = smoothing();
    if ((now > 0) !== (shownSmoothing > 0)) store.layout += 1;
    shownSmoothing = now;
    store.invalidate();
  };
  const onLog = () => {
    logOf.clear();
    store.layout += 1;
    store.invalidate();
  };

  csvButton.addEventListener("click", () => {
    const csv = toCsv(store.runs, store.names);
    download(new Blob([csv], { type: "text/csv" }), fileName(String(model.get("title") || store.channels.join("_")), "csv"));
  });
  pngButton.addEventListener("click", () => {
    const canvases = panels.map((p) => p.plot?.ctx.canvas).filter((c): c is HTMLCanvasElement => Boolean(c));
    const background = getComputedStyle(f.root).backgroundColor || "#fff";
    const image = stackCanvases(canvases, background);
    image.toBlob((blob) => {
      if (blob) download(blob, fileName(String(model.get("title") || store.channels.join("_")), "png"));
    }, "image/png");
  });

  const resize = new ResizeObserver(() => {
    measured = 0;
    const w = width();
    for (const p of panels) {
      if (p.plot && w !== p.plot.width) p.plot.setSize({ width: w, height: p.plot.height });
    }
  });
  resize.observe(panelsBox);
  const relayout = () => {
    store.layout += 1;
    store.invalidate();
  };
  const traits = ["height", "_panels", "x_label"];
  traits.forEach((t) => model.on(`change:${t}`, relayout));
  model.on("change:smoothing", onSmoothing);
  model.on("change:log_y", onLog);
  const onTitle = () => f.update();
  model.on("change:title", onTitle);
  const removeView = store.addView(draw);
  return () => {
    removeView();
    resize.disconnect();
    traits.forEach((t) => model.off(`change:${t}`, relayout));
    model.off("change:smoothing", onSmoothing);
    model.off("change:log_y", onLog);
    model.off("change:title", onTitle);
    for (const p of panels) p.plot?.destroy();
  };
}

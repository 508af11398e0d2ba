// Downloads: every point held as CSV, and the panels as drawn as one PNG.

import { Run } from "./runs";

function csvField(text: string): string {
  // RFC 4180: quote a field holding a comma, quote or line break; double inner quotes.
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * `x,run,series,value`, one row per point and series the run holds, runs oldest first,
 * raw values (never smoothed). A published gap is an empty value; a series an event did
 * not name has no row. Numbers are written with `String`, which round-trips a float64.
 */
export function toCsv(runs: Run[], names: string[]): string {
  const rows = ["x,run,series,value"];
  for (const run of runs) {
    const xs = run.linearX();
    const label = csvField(run.label);
    const columns = names.map((name) => [csvField(name), run.linear(name)] as const).filter(([, ys]) => ys !== null);
    for (let i = 0; i < xs.length; i++) {
      const x = String(xs[i]);
      for (const [name, ys] of columns) {
        const y = (ys as Float64Array)[i];
        if (y !== y) continue;
        rows.push(`${x},${label},${name},${y === -Infinity ? "" : String(y)}`);
      }
    }
  }
  return rows.join("\r\n") + "\r\n";
}

/** The canvases stacked top to bottom on `background`, at their own pixel size. */
export function stackCanvases(canvases: HTMLCanvasElement[], background: string): HTMLCanvasElement {
  const out = document.createElement("canvas");
  out.width = Math.max(1, ...canvases.map((c) => c.width));
  out.height = Math.max(1, canvases.reduce((sum, c) => sum + c.height, 0));
  const ctx = out.getContext("2d");
  if (ctx) {
    ctx.fillStyle = background;
    ctx.fillRect(0, 0, out.width, out.height);
    let top = 0;
    for (const canvas of canvases) {
      ctx.drawImage(canvas, 0, top);
      top += canvas.height;
    }
  }
  return out;
}

/** Save `blob` as a file, through a temporary link (what a browser's download needs). */
export function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.style.display = "none";
  document.body.append(link);
  link.click();
  link.remove();
  // Revoked later: some browsers read the URL after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A file name from the chart's title or channels: letters, digits, dot, dash, underscore. */
export function fileName(base: string, extension: string): string {
  const safe = base.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^_+|_+$/g, "");
  return `${safe || "chart"}.${extension}`;
}

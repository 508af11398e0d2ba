// Bundles each widget frontend to ../sse_widgets/static/<name>.js (+ <name>.css).
// Each widget gets a self-contained ES module: anywidget loads every model's _esm from its
// own Blob URL, so there is no module sharing between bundles (state is shared on
// globalThis instead, see src/stream.ts).
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const dev = process.argv.includes("--dev");
const watch = process.argv.includes("--watch");
const widgets = ["chart", "progress", "toasts", "eventlog", "dashboard"];

const options = {
  entryPoints: widgets.map((name) => path.join(here, "src", `${name}.ts`)),
  outdir: path.join(here, "..", "sse_widgets", "static"),
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: !dev,
  sourcemap: dev ? "inline" : false,
  legalComments: "none",
  logLevel: "info",
  loader: { ".css": "css" },
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}

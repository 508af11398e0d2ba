// Bundles each widget frontend to ../sse_widgets/static/<name>.js (+ <name>.css), the
// browser's shared stream worker (stream-worker.js) and the public client (sse-client.js).
// Each widget gets a self-contained ES module: anywidget loads every model's _esm from its
// own Blob URL, so there is no module sharing between bundles (state is shared on
// globalThis instead, see src/stream.ts). The worker is built first: the widgets embed a
// hash of it, the `v=` of its URL, so a new build is a new worker (never a cached one
// speaking an older protocol).
import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const dev = process.argv.includes("--dev");
const watch = process.argv.includes("--watch");
const widgets = ["chart", "progress", "toasts", "eventlog", "dashboard"];
const outdir = path.join(here, "..", "sse_widgets", "static");

const common = {
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: !dev,
  sourcemap: dev ? "inline" : false,
  legalComments: "none",
  logLevel: "info",
  loader: { ".css": "css" },
};

const worker = { ...common, entryPoints: [path.join(here, "src", "worker.ts")], outfile: path.join(outdir, "stream-worker.js") };
await esbuild.build(worker);
const version = createHash("sha256").update(readFileSync(worker.outfile)).digest("hex").slice(0, 12);

const options = {
  ...common,
  entryPoints: [
    ...widgets.map((name) => path.join(here, "src", `${name}.ts`)),
    path.join(here, "src", "sse-client.ts"),
    path.join(here, "src", "sse-react.ts"),
  ],
  outdir,
  // React is the page's (a peer): sse-react.js imports "react" as the page resolves it.
  external: ["react"],
  define: { __SSE_WORKER_VERSION__: JSON.stringify(version) },
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}

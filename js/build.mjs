// Bundles each widget frontend to ../sse_widgets/static/<name>.js (+ <name>.css), the
// browser's shared stream worker (stream-worker.js), the public client (sse-client.js,
// sse-react.js), the page of a static dashboard (static_page.js + .css), and the JupyterLab
// extension (labextension/ → ../sse_widgets/labextension/, prebuilt, see the end).
// Each widget gets a self-contained ES module: anywidget loads every model's _esm from its
// own Blob URL, so there is no module sharing between bundles (state is shared on
// globalThis instead, see src/stream.ts). The worker is built first: the widgets embed a
// hash of it, the `v=` of its URL, so a new build is a new worker (never a cached one
// speaking an older protocol).
import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const dev = process.argv.includes("--dev");
const watch = process.argv.includes("--watch");
// The widgets and the static page only, no Lab extension (benchmarks/render.py's baseline).
const widgetsOnly = process.argv.includes("--widgets-only");
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

// The page of a static dashboard (serve --static): the ipywidgets HTML widget manager and
// anywidget's frontend in one module, so that viewers need no CDN. anywidget publishes its
// frontend as an AMD module (`define(["@jupyter-widgets/base"], factory)`); the plugin
// exports the factory instead. html-manager is built for webpack: it assigns
// `__webpack_public_path__` (declared here) and require()s its CSS, which esbuild bundles
// into static_page.css with the fonts beside it.
const anywidgetAmd = {
  name: "anywidget-amd",
  setup(build) {
    build.onLoad({ filter: /anywidget[\\/]dist[\\/]index\.js$/ }, async (args) => {
      const { readFile } = await import("node:fs/promises");
      const source = await readFile(args.path, "utf8");
      const amd = 'define(["@jupyter-widgets/base"], widget_default);';
      if (!source.includes(amd)) throw new Error("anywidget's frontend no longer ends in its AMD define");
      return { contents: source.replace(amd, "export default widget_default;"), loader: "js" };
    });
  },
};
const staticPage = {
  ...common,
  outdir,
  entryPoints: [path.join(here, "src", "static_page.ts")],
  plugins: [anywidgetAmd],
  banner: { js: "var __webpack_public_path__ = '';" },
  define: { "process.env.NODE_ENV": '"production"', __SSE_WORKER_VERSION__: JSON.stringify(version) },
  assetNames: "static-page-assets/[name]-[hash]",
  loader: {
    ...common.loader,
    ".woff": "file", ".woff2": "file", ".ttf": "file", ".eot": "file", ".svg": "file",
    ".png": "file", ".gif": "file",
  },
};

// The JupyterLab extension, in two steps. esbuild bundles its TypeScript with the client it
// shares with the widgets (same worker version, so Lab and the widgets share one worker) into
// labextension/lib/index.js, leaving JupyterLab's packages as imports; then JupyterLab's
// builder turns that into a prebuilt (federated) extension whose `@jupyterlab/*` imports are
// the application's own singletons. `jupyter-builder` is the Python side of the builder
// (a dependency of JupyterLab >= 4.6, and in pyproject's build-system requires); it reads the
// core's shared versions from @jupyterlab/core-meta in node_modules, so nothing is downloaded.
const labSource = {
  ...common,
  entryPoints: [path.join(here, "labextension", "src", "index.ts")],
  outfile: path.join(here, "labextension", "lib", "index.js"),
  minify: false,
  external: ["@jupyterlab/*", "@lumino/*"],
  define: { __SSE_WORKER_VERSION__: JSON.stringify(version) },
};

function buildLabExtension() {
  const args = ["build", ...(dev ? ["--development"] : []), path.join(here, "labextension")];
  const run = spawnSync("jupyter-builder", args, { stdio: "inherit" });
  if (run.error?.code === "ENOENT") {
    throw new Error("jupyter-builder not found: install jupyterlab>=4.6 or jupyter-builder (pip), then build again");
  }
  if (run.status !== 0) throw new Error(`jupyter-builder build failed (exit ${run.status})`);
}

if (watch) {
  for (const config of [options, staticPage]) {
    const ctx = await esbuild.context(config);
    await ctx.watch();
  }
} else {
  await Promise.all([esbuild.build(options), esbuild.build(staticPage), ...(widgetsOnly ? [] : [esbuild.build(labSource)])]);
  if (!widgetsOnly) buildLabExtension();
}

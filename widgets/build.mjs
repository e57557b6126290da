// Builds the widget bundles with esbuild (toolchain.md §4):
//   build/widgets/standalone.js  IIFE: html-manager + the browser, renders saved widget state (offline pages)
//   build/widgets/live.js        IIFE: a minimal live front end (@jupyterlab/services + comm widget manager), tests
//   build/widgets/esm/index.js   ESM: the browser module alone, @jupyter-widgets/base external (for hosts that
//                                provide it: the JupyterLab extension wrapper, custom managers)
// Usage: node widgets/build.mjs [--dev] [--standalone]   (--standalone: only the offline bundle, which clip-nad's
// export commands need at run time; it uses runtime dependencies only, while live.js needs @jupyterlab/services)
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { createRequire } from "node:module";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dev = process.argv.includes("--dev");
// @jupyter/web-components imports tslib, which npm leaves un-hoisted (an optional peer); use the copy that
// @microsoft/fast-foundation (a hard dependency of the same tree) brings.
const require = createRequire(import.meta.url);
const fastDir = path.dirname(require.resolve("@microsoft/fast-foundation/package.json", { paths: [root] }));
const tslib = path.join(path.dirname(require.resolve("tslib", { paths: [fastDir] })), "tslib.es6.js");
const common = {
  bundle: true, minify: !dev, sourcemap: false, logLevel: "warning", absWorkingDir: root,
  loader: { ".svg": "text", ".woff": "dataurl", ".woff2": "dataurl", ".ttf": "dataurl", ".eot": "dataurl", ".css": "text" },
  banner: { js: 'var __webpack_public_path__ = "";' },
  alias: { tslib },
  define: { "process.env.NODE_ENV": '"production"' },
};

export async function buildWidgets({ standaloneOnly = false } = {}) {
  const out = path.join(root, "build/widgets");
  await build({ ...common, entryPoints: ["widgets/page/standalone.ts"], format: "iife", outfile: path.join(out, "standalone.js") });
  if (standaloneOnly) return out;
  await build({ ...common, entryPoints: ["widgets/page/live.ts"], format: "iife", outfile: path.join(out, "live.js") });
  await build({
    ...common, entryPoints: ["widgets/neuron-head-browser/index.ts"], format: "esm", outfile: path.join(out, "esm/index.js"),
    external: ["@jupyter-widgets/base"],
  });
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const t0 = Date.now();
  const out = await buildWidgets({ standaloneOnly: process.argv.includes("--standalone") });
  console.log(`widgets built in ${Date.now() - t0} ms → ${path.relative(root, out)}`);
}

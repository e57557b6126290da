// Builds the widget bundles with esbuild (toolchain.md §4):
//   build/widgets/standalone.js  IIFE: html-manager + the browser, renders saved widget state (offline pages)
//   build/widgets/live.js        IIFE: a minimal live front end (@jupyterlab/services + comm widget manager), tests
//   build/widgets/esm/index.js   ESM: the browser module alone, @jupyter-widgets/base external (for hosts that
//                                provide it: the JupyterLab extension wrapper, custom managers)
//   build/widgets/nbextension/clip-nad-widgets/{extension.js,plotly.min.js}
//                                the classic Notebook 6 extension (AMD module, its own widget manager) + plotly.js
// Usage: node widgets/build.mjs [--dev] [--standalone|--nbextension]   (--standalone: only the offline bundle,
// --nbextension: only the classic-notebook extension; both use runtime dependencies only, which clip-nad's export
// and install commands need at run time, while live.js needs the devDependency @jupyterlab/services)
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { createRequire } from "node:module";
import fs from "node:fs";

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

export const NBEXTENSION_DIR = path.join(root, "build/widgets/nbextension/clip-nad-widgets");

/**
 * The classic-notebook extension: an IIFE inside an AMD module. Inside the factory `define` is shadowed, so the
 * bundled UMD modules (backbone checks AMD first) export through CommonJS as they do everywhere else.
 */
export async function buildNbextension() {
  await build({
    ...common,
    entryPoints: ["widgets/classic/extension.ts"],
    format: "iife",
    globalName: "clipNadClassic",
    outfile: path.join(NBEXTENSION_DIR, "extension.js"),
    banner: {
      js:
        'define(["base/js/namespace", "notebook/js/outputarea", "require"], function (Jupyter, outputarea, ' +
          'amdRequire) {\n' +
        '"use strict";\nvar define = undefined;\n' +
        common.banner.js,
    },
    footer: {
      js: "return { load_ipython_extension: function () { clipNadClassic.load(Jupyter, outputarea, amdRequire); } " +
          "};\n});",
    },
  });
  fs.copyFileSync(
    require.resolve("plotly.js-dist-min/plotly.min.js", { paths: [root] }),
    path.join(NBEXTENSION_DIR, "plotly.min.js"),
  );
  return NBEXTENSION_DIR;
}

export async function buildWidgets({ standaloneOnly = false, nbextensionOnly = false } = {}) {
  const out = path.join(root, "build/widgets");
  if (nbextensionOnly) {
    await buildNbextension();
    return out;
  }
  await build({ ...common, entryPoints: ["widgets/page/standalone.ts"], format: "iife", outfile: path.join(out, "standalone.js") });
  if (standaloneOnly) return out;
  await buildNbextension();
  await build({ ...common, entryPoints: ["widgets/page/live.ts"], format: "iife", outfile: path.join(out, "live.js") });
  await build({
    ...common, entryPoints: ["widgets/neuron-head-browser/index.ts"], format: "esm", outfile: path.join(out, "esm/index.js"),
    external: ["@jupyter-widgets/base"],
  });
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const t0 = Date.now();
  const out = await buildWidgets({
    standaloneOnly: process.argv.includes("--standalone"),
    nbextensionOnly: process.argv.includes("--nbextension"),
  });
  console.log(`widgets built in ${Date.now() - t0} ms → ${path.relative(root, out)}`);
}

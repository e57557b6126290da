// Builds the prebuilt JupyterLab 4 extension of clip-nad-widgets (a federated labextension) from npm packages:
//   1. esbuild: widgets/labextension/plugin.ts → one ES module, @jupyter-widgets/base left external;
//   2. @jupyterlab/builder's build-labextension (webpack module federation) on a staged package, with a minimal
//      "core" package.json (JupyterLab's core packages are not needed: the plugin imports only
//      @jupyter-widgets/base, shared as a singleton provided by jupyterlab_widgets).
// Output: build/widgets/labextension/clip-nad-widgets/ (package.json with jupyterlab._build, static/remoteEntry.*.js)
// @jupyterlab/builder is installed on first use into build/labext-builder (npm, ~20 s, 64 MB).
// Usage: node widgets/labextension/build.mjs
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const widgetsPkg = JSON.parse(fs.readFileSync(path.join(root, "widgets/package.json"), "utf8"));
const basePkg = JSON.parse(fs.readFileSync(path.join(root, "node_modules/@jupyter-widgets/base/package.json"), "utf8"));
const work = path.join(root, "build/widgets/labext-stage");
const stage = path.join(work, widgetsPkg.name);
const core = path.join(work, "core");
const outDir = path.join(root, "build/widgets/labextension", widgetsPkg.name);
const builderDir = path.join(root, "build/labext-builder");
const BUILDER_VERSION = "4.5.11"; // pinned: the build must not change under us

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (rc ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

function ensureBuilder() {
  const cli = path.join(builderDir, "node_modules/@jupyterlab/builder/lib/build-labextension.js");
  if (fs.existsSync(cli)) return cli;
  fs.mkdirSync(builderDir, { recursive: true });
  fs.writeFileSync(path.join(builderDir, "package.json"), JSON.stringify({ name: "clip-nad-labext-builder", private: true }));
  run("npm", ["install", "--no-audit", "--no-fund", "--no-save", `@jupyterlab/builder@${BUILDER_VERSION}`], {
    cwd: builderDir, env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: "skip" },
  });
  return cli;
}

export async function buildLabExtension() {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  fs.mkdirSync(core, { recursive: true });
  await build({
    entryPoints: [path.join(root, "widgets/labextension/plugin.ts")], bundle: true, format: "esm", minify: true,
    outfile: path.join(stage, "plugin.js"), external: ["@jupyter-widgets/base"], absWorkingDir: root, logLevel: "warning",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  fs.writeFileSync(path.join(stage, "package.json"), JSON.stringify({
    name: widgetsPkg.name, version: widgetsPkg.version, description: widgetsPkg.description, license: widgetsPkg.license,
    main: "plugin.js",
    keywords: ["jupyter", "jupyterlab", "jupyterlab-extension", "widgets"],
    dependencies: { "@jupyter-widgets/base": `^${basePkg.version.split(".")[0]}.0.0` },
    jupyterlab: {
      extension: true,
      outputDir: path.relative(stage, outDir),
      sharedPackages: { "@jupyter-widgets/base": { bundled: false, singleton: true } },
      webpackConfig: "./webpack.config.js",
    },
  }, null, 2));
  // Own chunk-loading namespace (webpack would otherwise name it after the builder's folder).
  fs.writeFileSync(path.join(stage, "webpack.config.js"), `module.exports = { output: { uniqueName: ${JSON.stringify(widgetsPkg.name)} } };\n`);
  // Minimal core description: what the builder reads from JupyterLab's staging package.json.
  fs.writeFileSync(path.join(core, "package.json"), JSON.stringify({
    name: "@jupyterlab/application-top", version: "4.0.0", private: true, dependencies: {}, resolutions: {},
    jupyterlab: { singletonPackages: [] },
  }, null, 2));
  // webpack resolves the staged package's dependencies from its folder: link the project's node_modules.
  fs.symlinkSync(path.join(root, "node_modules"), path.join(stage, "node_modules"), "dir");
  const cli = ensureBuilder();
  run(process.execPath, [cli, "--core-path", core, stage], { cwd: builderDir });
  const pkg = JSON.parse(fs.readFileSync(path.join(outDir, "package.json"), "utf8"));
  if (!pkg.jupyterlab?._build?.load) throw new Error("build-labextension wrote no jupyterlab._build.load");
  return { outDir, remoteEntry: path.join(outDir, pkg.jupyterlab._build.load) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const t0 = Date.now();
  const { outDir: out, remoteEntry } = await buildLabExtension();
  console.log(`labextension built in ${((Date.now() - t0) / 1000).toFixed(1)} s → ${path.relative(root, out)} (${path.relative(out, remoteEntry)})`);
}

"use strict";
// `import … from "clip-nad"` in a notebook in any folder. Cells resolve the package this kernel belongs to when it
// is not installed where the notebook lives:
//  - tslab's type checker (its own TypeScript 5.0): <any>/node_modules/clip-nad/... is mapped onto this package's
//    declarations (.d.ts, generated once per version of the sources into clip-nad's cache), so a cell type-checks
//    against the API without re-checking the whole library (8 s a notebook before); the paths stay virtual, so the
//    package counts as an external library;
//  - at run time, Node's resolver falls back to this package (resolving as the package itself, through its
//    package.json "exports": "clip-nad", and the deep paths "clip-nad/src/…", "clip-nad/kernel-ext/…" for
//    internals); the TypeScript sources load through tsx's hook, registered here.
// Used by kernel.cjs and by tools/notebooks/typecheck.cjs (the same check without running the cells).
const crypto = require("crypto");
const fs = require("fs");
const os = require("os");
const path = require("path");
const Module = require("module");

const PACKAGE = "clip-nad";

function listSources(root) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|json)$/.test(e.name) && !e.name.endsWith(".test.ts")) out.push(p);
    }
  };
  for (const d of ["src", "kernel-ext"]) walk(path.join(root, d));
  return out;
}

/**
 * The folder of this package's declarations (`src/**.d.ts`, `kernel-ext/**.d.ts`), generated with tslab's TypeScript
 * when the sources changed (keyed by their content) and kept in clip-nad's cache; null when generation fails (the
 * checker then reads the .ts sources, slower but the same types).
 */
function declarations(ts, projectRoot, log) {
  const files = listSources(projectRoot);
  const h = crypto.createHash("sha256").update(ts.version);
  for (const f of files) h.update(path.relative(projectRoot, f)).update("\0").update(fs.readFileSync(f)).update("\n");
  const cache = process.env.CLIP_NAD_CACHE || path.join(os.homedir(), ".cache", "clip-nad");
  const dir = path.join(cache, "types", h.digest("hex").slice(0, 24));
  if (fs.existsSync(path.join(dir, "src", "index.d.ts"))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  try {
    const options = {
      declaration: true,
      emitDeclarationOnly: true,
      outDir: tmp,
      rootDir: projectRoot,
      skipLibCheck: true,
      noEmitOnError: false,
      target: ts.ScriptTarget.ES2022,
      lib: ["lib.es2022.d.ts"],
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      esModuleInterop: true,
      resolveJsonModule: true,
      strict: true,
      types: ["node"],
      typeRoots: [path.join(projectRoot, "node_modules", "@types")],
    };
    // Every module (not only what the front door reaches), so deep imports ("clip-nad/src/…") have declarations too.
    const program = ts.createProgram(files.filter((f) => f.endsWith(".ts")), options);
    const result = program.emit();
    if (result.emitSkipped) throw new Error("declaration emit skipped");
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(path.join(dir, "src", "index.d.ts"))) {
      if (log) log(`clip-nad declarations not generated (${e.message}); cells type-check against the sources`);
      return null;
    }
  }
  return dir;
}

function installPackageResolution({ tslabDir, projectRoot, log }) {
  const ts = require(require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] }));
  const methods = ["fileExists", "readFile", "directoryExists", "getDirectories", "readDirectory"];
  for (const m of methods.slice(0, 3)) {
    if (typeof ts.sys[m] !== "function") throw new Error(`tslab's TypeScript has no sys.${m} (the kernel maps the ${PACKAGE} package through it)`);
  }
  const virtual = new RegExp(`[\\\\/]node_modules[\\\\/]${PACKAGE}(?=[\\\\/]|$)`);
  let declDir; // undefined: not looked up yet; null: none (use the sources)
  const decls = () => (declDir === undefined ? (declDir = declarations(ts, projectRoot, log)) : declDir);
  // The package.json the checker sees: types from the declarations when there are some.
  const packageJson = () =>
    JSON.stringify({
      ...JSON.parse(fs.readFileSync(path.join(projectRoot, "package.json"), "utf8")),
      types: decls() ? "src/index.d.ts" : "src/index.ts",
    });
  /** The real path behind a virtual one (null: not ours), or "" for a file the checker must not see. */
  const physical = (p) => {
    const m = typeof p === "string" ? virtual.exec(p) : null;
    if (!m) return null;
    const rest = p.slice(m.index + m[0].length);
    if (/[\\/]package\.json$/.test(rest)) return path.join(projectRoot, rest);
    const d = decls();
    if (d && /\.d\.ts$/.test(rest)) return path.join(d, rest);
    // With declarations, hide the sources from the checker (it would prefer them to the .d.ts and check them all).
    if (d && /\.tsx?$/.test(rest)) return "";
    return path.join(d && fs.existsSync(path.join(d, rest)) ? d : projectRoot, rest);
  };
  for (const method of methods) {
    const orig = ts.sys[method];
    if (typeof orig !== "function") continue;
    ts.sys[method] = function (p, ...rest) {
      const real = physical(p);
      if (real === null || fs.existsSync(p)) return orig.call(this, p, ...rest);
      if (real === "") return method === "fileExists" || method === "directoryExists" ? false : undefined;
      if (method === "readFile" && /[\\/]package\.json$/.test(p) && real === path.join(projectRoot, "package.json"))
        return packageJson();
      return orig.call(this, real, ...rest);
    };
  }
  require(require.resolve("tsx/cjs", { paths: [projectRoot] }));
  const origResolve = Module._resolveFilename;
  Module._resolveFilename = function (request, parent, ...rest) {
    try {
      return origResolve.call(this, request, parent, ...rest);
    } catch (e) {
      if (!(e && e.code === "MODULE_NOT_FOUND" && (request === PACKAGE || request.startsWith(`${PACKAGE}/`)))) throw e;
      const fromPackage = { id: projectRoot, filename: path.join(projectRoot, "index.cjs"), paths: [path.dirname(projectRoot)] };
      return origResolve.call(this, request, fromPackage, ...rest);
    }
  };
  return ts;
}

module.exports = { installPackageResolution, PACKAGE };

"use strict";
// `import … from "clip-nad"` in a notebook in any folder. Cells resolve the package this kernel belongs to when it
// is not installed where the notebook lives:
//  - tslab's type checker (its own TypeScript 5.0): <any>/node_modules/clip-nad/... is mapped onto this package;
//    the paths stay virtual, so its files count as an external library (type-checked, not re-emitted by tslab);
//  - at run time, Node's resolver falls back to this package (resolving as the package itself, through its
//    package.json "exports": "clip-nad", and the deep paths "clip-nad/src/…", "clip-nad/kernel-ext/…" for
//    internals); the TypeScript sources load through tsx's hook, registered here.
// Used by kernel.cjs and by tools/notebooks/typecheck.cjs (the same check without running the cells).
const fs = require("fs");
const path = require("path");
const Module = require("module");

const PACKAGE = "clip-nad";

function installPackageResolution({ tslabDir, projectRoot, log }) {
  const ts = require(require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] }));
  const methods = ["fileExists", "readFile", "directoryExists", "getDirectories", "readDirectory"];
  for (const m of methods.slice(0, 3)) {
    if (typeof ts.sys[m] !== "function") throw new Error(`tslab's TypeScript has no sys.${m} (the kernel maps the ${PACKAGE} package through it)`);
  }
  const virtual = new RegExp(`[\\\\/]node_modules[\\\\/]${PACKAGE}(?=[\\\\/]|$)`);
  const physical = (p) => {
    const m = typeof p === "string" ? virtual.exec(p) : null;
    return m ? path.join(projectRoot, p.slice(m.index + m[0].length)) : null;
  };
  for (const method of methods) {
    const orig = ts.sys[method];
    if (typeof orig !== "function") continue;
    ts.sys[method] = function (p, ...rest) {
      const real = physical(p);
      if (real !== null && !fs.existsSync(p)) return orig.call(this, real, ...rest);
      return orig.call(this, p, ...rest);
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
  if (log) log(`"${PACKAGE}" resolves to ${projectRoot} where the notebook does not install it`);
  return ts;
}

module.exports = { installPackageResolution, PACKAGE };

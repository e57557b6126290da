"use strict";
// The launcher replaces tslab internals, so it runs only on the tslab it was written against (package.json pins it
// exactly): a different version, or a method that moved, stops the kernel at start with a message naming what does
// not match — never a kernel that starts and then misbehaves.
const fs = require("fs");
const path = require("path");

const TSLAB_VERSION = "1.0.22";

/** Problems (strings) with the tslab installed at `tslabDir`; empty when the kernel can patch it. */
function checkTslab(tslabDir) {
  const problems = [];
  let version = "unknown";
  try {
    version = JSON.parse(fs.readFileSync(path.join(tslabDir, "package.json"), "utf8")).version;
  } catch (e) {
    return [`cannot read tslab's package.json in ${tslabDir} (${e.message})`];
  }
  if (version !== TSLAB_VERSION)
    problems.push(`tslab ${version} is installed, this kernel needs exactly ${TSLAB_VERSION} (run npm ci)`);
  let jupyter, main;
  try {
    jupyter = require(path.join(tslabDir, "dist", "jupyter"));
    main = require(path.join(tslabDir, "dist", "main"));
  } catch (e) {
    return [...problems, `cannot load tslab's dist/jupyter or dist/main (${e.message})`];
  }
  const proto = (cls) => (cls && cls.prototype) || {};
  const need = [
    ["ZmqServer.prototype.init", proto(jupyter.ZmqServer).init],
    ["ZmqServer.prototype.handleShellMessage", proto(jupyter.ZmqServer).handleShellMessage],
    ["ZmqServer.prototype.handleExecute", proto(jupyter.ZmqServer).handleExecute],
    ["JupyterHandlerImpl.prototype.handleExecuteImpl", proto(jupyter.JupyterHandlerImpl).handleExecuteImpl],
    ["main.startKernel", main.startKernel],
  ];
  for (const [name, fn] of need)
    if (typeof fn !== "function") problems.push(`tslab's ${name} is missing (the kernel patches it)`);
  if (!("lastWriteDisplayData" in jupyter))
    problems.push("tslab's jupyter.lastWriteDisplayData export is missing (display helpers use it)");
  return problems;
}

module.exports = { checkTslab, TSLAB_VERSION };

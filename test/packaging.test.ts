// Packaging: the kernel runs only on the tslab it patches (checked at start, by name), and the commands that users
// run need nothing from devDependencies (export-figure, export-notebook, export-browser included).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { builtinModules } from "module";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { checkTslab, TSLAB_VERSION } = require("../kernel-ext/tslab-check.cjs") as {
  checkTslab(dir: string): string[]; TSLAB_VERSION: string;
};

function fakeTslab(version: string, jupyterJs: string, mainJs: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-tslab-"));
  fs.mkdirSync(path.join(dir, "dist"));
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "tslab", version }));
  fs.writeFileSync(path.join(dir, "dist", "jupyter.js"), jupyterJs);
  fs.writeFileSync(path.join(dir, "dist", "main.js"), mainJs);
  return dir;
}

describe("the kernel's tslab", () => {
  it("is pinned exactly in package.json and passes the start-up check", () => {
    expect(pkg.dependencies.tslab).toBe(TSLAB_VERSION);
    const installed = path.dirname(require.resolve("tslab/package.json", { paths: [ROOT] }));
    expect(checkTslab(installed)).toEqual([]);
  });

  it("names the mismatch: another version, a missing method, a missing export", () => {
    const good =
      "class ZmqServer { init() {} handleShellMessage() {} handleExecute() {} }\n" +
      "class JupyterHandlerImpl { handleExecuteImpl() {} }\nmodule.exports = { ZmqServer, JupyterHandlerImpl, " +
        "lastWriteDisplayData: null };";
    const dir1 = fakeTslab("1.0.23", good, "module.exports = { startKernel() {} };");
    expect(checkTslab(dir1)).toEqual([
      `tslab 1.0.23 is installed, this kernel needs exactly ${TSLAB_VERSION} (run npm ci)`,
    ]);
    const dir2 = fakeTslab(
      TSLAB_VERSION,
      good.replace("handleExecute() {}", "").replace(", lastWriteDisplayData: null", ""),
      "module.exports = {};",
    );
    expect(checkTslab(dir2)).toEqual([
      "tslab's ZmqServer.prototype.handleExecute is missing (the kernel patches it)",
      "tslab's main.startKernel is missing (the kernel patches it)",
      "tslab's jupyter.lastWriteDisplayData export is missing (display helpers use it)",
    ]);
    for (const d of [dir1, dir2]) fs.rmSync(d, { recursive: true, force: true });
  });

  it("a kernel started on a mismatched tslab stops at once with that message", () => {
    // The launcher resolves tslab from the package root: run a copy of kernel-ext whose root has a fake tslab.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "fake-root-"));
    fs.cpSync(path.join(ROOT, "kernel-ext"), path.join(root, "kernel-ext"), { recursive: true });
    const tslab = fakeTslab("0.9.0", "module.exports = {};", "module.exports = {};");
    fs.mkdirSync(path.join(root, "node_modules"));
    fs.renameSync(tslab, path.join(root, "node_modules", "tslab"));
    const r = spawnSync(
      process.execPath,
      [path.join(root, "kernel-ext", "kernel.cjs"), "--config-path", path.join(root, "none.json")],
      { encoding: "utf8", timeout: 30_000 },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `[clip-nad kernel] cannot start: tslab 0.9.0 is installed, this kernel needs exactly ${TSLAB_VERSION}`,
    );
    fs.rmSync(root, { recursive: true, force: true });
  });
});

describe("run-time dependencies", () => {
  /** Every bare module specifier imported by the files that run for users (src, kernel-ext, the widget bundle). */
  function bareImports(): Map<string, string> {
    const found = new Map<string, string>();
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) { if (!["node_modules", "labextension"].includes(e.name)) walk(p); continue; }
        if (
          !/\.(ts|cjs|mjs|js)$/.test(e.name) ||
          /\.test\.ts$/.test(e.name) ||
          e.name === "live.ts" ||
          e.name === "test-host.ts"
        )
          continue;
        const text = fs.readFileSync(p, "utf8");
        for (const m of text.matchAll(/(?:from\s+|require\(\s*|import\(\s*)["']([^"'./][^"']*)["']/g)) {
          if (/[\s$`]/.test(m[1])) continue; // text inside a template string, not an import
          const spec = m[1].startsWith("node:") ? m[1].slice(5) : m[1];
          const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
          if (!found.has(name)) found.set(name, path.relative(ROOT, p));
        }
      }
    };
    for (const d of ["src", "kernel-ext", "widgets/neuron-head-browser", "widgets/page"]) walk(path.join(ROOT, d));
    walk(path.join(ROOT, "widgets")); // build.mjs (run at export time)
    return found;
  }

  it("every package the shipped code imports is installed without devDependencies", () => {
    // In the lock file, a package only devDependencies bring in is marked "dev": true (npm ci --omit=dev skips it).
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8"));
    const missing: string[] = [];
    for (const [name, where] of bareImports()) {
      if (builtinModules.includes(name) || name === "clip-nad") continue;
      const entry = lock.packages[`node_modules/${name}`];
      if (!entry || entry.dev === true) missing.push(`${name} (imported by ${where})`);
    }
    expect(missing).toEqual([]);
    expect(lock.packages["node_modules/playwright-core"].dev).toBeUndefined(); // export-figure's browser driver
  });
});

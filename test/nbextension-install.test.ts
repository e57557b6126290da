/**
 * `clip-nad kernel install --nbextension`: where the classic-notebook extension goes (the locations `jupyter
 * nbextension install/enable` use: per user from JUPYTER_DATA_DIR / JUPYTER_CONFIG_DIR, or under --prefix), that
 * Jupyter itself then lists it as enabled and valid (`jupyter nbextension list`), that an existing notebook.json
 * keeps its other keys, and that a notebook.json it cannot merge is refused and left byte-for-byte as it was.
 * The bundle's AMD wrapper is checked by evaluating it in jsdom with a recording `define`.
 */
import { describe, it, expect, afterAll } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
// jsdom has no bundled types (and @types/jsdom is not a dependency): the little used here.
const { JSDOM } = require("jsdom") as { JSDOM: new (html: string, o: object) => { window: { close(): void } } };
import { spawnSync } from "child_process";
import { enableNbextension, installNbextension, nbextensionLocation } from "../src/jupyter/nbextension";
import { ClipNadError } from "../src/errors";

const root = path.resolve(__dirname, "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-nbext-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function jupyterEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("JUPYTER_")) env[k] = v;
  return { ...env, ...extra };
}

describe("classic-notebook extension install", () => {
  it("per user: JUPYTER_DATA_DIR/nbextensions + JUPYTER_CONFIG_DIR/nbconfig; jupyter lists it enabled and " +
      "valid", () => {
    const env = jupyterEnv({
      JUPYTER_DATA_DIR: path.join(tmp, "u-data"),
      JUPYTER_CONFIG_DIR: path.join(tmp, "u-config"),
    });
    const r = spawnSync(
      process.execPath,
      [path.join(root, "src/cli/bin.cjs"), "kernel", "install", "--user", "--nbextension", "--name", "nbext-test"],
      { cwd: root, encoding: "utf8", env },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const ext = path.join(tmp, "u-data", "nbextensions", "clip-nad-widgets");
    expect(fs.readdirSync(ext).sort()).toEqual(["extension.js", "plotly.min.js"]);
    // plotly.js is the one display.ts inlines (the same package file).
    expect(
      fs
        .readFileSync(path.join(ext, "plotly.min.js"))
        .equals(fs.readFileSync(require.resolve("plotly.js-dist-min/plotly.min.js"))),
    ).toBe(true);
    const config = JSON.parse(fs.readFileSync(path.join(tmp, "u-config", "nbconfig", "notebook.json"), "utf8"));
    expect(config).toEqual({ load_extensions: { "clip-nad-widgets/extension": true } });
    // Jupyter's own view of it (Debian's jupyter-notebook; jupyter_core reads the same variables).
    const list = spawnSync("jupyter", ["nbextension", "list"], { encoding: "utf8", env });
    if (list.error) return; // no `jupyter` here: the file checks above stand
    const text = (list.stdout + list.stderr).replace(/\x1b\[[0-9;]*m/g, "");
    expect(text).toContain(path.join(tmp, "u-config", "nbconfig"));
    expect(text).toMatch(/clip-nad-widgets\/extension\s+enabled\s+- Validating: OK/);
  }, 120_000);

  it("--prefix: DIR/share/jupyter and DIR/etc/jupyter", () => {
    const prefix = path.join(tmp, "prefix");
    const loc = nbextensionLocation({ prefix });
    expect(loc).toEqual({
      dataDir: path.join(prefix, "share", "jupyter"),
      configDir: path.join(prefix, "etc", "jupyter"),
    });
    const done = installNbextension({ prefix });
    expect(done.nbextensionDir).toBe(path.join(prefix, "share", "jupyter", "nbextensions", "clip-nad-widgets"));
    expect(done.configFile).toBe(path.join(prefix, "etc", "jupyter", "nbconfig", "notebook.json"));
    expect(fs.existsSync(path.join(done.nbextensionDir, "extension.js"))).toBe(true);
    expect(() => nbextensionLocation({ prefix, user: true })).toThrow(ClipNadError);
  }, 120_000);

  it("an existing notebook.json keeps its other settings; one it cannot merge is refused and left as it was", () => {
    const dir = path.join(tmp, "merge");
    fs.mkdirSync(path.join(dir, "nbconfig"), { recursive: true });
    const file = path.join(dir, "nbconfig", "notebook.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        Cell: { cm_config: { lineNumbers: true } },
        load_extensions: { "toc2/main": true, "clip-nad-widgets/extension": false },
      }),
    );
    enableNbextension(dir);
    expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual({
      Cell: { cm_config: { lineNumbers: true } },
      load_extensions: { "toc2/main": true, "clip-nad-widgets/extension": true },
    });
    for (const bad of ["[1, 2]", "{\"load_extensions\": [\"a\"]}", "{ not json"]) {
      fs.writeFileSync(file, bad);
      expect(() => enableNbextension(dir)).toThrow(ClipNadError);
      expect(() => enableNbextension(dir)).toThrow(new RegExp(file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")));
      expect(fs.readFileSync(file, "utf8")).toBe(bad);
    }
  });

  it("the bundle is one AMD module on the notebook's modules, returning load_ipython_extension; define is hidden " +
      "inside", () => {
    const done = installNbextension({ prefix: path.join(tmp, "amd") });
    const code = fs.readFileSync(path.join(done.nbextensionDir, "extension.js"), "utf8");
    // The notebook page, as far as the bundle touches it at load: a DOM (jsdom) with requirejs's global `define`.
    const dom = new JSDOM("<!DOCTYPE html><html><head></head><body></body></html>", {
      runScripts: "outside-only",
      pretendToBeVisual: true,
    });
    const w = dom.window as unknown as Record<string, unknown> & {
      eval(code: string): unknown;
      MouseEvent: typeof MouseEvent;
    };
    w.DragEvent ??= class DragEvent extends w.MouseEvent {};
    w.matchMedia ??= () => ({
      matches: false,
      addListener() {},
      removeListener() {},
      addEventListener() {},
      removeEventListener() {},
    });
    const calls: { deps: string[]; mod: { load_ipython_extension?: unknown } }[] = [];
    // Any other define() call would be a bundled UMD module registering itself with requirejs instead of exporting.
    w.define = Object.assign(
      (deps: string[], factory: (...a: unknown[]) => { load_ipython_extension?: unknown }) => {
        calls.push({
          deps,
          mod: factory(
            {},
            {
              OutputArea: {
                prototype: {
                  register_mime_type() {
                    /* not called here */
                  },
                },
              },
            },
            () => undefined,
          ),
        });
      },
      { amd: {} },
    );
    w.eval(code);
    dom.window.close();
    expect(calls).toHaveLength(1);
    expect(calls[0].deps).toEqual(["base/js/namespace", "notebook/js/outputarea", "require"]);
    expect(typeof calls[0].mod.load_ipython_extension).toBe("function");
  }, 120_000);
});

/**
 * The prebuilt JupyterLab 4 extension (widgets/labextension/build.mjs → build/widgets/labextension/clip-nad-widgets):
 * its package metadata, and — in headless Chromium — that the federated module loads like JupyterLab loads it,
 * takes @jupyter-widgets/base from the host's share scope (the registry token is the host's object), registers
 * the browser's model and view, and that those classes render a browser that answers a click.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { build } from "esbuild";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { BrowserBackend } from "../src/browser/backend";
import { browserWidgetState, savedStateDocument } from "../src/browser/state";
import { syntheticSource } from "../src/browser/synthetic";
import { idle, launch } from "./browser-harness";

const ROOT = path.resolve(__dirname, "..");
const EXT = path.join(ROOT, "build/widgets/labextension/clip-nad-widgets");
let server: http.Server;
let url = "";
let remoteEntry = "";
let chrome: Awaited<ReturnType<typeof launch>>;

beforeAll(async () => {
  const { buildLabExtension } = await import(path.join(ROOT, "widgets/labextension/build.mjs"));
  remoteEntry = path.relative(EXT, (await buildLabExtension()).remoteEntry);
  const hostJs = await build({
    entryPoints: [path.join(ROOT, "widgets/labextension/test-host.ts")], bundle: true, format: "iife", write: false, logLevel: "warning",
    define: { "process.env.NODE_ENV": '"production"' }, banner: { js: 'var __webpack_public_path__ = "";' },
  });
  const backend = new BrowserBackend(syntheticSource({ heads: 6, neurons: 48, dim: 16 }));
  const saved = savedStateDocument("lab-model", browserWidgetState(backend, await backend.buildOffline(288, 0)));
  server = http.createServer((req, res) => {
    const u = (req.url ?? "/").split("?")[0];
    if (u === "/host.js") { res.setHeader("content-type", "text/javascript"); res.end(hostJs.outputFiles[0].text); return; }
    if (u === "/state.json") { res.setHeader("content-type", "application/json"); res.end(JSON.stringify(saved)); return; }
    if (u.startsWith("/labextension/")) {
      const file = path.join(EXT, u.slice("/labextension/".length));
      if (file.startsWith(EXT) && fs.existsSync(file)) { res.setHeader("content-type", "text/javascript"); res.end(fs.readFileSync(file)); return; }
      res.statusCode = 404; res.end(); return;
    }
    res.setHeader("content-type", "text/html");
    res.end('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><script src="/host.js"></script></body></html>');
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  chrome = await launch();
}, 300_000);

afterAll(async () => {
  await chrome?.close();
  server?.close();
});

describe("prebuilt JupyterLab extension", () => {
  it("is a federated labextension that shares @jupyter-widgets/base as a singleton", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(EXT, "package.json"), "utf8"));
    expect(pkg.name).toBe("clip-nad-widgets");
    expect(pkg.version).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, "widgets/package.json"), "utf8")).version);
    expect(pkg.jupyterlab._build).toEqual({ load: remoteEntry, extension: "./extension" });
    const entry = fs.readFileSync(path.join(EXT, remoteEntry), "utf8");
    expect(entry).toContain('"@jupyter-widgets/base"');
    // The widget code is in the chunk; @jupyter-widgets/base itself is not bundled.
    const chunks = fs.readdirSync(path.join(EXT, "static")).filter((f) => f.endsWith(".js")).map((f) => fs.readFileSync(path.join(EXT, "static", f), "utf8")).join("\n");
    expect(chunks).toContain("NeuronHeadBrowserView");
    expect(chunks).not.toContain("class DOMWidgetView");
  }, 300_000);

  it("loads in a JupyterLab-like host, registers the widget, and the registered view renders and answers a click", async () => {
    const { page, errors } = chrome;
    await page.goto(url);
    const info = await page.evaluate(async (entry) => {
      const saved = await (await fetch("/state.json")).json();
      return (window as unknown as { hostExtension(e: string, n: string, s: unknown): Promise<unknown> }).hostExtension(`/labextension/${entry}`, "clip-nad-widgets", saved);
    }, remoteEntry);
    expect(info).toEqual({
      plugin: "clip-nad-widgets:plugin",
      registered: ["clip-nad-widgets@0.1.0: NeuronHeadBrowserModel, NeuronHeadBrowserView"],
      tokenIsShared: true,
    });
    await page.waitForSelector(".nhb-canvas");
    await page.click(".nhb-toplist li:first-child .nhb-link");
    await idle(page);
    expect(await page.$$eval(".nhb-detail img", (x) => x.length)).toBe(8);
    expect(errors).toEqual([]);
  }, 300_000);
});

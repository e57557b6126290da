/**
 * Headless Chromium on the OFFLINE neuron-head browser page (no kernel, file://, no network):
 *  1. `clip-nad export-browser` on a real (small) collection: heat map, top list → detail with thumbnails,
 *     neuron view, offline query; no request leaves the page.
 *  2. an RN50x16-sized synthetic page (48 heads × 3072 neurons): escaping of a hostile vocabulary word, and the
 *     click → updated-view latency (logged, not asserted).
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { collect } from "../src/collect";
import { fakeModel, sharpLoader, writeImageFolder } from "./collect.fake";
import { BrowserBackend } from "../src/browser/backend";
import { browserPageHtml, browserWidgetState } from "../src/browser/state";
import { syntheticSource } from "../src/browser/synthetic";
import { ensureStandaloneBundle } from "../src/browser/bundle";
import { idle, launch, median, timedCellClick } from "./browser-harness";

const ROOT = path.resolve(__dirname, "..");
const ARTIFACTS = path.join(ROOT, "build", "test-artifacts");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-browser-offline-"));
let chrome: Awaited<ReturnType<typeof launch>>;
const requests: string[] = [];
const dialogs: string[] = [];

beforeAll(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  ensureStandaloneBundle();
  chrome = await launch();
  await chrome.page.route("**/*", (route) => {
    const url = route.request().url();
    if (!url.startsWith("file://") && !url.startsWith("data:") && !url.startsWith("blob:")) requests.push(url);
    return url.startsWith("file://") || url.startsWith("data:") || url.startsWith("blob:") ? route.continue() : route.abort();
  });
  chrome.page.on("dialog", (d) => { dialogs.push(d.message()); void d.dismiss(); });
}, 300_000);

afterAll(async () => {
  await chrome?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("offline page from `clip-nad export-browser`", () => {
  it("renders from saved state and answers clicks locally", async () => {
    const images = path.join(tmp, "images");
    await writeImageFolder(images, 24);
    const colDir = path.join(tmp, "collection");
    await collect({ model: fakeModel(), images, outDir: colDir, batchSize: 8, topK: 6, loadPixels: sharpLoader });
    const out = path.join(tmp, "page.html");
    const r = spawnSync(process.execPath, [path.join(ROOT, "src/cli/bin.cjs"), "export-browser", "--collection", colDir,
      "--out", out, "--no-words", "--pairs", "20", "--neurons", "2", "--quiet"], { cwd: ROOT, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const html = fs.readFileSync(out, "utf8");
    // Bad arguments: a clear error naming the file, exit status 1, nothing written.
    const bad = spawnSync(process.execPath, [path.join(ROOT, "src/cli/bin.cjs"), "export-browser", "--collection", colDir,
      "--out", path.join(tmp, "page.txt"), "--no-words"], { cwd: ROOT, encoding: "utf8" });
    expect([bad.status, bad.stderr.trim()]).toEqual([1, `clip-nad: ${path.join(tmp, "page.txt")}: --out must name an .html file`]);
    const missing = spawnSync(process.execPath, [path.join(ROOT, "src/cli/bin.cjs"), "export-browser", "--collection", path.join(tmp, "nope"),
      "--out", path.join(tmp, "x.html"), "--no-words"], { cwd: ROOT, encoding: "utf8" });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(path.join(tmp, "nope"));
    expect(fs.existsSync(path.join(tmp, "x.html"))).toBe(false);
    expect(html).not.toMatch(/<script[^>]+src=/); // everything inline
    const { page, errors } = chrome;
    await page.goto(`file://${out}`);
    await page.waitForSelector(".nhb-canvas", { timeout: 30_000 });
    expect(await page.textContent(".nhb-axis")).toMatch(/^contribution norm: 4 heads × neurons 0–63 of 64/);
    expect(await page.textContent(".nhb-status")).toMatch(/^read-only page: \d+ of 256 pairs embedded/);
    // Top list → the best pair's detail with its collection thumbnails (PNG decoded by Chromium).
    await page.click(".nhb-toplist li:first-child .nhb-link");
    await idle(page);
    expect(await page.textContent(".nhb-detail .nhb-h")).toMatch(/^Pair: head \d · neuron \d+$/);
    const sizes = await page.$$eval(".nhb-detail img", (imgs) => imgs.map((i) => [(i as HTMLImageElement).naturalWidth, (i as HTMLImageElement).complete]));
    expect(sizes.length).toBe(6);
    for (const [w, complete] of sizes) expect([w, complete]).toEqual([64, true]);
    const captions = await page.$$eval(".nhb-detail figcaption", (f) => f.map((x) => x.textContent));
    expect(captions[0]).toMatch(/^img\d{3}\.png /);
    // Neuron view: all 4 heads.
    await page.click(".nhb-neuron-btn");
    await idle(page);
    expect(await page.$$eval(".nhb-column", (c) => c.length)).toBe(4);
    // Score switch and an offline query (no words in this export → nothing matches, said in the status line).
    await page.selectOption(".nhb-score-select", "sparsity score");
    expect(await page.textContent(".nhb-axis")).toMatch(/^sparsity score: /);
    await page.fill(".nhb-query", "yellow");
    await page.press(".nhb-query", "Enter");
    await idle(page);
    expect(await page.textContent(".nhb-status")).toMatch(/^offline: 0 embedded pair\(s\) have a word matching "yellow"/);
    await page.screenshot({ path: path.join(ARTIFACTS, "browser-offline-export.png"), fullPage: true });
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
  }, 300_000);
});

describe("RN50x16-sized synthetic page (48 × 3072)", () => {
  const H = 48, C = 3072;

  it("escapes hostile words, stays interactive, and logs click → view latency", async () => {
    const backend = new BrowserBackend(syntheticSource({ heads: H, neurons: C, dim: 32 }));
    const off = await backend.buildOffline(200, 4);
    const file = path.join(tmp, "rn50x16.html");
    fs.writeFileSync(file, browserPageHtml({ title: "synthetic RN50x16-sized", modelId: "m", state: browserWidgetState(backend, off), bundleJs: fs.readFileSync(ensureStandaloneBundle(), "utf8") }));
    const { page, errors } = chrome;
    const tLoad = Date.now();
    await page.goto(`file://${file}`);
    await page.waitForSelector(".nhb-canvas", { timeout: 60_000 });
    const loadMs = Date.now() - tLoad;
    expect(await page.$eval(".nhb-canvas", (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height])).toEqual([1024, H]);

    // A vocabulary word `<img src=x onerror=alert(1)>` must render as text: find it through the offline query.
    await page.fill(".nhb-query", "onerror");
    await page.click(".nhb-rank");
    await idle(page);
    await page.click(".nhb-toplist li:first-child .nhb-link");
    await idle(page);
    const words = await page.$$eval(".nhb-word", (w) => w.map((x) => x.textContent));
    expect(words).toContain("<img src=x onerror=alert(1)>");
    expect(await page.$$eval("img[onerror]", (x) => x.length)).toBe(0);
    expect(await page.$$eval(".nhb-detail img", (x) => x.length)).toBe(8);

    // Latency: click on heat-map cells (index order, full window) → detail updated.
    await page.selectOption(".nhb-score-select", "contribution norm");
    const clicks: number[] = [];
    for (let i = 0; i < 9; i++) clicks.push(await timedCellClick(page, (i * 5 + 1) % H, (i * 331) % C, H, C));
    // Score switch (recolour 147,456 pairs + top list) and sort toggle, timed in the page.
    const switchMs = await page.evaluate(() => {
      const sel = document.querySelector(".nhb-score-select") as HTMLSelectElement;
      const t0 = performance.now();
      sel.value = "sparsity score";
      sel.dispatchEvent(new Event("change"));
      return performance.now() - t0;
    });
    const sortMs = await page.evaluate(() => {
      const box = document.querySelector(".nhb-sort") as HTMLInputElement;
      const t0 = performance.now();
      box.checked = true;
      box.dispatchEvent(new Event("change"));
      return performance.now() - t0;
    });
    const line = `[browser latency, offline page, ${H}×${C}] load ${loadMs} ms; click → updated view median ${median(clicks).toFixed(1)} ms ` +
      `(max ${Math.max(...clicks).toFixed(1)}, n=${clicks.length}); score switch ${switchMs.toFixed(1)} ms; sort ${sortMs.toFixed(1)} ms`;
    console.log(line);
    fs.writeFileSync(path.join(ARTIFACTS, "browser-latency-offline.txt"), line + "\n");
    await page.screenshot({ path: path.join(ARTIFACTS, "browser-offline-rn50x16.png"), fullPage: true });
    expect(clicks.every((ms) => Number.isFinite(ms) && ms > 0)).toBe(true);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
  }, 300_000);
});

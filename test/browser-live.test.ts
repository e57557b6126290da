/**
 * End-to-end against a LIVE kernel: Debian's Jupyter server (token auth, 127.0.0.1, random port) hosts the
 * clip-nad kernel; headless Chromium opens a page that uses @jupyterlab/services and a comm-backed widget manager
 * (build/widgets/live.js, from widgets/page/live.ts) to run a cell that displays the neuron-head browser on the
 * embedded toy model with a small toy-world collection. Clicking a cell brings thumbnails and words from the
 * kernel; a query re-ranks all pairs; a malformed request gets an error reply and the kernel lives on.
 * A second cell shows an RN50x16-sized synthetic browser (48 × 3072) to log click → view latency over the comm.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { installKernelSpec } from "../src/jupyter/kernelspec";
import { ensureAllBundles } from "../src/browser/bundle";
import { freePort, idle, launch, median, timedCellClick } from "./browser-harness";

const ROOT = path.resolve(__dirname, "..");
const WORK = path.join(ROOT, "build", "test-browser-live");
const ARTIFACTS = path.join(ROOT, "build", "test-artifacts");
const KERNEL = "clip-nad-browser-test";
/** Model the live browser runs on: the embedded toy model (a checkpoint path can stand in while developing). */
const MODEL = process.env.CLIP_NAD_BROWSER_TEST_MODEL || "toy";
const TOKEN = crypto.randomBytes(16).toString("hex");
const COLLECTION = path.join(WORK, "collection");

let server: ChildProcess;
let serverLog = "";
let web: http.Server;
let baseUrl = "";
let pageUrl = "";
let chrome: Awaited<ReturnType<typeof launch>>;

function cli(args: string[]): void {
  const r = spawnSync(process.execPath, [path.join(ROOT, "src/cli/bin.cjs"), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, CLIP_NAD_CACHE: path.join(WORK, "cache") } });
  if (r.status !== 0) throw new Error(`clip-nad ${args.join(" ")} failed:\n${r.stderr}`);
}

/** Run a cell in the page's kernel session; returns the status, its stdout and its stderr. */
async function runCell(code: string, outId: string): Promise<{ status: string; text: string; stderr: string }> {
  return chrome.page.evaluate(async ({ code, outId }) => {
    const out = document.createElement("div");
    out.id = outId;
    document.body.appendChild(out);
    const status = await (window as unknown as { session: { execute(c: string, o: HTMLElement): Promise<string> } }).session.execute(code, out);
    const text = Array.from(out.querySelectorAll("pre.out-stdout")).map((p) => p.textContent).join("");
    const stderr = Array.from(out.querySelectorAll("pre:not(.out-stdout)")).map((p) => p.textContent).join("");
    return { status, text, stderr };
  }, { code, outId });
}

beforeAll(async () => {
  fs.rmSync(path.join(WORK, "prefix"), { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  installKernelSpec({ prefix: path.join(WORK, "prefix"), name: KERNEL });
  ensureAllBundles(); // builds build/widgets/{standalone,live}.js
  // A small collection of the toy model on 24 toy-world scenes.
  fs.rmSync(path.join(WORK, "scenes"), { recursive: true, force: true });
  fs.rmSync(COLLECTION, { recursive: true, force: true });
  cli(["toyworld", "--out", path.join(WORK, "scenes"), "--n", "24", "--seed", "3", "--no-masks", "--quiet"]);
  cli(["collect", "--model", MODEL, "--images", path.join(WORK, "scenes", "images"), "--out", COLLECTION, "--topk", "8", "--quiet"]);

  const port = await freePort();
  server = spawn("/usr/bin/python3", ["-m", "jupyter_server", "--ServerApp.ip=127.0.0.1", `--ServerApp.port=${port}`,
    "--ServerApp.port_retries=0", `--ServerApp.token=${TOKEN}`, "--ServerApp.open_browser=False", `--ServerApp.root_dir=${ROOT}`,
    "--ServerApp.allow_origin=*", "--allow-root"], {
    // Isolated from the user's Jupyter config/runtime/data folders; the kernel inherits CLIP_NAD_CACHE.
    env: {
      ...process.env, JUPYTER_PATH: path.join(WORK, "prefix", "share", "jupyter"), CLIP_NAD_CACHE: path.join(WORK, "cache"),
      JUPYTER_CONFIG_DIR: path.join(WORK, "jupyter-config"), JUPYTER_RUNTIME_DIR: path.join(WORK, "jupyter-runtime"),
      JUPYTER_DATA_DIR: path.join(WORK, "jupyter-data"),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stdout!.on("data", (d) => (serverLog += d));
  server.stderr!.on("data", (d) => (serverLog += d));
  baseUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${baseUrl}/api/status`, { headers: { Authorization: `token ${TOKEN}` } })).ok) break; } catch { /* not up yet */ }
    if (i > 150) throw new Error(`jupyter server did not start:\n${serverLog}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  // The test page (another origin: the server allows it with allow_origin; auth is the token).
  const live = fs.readFileSync(path.join(ROOT, "build", "widgets", "live.js"));
  web = http.createServer((req, res) => {
    if (req.url === "/live.js") { res.setHeader("content-type", "text/javascript"); res.end(live); return; }
    res.setHeader("content-type", "text/html");
    res.end('<!DOCTYPE html><html><head><meta charset="utf-8"><title>clip-nad live browser test</title><style>pre{white-space:pre-wrap;word-break:break-all;max-width:1100px;max-height:120px;overflow:auto;font-size:11px}</style></head><body><script src="/live.js"></script></body></html>');
  });
  const webPort = await freePort();
  await new Promise<void>((r) => web.listen(webPort, "127.0.0.1", r));
  pageUrl = `http://127.0.0.1:${webPort}/`;
  chrome = await launch();
  await chrome.page.goto(pageUrl);
  await chrome.page.evaluate(async ({ baseUrl, token, kernel }) => {
    const w = window as unknown as { clipNadLive: { connect(o: unknown): Promise<unknown> }; session: unknown };
    w.session = await w.clipNadLive.connect({ baseUrl, token, kernel });
  }, { baseUrl, token: TOKEN, kernel: KERNEL });
}, 600_000);

afterAll(async () => {
  try { await chrome?.page.evaluate(() => (window as unknown as { session?: { shutdown(): Promise<void> } }).session?.shutdown()); } catch { /* page gone */ }
  await chrome?.close();
  web?.close();
  server?.kill("SIGTERM");
});

describe("neuron-head browser in a live clip-nad kernel", () => {
  it("toy model: click a cell → thumbnails and words; query → ranking; bad request → error, kernel alive", async () => {
    const { page, errors } = chrome;
    const cell = await runCell(`
import { loadModel, neuronHeadBrowser, openCollection, toyworld } from "clip-nad";
const model = await loadModel(${JSON.stringify(MODEL)});
// The toy model only knows its captions' words: match pair directions against those.
const words = [...toyworld.CAPTION_WORDS];
const browser = await neuronHeadBrowser(model, openCollection(${JSON.stringify(COLLECTION)}), { vocabulary: words });
browser.display();
console.log("browser shown");
`, "cell-toy");
    expect(cell.text).toContain("browser shown");
    if (cell.stderr) console.log(`kernel stderr during the browser cell: ${cell.stderr.slice(0, 500)}`);
    expect(cell.status).toBe("ok");
    await page.waitForSelector("#cell-toy .nhb-canvas", { timeout: 60_000 });
    expect(await page.textContent("#cell-toy .nhb-title")).toMatch(/ · 24 images · 8 heads × 512 neurons$/);
    expect(await page.textContent("#cell-toy .nhb-axis")).toMatch(/^contribution norm: 8 heads × neurons 0–511 of 512/);

    // Click a heat-map cell: the kernel answers with PNG thumbnails (decoded by Chromium) and ± words.
    const ms = await timedCellClick(page, 3, 100, 8, 512);
    const header = (await page.textContent("#cell-toy .nhb-detail .nhb-h"))!;
    const [, h, n] = header.match(/^Pair: head (\d+) · neuron (\d+)$/)!.map(Number);
    expect(h).toBe(3);
    const imgs = await page.$$eval("#cell-toy .nhb-detail img", (x) => x.map((i) => [(i as HTMLImageElement).naturalWidth, (i as HTMLImageElement).naturalHeight]));
    expect(imgs.length).toBe(8);
    for (const wh of imgs) expect(wh).toEqual([64, 64]);
    const captions = await page.$$eval("#cell-toy .nhb-detail figcaption", (f) => f.map((x) => x.textContent!));
    for (const c of captions) expect(c).toMatch(/\.png -?\d/);
    expect(await page.$$eval("#cell-toy .nhb-word", (w) => w.length)).toBe(12);
    expect(await page.textContent("#cell-toy .nhb-parent")).toContain(`Parent neuron ${n} (max `);

    // The kernel-side object saw the selection (front end → kernel `update`).
    const sel = await runCell(`console.log(JSON.stringify(browser.selected))`, "cell-selected");
    expect(JSON.parse(sel.text)).toEqual({ head: h, neuron: n });

    // Text query: the kernel embeds it and ranks all 4096 pairs; heat map + list follow.
    await page.fill("#cell-toy .nhb-query", "yellow");
    await page.press("#cell-toy .nhb-query", "Enter");
    await page.waitForFunction(() => document.querySelector("#cell-toy .nhb-status")?.textContent?.startsWith("ranked "), undefined, { timeout: 60_000 });
    await idle(page);
    expect(await page.textContent("#cell-toy .nhb-toplist .nhb-h")).toBe('Best pairs for "yellow"');
    expect(await page.$eval("#cell-toy .nhb-score-select", (s) => (s as HTMLSelectElement).value)).toBe("query similarity");
    const shown = await page.$$eval("#cell-toy .nhb-toplist .nhb-link", (b) => b.slice(0, 5).map((x) => x.textContent));
    const ranking = await runCell(`console.log(JSON.stringify(browser.ranking))`, "cell-ranking");
    if (ranking.stderr) console.log(`kernel stderr during the ranking cell: ${ranking.stderr.slice(0, 500)}`);
    const kernelSide = JSON.parse(ranking.text) as { query: string; top: { head: number; neuron: number }[] };
    expect(kernelSide.query).toBe("yellow");
    expect(shown).toEqual(kernelSide.top.slice(0, 5).map((p) => `head ${p.head} · neuron ${p.neuron}`));
    // Kernel → view: a ranking started from code re-ranks the view too.
    const fromCode = await runCell(`const redTop = await browser.rank("red"); console.log(JSON.stringify(redTop[0]))`, "cell-rank-red");
    const red = JSON.parse(fromCode.text) as { head: number; neuron: number };
    await page.waitForFunction(() => document.querySelector("#cell-toy .nhb-toplist .nhb-h")?.textContent === 'Best pairs for "red"', undefined, { timeout: 60_000 });
    await idle(page);
    expect(await page.textContent("#cell-toy .nhb-toplist li:first-child .nhb-link")).toBe(`head ${red.head} · neuron ${red.neuron}`);
    await page.fill("#cell-toy .nhb-query", "yellow");
    await page.press("#cell-toy .nhb-query", "Enter");
    await page.waitForFunction(() => document.querySelector("#cell-toy .nhb-toplist .nhb-h")?.textContent === 'Best pairs for "yellow"', undefined, { timeout: 60_000 });
    await idle(page);
    await page.evaluate(() => document.querySelectorAll("#cell-selected, #cell-ranking, #cell-rank-red").forEach((e) => e.remove()));
    await page.screenshot({ path: path.join(ARTIFACTS, "browser-live.png"), fullPage: true });

    // A malformed / out-of-range request straight over the comm: error reply → status line; kernel still runs.
    await page.evaluate(async () => {
      const s = (window as unknown as { session: { manager: { get_model(id: string): Promise<{ send(c: unknown): void }> } } }).session;
      const id = (document.querySelector("#cell-toy .widget-output") as HTMLElement).dataset.modelId!;
      (await s.manager.get_model(id)).send({ kind: "select", id: 777, head: 99, neuron: 0 });
    });
    await page.waitForFunction(() => document.querySelector("#cell-toy .nhb-status")?.classList.contains("nhb-error"), undefined, { timeout: 30_000 });
    expect(await page.textContent("#cell-toy .nhb-status")).toBe("head 99 is out of range: head index must be in [0, 7]");
    const alive = await runCell(`console.log(6 * 7)`, "cell-alive");
    expect([alive.status, alive.text.trim()]).toEqual(["ok", "42"]);
    console.log(`[browser latency, live kernel, toy 8×512] click → thumbnails + words ${ms.toFixed(1)} ms (first click, vocabulary warm)`);
    expect(errors).toEqual([]);
  }, 400_000);

  it("RN50x16-sized synthetic data (48 × 3072, d = 768, 30k words) over the comm: logs click → updated view latency", async () => {
    const { page, errors } = chrome;
    const cell = await runCell(`
import { WORDS_30K, readWordList } from "clip-nad";
import { browserWidget } from "clip-nad/kernel-ext/widgets/neuronHeadBrowser";
import { syntheticSource } from "clip-nad/src/browser/synthetic";
// RN50x16's shape: 48 heads × 3072 neurons, d = 768 (w is 453 MB), the full 30k-word vocabulary for the words.
const big = await browserWidget(syntheticSource({ heads: 48, neurons: 3072, dim: 768, words: readWordList(WORDS_30K) }), { offlinePairs: 0, offlineNeurons: 0 });
big.display();
`, "cell-big");
    expect(cell.status).toBe("ok");
    await page.waitForSelector("#cell-big .nhb-canvas", { timeout: 60_000 });
    await page.evaluate(() => document.querySelectorAll("#cell-toy").forEach((e) => e.remove())); // one browser in the page
    const clicks: number[] = [];
    for (let i = 0; i < 11; i++) clicks.push(await timedCellClick(page, (i * 7 + 2) % 48, (i * 977) % 3072, 48, 3072));
    const thumbs = await page.$$eval("#cell-big .nhb-detail img", (x) => x.length);
    expect(thumbs).toBe(8);
    const line = `[browser latency, live kernel, 48×3072, d=768, 30k words] click → updated view (kernel round trip + 8 PNG thumbnails + ± words) ` +
      `median ${median(clicks).toFixed(1)} ms, max ${Math.max(...clicks).toFixed(1)} ms, n=${clicks.length}`;
    console.log(line);
    fs.writeFileSync(path.join(ARTIFACTS, "browser-latency-live.txt"), line + "\n");
    await page.screenshot({ path: path.join(ARTIFACTS, "browser-live-rn50x16.png"), fullPage: true });
    expect(errors).toEqual([]);
  }, 400_000);
});

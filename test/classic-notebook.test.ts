/**
 * A real Jupyter front end: Debian's classic Notebook 6.4 (`jupyter notebook`, 127.0.0.1, a random port, a token,
 * private config/data/runtime folders) with the clip-nad kernel and the clip-nad classic-notebook extension, both
 * installed by `clip-nad kernel install --user --nbextension` into those folders. Headless Chromium opens copies
 * of notebooks/browser.ipynb and notebooks/fig1_pca.ipynb, runs them with Kernel → Restart & Run All from the
 * menu, and checks that
 *  - the neuron-head browser renders from the live kernel, and a click on a heat-map cell fills the pair panel
 *    through the kernel (thumbnails decoded, and the kernel's `browser.selected` is the clicked pair);
 *  - fig1's plotly figure is drawn in the page (the extension's plotly renderer, plotly.js from the nbextension).
 * Screenshots: build/test-artifacts/classic-notebook-{browser,fig1}.png.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Page } from "playwright-core";
import { freePort, launch, idle, timedCellClick } from "./browser-harness";

const ROOT = path.resolve(__dirname, "..");
const ARTIFACTS = path.join(ROOT, "build", "test-artifacts");
const TOKEN = crypto.randomBytes(16).toString("hex");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-classic-"));
const nbDir = path.join(tmp, "notebooks");

let env: Record<string, string> = {};
let server: ChildProcess | undefined;
let serverLog = "";
let base = "";
let chrome: Awaited<ReturnType<typeof launch>>;
/** Page errors and console errors (with where they came from), minus the notebook's own noise (below). */
const pageErrors: string[] = [];

/**
 * Errors Debian's notebook 6.4 page shows with no extension at all (checked with load_extensions empty): its
 * hard-coded fallback request for ipywidgets' nbextension (404, not an executable script), and a font probe at
 * about:blank that Chromium refuses.
 */
function notebookNoise(text: string, url: string): boolean {
  return /\/nbextensions\/widgets\/notebook\/js\/extension\.js/.test(`${url} ${text}`)
    || /^Access to font at 'about:blank'/.test(text) || (url === "about:blank" && /ERR_FAILED/.test(text));
}

const api = (p: string, init: RequestInit = {}) =>
  fetch(`${base}${p}`, { ...init, headers: { Authorization: `token ${TOKEN}` } });

interface NotebookState { done: boolean; busy: boolean; prompts: unknown[]; errors: string[] }

/** Open a notebook page, wait for its kernel and the extension, then Kernel → Restart & Run All (menu + dialog). */
async function restartAndRunAll(page: Page, name: string, timeoutMs: number): Promise<void> {
  await page.goto(`${base}/notebooks/${name}?token=${TOKEN}`);
  await page.waitForFunction(() => {
    const w = window as unknown as {
      Jupyter?: { notebook?: { kernel?: { is_connected(): boolean } } };
      require?: { defined(m: string): boolean };
    };
    return (
      !!w.Jupyter?.notebook?.kernel?.is_connected() && !!w.require?.defined("nbextensions/clip-nad-widgets/extension")
    );
  }, undefined, { timeout: 120_000 });
  await page.evaluate(() =>
    (
      window as unknown as { Jupyter: { notebook: { set_autosave_interval(ms: number): void } } }
    ).Jupyter.notebook.set_autosave_interval(0),
  );
  await page.click("#kernellink");
  await page.click("#restart_run_all > a");
  await page.click(".modal-dialog .modal-footer button.btn-danger"); // "Restart and Run All Cells"
  // Every code cell gets its execution count; the kernel goes idle; any stderr (tslab's errors) fails fast.
  const state = await page.waitForFunction(() => {
    const nb = (
      window as unknown as {
        Jupyter: {
          notebook: { kernel_busy?: boolean; get_cells(): { cell_type: string; input_prompt_number?: unknown }[] };
        };
      }
    ).Jupyter.notebook;
    const code = nb.get_cells().filter((c) => c.cell_type === "code");
    const errors = Array.from(document.querySelectorAll(".output_stderr, .output_error")).map(
      (e) => e.textContent ?? "",
    );
    const busy = !!document.querySelector("#kernel_indicator_icon.kernel_busy_icon");
    const prompts = code.map((c) => c.input_prompt_number);
    const done = prompts.every((p) => typeof p === "number") && !busy;
    return done || errors.some((e) => e.trim()) ? { done, busy, prompts, errors } as NotebookState : false;
  }, undefined, { timeout: timeoutMs, polling: 500 });
  const s = (await state.jsonValue()) as NotebookState;
  expect(s.errors.filter((e) => e.trim()), `cell errors in ${name}`).toEqual([]);
  expect(s.done, `${name}: ${JSON.stringify(s)}`).toBe(true);
}

/** Append a code cell, run it from the notebook, return its stdout. */
async function runExtraCell(page: Page, code: string): Promise<string> {
  return page.evaluate(async (code) => {
    const nb = (
      window as unknown as {
        Jupyter: {
          notebook: {
            insert_cell_at_bottom(t: string): {
              set_text(s: string): void;
              execute(): void;
              element: { [0]: HTMLElement };
              input_prompt_number?: unknown;
            };
          };
        };
      }
    ).Jupyter.notebook;
    const cell = nb.insert_cell_at_bottom("code");
    cell.set_text(code);
    cell.execute();
    for (let i = 0; i < 600 && typeof cell.input_prompt_number !== "number"; i++)
      await new Promise((r) => setTimeout(r, 100));
    // stdout, then anything else the cell printed (an error, stderr), so a failure shows what the kernel said
    const text = (sel: string) => Array.from(cell.element[0].querySelectorAll(sel)).map((e) => e.textContent).join("");
    const all = () => text(".output_stdout") + text(".output_stderr, .output_error");
    // The reply (shell channel) can overtake the cell's output (iopub) on a loaded machine: wait for the output too.
    for (let i = 0; i < 200 && all() === ""; i++) await new Promise((r) => setTimeout(r, 100));
    return all();
  }, code);
}

beforeAll(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.mkdirSync(nbDir, { recursive: true });
  // Copies: the notebook server may save what it runs; the repository's notebooks stay without outputs.
  for (const nb of ["browser.ipynb", "fig1_pca.ipynb"])
    fs.copyFileSync(path.join(ROOT, "notebooks", nb), path.join(nbDir, nb));
  env = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !/^(VITEST|JUPYTER_|NODE_OPTIONS)/.test(k)) env[k] = v;
  Object.assign(env, {
    JUPYTER_CONFIG_DIR: path.join(tmp, "jupyter-config"), JUPYTER_DATA_DIR: path.join(tmp, "jupyter-data"),
    JUPYTER_RUNTIME_DIR: path.join(tmp, "jupyter-runtime"), CLIP_NAD_WORK: path.join(tmp, "work"),
  });
  const install = spawnSync(
    process.execPath,
    [path.join(ROOT, "src/cli/bin.cjs"), "kernel", "install", "--user", "--nbextension"],
    { cwd: ROOT, encoding: "utf8", env },
  );
  expect(install.stderr).toBe("");
  expect(install.status).toBe(0);
  expect(install.stdout).toContain(
    `installed kernelspec 'clip-nad' in ${path.join(tmp, "jupyter-data", "kernels", "clip-nad")}`,
  );
  expect(install.stdout).toContain(`enabled in ${path.join(tmp, "jupyter-config", "nbconfig", "notebook.json")}`);

  const port = await freePort();
  server = spawn(
    "jupyter",
    [
      "notebook",
      "--no-browser",
      "--ip=127.0.0.1",
      `--port=${port}`,
      "--port-retries=0",
      `--NotebookApp.token=${TOKEN}`,
      `--notebook-dir=${nbDir}`,
      "--allow-root",
    ],
    { cwd: tmp, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  server.stdout!.on("data", (d) => (serverLog += d));
  server.stderr!.on("data", (d) => (serverLog += d));
  base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try { if ((await api("/api/status")).ok) break; } catch { /* not up yet */ }
    if (i > 300) throw new Error(`jupyter notebook did not start:\n${serverLog}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  chrome = await launch();
  chrome.page.on("pageerror", (e) => pageErrors.push(`pageerror: ${e.message}`));
  chrome.page.on("console", (m) => {
    const url = m.location().url ?? "";
    if (m.type() === "error" && !notebookNoise(m.text(), url)) pageErrors.push(`console: ${m.text()} (${url})`);
  });
}, 300_000);

afterAll(async () => {
  await chrome?.close();
  if (server && server.exitCode === null) {
    try {
      const kernels = (await (await api("/api/kernels")).json()) as { id: string }[];
      for (const k of kernels) await api(`/api/kernels/${k.id}`, { method: "DELETE" });
    } catch { /* server gone */ }
    const exited = new Promise((r) => server!.once("exit", r));
    server.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (server.exitCode === null) server.kill("SIGKILL");
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}, 60_000);

describe("classic Jupyter Notebook 6 + clip-nad kernel + the clip-nad nbextension", () => {
  it("browser.ipynb: Restart & Run All renders the browser; a heat-map click updates the pair panel via the " +
      "kernel", async () => {
    const { page } = chrome;
    await restartAndRunAll(page, "browser.ipynb", 480_000);
    await page.waitForSelector(".clip-nad-widget-view .nhb-canvas", { timeout: 60_000 });
    expect(await page.textContent(".nhb-title")).toMatch(/ · 64 images · 8 heads × 512 neurons$/);
    await idle(page);
    await page.locator(".nhb-root").scrollIntoViewIfNeeded();

    const ms = await timedCellClick(page, 3, 100, 8, 512);
    await idle(page);
    const header = (await page.textContent(".nhb-detail .nhb-h")) ?? "";
    const m = /^Pair: head 3 · neuron (\d+)/.exec(header);
    expect(m, header).not.toBeNull();
    // Thumbnails are PNGs sent by the kernel over the comm (the live path; no offline data for this pair).
    const thumbs = await page.$$eval(".nhb-detail img", (imgs) =>
      imgs.map((i) => (i as HTMLImageElement).naturalWidth),
    );
    expect(thumbs.length).toBeGreaterThan(0);
    for (const w of thumbs) expect(w).toBeGreaterThan(0);
    console.log(`classic notebook: click → pair panel ${ms.toFixed(0)} ms (${header})`);
    await page.screenshot({ path: path.join(ARTIFACTS, "classic-notebook-browser.png") });

    // The kernel saw the click: its browser.selected is the pair shown.
    const out = await runExtraCell(page, "console.log(`SELECTED ${JSON.stringify(browser.selected)}`);");
    expect(out).toMatch(/SELECTED /);
    expect(JSON.parse(/SELECTED (.*)/.exec(out)![1])).toEqual({ neuron: Number(m![1]), head: 3 });
    expect(pageErrors, pageErrors.join("\n")).toEqual([]);
  }, 600_000);

  it("fig1_pca.ipynb: Restart & Run All shows the plotly figure in the page", async () => {
    const { page } = chrome;
    pageErrors.length = 0;
    await restartAndRunAll(page, "fig1_pca.ipynb", 540_000);
    const fig = page.locator(".clip-nad-plotly-output .js-plotly-plot");
    await fig.waitFor({ timeout: 60_000 });
    await fig.scrollIntoViewIfNeeded();
    const drawn = await fig.evaluate((div) => ({
      traces: ((div as unknown as { data: { name: string }[] }).data ?? []).map((t) => t.name),
      bars: div.querySelectorAll(".barlayer .point, .barlayer path").length,
      svg: div.querySelectorAll(".main-svg").length,
      legend: Array.from(div.querySelectorAll(".legendtext")).map((t) => t.textContent),
    }));
    expect(drawn.traces.slice(0, 2)).toEqual(["neurons", "neuron-head pairs"]);
    expect(drawn.svg).toBeGreaterThan(0);
    expect(drawn.bars).toBeGreaterThan(0);
    expect(drawn.legend).toContain("neuron-head pairs");
    // Only the extension's renderer drew it: the bundle's text/html fallback (inline plotly.js) was not inserted.
    expect(await page.locator(".output_html .clip-nad-plotly").count()).toBe(0);
    await page.screenshot({ path: path.join(ARTIFACTS, "classic-notebook-fig1.png") });
    expect(pageErrors, pageErrors.join("\n")).toEqual([]);
  }, 600_000);
});

/**
 * `clip-nad export-notebook` on a notebook with a saved widget (the neuron-head browser): the page renders the
 * widget read-only from the saved state with the inlined standalone bundle — offline, no request leaves the page.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BrowserBackend } from "../src/browser/backend";
import { browserWidgetState, savedStateDocument } from "../src/browser/state";
import { syntheticSource } from "../src/browser/synthetic";
import { hasSavedWidgets, notebookToHtml, Notebook } from "../src/figures/notebookHtml";
import { launch } from "./browser-harness";

const ROOT = path.resolve(__dirname, "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-export-widgets-"));
const MODEL_ID = "nhb-model-1";

/** A notebook as nbclient saves it: a widget-view output plus the widget state in metadata.widgets. */
function notebookWithBrowser(): Notebook {
  const backend = new BrowserBackend(syntheticSource({ heads: 6, neurons: 64, dim: 16 }));
  const view = { version_major: 2, version_minor: 0, model_id: MODEL_ID };
  return {
    nbformat: 4,
    metadata: { widgets: { "application/vnd.jupyter.widget-state+json": savedStateDocument(MODEL_ID, browserWidgetState(backend)) } },
    cells: [
      { cell_type: "markdown", source: "# browser" },
      { cell_type: "code", execution_count: 1, source: "browser.display()", outputs: [{ output_type: "display_data", data: { "application/vnd.jupyter.widget-view+json": view, "text/plain": "NeuronHeadBrowser(…)" } }] },
    ],
  };
}

let chrome: Awaited<ReturnType<typeof launch>>;
const requests: string[] = [];
beforeAll(async () => {
  chrome = await launch();
  await chrome.page.route("**/*", (route) => {
    const url = route.request().url();
    const local = url.startsWith("file://") || url.startsWith("data:") || url.startsWith("blob:");
    if (!local) requests.push(url);
    return local ? route.continue() : route.abort();
  });
}, 300_000);
afterAll(async () => {
  await chrome?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("exported notebook with a widget", () => {
  it("without a bundle (library default) the widget falls back to its text", () => {
    const nb = notebookWithBrowser();
    expect(hasSavedWidgets(nb)).toBe(true);
    const html = notebookToHtml(nb);
    expect(html).not.toContain("application/vnd.jupyter.widget-state+json");
    expect(html).toContain("NeuronHeadBrowser(…)");
  });

  it("a notebook without saved state has no renderable widgets", () => {
    const nb = notebookWithBrowser();
    nb.metadata = {};
    expect(hasSavedWidgets(nb)).toBe(false);
  });

  it("`clip-nad export-notebook` inlines the bundle; the browser renders offline from the saved state", async () => {
    const nbFile = path.join(tmp, "browser.ipynb");
    fs.writeFileSync(nbFile, JSON.stringify(notebookWithBrowser()));
    const out = path.join(tmp, "browser.html");
    const r = spawnSync(process.execPath, [path.join(ROOT, "src/cli/bin.cjs"), "export-notebook", "--in", nbFile, "--out", out], { cwd: ROOT, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/0 plotly figure\(s\), 1 widget\(s\)/);
    await chrome.page.goto(`file://${out}`);
    await chrome.page.waitForSelector(".nhb-canvas", { timeout: 60_000 });
    const view = await chrome.page.evaluate(() => {
      const canvas = document.querySelector(".nhb-canvas") as HTMLCanvasElement;
      const pixels = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 0; i < pixels.length; i += 4) if (pixels[i + 3] > 0) painted++;
      return { title: document.querySelector(".nhb-root")?.textContent ?? "", painted, width: canvas.width, height: canvas.height };
    });
    expect(view.title).toMatch(/6 heads × 64 neurons/);
    expect(view.painted).toBeGreaterThan(0);
    expect(chrome.errors).toEqual([]);
    expect(requests).toEqual([]);
  }, 180_000);
});

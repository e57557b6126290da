// `clip-nad reproduce` executes every notebook under notebooks/ headlessly with the clip-nad kernel (through
// tools/notebooks/run_notebooks.py), exports each to an offline page and writes the report; fig1's executed copy
// holds the reconstruction figure, and its exported page renders offline in Chromium. A second run is all cached.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { beforeAll, describe, expect, it } from "vitest";
import { inspectRenderedPlots } from "../src/figures/browser";
import { Notebook, exportNotebookHtml } from "../src/figures/notebookHtml";

const root = path.resolve(__dirname, "..");
const runner = path.join(root, "tools/notebooks/run_notebooks.py");
const PLOTLY = "application/vnd.plotly.v1+json";

const OUT = path.join(root, "build", "reproduce");
const EXECUTED = path.join(OUT, "notebooks");

function reproduceCli(args: string[]) {
  const r = spawnSync(process.execPath, [path.join(root, "src/cli/bin.cjs"), "reproduce", "--out", OUT, ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 1_500_000,
  });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}`, stdout: r.stdout };
}

function runNotebooks(args: string[]) {
  const r = spawnSync("/usr/bin/python3", [runner, ...args], { cwd: root, encoding: "utf8", timeout: 1_500_000 });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

describe("notebooks/ executed with the clip-nad kernel", () => {
  let run: { status: number | null; out: string; stdout: string };
  const notebooks = fs.readdirSync(path.join(root, "notebooks")).filter((f) => f.endsWith(".ipynb"));

  beforeAll(() => {
    run = reproduceCli(["--force"]);
  }, 1_600_000);

  it("runs every notebook without a cell error and writes the report", () => {
    expect(notebooks).toContain("fig1_pca.ipynb");
    expect(run.status, run.out).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`wrote .*index\\.html: ${notebooks.length} notebooks \\(0 cached\\)`));
    for (const nb of notebooks) {
      expect(fs.existsSync(path.join(EXECUTED, nb))).toBe(true);
      expect(fs.existsSync(path.join(OUT, "pages", nb.replace(/\.ipynb$/, ".html")))).toBe(true);
    }
    const index = fs.readFileSync(path.join(OUT, "index.html"), "utf8");
    for (const nb of notebooks) expect(index).toContain(`href="pages/${nb.replace(/\.ipynb$/, ".html")}"`);
    // every figure as a PNG beside the interactive plot
    const pngs = [...index.matchAll(/<img src="(figures\/[^"]+\.png)"/g)].map((m) => m[1]);
    expect(pngs.length).toBeGreaterThanOrEqual(notebooks.length - 2);
    for (const p of pngs) expect(fs.readFileSync(path.join(OUT, p)).subarray(1, 4).toString()).toBe("PNG");
    expect((index.match(/class="interactive"/g) ?? []).length).toBe(pngs.length);
  });

  it("a second run finds every notebook's inputs unchanged and skips them all", () => {
    const again = reproduceCli([]);
    expect(again.status, again.out).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`${notebooks.length} notebooks \\(${notebooks.length} cached\\)`));
  }, 600_000);

  it("fig1 shows the reconstruction figure inline with the expected traces", () => {
    const nb: Notebook = JSON.parse(fs.readFileSync(path.join(EXECUTED, "fig1_pca.ipynb"), "utf8"));
    const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
    const figs = outputs.filter((o) => o.output_type === "display_data" && o.data && o.data[PLOTLY]);
    expect(figs).toHaveLength(1);
    const data = figs[0].data!;
    expect(Object.keys(data).sort()).toEqual([PLOTLY, "text/html", "text/plain"].sort());
    const fig = data[PLOTLY] as { data: { name: string; type: string; x: string[]; y: number[] }[] };
    const names = fig.data.map((t) => t.name);
    expect(names[0]).toBe("neurons");
    expect(names[1]).toBe("neuron-head pairs");
    expect(names[2]).toMatch(/^unmodified model \(\d+\.\d%\)$/);
    expect(names[3]).toMatch(/^check: pairs with the analytic PC ±w\/\|w\| \(\d+\.\d%\)$/);
    expect(names[4]).toBe("paper, RN50x16 ImageNet (unmodified 70.7%)");
    expect(fig.data[0].x).toEqual(["neurons<br>1 PC", "neurons<br>2 PCs", "neurons<br>4 PCs"]);
    for (const t of fig.data.slice(0, 3)) for (const y of t.y) expect(y).toBeGreaterThanOrEqual(0);
    // offline HTML fallback: the first figure of the session carries plotly.js itself
    expect(String(data["text/html"]).length).toBeGreaterThan(1_000_000);
  });

  it("fig1 prints the measured numbers and the paper-vs-run table", () => {
    const nb: Notebook = JSON.parse(fs.readFileSync(path.join(EXECUTED, "fig1_pca.ipynb"), "utf8"));
    const text = nb.cells.flatMap((c) => c.outputs ?? []).map((o) => (Array.isArray(o.text) ? o.text.join("") : o.text ?? "")).join("");
    const m = /unmodified (\d+\.\d)%\s+pairs 1 PC (\d+\.\d)% \(analytic (\d+\.\d)%\)\s+neurons 1 PC \d+\.\d%\s+neurons 2 PCs \d+\.\d%\s+neurons 4 PCs \d+\.\d%/.exec(text);
    expect(m).not.toBeNull();
    // The paper's empirical route (top-50 SVD per pair, majority sign) must land on the unmodified model's accuracy,
    // as the analytic PC ±w/|w| does: a pair is rank-1 over images.
    const [unmodified, empirical, analytic] = m!.slice(1).map(Number);
    expect(Math.abs(empirical - unmodified)).toBeLessThanOrEqual(0.2);
    expect(Math.abs(analytic - unmodified)).toBeLessThanOrEqual(0.2);
    expect(text).toMatch(/min \|cos\(empirical PC1, w\)\| = 0\.9999\d+/);
    const tables = nb.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data && String(o.data["text/html"] ?? "").includes("clip-nad-table"));
    expect(tables).toHaveLength(1);
    expect(String(tables[0].data!["text/plain"])).toContain("neuron-head pairs, 1 PC (empirical, top-50 SVD)  70.7");
  });

  it("fig_distribution_shift: the per-year figure, the per-image r and the correlation over years", () => {
    const nb: Notebook = JSON.parse(fs.readFileSync(path.join(EXECUTED, "fig_distribution_shift.ipynb"), "utf8"));
    const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
    const figs = outputs
      .filter((o) => o.data && o.data[PLOTLY])
      .map((o) => o.data![PLOTLY] as { data: { name: string; y: number[] }[] });
    expect(figs).toHaveLength(1);
    expect(figs[0].data.map((t) => t.name)[0]).toBe("realised share of yellow objects (dataset.json)");
    expect(figs[0].data).toHaveLength(3);
    for (const t of figs[0].data) expect(t.y).toHaveLength(11); // years 2000–2010
    const text = outputs.map((o) => (Array.isArray(o.text) ? o.text.join("") : o.text ?? "")).join("");
    expect(text).toMatch(/"yellow": pairs( \(\d+, \d+\)){5}; point-biserial r = -?\d\.\d{3} \(p = /);
    const m = /"yellow" over 11 years: r\(true share, mean ρ\) = (-?\d\.\d{3}) .*; centred t: r = (-?\d\.\d{3})/.exec(
      text,
    );
    expect(m).not.toBeNull();
    // the check variant (t centred over the colour words) follows the known share over the years
    expect(Number(m![2])).toBeGreaterThan(0.8);
  });

  it("app_attention_sink: the attention map, the zero-sink accuracy and the register ranking", () => {
    const nb: Notebook = JSON.parse(fs.readFileSync(path.join(EXECUTED, "app_attention_sink.ipynb"), "utf8"));
    const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
    const figs = outputs
      .filter((o) => o.data && o.data[PLOTLY])
      .map((o) => o.data![PLOTLY] as { data: { type: string; z?: number[][] }[] });
    expect(figs.map((f) => f.data[0].type)).toEqual(["heatmap", "bar"]);
    expect(figs[0].data[0].z).toHaveLength(4); // the toy's 4×4 grid
    const text = outputs.map((o) => (Array.isArray(o.text) ? o.text.join("") : o.text ?? "")).join("");
    expect(text).toMatch(/zero-shot top-1: unmodified \d+\.\d\d%, attention to the last token zeroed \d+\.\d\d%/);
    expect(text).toMatch(/300 images, 512 neurons; mean attention to the last token/);
  });

  it("fig3 shows the mIoU bars beside the paper's, the ablation table, the qualitative grid and the ordering " +
      "checks", () => {
    const nb: Notebook = JSON.parse(fs.readFileSync(path.join(EXECUTED, "fig3_segmentation.ipynb"), "utf8"));
    const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
    const figs = outputs
      .filter((o) => o.output_type === "display_data" && o.data && o.data[PLOTLY])
      .map((o) => o.data![PLOTLY] as { data: { name: string; type: string; y?: (number | null)[] }[] });
    expect(figs).toHaveLength(2);
    expect(figs[0].data.map((t) => t.name)).toEqual([
      expect.stringMatching(/^this run \(toy, \d+ toy-world canvases\)$/),
      "paper (RN50x16, PASCAL Context-59)",
    ]);
    expect(figs[0].data[1].y).toEqual([26.2, 24.7, 16.5, 22.8, null, 22.2]);
    for (const y of figs[0].data[0].y!) expect(y).toBeGreaterThan(0);
    expect(figs[1].data.filter((t) => t.type === "image")).toHaveLength(3 * 8); // 3 images × (image, truth, 6 methods)
    const tables = outputs.filter((o) => o.data && String(o.data["text/html"] ?? "").includes("clip-nad-table"));
    expect(tables).toHaveLength(1);
    expect(String(tables[0].data!["text/plain"])).toMatch(
      /neuron activation × head similarity \(ours\)\s+26\.2\s+\d+\.\d/,
    );
    const text = outputs.map((o) => (Array.isArray(o.text) ? o.text.join("") : (o.text ?? ""))).join("");
    for (const claim of ["pairs > MaskCLIP", "pairs > self-self", "product > either factor"])
      expect(text).toMatch(new RegExp(`(holds|fails)\\s+${claim.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
  });

  it("numbers the executed cells as a Jupyter kernel does (In [1], In [2], …)", () => {
    const nb: Notebook = JSON.parse(fs.readFileSync(path.join(EXECUTED, "fig1_pca.ipynb"), "utf8"));
    const counts = nb.cells.filter((c) => c.cell_type === "code").map((c) => c.execution_count);
    expect(counts).toEqual(counts.map((_, i) => i + 1));
  });

  it("exports fig1 to a standalone page whose plot renders in headless Chromium with no network", async () => {
    const page = path.join(OUT, "pages", "fig1_pca.html");
    const { figures } = exportNotebookHtml(
      path.join(EXECUTED, "fig1_pca.ipynb"),
      path.join(OUT, "fig1_pca.check.html"),
    );
    expect(figures).toBe(1);
    const r = await inspectRenderedPlots(page);
    expect(r.errors).toEqual([]);
    expect(r.blocked).toEqual([]);
    expect(r.plots).toHaveLength(1);
    expect(r.plots[0].w).toBeGreaterThan(100);
    expect(r.plots[0].h).toBeGreaterThan(100);
    expect(r.plots[0].traces).toBeGreaterThanOrEqual(4);
  }, 180_000);
});

describe("the top-image notebooks (issue 11), executed above", () => {
  const executed = (name: string): Notebook => JSON.parse(fs.readFileSync(path.join(EXECUTED, name), "utf8"));
  const outputs = (nb: Notebook) => nb.cells.flatMap((c) => c.outputs ?? []);
  const str = (v: unknown) => (Array.isArray(v) ? v.join("") : String(v ?? ""));
  const text = (nb: Notebook) => outputs(nb).map((o) => str(o.text) + str(o.data?.["text/plain"])).join("\n");
  const imageGrid = (nb: Notebook) =>
    outputs(nb)
      .filter((o) => o.data?.[PLOTLY])
      .map((o) => o.data![PLOTLY] as { data: { type: string; source?: string }[] });

  it("fig4 shows one image grid of data-URI image traces (3 heads, 3 neurons, 3 pairs × 10) and the shared-label " +
      "table", () => {
    const nb = executed("fig4_top_images.ipynb");
    const grids = imageGrid(nb);
    expect(grids).toHaveLength(1);
    expect(grids[0].data).toHaveLength(90);
    expect(
      grids[0].data.every((t) => t.type === "image" && String(t.source).startsWith("data:image/png;base64,")),
    ).toBe(true);
    expect(text(nb)).toMatch(/heads +head \d+ .* \d+\/10 \(\d+ % of all\)/);
    expect(text(nb)).toMatch(/neuron-head pairs +neuron \d+ · head \d+/);
  });

  it("fig_subconcepts shows the neuron's top images against its strongest pairs' and writes the subconcepts " +
      "JSON", () => {
    const nb = executed("fig_subconcepts.ipynb");
    const grids = imageGrid(nb);
    expect(grids).toHaveLength(1);
    expect(grids[0].data).toHaveLength(40); // the neuron + 3 pairs, 10 images each
    const m = /neuron (\d+): strongest pairs at heads [\d, ]+; wrote (\S+\.json)/.exec(text(nb));
    expect(m).not.toBeNull();
    const report = JSON.parse(fs.readFileSync(m![2], "utf8"));
    expect(report.neuron.neuron).toBe(Number(m![1]));
    expect(report.pairs).toHaveLength(8);
    expect(report.neuron.top).toHaveLength(10);
  });

  it("fig_polysemanticity draws the inertia histograms and prints the toy-world distinct-values table", () => {
    const nb = executed("fig_polysemanticity.ipynb");
    expect(imageGrid(nb).length).toBeGreaterThanOrEqual(2);
    const t = text(nb);
    for (const attr of ["shape", "colour", "pattern", "size", "background", "texture"])
      expect(t).toMatch(new RegExp(`\\n${attr} +\\d+ +\\d\\.\\d\\d +\\d\\.\\d\\d +\\d\\.\\d\\d`));
    expect(t).toMatch(
      new RegExp("raw: \\d+\\.\\d% of all pairs and \\d+\\.\\d% of the 512 strongest pairs have an inertia at " +
        "or below the neurons' median"),
    );
  });
});

describe("text notebooks (executed above)", () => {
  const outputs = (name: string) => {
    const nb: Notebook = JSON.parse(fs.readFileSync(path.join(EXECUTED, name), "utf8"));
    return nb.cells.flatMap((c) => c.outputs ?? []);
  };
  const streams = (name: string) =>
    outputs(name).map((o) => (Array.isArray(o.text) ? o.text.join("") : o.text ?? "")).join("");
  const plain = (v: unknown) => (Array.isArray(v) ? v.join("") : String(v));
  const tables = (name: string) =>
    outputs(name)
      .filter((o) => o.data && plain(o.data["text/html"] ?? "").includes("clip-nad-table"))
      .map((o) => plain(o.data!["text/plain"]));

  it("fig2 shows Figure 2 (pairs vs neurons per dictionary size over m) and the paper's claim beside the run", () => {
    const figs = outputs("fig2_text_reconstruction.ipynb").filter((o) => o.data && o.data[PLOTLY]);
    expect(figs).toHaveLength(1);
    const fig = figs[0].data![PLOTLY] as { data: { name: string; x: string[]; y: (number | null)[] }[] };
    expect(fig.data.map((t) => t.name)).toEqual([
      "neuron-head pairs, 100 words", "neuron-head pairs, 300 words", "neuron-head pairs, 1,000 words",
      "neurons, 100 words", "neurons, 300 words", "neurons, 1,000 words",
      expect.stringMatching(/^unmodified model \(\d+\.\d%\)$/),
      expect.stringMatching(/^neurons, their own 1st PC \(\d+\.\d%\)$/),
    ]);
    for (const t of fig.data.slice(0, 6)) {
      expect(t.x).toEqual(["8", "16", "32", "64"]);
      for (const y of t.y) expect(y).toBeGreaterThan(0);
    }
    const text = streams("fig2_text_reconstruction.ipynb");
    expect(text).toMatch(/paper: Using 64 text descriptors, neuron-head pairs achieve higher reconstruction accuracy/);
    expect(text).toMatch(/this run, m = 64: pairs > neurons for \d of 3 dictionary sizes/);
    expect(text).toMatch(/every head replaced by its 10 TextSpan texts \d+\.\d%/);
    const t = tables("fig2_text_reconstruction.ipynb");
    expect(t).toHaveLength(2);
    expect(t[1].split("\n").length).toBe(2 + 8); // header, rule, one row per head
  });

  it("tab_text_labels shows the label table and the toy ground truth, pairs vs neurons", () => {
    const t = tables("tab_text_labels.ipynb");
    expect(t).toHaveLength(3);
    expect(t[0]).toMatch(/neuron \d+ +\w+ [+−]\d\.\d\d/);
    expect(t[0]).toMatch(/pair \(neuron \d+, head \d\) +\w+ [+−]\d\.\d\d.* head \d: \w+/);
    const truth = t[1].split("\n").slice(2).map((l) => l.trim().split(/\s{2,}/));
    expect(truth.map((r) => r[0])).toEqual(["5", "8", "16", "64"]);
    for (const r of truth) {
      expect(r[1]).toMatch(/^\d+\.\d% \(\d+\/\d+\)$/);
      expect(r[2]).toMatch(/^\d+\.\d% \(\d+\/\d+\)$/);
    }
    // at the toy's label m (8) the shared value is among the top-5 words far more often than chance (5/1000)
    expect(parseFloat(truth[1][1])).toBeGreaterThan(10 * parseFloat(truth[1][3]));
    expect(parseFloat(truth[1][2])).toBeGreaterThan(10 * parseFloat(truth[1][3]));
  });
});

describe("run_notebooks.py on a failing notebook", () => {
  it("fails, names the cell and prints tslab's stderr-only error", () => {
    const dir = path.join(root, "build", "test-notebooks");
    fs.mkdirSync(dir, { recursive: true });
    const nb = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: "clip-nad", display_name: "TypeScript (clip-nad)", language: "typescript" } },
      cells: [
        { cell_type: "code", id: "a", metadata: {}, execution_count: null, outputs: [], source: 'console.log("fine")' },
        { cell_type: "code", id: "b", metadata: {}, execution_count: null, outputs: [], source: "const s: string = 123;" },
        { cell_type: "code", id: "c", metadata: {}, execution_count: null, outputs: [], source: 'console.log("never")' },
      ],
    };
    const file = path.join(dir, "broken.ipynb");
    fs.writeFileSync(file, JSON.stringify(nb));
    const r = runNotebooks(["--out", path.join(dir, "out"), file]);
    expect(r.status).toBe(1);
    expect(r.out).toContain("0 passed, 1 failed");
    expect(r.out).toContain("--- cell 1 stderr:");
    expect(r.out).toContain("Type 'number' is not assignable to type 'string'");
    const executed = JSON.parse(fs.readFileSync(path.join(dir, "out", "broken.ipynb"), "utf8"));
    expect(executed.cells[2].outputs).toEqual([]); // later cells are not run
  }, 300_000);
});

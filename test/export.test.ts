// Figure export (PNG/SVG through headless system Chromium) and the offline notebook → HTML page.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { beforeAll, describe, expect, it } from "vitest";
import { figureMime } from "../kernel-ext/display";
import { reconstructionFigure } from "../src/figures";
import { inspectRenderedPlots } from "../src/figures/browser";
import { exportFigures } from "../src/figures/export";
import { markdownToHtml } from "../src/figures/markdown";
import { Notebook, exportNotebookHtml, notebookToHtml } from "../src/figures/notebookHtml";

const root = path.resolve(__dirname, "..");
const outDir = path.join(root, "build", "test-export");
const fig = reconstructionFigure(
  { images: 400, unmodified: 0.6225, pairs: 0.62, neurons: [{ pcs: 1, accuracy: 0.5125 }, { pcs: 2, accuracy: 0.57 }, { pcs: 4, accuracy: 0.6 }] },
  { label: "export test" },
);

describe("exportFigure (Plotly.toImage in headless Chromium)", () => {
  let png: Buffer;
  let svg: string;
  beforeAll(async () => {
    const [p, s] = await exportFigures([
      { spec: fig, opts: { format: "png", out: path.join(outDir, "reconstruction.png") } },
      { spec: fig, opts: { format: "svg", out: path.join(outDir, "reconstruction.svg") } },
    ]);
    png = p;
    svg = s.toString("utf8");
  }, 180_000);

  it("writes a PNG of the layout's size", () => {
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.readUInt32BE(16)).toBe(640); // IHDR width
    expect(png.readUInt32BE(20)).toBe(520); // IHDR height
    expect(png.length).toBeGreaterThan(5000);
    expect(fs.readFileSync(path.join(outDir, "reconstruction.png")).equals(png)).toBe(true);
  });

  it("writes an SVG holding the plot: bars, title and legend", () => {
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain('class="main-svg"');
    expect(svg).toContain("Reconstruction from PCs");
    expect(svg).toContain("neuron-head pairs");
    expect((svg.match(/class="point"/g) || []).length).toBe(4); // 3 neuron bars + 1 pair bar
  });

  it("clip-nad export-figure writes the file from a spec or a notebook output bundle", () => {
    fs.mkdirSync(outDir, { recursive: true });
    const spec = path.join(outDir, "bundle.json");
    fs.writeFileSync(spec, JSON.stringify({ "application/vnd.plotly.v1+json": fig }));
    const out = path.join(outDir, "cli.svg");
    fs.rmSync(out, { force: true });
    const run = spawnSync(process.execPath, [path.join(root, "src/cli/bin.cjs"), "export-figure", "--in", spec, "--out", out], { encoding: "utf8", timeout: 120_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(fs.readFileSync(out, "utf8")).toContain("Reconstruction from PCs");
  }, 150_000);

  it("clip-nad export-figure --figure reconstruction builds the figure from an `analyze reconstruct` report", () => {
    fs.mkdirSync(outDir, { recursive: true });
    const report = path.join(outDir, "report.json");
    fs.writeFileSync(report, JSON.stringify({
      analysis: "reconstruct",
      model: { name: "toy" },
      evaluation: { images: 123 },
      accuracy: { unmodified: 0.5, pairs: 0.5, neurons: [{ pcs: 1, accuracy: 0.25 }, { pcs: 2, accuracy: 0.375 }, { pcs: 4, accuracy: 0.45 }] },
    }));
    const out = path.join(outDir, "from-report.svg");
    fs.rmSync(out, { force: true });
    const run = spawnSync(process.execPath, [path.join(root, "src/cli/bin.cjs"), "export-figure", "--figure", "reconstruction", "--in", report, "--out", out], { encoding: "utf8", timeout: 120_000 });
    expect(run.status, run.stderr).toBe(0);
    const svg = fs.readFileSync(out, "utf8");
    expect(svg).toContain("Reconstruction from PCs");
    expect(svg).toContain("toy, 123 images");
    expect(svg).toContain("paper, RN50x16 ImageNet");
    const bad = spawnSync(process.execPath, [path.join(root, "src/cli/bin.cjs"), "export-figure", "--figure", "sparsity", "--in", report, "--out", out], { encoding: "utf8" });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("report.json, key 'curves': not an ablate report");
  }, 150_000);

  it("export-figure rejects an unknown output type, naming the file", () => {
    const run = spawnSync(process.execPath, [path.join(root, "src/cli/bin.cjs"), "export-figure", "--in", "x.json", "--out", "fig.jpg"], { encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("fig.jpg: output must end in .png or .svg");
  });
});

describe("notebook → standalone HTML", () => {
  const nb: Notebook = {
    nbformat: 4,
    cells: [
      { cell_type: "markdown", source: ["# Title\n", "| run | acc |\n", "|---|---|\n", "| paper | 70.7 |\n"] },
      {
        cell_type: "code",
        source: "showFigure(fig)",
        execution_count: 1,
        outputs: [
          { output_type: "stream", name: "stdout", text: ["accuracy <1>\n"] },
          { output_type: "stream", name: "stdout", text: "second line\n" },
          // exactly what the kernel's showFigure emits for the first figure (plotly.js inside its text/html)
          { output_type: "display_data", data: figureMime(fig, true) },
          { output_type: "display_data", data: figureMime(fig, false) },
        ],
      },
    ],
  };

  it("inlines plotly.js exactly once and escapes text", () => {
    const html = notebookToHtml(nb);
    expect((html.match(/\* plotly\.js v\d/g) || []).length).toBe(1);
    expect(html.includes("accuracy &lt;1&gt;\nsecond line\n</pre>")).toBe(true); // consecutive streams merged
    expect(html.includes("<td>70.7</td>")).toBe(true);
    // nothing loaded from elsewhere (plotly.js itself mentions CDN URLs in strings; the browser test blocks the network)
    expect(/<script[^>]+src=/.test(html)).toBe(false);
    expect(/<link[^>]+href=/.test(html)).toBe(false);
  });

  it("renders both plots offline in headless Chromium (non-empty plot areas, no network)", async () => {
    fs.mkdirSync(outDir, { recursive: true });
    const nbFile = path.join(outDir, "synthetic.ipynb");
    fs.writeFileSync(nbFile, JSON.stringify(nb));
    const page = path.join(outDir, "synthetic.html");
    expect(exportNotebookHtml(nbFile, page).figures).toBe(2);
    const r = await inspectRenderedPlots(page);
    expect(r.errors).toEqual([]);
    expect(r.blocked).toEqual([]);
    expect(r.plots).toHaveLength(2);
    for (const p of r.plots) {
      expect(p.w).toBeGreaterThan(100);
      expect(p.h).toBeGreaterThan(100);
      expect(p.traces).toBeGreaterThanOrEqual(3);
    }
  }, 180_000);

  it("rejects a file that is not a notebook, naming it", () => {
    const bad = path.join(outDir, "bad.ipynb");
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(bad, JSON.stringify({ hello: 1 }));
    expect(() => exportNotebookHtml(bad, path.join(outDir, "bad.html"))).toThrow(/bad\.ipynb, key .cells.: not a Jupyter notebook/);
  });
});

describe("markdownToHtml", () => {
  it("renders headings, emphasis, code, lists and tables, escaping HTML", () => {
    const html = markdownToHtml("## Numbers\nSome **bold** and *em* and `a<b`.\n\n- one\n- two\n\n| a | b |\n|---|--:|\n| 1 | <x> |");
    expect(html).toBe(
      "<h2>Numbers</h2>\n<p>Some <strong>bold</strong> and <em>em</em> and <code>a&lt;b</code>.</p>\n" +
        "<ul><li>one</li><li>two</li></ul>\n" +
        "<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td>&lt;x&gt;</td></tr></tbody></table>",
    );
  });
});

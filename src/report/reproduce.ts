/**
 * `clip-nad reproduce`: every notebook of the package, executed with the clip-nad kernel, exported to offline HTML,
 * and one report page (index.html) with every figure (a PNG beside the interactive plot), every table (the paper's
 * numbers beside this run's, as the notebooks print them) and links to each notebook's page.
 *
 * A notebook is executed again only when one of its inputs changed: its own file, the library (src/, kernel-ext/,
 * assets/), the model, or the settings (model and data switches). The record is `<out>/cache.json`; a failed
 * notebook is never cached.
 *
 * Notebooks run in `jobs` lanes at once (one kernel each). Notebooks that share work files (the notebook metadata
 * `clip-nad.shares`, e.g. fig1's toy scenes and collections, which the sparsity and text notebooks reuse) form one
 * chain that runs in one lane, in inventory order, so no two kernels fill the same folder. Chains go to lanes
 * longest first, by the last recorded run times. On the toy model a kernel uses about one core (its JavaScript is
 * single-threaded), so two lanes on two cores cut the wall time by about a third; the default is 2 lanes for the toy
 * model and 1 otherwise (a paper-sized notebook holds several GB: RN50x16's OMP Gram alone is 3.4 GB).
 */
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ClipNadError } from "../errors";
import { ensureDir, readJson, writeFileAtomic, writeJsonAtomic } from "../io/atomic";
import { sha256File } from "../io/hash";
import { escapeHtml, scriptJson } from "../util/html";
import { PlotlyFigure } from "../figures/types";
import { exportFigures } from "../figures/export";
import { Notebook, exportNotebookHtml, hasSavedWidgets, readNotebook } from "../figures/notebookHtml";
import { markdownToHtml } from "../figures/markdown";

export const PACKAGE_ROOT = path.resolve(__dirname, "..", "..");
const PLOTLY_MIME = "application/vnd.plotly.v1+json";

export interface ReproduceOptions {
  /** Model name or path for the notebooks' switch (CLIP_NAD_MODEL; default "toy"). */
  model?: string;
  /** Data switch (CLIP_NAD_DATA; default "toy"). */
  data?: string;
  /** Output folder (created). */
  outDir: string;
  /** Only these notebooks (file names); default all. */
  notebooks?: string[];
  /** Where the notebooks are (default: the package's notebooks/). */
  notebooksDir?: string;
  /** Run even when cached. */
  force?: boolean;
  /** Notebooks (kernels) at once; default `defaultJobs(model)`. */
  jobs?: number;
  /** The standalone widget bundle's source, for pages of notebooks with saved widgets (e.g. the browser). */
  widgetBundle?: () => string;
  onEvent?: (e: ReproduceEvent) => void;
}

export type ReproduceEvent =
  | { kind: "start"; index: number; total: number; notebook: string; cached: boolean }
  | { kind: "cell"; notebook: string; line: string }
  | { kind: "done"; index: number; total: number; notebook: string; seconds: number; cached: boolean; ok: boolean }
  | { kind: "report"; message: string };

export interface NotebookResult {
  notebook: string;
  title: string;
  ok: boolean;
  cached: boolean;
  /** Seconds of this run's execution (0 when cached); the cached run's time is in `ranSeconds`. */
  seconds: number;
  ranSeconds: number;
  page: string;
  figures: { png: string; title: string }[];
  tables: number;
  error?: string;
}

export interface ReproduceResult {
  outDir: string;
  index: string;
  notebooks: NotebookResult[];
  seconds: number;
}

interface CacheRecord { [notebook: string]: { inputs: string; seconds: number } }

/** The notebooks to run, in the order of the inventory (notebooks/README.md), then the rest alphabetically. */
export function notebookOrder(dir = path.join(PACKAGE_ROOT, "notebooks")): string[] {
  const present = fs.readdirSync(dir).filter((f) => f.endsWith(".ipynb")).sort();
  let order: string[] = [];
  const readme = path.join(dir, "README.md");
  if (fs.existsSync(readme)) order = [...fs.readFileSync(readme, "utf8").matchAll(/`([^`/]+\.ipynb)`/g)].map((m) => m[1]);
  const seen = new Set<string>();
  const out: string[] = [];
  for (const f of [...order, ...present]) if (present.includes(f) && !seen.has(f)) { seen.add(f); out.push(f); }
  return out;
}

/** sha256 over the library's files (src/, kernel-ext/, assets/, package.json): what every notebook depends on. */
export async function libraryDigest(root = PACKAGE_ROOT): Promise<string> {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name.startsWith(".") || e.name === "node_modules") continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && !e.name.endsWith(".test.ts")) files.push(p);
    }
  };
  for (const d of ["src", "kernel-ext", "assets"]) walk(path.join(root, d));
  files.push(path.join(root, "package.json"));
  const h = crypto.createHash("sha256");
  for (const f of files) h.update(path.relative(root, f)).update("\0").update(await sha256File(f)).update("\n");
  return h.digest("hex");
}

function notebookTitle(nb: Notebook, file: string): string {
  for (const c of nb.cells) {
    if (c.cell_type !== "markdown") continue;
    const src = Array.isArray(c.source) ? c.source.join("") : c.source;
    const m = /^#\s+(.+)$/m.exec(src);
    if (m) return m[1].trim();
  }
  return file.replace(/\.ipynb$/, "");
}

/** Plotly figures and HTML tables a notebook's outputs hold, in order. */
function outputsOf(nb: Notebook): { figures: PlotlyFigure[]; tables: string[] } {
  const figures: PlotlyFigure[] = [];
  const tables: string[] = [];
  for (const c of nb.cells) {
    for (const o of (c as { outputs?: { data?: Record<string, unknown> }[] }).outputs ?? []) {
      const data = o.data ?? {};
      if (data[PLOTLY_MIME]) figures.push(data[PLOTLY_MIME] as PlotlyFigure);
      const html = data["text/html"];
      const text = Array.isArray(html) ? html.join("") : typeof html === "string" ? html : "";
      if (text.includes("clip-nad-table")) tables.push(text);
    }
  }
  return { figures, tables };
}

/** 2 lanes for the toy model on a machine with 2+ cores, else 1 (see the header). */
export function defaultJobs(model: string): number {
  return model === "toy" ? Math.min(2, os.cpus().length) : 1;
}

/** The notebook's `clip-nad.shares` metadata: the name of the work files it shares with other notebooks. */
export function sharesOf(file: string): string | undefined {
  const meta = (readNotebook(file).metadata ?? {}) as { "clip-nad"?: { shares?: unknown } };
  const shares = meta["clip-nad"]?.shares;
  return typeof shares === "string" && shares ? shares : undefined;
}

/**
 * Indices of `notebooks` grouped into chains: the notebooks with one `shares` value form one chain (in their given
 * order), every other notebook is a chain of its own. Chains are ordered longest first by `seconds` (a recorded
 * run time; 30 s when none), ties in the given order, so a greedy assignment to lanes finishes early.
 */
export function notebookChains(notebooks: string[], shares: (n: string) => string | undefined,
  seconds: (n: string) => number | undefined): number[][] {
  const chains: number[][] = [];
  const byShare = new Map<string, number[]>();
  notebooks.forEach((n, i) => {
    const key = shares(n);
    const existing = key === undefined ? undefined : byShare.get(key);
    if (existing) existing.push(i);
    else {
      const chain = [i];
      chains.push(chain);
      if (key !== undefined) byShare.set(key, chain);
    }
  });
  const estimate = (chain: number[]) => chain.reduce((a, i) => a + (seconds(notebooks[i]) ?? 30), 0);
  return chains.map((chain, order) => ({ chain, order, t: estimate(chain) }))
    .sort((a, b) => b.t - a.t || a.order - b.order).map((c) => c.chain);
}

function runNotebook(file: string, outDir: string, prefix: string, env: NodeJS.ProcessEnv, onLine: (line: string) => void): Promise<{ ok: boolean; output: string }> {
  const runner = path.join(PACKAGE_ROOT, "tools", "notebooks", "run_notebooks.py");
  return new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/python3", [runner, file, "--out", outDir, "--prefix", prefix], {
      cwd: path.dirname(file), env, stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const take = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      output += text;
      for (const line of text.split("\n")) if (line.trim()) onLine(line);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", (e) => reject(new ClipNadError(`cannot run the notebook runner (${e.message}); it needs Debian's python3-nbclient (tools/setup.sh)`, { file: runner })));
    child.on("close", (code) => resolve({ ok: code === 0, output }));
  });
}

export async function reproduce(opts: ReproduceOptions): Promise<ReproduceResult> {
  const t0 = Date.now();
  const out = path.resolve(opts.outDir);
  ensureDir(out);
  for (const d of ["notebooks", "pages", "figures", "work"]) ensureDir(path.join(out, d));
  const nbDir = path.resolve(opts.notebooksDir ?? path.join(PACKAGE_ROOT, "notebooks"));
  const all = notebookOrder(nbDir);
  const wanted = opts.notebooks ?? all;
  for (const n of wanted) if (!all.includes(n)) throw new ClipNadError(`no notebook named ${n} (notebooks: ${all.join(", ")})`, { file: nbDir });
  const model = opts.model ?? "toy";
  const data = opts.data ?? "toy";
  const library = await libraryDigest();
  const modelKey = fs.existsSync(model) ? await sha256File(model) : model; // a named model is identified by name
  const cacheFile = path.join(out, "cache.json");
  const cache: CacheRecord = fs.existsSync(cacheFile) ? readJson<CacheRecord>(cacheFile) : {};
  const env = { ...process.env, CLIP_NAD_MODEL: model, CLIP_NAD_DATA: data, CLIP_NAD_WORK: path.join(out, "work") };
  const results: NotebookResult[] = new Array(wanted.length);
  const runOne = async (i: number, lane: number) => {
    const name = wanted[i];
    const src = path.join(nbDir, name);
    const inputs = crypto.createHash("sha256").update(await sha256File(src)).update(library).update(modelKey).update(data).digest("hex");
    const executed = path.join(out, "notebooks", name);
    const cached = !opts.force && cache[name]?.inputs === inputs && fs.existsSync(executed);
    opts.onEvent?.({ kind: "start", index: i, total: wanted.length, notebook: name, cached });
    const started = Date.now();
    let ok = true;
    let error: string | undefined;
    if (!cached) {
      delete cache[name];
      writeJsonAtomic(cacheFile, cache);
      const prefix = path.join(out, "jupyter", `lane-${lane}`); // each lane installs its own kernelspec
      const run = await runNotebook(src, path.join(out, "notebooks"), prefix, env, (line) => opts.onEvent?.({ kind: "cell", notebook: name, line }));
      ok = run.ok;
      if (!ok) error = run.output.split("\n").filter((l) => /FAIL|Error|error/.test(l)).slice(0, 8).join("\n") || run.output.slice(-2000);
      else {
        cache[name] = { inputs, seconds: (Date.now() - started) / 1000 };
        writeJsonAtomic(cacheFile, cache);
      }
    }
    const seconds = cached ? 0 : (Date.now() - started) / 1000;
    const result: NotebookResult = {
      notebook: name, title: name, ok, cached, seconds, ranSeconds: cache[name]?.seconds ?? seconds,
      page: `pages/${name.replace(/\.ipynb$/, ".html")}`, figures: [], tables: 0, error,
    };
    if (fs.existsSync(executed)) {
      const nb = readNotebook(executed);
      result.title = notebookTitle(nb, name);
      const bundle = hasSavedWidgets(nb) && opts.widgetBundle ? opts.widgetBundle() : undefined;
      exportNotebookHtml(executed, path.join(out, result.page), { widgetBundle: bundle });
      const { figures, tables } = outputsOf(nb);
      result.tables = tables.length;
      result.figures = figures.map((f, k) => ({ png: `figures/${name.replace(/\.ipynb$/, "")}-${k + 1}.png`, title: figureTitle(f) }));
    }
    results[i] = result;
    opts.onEvent?.({ kind: "done", index: i, total: wanted.length, notebook: name, seconds, cached, ok });
  };
  const chains = notebookChains(wanted, (n) => sharesOf(path.join(nbDir, n)), (n) => cache[n]?.seconds);
  const lanes = Math.max(1, Math.min(opts.jobs ?? defaultJobs(model), chains.length));
  let next = 0;
  await Promise.all(Array.from({ length: lanes }, async (_, lane) => {
    for (let c = next++; c < chains.length; c = next++) for (const i of chains[c]) await runOne(i, lane);
  }));
  opts.onEvent?.({ kind: "report", message: "rendering figures to PNG" });
  const jobs: { spec: PlotlyFigure; opts: { format: "png"; out: string; scale: number } }[] = [];
  for (const r of results) {
    const executed = path.join(out, "notebooks", r.notebook);
    if (!fs.existsSync(executed)) continue;
    outputsOf(readNotebook(executed)).figures.forEach((spec, k) => jobs.push({ spec, opts: { format: "png", out: path.join(out, r.figures[k].png), scale: 1 } }));
  }
  if (jobs.length) await exportFigures(jobs);
  const inventory = path.join(nbDir, "README.md");
  if (fs.existsSync(inventory)) {
    writeFileAtomic(path.join(out, "inventory.html"), `<!doctype html><html><head><meta charset="utf-8"><title>clip-nad — inventory</title>` +
      `<style>body{font-family:"DejaVu Sans",Arial,sans-serif;max-width:1300px;margin:2em auto}table{border-collapse:collapse}` +
      `th,td{border:1px solid #ccc;padding:.3em .5em;vertical-align:top}</style></head><body>${markdownToHtml(fs.readFileSync(inventory, "utf8"))}</body></html>\n`);
  }
  const index = path.join(out, "index.html");
  writeFileAtomic(index, reportHtml(results, out, { model, data, lanes, seconds: (Date.now() - t0) / 1000 }));
  return { outDir: out, index, notebooks: results, seconds: (Date.now() - t0) / 1000 };
}

function figureTitle(f: PlotlyFigure): string {
  const t = (f.layout as { title?: { text?: string } | string } | undefined)?.title;
  const text = typeof t === "string" ? t : t?.text ?? "";
  return text.replace(/<br>.*$/s, "").replace(/<[^>]+>/g, "").trim();
}

function reportHtml(results: NotebookResult[], out: string, info: { model: string; data: string; lanes: number; seconds: number }): string {
  const plotly = fs.readFileSync(require.resolve("plotly.js-dist-min/plotly.min.js"), "utf8");
  const rows = results.map((r) => `<tr><td><a href="#${escapeHtml(r.notebook)}">${escapeHtml(r.title)}</a></td><td><a href="${escapeHtml(r.page)}">${escapeHtml(r.notebook)}</a></td>` +
    `<td>${r.ok ? "ok" : "<b>failed</b>"}</td><td>${r.cached ? `cached (ran in ${r.ranSeconds.toFixed(0)} s)` : `${r.seconds.toFixed(0)} s`}</td><td>${r.figures.length}</td><td>${r.tables}</td></tr>`).join("\n");
  let plotCount = 0;
  const sections = results.map((r) => {
    const executed = path.join(out, "notebooks", r.notebook);
    const body: string[] = [`<h2 id="${escapeHtml(r.notebook)}">${escapeHtml(r.title)}</h2>`,
      `<p class="meta"><a href="${escapeHtml(r.page)}">the whole notebook (offline page)</a> · ${escapeHtml(r.notebook)}</p>`];
    if (!r.ok) body.push(`<pre class="error">${escapeHtml(r.error ?? "failed")}</pre>`);
    if (fs.existsSync(executed)) {
      const nb = readNotebook(executed);
      const intro = nb.cells.find((c) => c.cell_type === "markdown");
      if (intro) {
        const src = Array.isArray(intro.source) ? intro.source.join("") : intro.source;
        body.push(`<div class="intro">${markdownToHtml(src.replace(/^#\s+.+$/m, ""))}</div>`);
      }
      const { figures, tables } = outputsOf(nb);
      figures.forEach((f, k) => {
        const id = `plot${plotCount++}`;
        body.push(`<div class="figure"><figure><img src="${escapeHtml(r.figures[k].png)}" alt="${escapeHtml(r.figures[k].title)}">` +
          `<figcaption>PNG: <a href="${escapeHtml(r.figures[k].png)}">${escapeHtml(r.figures[k].png)}</a></figcaption></figure>` +
          `<div class="interactive" id="${id}"></div><script>(function(){var f=${scriptJson(f)};Plotly.newPlot(${JSON.stringify(id)},f.data||[],f.layout||{},{responsive:true});})();</script></div>`);
      });
      for (const t of tables) body.push(`<div class="table">${t}</div>`);
    }
    return `<section>${body.join("\n")}</section>`;
  }).join("\n");
  const browser = results.find((r) => r.notebook === "browser.ipynb");
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>clip-nad — the paper, reproduced</title>
<style>
body{font-family:"DejaVu Sans",Arial,sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#f0f0f0}
.figure{display:flex;gap:1em;align-items:flex-start;flex-wrap:wrap;margin:1em 0}.figure img{max-width:640px;border:1px solid #eee}
.interactive{min-width:560px;flex:1}figcaption{font-size:12px;color:#666}.meta{color:#666;font-size:13px}
pre{white-space:pre-wrap;background:#f6f8fa;padding:.5em}pre.error{background:#ffecec;color:#900}section{border-top:2px solid #ddd;margin-top:2em}
.table pre{font-size:12px}
</style>
<script>${plotly.replace(/<\/script/gi, "<\\/script")}</script>
</head><body>
<h1>Interpreting ResNet-based CLIP via Neuron-Attention Decomposition — reproduced with clip-nad</h1>
<p>Model <b>${escapeHtml(info.model)}</b>, data <b>${escapeHtml(info.data)}</b>; ${results.length} notebooks, ${results.filter((r) => r.ok).length} ran without error;
this report took ${info.seconds.toFixed(0)} s${info.lanes > 1 ? ` (${info.lanes} notebooks at a time)` : ""}. Each notebook states the paper's claim and numbers beside this run's; the
<a href="inventory.html">inventory</a> maps every figure and table of the paper to its notebook.
${browser ? `The neuron-head browser, read-only and offline: <a href="${escapeHtml(browser.page)}">${escapeHtml(browser.page)}</a>.` : ""}</p>
<table><thead><tr><th>item</th><th>notebook</th><th>status</th><th>time</th><th>figures</th><th>tables</th></tr></thead><tbody>
${rows}
</tbody></table>
${sections}
</body></html>
`;
}

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
import { fileSha256, sha256File } from "../io/hash";
import { escapeHtml, scriptJson } from "../util/html";
import { PlotlyFigure } from "../figures/types";
import { exportFigures } from "../figures/export";
import {
  Notebook, PLOTLY_MIME, hasSavedWidgets, joinText, notebookToHtml, readNotebook,
} from "../figures/notebookHtml";
import { installKernelSpec } from "../jupyter/kernelspec";
import { markdownToHtml } from "../figures/markdown";

const KERNEL = "clip-nad";
export const PACKAGE_ROOT = path.resolve(__dirname, "..", "..");

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
  if (fs.existsSync(readme))
    order = [...fs.readFileSync(readme, "utf8").matchAll(/`([^`/]+\.ipynb)`/g)].map((m) => m[1]);
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

/** What the report shows of one executed notebook: its title (first heading), intro, figures and tables. */
interface NotebookContent {
  title?: string;
  intro?: string;
  figures: PlotlyFigure[];
  tables: string[];
}

function contentOf(nb: Notebook): NotebookContent {
  const content: NotebookContent = { figures: [], tables: [] };
  for (const c of nb.cells) {
    if (c.cell_type === "markdown" && content.title === undefined) {
      const src = joinText(c.source);
      content.intro ??= src.replace(/^#\s+.+$/m, "");
      content.title = /^#\s+(.+)$/m.exec(src)?.[1].trim();
    }
    for (const o of c.outputs ?? []) {
      const data = o.data ?? {};
      if (data[PLOTLY_MIME]) content.figures.push(data[PLOTLY_MIME] as PlotlyFigure);
      const html = joinText(data["text/html"] as string | string[] | undefined);
      if (html.includes("clip-nad-table")) content.tables.push(html);
    }
  }
  return content;
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

function runNotebook(
  file: string,
  outDir: string,
  env: NodeJS.ProcessEnv,
  onLine: (line: string) => void,
): Promise<{ ok: boolean; output: string }> {
  const runner = path.join(PACKAGE_ROOT, "tools", "notebooks", "run_notebooks.py");
  return new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/python3", [runner, file, "--out", outDir, "--kernel", KERNEL, "--no-install"], {
      cwd: path.dirname(file),
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const take = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      output += text;
      for (const line of text.split("\n")) if (line.trim()) onLine(line);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", (e) =>
      reject(
        new ClipNadError(
          `cannot run the notebook runner (${e.message}); it needs Debian's python3-nbclient (tools/setup.sh)`,
          { file: runner },
        ),
      ),
    );
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
  for (const n of wanted)
    if (!all.includes(n))
      throw new ClipNadError(`no notebook named ${n} (notebooks: ${all.join(", ")})`, { file: nbDir });
  const model = opts.model ?? "toy";
  const data = opts.data ?? "toy";
  const library = await libraryDigest();
  const modelKey = fs.existsSync(model) ? await fileSha256(model) : model; // a named model is identified by name
  const cacheFile = path.join(out, "cache.json");
  const cache: CacheRecord = fs.existsSync(cacheFile) ? readJson<CacheRecord>(cacheFile) : {};
  const work = path.join(out, "work");
  const env: NodeJS.ProcessEnv = { ...process.env, CLIP_NAD_MODEL: model, CLIP_NAD_DATA: data, CLIP_NAD_WORK: work };
  const results: NotebookResult[] = new Array(wanted.length);
  const contents = new Map<string, NotebookContent>();
  // One kernelspec for every run (the runners are told not to install it again), on the runners' JUPYTER_PATH.
  const jupyter = path.join(out, "jupyter");
  installKernelSpec({ prefix: jupyter, name: KERNEL });
  const jupyterPath = [path.join(jupyter, "share", "jupyter"), process.env.JUPYTER_PATH].filter(Boolean);
  env.JUPYTER_PATH = jupyterPath.join(path.delimiter);
  let plotly: string | undefined; // plotly.js, read once for every page that has a figure
  const plotlySource = () => (plotly ??= fs.readFileSync(require.resolve("plotly.js-dist-min/plotly.min.js"), "utf8"));
  const runOne = async (i: number) => {
    const name = wanted[i];
    const src = path.join(nbDir, name);
    const inputs = crypto
      .createHash("sha256")
      .update(await sha256File(src))
      .update(library)
      .update(modelKey)
      .update(data)
      .digest("hex");
    const executed = path.join(out, "notebooks", name);
    const cached = !opts.force && cache[name]?.inputs === inputs && fs.existsSync(executed);
    opts.onEvent?.({ kind: "start", index: i, total: wanted.length, notebook: name, cached });
    const started = Date.now();
    let ok = true;
    let error: string | undefined;
    if (!cached) {
      delete cache[name];
      writeJsonAtomic(cacheFile, cache);
      const run = await runNotebook(src, path.join(out, "notebooks"), env, (line) =>
        opts.onEvent?.({ kind: "cell", notebook: name, line }),
      );
      ok = run.ok;
      if (!ok)
        error =
          run.output
            .split("\n")
            .filter((l) => /FAIL|Error|error/.test(l))
            .slice(0, 8)
            .join("\n") || run.output.slice(-2000);
      else {
        cache[name] = { inputs, seconds: (Date.now() - started) / 1000 };
        writeJsonAtomic(cacheFile, cache);
      }
    }
    const seconds = cached ? 0 : (Date.now() - started) / 1000;
    const stem = name.replace(/\.ipynb$/, "");
    const result: NotebookResult = {
      notebook: name, title: name, ok, cached, seconds, ranSeconds: cache[name]?.seconds ?? seconds,
      page: `pages/${stem}.html`, figures: [], tables: 0, error,
    };
    if (fs.existsSync(executed)) {
      // Read once (an executed notebook holds plotly.js and the figures: several MB); page, PNGs and report use it.
      const nb = readNotebook(executed);
      const page = path.join(out, result.page);
      if (!cached || !fs.existsSync(page)) {
        const bundle = hasSavedWidgets(nb) && opts.widgetBundle ? opts.widgetBundle() : undefined;
        writeFileAtomic(page, notebookToHtml(nb, { title: stem, widgetBundle: bundle, plotlySource: plotlySource() }));
      }
      const found = contentOf(nb);
      contents.set(name, found);
      result.title = found.title ?? stem;
      result.tables = found.tables.length;
      result.figures = found.figures.map((f, k) => ({ png: `figures/${stem}-${k + 1}.png`, title: figureTitle(f) }));
    }
    results[i] = result;
    opts.onEvent?.({ kind: "done", index: i, total: wanted.length, notebook: name, seconds, cached, ok });
  };
  const chains = notebookChains(wanted, (n) => sharesOf(path.join(nbDir, n)), (n) => cache[n]?.seconds);
  const lanes = Math.max(1, Math.min(opts.jobs ?? defaultJobs(model), chains.length));
  let next = 0;
  await Promise.all(Array.from({ length: lanes }, async () => {
    for (let c = next++; c < chains.length; c = next++) for (const i of chains[c]) await runOne(i);
  }));
  opts.onEvent?.({ kind: "report", message: "rendering figures to PNG" });
  // A cached notebook's PNGs are this run's already (same executed copy, same library).
  const jobs = results.flatMap((r) => (contents.get(r.notebook)?.figures ?? []).map((spec, k) => ({
    spec, opts: { format: "png" as const, out: path.join(out, r.figures[k].png), scale: 1 },
  })).filter((job) => !r.cached || !fs.existsSync(job.opts.out)));
  if (jobs.length) await exportFigures(jobs);
  const inventory = path.join(nbDir, "README.md");
  if (fs.existsSync(inventory)) {
    const body = markdownToHtml(fs.readFileSync(inventory, "utf8"));
    writeFileAtomic(path.join(out, "inventory.html"), page("clip-nad — inventory", INVENTORY_STYLE, body));
  }
  const index = path.join(out, "index.html");
  const info = { model, data, lanes, seconds: (Date.now() - t0) / 1000 };
  writeFileAtomic(index, reportHtml(results, contents, info, plotlySource()));
  return { outDir: out, index, notebooks: results, seconds: (Date.now() - t0) / 1000 };
}

function figureTitle(f: PlotlyFigure): string {
  const t = (f.layout as { title?: { text?: string } | string } | undefined)?.title;
  const text = typeof t === "string" ? t : t?.text ?? "";
  return text.replace(/<br>.*$/s, "").replace(/<[^>]+>/g, "").trim();
}

const FONT = `font-family:"DejaVu Sans",Arial,sans-serif`;
const INVENTORY_STYLE = `body{${FONT};max-width:1300px;margin:2em auto}table{border-collapse:collapse}
th,td{border:1px solid #ccc;padding:.3em .5em;vertical-align:top}`;
const REPORT_STYLE = `body{${FONT};max-width:1400px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f0f0f0}
.figure{display:flex;gap:1em;align-items:flex-start;flex-wrap:wrap;margin:1em 0}
.figure img{max-width:640px;border:1px solid #eee}
.interactive{min-width:560px;flex:1}figcaption{font-size:12px;color:#666}.meta{color:#666;font-size:13px}
pre{white-space:pre-wrap;background:#f6f8fa;padding:.5em}pre.error{background:#ffecec;color:#900}
section{border-top:2px solid #ddd;margin-top:2em}
.table pre{font-size:12px}`;

function page(title: string, style: string, body: string, head = ""): string {
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>\n` +
    `<style>\n${style}\n</style>\n${head}</head><body>\n${body}\n</body></html>\n`;
}

function summaryRow(r: NotebookResult): string {
  const time = r.cached ? `cached (ran in ${r.ranSeconds.toFixed(0)} s)` : `${r.seconds.toFixed(0)} s`;
  const cells = [
    `<a href="#${escapeHtml(r.notebook)}">${escapeHtml(r.title)}</a>`,
    `<a href="${escapeHtml(r.page)}">${escapeHtml(r.notebook)}</a>`,
    r.ok ? "ok" : "<b>failed</b>", time, String(r.figures.length), String(r.tables),
  ];
  return `<tr>${cells.map((c) => `<td>${c}</td>`).join("")}</tr>`;
}

function figureHtml(png: { png: string; title: string }, spec: PlotlyFigure, id: string): string {
  const src = escapeHtml(png.png);
  const plot = `Plotly.newPlot(${JSON.stringify(id)},f.data||[],f.layout||{},{responsive:true});`;
  return `<div class="figure"><figure><img src="${src}" alt="${escapeHtml(png.title)}">` +
    `<figcaption>PNG: <a href="${src}">${src}</a></figcaption></figure>` +
    `<div class="interactive" id="${id}"></div>` +
    `<script>(function(){var f=${scriptJson(spec)};${plot}})();</script></div>`;
}

function reportHtml(results: NotebookResult[], contents: Map<string, NotebookContent>,
  info: { model: string; data: string; lanes: number; seconds: number }, plotly: string): string {
  let plotCount = 0;
  const sections = results.map((r) => {
    const body: string[] = [
      `<h2 id="${escapeHtml(r.notebook)}">${escapeHtml(r.title)}</h2>`,
      `<p class="meta"><a href="${escapeHtml(r.page)}">the whole notebook (offline page)</a> · ` +
        `${escapeHtml(r.notebook)}</p>`,
    ];
    if (!r.ok) body.push(`<pre class="error">${escapeHtml(r.error ?? "failed")}</pre>`);
    const content = contents.get(r.notebook);
    if (content) {
      if (content.intro) body.push(`<div class="intro">${markdownToHtml(content.intro)}</div>`);
      content.figures.forEach((spec, k) => body.push(figureHtml(r.figures[k], spec, `plot${plotCount++}`)));
      for (const t of content.tables) body.push(`<div class="table">${t}</div>`);
    }
    return `<section>${body.join("\n")}</section>`;
  });
  const browser = results.find((r) => r.notebook === "browser.ipynb");
  const ran = results.filter((r) => r.ok).length;
  const ranHere = results.filter((r) => !r.cached).length;
  const lanes = info.lanes > 1 && ranHere > 1 ? ` (${info.lanes} notebooks at a time)` : "";
  const cachedNote = ranHere < results.length ? ` (${results.length - ranHere} cached: inputs unchanged)` : "";
  const link = browser && `<a href="${escapeHtml(browser.page)}">${escapeHtml(browser.page)}</a>`;
  const header = ["item", "notebook", "status", "time", "figures", "tables"].map((h) => `<th>${h}</th>`).join("");
  const body = `<h1>Interpreting ResNet-based CLIP via Neuron-Attention Decomposition — reproduced with clip-nad</h1>
<p>Model <b>${escapeHtml(info.model)}</b>, data <b>${escapeHtml(info.data)}</b>; ${results.length} notebooks, ${ran} ran
without error; this report took ${info.seconds.toFixed(0)} s${lanes}${cachedNote}. Each notebook states the paper's
claim and numbers beside this run's; the <a href="inventory.html">inventory</a> maps every figure and table of the
paper to its notebook.
${link ? `The neuron-head browser, read-only and offline: ${link}.` : ""}</p>
<table><thead><tr>${header}</tr></thead><tbody>
${results.map(summaryRow).join("\n")}
</tbody></table>
${sections.join("\n")}`;
  const script = `<script>${plotly.replace(/<\/script/gi, "<\\/script")}</script>\n`;
  return page("clip-nad — the paper, reproduced", REPORT_STYLE, body, script);
}

/**
 * Executed .ipynb → one standalone HTML page that renders offline: markdown cells, code, streams, errors,
 * images, HTML/table outputs and plotly figures (drawn from their application/vnd.plotly.v1+json data with the
 * plotly.js source inlined ONCE in <head>, never from a CDN). Widgets (e.g. the neuron-head browser) render
 * read-only from the widget state the notebook saved, when the caller passes a standalone widget bundle.
 * Our own renderer, so no nbconvert template pulls require.js/MathJax from the network.
 */
import * as fs from "fs";
import { ClipNadError } from "../errors";
import { markdownToHtml } from "./markdown";
import { escapeHtml, scriptJson } from "../util/html";
import { writeFileAtomic } from "../io/atomic";

export const PLOTLY_MIME = "application/vnd.plotly.v1+json";
const WIDGET_MIME = "application/vnd.jupyter.widget-view+json";

type MimeBundle = { [mime: string]: unknown };
interface NbOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: MimeBundle;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}
interface NbCell {
  cell_type: string;
  source: string | string[];
  outputs?: NbOutput[];
  execution_count?: number | null;
}
export interface Notebook {
  cells: NbCell[];
  metadata?: { [key: string]: unknown };
  nbformat?: number;
}

export const joinText = (t: string | string[] | undefined): string => (Array.isArray(t) ? t.join("") : t ?? "");
const stripAnsi = (s: string): string => s.replace(/\u001b\[[0-9;]*[A-Za-z]/g, "");

export function readNotebook(file: string): Notebook {
  let nb: Notebook;
  try {
    nb = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new ClipNadError(`cannot read notebook: ${(e as Error).message}`, { file });
  }
  if (!nb || !Array.isArray(nb.cells)) throw new ClipNadError("not a Jupyter notebook (no 'cells' array)", { file, key: "cells" });
  return nb;
}

/** Consecutive stream outputs of the same name read as one block (each console.log arrives as its own message). */
function mergeStreams(outputs: NbOutput[]): NbOutput[] {
  const out: NbOutput[] = [];
  for (const o of outputs) {
    const prev = out[out.length - 1];
    if (o.output_type === "stream" && prev && prev.output_type === "stream" && prev.name === o.name) {
      out[out.length - 1] = { ...prev, text: joinText(prev.text) + joinText(o.text) };
    } else out.push(o);
  }
  return out;
}

const WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json";

/** The saved widget state (nbclient writes it into metadata.widgets), if any. */
function savedWidgetState(nb: Notebook): { state: { [id: string]: unknown } } | undefined {
  const widgets = nb.metadata?.widgets as { [mime: string]: { state?: { [id: string]: unknown } } } | undefined;
  const doc = widgets?.[WIDGET_STATE_MIME];
  return doc && doc.state && typeof doc.state === "object" ? (doc as { state: { [id: string]: unknown } }) : undefined;
}

class Renderer {
  figures = 0;
  widgets = 0;

  /** Widget models whose views can be rendered offline (saved state present and a bundle to draw them). */
  constructor(private readonly widgetModels: Set<string> = new Set()) {}

  output(o: NbOutput): string {
    if (o.output_type === "stream") {
      return `<pre class="output stream ${o.name === "stderr" ? "stderr" : "stdout"}">${escapeHtml(stripAnsi(joinText(o.text)))}</pre>`;
    }
    if (o.output_type === "error") {
      const tb = (o.traceback ?? []).map(stripAnsi).join("\n");
      return `<pre class="output error">${escapeHtml(`${o.ename ?? "Error"}: ${o.evalue ?? ""}\n${tb}`)}</pre>`;
    }
    if (o.output_type === "display_data" || o.output_type === "execute_result") return this.bundle(o.data ?? {});
    return "";
  }

  /** Richest representation we can render offline. */
  bundle(data: MimeBundle): string {
    const view = data[WIDGET_MIME] as { model_id?: string } | undefined;
    if (view && typeof view.model_id === "string" && this.widgetModels.has(view.model_id)) {
      this.widgets++;
      return `<div class="output widget"><script type="${WIDGET_MIME}">${scriptJson(view)}</script></div>`;
    }
    if (data[PLOTLY_MIME] && typeof data[PLOTLY_MIME] === "object") {
      const fig = data[PLOTLY_MIME] as { data?: unknown[]; layout?: { [k: string]: unknown }; config?: unknown };
      const id = `nb-plot-${this.figures++}`;
      const h = typeof fig.layout?.height === "number" ? fig.layout.height : 450;
      return (
        `<div class="output plotly"><div id="${id}" class="nb-plotly" style="min-height:${h}px"></div>` +
        `<script>(function(){var f=${scriptJson(fig)};Plotly.newPlot(${JSON.stringify(id)},f.data||[],f.layout||{},f.config||{responsive:true});})();</script></div>`
      );
    }
    if (typeof data["image/png"] === "string") return `<div class="output"><img src="data:image/png;base64,${(data["image/png"] as string).replace(/\s/g, "")}"></div>`;
    if (typeof data["image/jpeg"] === "string") return `<div class="output"><img src="data:image/jpeg;base64,${(data["image/jpeg"] as string).replace(/\s/g, "")}"></div>`;
    if (data["image/svg+xml"] !== undefined && !data[WIDGET_MIME]) return `<div class="output">${joinText(data["image/svg+xml"] as string | string[])}</div>`;
    if (data["text/html"] !== undefined && !data[WIDGET_MIME]) return `<div class="output html">${joinText(data["text/html"] as string | string[])}</div>`;
    if (data["text/markdown"] !== undefined) return `<div class="output markdown">${markdownToHtml(joinText(data["text/markdown"] as string | string[]))}</div>`;
    if (data["text/plain"] !== undefined) return `<pre class="output">${escapeHtml(stripAnsi(joinText(data["text/plain"] as string | string[])))}</pre>`;
    return "";
  }

  cell(c: NbCell): string {
    const src = joinText(c.source);
    if (c.cell_type === "markdown") return `<section class="cell markdown">${markdownToHtml(src)}</section>`;
    if (c.cell_type === "raw") return `<section class="cell raw"><pre>${escapeHtml(src)}</pre></section>`;
    const n = c.execution_count ?? " ";
    const outs = mergeStreams(c.outputs ?? []).map((o) => this.output(o)).join("\n");
    return (
      `<section class="cell code"><div class="prompt">In [${n}]:</div><pre class="input"><code>${escapeHtml(src)}</code></pre>` +
      `${outs ? `\n<div class="outputs">${outs}</div>` : ""}</section>`
    );
  }
}

const CSS = `
body{font-family:"DejaVu Sans",Arial,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
.cell{margin:1.2em 0}.prompt{color:#888;font-size:12px;font-family:monospace}
pre{background:#f6f8fa;border:1px solid #e1e4e8;border-radius:4px;padding:.6em .8em;font-size:13px;white-space:pre-wrap;overflow-wrap:anywhere}
.math{overflow-x:auto;margin:.6em 0}math[display=block]{margin:.4em 0}
pre.output{background:#fff;border-color:#eee}pre.stderr{background:#fff4f4}pre.error{background:#ffecec;color:#900}
table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#f0f0f0}
code{font-family:"DejaVu Sans Mono",monospace}img{max-width:100%}`;

export interface NotebookHtmlOptions {
  title?: string;
  /** plotly.js source to inline (default: read from plotly.js-dist-min). */
  plotlySource?: string;
  /**
   * A standalone widget bundle (JavaScript that renders every widget-view script tag from the page's saved
   * widget-state tag, e.g. clip-nad's build/widgets/standalone.js). Without it widgets show their text fallback.
   */
  widgetBundle?: string;
}

/** Code cells that were never run (no execution count and no outputs). */
export function unexecutedCells(nb: Notebook): number {
  return nb.cells.filter((c) => c.cell_type === "code" && joinText(c.source).trim() !== "" && c.execution_count == null && !(c.outputs ?? []).length).length;
}

/** Does the notebook have widget outputs whose state it saved (so a widget bundle would render them)? */
export function hasSavedWidgets(nb: Notebook): boolean {
  const saved = savedWidgetState(nb);
  if (!saved) return false;
  return nb.cells.some((c) => (c.outputs ?? []).some((o) => {
    const view = o.data?.[WIDGET_MIME] as { model_id?: string } | undefined;
    return !!view && typeof view.model_id === "string" && view.model_id in saved.state;
  }));
}

/** The whole page as a string. plotly.js is inlined once, only when the notebook has plotly outputs. */
export function notebookToHtml(nb: Notebook, opts: NotebookHtmlOptions = {}): string {
  const saved = opts.widgetBundle ? savedWidgetState(nb) : undefined;
  const r = new Renderer(new Set(saved ? Object.keys(saved.state) : []));
  let body = nb.cells.map((c) => r.cell(c)).join("\n");
  if (saved && r.widgets > 0) {
    // Inline script: `</script` may not appear literally; `<\/script` means the same inside JS strings/regexps.
    const js = opts.widgetBundle!.replace(/<\/script/gi, "<\\/script");
    body = `<script type="${WIDGET_STATE_MIME}">${scriptJson(saved)}</script>\n${body}\n<script>${js}</script>`;
  }
  const plotly = r.figures > 0 ? opts.plotlySource ?? fs.readFileSync(require.resolve("plotly.js-dist-min/plotly.min.js"), "utf8") : "";
  const title = escapeHtml(opts.title ?? "notebook");
  return (
    `<!doctype html>\n<html><head><meta charset="utf-8"><title>${title}</title>\n<style>${CSS}</style>\n` +
    (plotly ? `<script>${plotly}</script>\n` : "") +
    `</head><body>\n${body}\n</body></html>\n`
  );
}

/** Read an executed notebook and write the standalone page. Returns the number of plotly figures and widgets. */
export function exportNotebookHtml(
  inFile: string,
  outFile: string,
  opts: { widgetBundle?: string } = {},
): { figures: number; widgets: number; bytes: number; unexecuted: number } {
  if (!/\.html?$/i.test(outFile)) throw new ClipNadError("the exported page is HTML: the output must end in .html", { file: outFile });
  const nb = readNotebook(inFile);
  const title = inFile.split(/[\\/]/).pop()!.replace(/\.ipynb$/, "");
  const html = notebookToHtml(nb, { title, widgetBundle: opts.widgetBundle });
  writeFileAtomic(outFile, html);
  return {
    unexecuted: unexecutedCells(nb),
    figures: (html.match(/class="nb-plotly"/g) || []).length,
    widgets: (html.match(/class="output widget"/g) || []).length,
    bytes: Buffer.byteLength(html),
  };
}

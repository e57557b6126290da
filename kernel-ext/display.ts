/**
 * Rich display helpers for notebook cells (clip-nad kernel, also plain tslab). DOM-free; TS 5.0 syntax.
 * Every helper builds a pure mime bundle (testable) and a `show*` that emits it as ONE display_data message:
 *  - showFigure: plotly JSON + an offline text/html fallback (plotly.js inlined once per kernel) + text/plain
 *  - showPNG, showTable (escaped HTML + text), progress (updates one display in place via display_id).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import { DisplayBundle, kernelTransport } from "./comm";
import { escapeHtml, scriptJson } from "../src/util/html";
import { PlotlyFigure } from "../src/figures/types";

export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

export type { PlotlyFigure } from "../src/figures/types";

export type MimeData = { [mime: string]: unknown };
export type DisplayWriter = (bundle: DisplayBundle, update: boolean) => void;

let writerOverride: DisplayWriter | undefined;

/** Route displays elsewhere (tests, or non-kernel use). Pass undefined to restore the kernel writer. */
export function setDisplayWriter(w: DisplayWriter | undefined): void {
  writerOverride = w;
}

function writer(): DisplayWriter {
  if (writerOverride) return writerOverride;
  const t = kernelTransport();
  if (t) return (b, u) => t.displayData(b, u);
  // Plain tslab: its internal multi-mime path (the same module instance tslab itself runs from).
  const jupyter = require("tslab/dist/jupyter") as { lastWriteDisplayData: DisplayWriter | null };
  const w = jupyter.lastWriteDisplayData;
  if (!w) throw new Error("display helpers only work while a notebook cell runs");
  return w;
}

function emit(data: MimeData, displayId?: string, update = false): void {
  writer()({ data, metadata: {}, transient: displayId ? { display_id: displayId } : {} }, update);
}

export { escapeHtml, scriptJson } from "../src/util/html";

let plotlySource: string | undefined;
/** plotly.js (plotly.js-dist-min, self-contained, sets window.Plotly) as text. */
export function plotlyJsSource(): string {
  if (plotlySource === undefined) {
    plotlySource = fs.readFileSync(require.resolve("plotly.js-dist-min/plotly.min.js"), "utf8");
  }
  return plotlySource;
}

let plotlyEmbedded = false;

/** Self-contained HTML for a figure; with includePlotly the plotly.js source is inlined (offline rendering). */
export function figureHtml(fig: PlotlyFigure, opts: { includePlotly: boolean; divId?: string }): string {
  const id = opts.divId || `clip-nad-fig-${crypto.randomBytes(6).toString("hex")}`;
  const height = typeof fig.layout?.height === "number" ? fig.layout.height : 450;
  const lib = opts.includePlotly ? `<script type="text/javascript">${plotlyJsSource()}</script>\n` : "";
  // Waits for window.Plotly: the library may come from an earlier output of the same page.
  const draw =
    `<script type="text/javascript">(function () {\n` +
    `  var fig = ${scriptJson(fig)};\n` +
    `  function draw() { window.Plotly.newPlot(${JSON.stringify(id)}, fig.data, fig.layout || {}, fig.config || {responsive: true}); }\n` +
    `  if (window.Plotly) { draw(); return; }\n` +
    `  var tries = 0, timer = setInterval(function () { if (window.Plotly) { clearInterval(timer); draw(); } else if (++tries > 400) clearInterval(timer); }, 25);\n` +
    `})();</script>`;
  return `<div id="${id}" class="clip-nad-plotly" style="width:100%;min-height:${height}px"></div>\n${lib}${draw}`;
}

/** One-line text summary of a figure (the text/plain fallback). */
export function figureText(fig: PlotlyFigure): string {
  const title = fig.layout?.title;
  const t = typeof title === "string" ? title : title && typeof title === "object" ? String((title as { text?: unknown }).text ?? "") : "";
  const names = fig.data.map((d) => String(d.name ?? d.type ?? "trace"));
  return `<plotly figure${t ? ` "${t}"` : ""}: ${fig.data.length} trace(s): ${names.join(", ")}>`;
}

/** Mime data for a figure: plotly JSON + offline HTML + text. */
export function figureMime(fig: PlotlyFigure, includePlotly: boolean): MimeData {
  return { [PLOTLY_MIME]: fig, "text/html": figureHtml(fig, { includePlotly }), "text/plain": figureText(fig) };
}

/** Show a plotly figure. plotly.js is inlined into the first figure of the kernel session (or when forced). */
export function showFigure(fig: PlotlyFigure, opts: { includePlotly?: boolean } = {}): void {
  const include = opts.includePlotly ?? !plotlyEmbedded;
  emit(figureMime(fig, include));
  if (include) plotlyEmbedded = true;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function pngMime(bytes: Uint8Array, alt = "PNG image"): MimeData {
  if (bytes.length < 8 || PNG_MAGIC.some((b, i) => bytes[i] !== b)) throw new Error("showPNG: bytes are not a PNG (bad signature)");
  return { "image/png": Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64"), "text/plain": `<${alt}, ${bytes.length} bytes>` };
}

export function showPNG(bytes: Uint8Array, alt?: string): void {
  emit(pngMime(bytes, alt));
}

export type Cell = string | number | boolean | null | undefined;

function cellText(v: Cell): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(4);
  return String(v);
}

/** Rows as arrays (in column order) or objects keyed by column name. */
export function tableMime(rows: (Cell[] | { [col: string]: Cell })[], columns: string[]): MimeData {
  const cells = rows.map((r) => (Array.isArray(r) ? r.map(cellText) : columns.map((c) => cellText(r[c]))));
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("");
  const body = cells.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("\n");
  const html = `<table class="clip-nad-table">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => (c ?? "").padEnd(widths[i])).join("  ").trimEnd();
  const text = [line(columns), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n");
  return { "text/html": html, "text/plain": text };
}

export function showTable(rows: (Cell[] | { [col: string]: Cell })[], columns: string[]): void {
  emit(tableMime(rows, columns));
}

export interface Progress {
  /** Set the number of finished items (clamped to total) and redraw. */
  update(done: number, note?: string): void;
  /** Mark finished. */
  finish(note?: string): void;
}

export function progressMime(done: number, total: number, label: string, note = ""): MimeData {
  const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
  const pct = (100 * frac).toFixed(0);
  const bar = "#".repeat(Math.round(frac * 30)).padEnd(30, ".");
  const text = `${label} [${bar}] ${done}/${total} (${pct}%)${note ? ` ${note}` : ""}`;
  const html =
    `<div class="clip-nad-progress"><span>${escapeHtml(label)}</span> ` +
    `<progress value="${done}" max="${total}" style="width:240px"></progress> ` +
    `<span>${done}/${total} (${pct}%)${note ? ` ${escapeHtml(note)}` : ""}</span></div>`;
  return { "text/html": html, "text/plain": text };
}

/**
 * A progress display that updates in place (display_data once, then update_display_data with the same id).
 * Redraws only when the whole percentage or the note changes, so tight loops do not flood the front end.
 */
export function progress(total: number, label = "progress"): Progress {
  const id = `clip-nad-progress-${crypto.randomBytes(6).toString("hex")}`;
  const percent = (n: number) => (total > 0 ? Math.floor((100 * n) / total) : 100);
  let shown: { pct: number; note: string | undefined; done: number } = { pct: 0, note: undefined, done: 0 };
  emit(progressMime(0, total, label), id, false);
  const draw = (done: number, note: string | undefined, force: boolean) => {
    const pct = percent(done);
    if (!force && pct === shown.pct && note === shown.note) return;
    shown = { pct, note, done };
    emit(progressMime(done, total, label, note), id, true);
  };
  return {
    update(n: number, note?: string) {
      const done = Math.min(total, Math.max(0, n));
      draw(done, note, done === total && shown.done !== total);
    },
    finish(note?: string) {
      draw(total, note ?? "done", true);
    },
  };
}

/**
 * One in-place progress display per phase of a multi-phase job, usable directly as an analysis' onProgress
 * (phase, done, total): a new phase finishes the previous display and starts its own.
 */
export function phasedProgress(): (phase: string, done: number, total: number) => void {
  let current: { phase: string; bar: Progress } | undefined;
  return (phase, done, total) => {
    if (current?.phase !== phase) {
      current?.bar.finish();
      current = { phase, bar: progress(total, phase) };
    }
    current.bar.update(done);
  };
}

/**
 * Figure spec → PNG / SVG through Plotly.toImage in headless Chromium (Node-only; not for notebooks' browser side).
 * The page is built in memory with the local plotly.js-dist-min, so nothing is fetched from the network.
 */
import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { withBrowser } from "./browser";
import { ensureDir, writeFileAtomic } from "../io/atomic";
import { PlotlyFigure } from "./types";

export type ImageFormat = "png" | "svg";

export interface ExportOptions {
  format?: ImageFormat;
  /** Pixels (default: layout.width, else 700). */
  width?: number;
  /** Pixels (default: layout.height, else 500). */
  height?: number;
  /** PNG pixel ratio (default 1). */
  scale?: number;
  /** Write the image here too. */
  out?: string;
}

export function plotlyJsPath(): string {
  return require.resolve("plotly.js-dist-min/plotly.min.js");
}

/** Format from an output file name (.png / .svg). */
export function formatFromPath(file: string): ImageFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === ".png") return "png";
  if (ext === ".svg") return "svg";
  throw new ClipNadError("output must end in .png or .svg", { file });
}

function checkSpec(spec: PlotlyFigure): void {
  if (spec === null || typeof spec !== "object" || !Array.isArray(spec.data)) {
    throw new ClipNadError("figure spec must be an object with a 'data' array of traces", { key: "data" });
  }
}

/** Decode Plotly.toImage's data URL. */
export function decodeDataUrl(url: string): Buffer {
  const comma = url.indexOf(",");
  if (!url.startsWith("data:") || comma < 0) throw new ClipNadError(`Plotly.toImage returned no data URL: ${url.slice(0, 40)}`);
  const meta = url.slice(5, comma);
  const body = url.slice(comma + 1);
  return meta.endsWith(";base64") ? Buffer.from(body, "base64") : Buffer.from(decodeURIComponent(body), "utf8");
}

/** Chromium's canvas limits: a side of at most 16,384 px and at most 2^28 pixels in all. */
export const MAX_CANVAS_SIDE = 16384;
export const MAX_CANVAS_PIXELS = 2 ** 28;

function checkSize(width: number, height: number, scale: number, format: ImageFormat): void {
  for (const [what, v] of [["width", width], ["height", height], ["scale", scale]] as const) {
    if (!(Number.isFinite(v) && v > 0)) throw new ClipNadError(`figure ${what} must be a positive number, got ${v}`);
  }
  if (format !== "png") return;
  const w = Math.round(width * scale), h = Math.round(height * scale);
  if (w > MAX_CANVAS_SIDE || h > MAX_CANVAS_SIDE || w * h > MAX_CANVAS_PIXELS) {
    throw new ClipNadError(`a ${w}×${h} px PNG (width ${width} × height ${height} at scale ${scale}) is larger than the browser can ` +
      `render (at most ${MAX_CANVAS_SIDE} px a side and ${MAX_CANVAS_PIXELS} pixels); lower the scale or the size, or export SVG`);
  }
}

/** Render several specs in one browser session (launch costs ~1 s). */
export async function exportFigures(jobs: { spec: PlotlyFigure; opts: ExportOptions }[]): Promise<Buffer[]> {
  jobs.forEach((j) => checkSpec(j.spec));
  for (const { spec, opts } of jobs) {
    const width = opts.width ?? (typeof spec.layout?.width === "number" ? spec.layout.width : 700);
    const height = opts.height ?? (typeof spec.layout?.height === "number" ? spec.layout.height : 500);
    checkSize(width, height, opts.scale ?? 1, opts.format ?? "png");
  }
  return withBrowser(async (browser) => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.setContent('<!doctype html><html><head><meta charset="utf-8"></head><body><div id="plot"></div></body></html>');
    await page.addScriptTag({ path: plotlyJsPath() });
    const out: Buffer[] = [];
    for (const { spec, opts } of jobs) {
      const format = opts.format ?? "png";
      const width = opts.width ?? (typeof spec.layout?.width === "number" ? spec.layout.width : 700);
      const height = opts.height ?? (typeof spec.layout?.height === "number" ? spec.layout.height : 500);
      const url = await page.evaluate(
        async ({ spec, format, width, height, scale }) => {
          const P = (globalThis as any).Plotly;
          const gd = await P.newPlot("plot", spec.data, { ...spec.layout, width, height }, { staticPlot: true });
          return P.toImage(gd, { format, width, height, scale });
        },
        { spec, format, width, height, scale: opts.scale ?? 1 },
      );
      if (errors.length) throw new ClipNadError(`plotly failed in the browser: ${errors.join("; ")}`);
      const bytes = decodeDataUrl(url as string);
      // Chromium answers an over-large canvas with an empty image rather than an error: never write that.
      if (bytes.length === 0) throw new ClipNadError(`the browser rendered an empty ${format} (${width}×${height} at scale ${opts.scale ?? 1})`, { file: opts.out });
      if (opts.out) {
        ensureDir(path.dirname(path.resolve(opts.out)));
        writeFileAtomic(opts.out, bytes);
      }
      out.push(bytes);
    }
    return out;
  });
}

/** One figure → PNG or SVG bytes (and `out` written when given). */
export async function exportFigure(spec: PlotlyFigure, opts: ExportOptions = {}): Promise<Buffer> {
  const format = opts.format ?? (opts.out ? formatFromPath(opts.out) : "png");
  const [bytes] = await exportFigures([{ spec, opts: { ...opts, format } }]);
  return bytes;
}

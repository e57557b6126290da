import { ClipNadError } from "../errors";
import { BASE_LAYOUT, PlotlyFigure, PlotlyLayout, PlotlyTrace, titleText } from "./types";

/**
 * Figure 4 — "images with the largest contribution norm" (paper.md §A.11) — and the sub-concept grids: one row per
 * unit (a head, a neuron or a neuron-head pair), its name and words on the left, its top images to the right with
 * their norms beneath, grouped in sections (e.g. heads / neurons / pairs). Images are plotly "image" traces with
 * data-URI PNG sources, one small axis pair per tile, so the spec exports to PNG/SVG like every figure.
 * Input: tiles already encoded (src/figures/tiles.ts makes them from a collection).
 */

/** One image: a data-URI PNG, its pixel size, the collection's id and the unit's norm for it. */
export interface ImageTile {
  src: string;
  width: number;
  height: number;
  id: string;
  score: number;
}

export interface TopImagesRow {
  /** Unit name, e.g. "neuron 88 · head 2". */
  title: string;
  /** Text labels of the unit (best first), shown under the name. */
  words?: string[];
  /** A short extra line (e.g. a strength). */
  note?: string;
  /** Rows with the same section are drawn under one heading, in order of first appearance. */
  section?: string;
  tiles: ImageTile[];
}

export interface TopImagesFigureOptions {
  title?: string;
  /** Subtitle (model, data, norm). */
  subtitle?: string;
  /** Tile edge in pixels (default 84). */
  tileSize?: number;
  /** Width of the label column in pixels (default 190). */
  labelWidth?: number;
  /** What the numbers under the tiles are (default "‖r‖"). */
  scoreLabel?: string;
}

const GAP = 4, CAPTION = 15, ROW_GAP = 12, SECTION = 28, TOP = 70, BOTTOM = 12, RIGHT = 12;

function checkTile(t: ImageTile, where: string): void {
  if (!t || typeof t.src !== "string" || !t.src.startsWith("data:image/")) {
    throw new ClipNadError(`topImagesFigure: ${where} needs a data:image/… source`, { key: where });
  }
  if (!(t.width > 0 && t.height > 0)) {
    throw new ClipNadError(`topImagesFigure: ${where} has no pixel size`, { key: where });
  }
}

/** Break a list of words into lines of at most `width` characters. */
function wrapWords(words: string[], width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const w of words) {
    const next = line ? `${line}, ${w}` : w;
    if (line && next.length > width) { lines.push(`${line},`); line = w; } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

/** A text annotation at paper coordinates, anchored at its top (left unless `xanchor` says otherwise). */
function paperText(text: string, x: number, y: number, style: Record<string, unknown>): Record<string, unknown> {
  const anchor = { xanchor: "left", yanchor: "top", align: "left", showarrow: false };
  return { text, xref: "paper", yref: "paper", x, y, ...anchor, ...style };
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

export function topImagesFigure(rows: TopImagesRow[], opts: TopImagesFigureOptions = {}): PlotlyFigure {
  if (!Array.isArray(rows) || rows.length === 0) throw new ClipNadError("topImagesFigure: no rows");
  const T = opts.tileSize ?? 84, L = opts.labelWidth ?? 190;
  const cols = Math.max(1, ...rows.map((r) => r.tiles.length));
  const W = L + cols * (T + GAP) + RIGHT;
  // Vertical layout in pixels from the top: section headings, then rows.
  const placed: { row: TopImagesRow; y: number }[] = [];
  const headings: { text: string; y: number }[] = [];
  let y = TOP;
  let section: string | undefined;
  rows.forEach((row, i) => {
    if (row.section !== undefined && row.section !== section) {
      section = row.section;
      headings.push({ text: row.section, y: y + 4 });
      y += SECTION;
    }
    row.tiles.forEach((t, j) => checkTile(t, `row ${i} (${row.title}), image ${j}`));
    placed.push({ row, y });
    y += T + CAPTION + ROW_GAP;
  });
  const Hpx = y - ROW_GAP + BOTTOM;
  const fx = (px: number) => px / W, fy = (px: number) => 1 - px / Hpx;

  const data: PlotlyTrace[] = [];
  const layout: PlotlyLayout = {
    ...BASE_LAYOUT,
    width: W,
    height: Hpx,
    margin: { l: 0, r: 0, t: 0, b: 0 },
    showlegend: false,
  };
  // The title as an annotation: with zero margins (tiles are placed in pixels) a layout title would be clipped.
  const title = opts.title ?? titleText("Images with the largest contribution norm", opts.subtitle);
  const annotations: Record<string, unknown>[] = [paperText(title, fx(8), fy(10), { font: { size: 17 } })];
  let axis = 0;
  const scoreLabel = opts.scoreLabel ?? "‖r‖";
  for (const { row, y: top } of placed) {
    const words = wrapWords(row.words ?? [], 26).map((l) => `<i>${esc(l)}</i>`);
    const lines = [`<b>${esc(row.title)}</b>`, ...words, ...(row.note ? [esc(row.note)] : [])];
    annotations.push(paperText(lines.join("<br>"), fx(8), fy(top), { font: { size: 12 } }));
    row.tiles.forEach((t, j) => {
      axis++;
      const sfx = axis === 1 ? "" : String(axis);
      const x0 = L + j * (T + GAP);
      const hidden = { visible: false, fixedrange: true };
      const [xd, yd] = [[fx(x0), fx(x0 + T)], [fy(top + T), fy(top)]];
      layout[`xaxis${sfx}`] = { domain: xd, range: [-0.5, t.width - 0.5], anchor: `y${sfx}`, ...hidden };
      // y runs top-down: image row 0 at the top
      layout[`yaxis${sfx}`] = { domain: yd, range: [t.height - 0.5, -0.5], anchor: `x${sfx}`, ...hidden };
      data.push({
        type: "image", source: t.src, xaxis: `x${sfx}`, yaxis: `y${sfx}`, name: t.id,
        hovertemplate: `${esc(t.id)}<br>${scoreLabel} = ${fmt(t.score)}<extra>${esc(row.title)}</extra>`,
      });
      const caption = { xanchor: "center", align: "center", font: { size: 10, color: "#555555" } };
      annotations.push(paperText(fmt(t.score), fx(x0 + T / 2), fy(top + T + 1), caption));
    });
  }
  for (const h of headings) {
    annotations.push(paperText(`<b>${esc(h.text)}</b>`, fx(8), fy(h.y), { font: { size: 14 } }));
  }
  layout.annotations = annotations;
  return { data, layout };
}

/**
 * Pictures of a segmentation: the class-index PNG (8-bit grey), a colour map and the
 * overlay (image blended with the class colours, a legend of the classes present, largest first).
 */
import sharp from "sharp";
import { ClipNadError } from "../../errors";
import { escapeHtml } from "../../util/html";
import { COLOUR_RGB } from "../../toyworld/vocab";

/** Distinct colours: a fixed 20-colour list, then golden-ratio hues. RGB 0..255. */
export function classPalette(P: number): [number, number, number][] {
  const base: [number, number, number][] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
    [174, 199, 232],
    [255, 187, 120],
    [152, 223, 138],
    [255, 152, 150],
    [197, 176, 213],
    [196, 156, 148],
    [247, 182, 210],
    [199, 199, 199],
    [219, 219, 141],
    [158, 218, 229],
  ];
  const out: [number, number, number][] = [];
  for (let p = 0; p < P; p++) {
    if (p < base.length) {
      out.push(base[p]);
      continue;
    }
    const h = (p * 0.618033988749895) % 1,
      s = 0.55 + (0.35 * ((p * 7) % 3)) / 2,
      v = 0.65 + 0.3 * ((p * 5) % 2);
    const i = Math.floor(h * 6),
      f = h * 6 - i,
      q = v * (1 - s * f),
      t = v * (1 - s * (1 - f)),
      m = v * (1 - s);
    const rgb = [
      [v, t, m],
      [q, v, m],
      [m, v, t],
      [m, q, v],
      [t, m, v],
      [v, m, q],
    ][i % 6];
    out.push(rgb.map((x) => Math.round(255 * x)) as [number, number, number]);
  }
  return out;
}

/** Class indices (H×W) as an 8-bit grey PNG (up to 256 classes). */
export async function classIndexPNG(
  pred: ArrayLike<number>,
  width: number,
  height: number,
  P: number,
): Promise<Buffer> {
  if (pred.length !== width * height)
    throw new ClipNadError(`${pred.length} class indices for a ${width}×${height} image`);
  if (P > 256) throw new ClipNadError(`class-index PNGs hold up to 256 classes, got ${P}`);
  return sharp(Buffer.from(Uint8Array.from(pred)), { raw: { width, height, channels: 1 } })
    .toColourspace("b-w")
    .png()
    .toBuffer();
}

/** HWC RGB of the class colours. */
export function colourise(pred: ArrayLike<number>, palette: readonly [number, number, number][]): Uint8Array {
  const out = new Uint8Array(pred.length * 3);
  for (let i = 0; i < pred.length; i++) out.set(palette[pred[i]], i * 3);
  return out;
}

export interface OverlayOptions {
  /** Weight of the class colours (default 0.5). */
  alpha?: number;
  /** Legend entries at most (default 24; the rest are summarised). */
  maxLegend?: number;
}

/** The image blended with its class colours, with a legend (classes present, by area) on the right. */
export async function overlayPNG(
  rgb: Uint8Array,
  width: number,
  height: number,
  pred: ArrayLike<number>,
  names: readonly string[],
  opts: OverlayOptions = {},
): Promise<Buffer> {
  const P = names.length;
  const palette = classPalette(P);
  const alpha = opts.alpha ?? 0.5;
  const colours = colourise(pred, palette);
  const blended = new Uint8Array(width * height * 3);
  for (let i = 0; i < blended.length; i++) blended[i] = Math.round((1 - alpha) * rgb[i] + alpha * colours[i]);
  const area = new Array<number>(P).fill(0);
  for (let i = 0; i < pred.length; i++) area[pred[i]]++;
  const present = area
    .map((a, p) => ({ a, p }))
    .filter((e) => e.a > 0)
    .sort((x, y) => y.a - x.a || x.p - y.p);
  const maxLegend = opts.maxLegend ?? 24;
  const shown = present.slice(0, maxLegend);
  const row = 18,
    pad = 8;
  const longest = Math.max(8, ...shown.map((e) => names[e.p].length + 7));
  const legendW = Math.min(360, Math.round(longest * 7.2) + 34);
  const legendH = Math.max(height, pad * 2 + row * (shown.length + (present.length > shown.length ? 1 : 0)));
  const lines = shown.map((e, j) => {
    const y = pad + j * row;
    const [r, g, b] = palette[e.p];
    const share = ((100 * e.a) / pred.length).toFixed(1);
    return (
      `<rect x="${pad}" y="${y + 2}" width="13" height="13" fill="rgb(${r},${g},${b})" stroke="#333" ` +
        `stroke-width="0.5"/>` +
      `<text x="${pad + 19}" y="${y + 13}" font-family="DejaVu Sans, sans-serif" ` +
        `font-size="12">${escapeHtml(names[e.p])} (${share}%)</text>`
    );
  });
  if (present.length > shown.length) {
    lines.push(
      `<text x="${pad}" y="${pad + shown.length * row + 13}" font-family="DejaVu Sans, sans-serif" font-size="12">… ` +
        `${present.length - shown.length} more</text>`,
    );
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${legendW}" height="${legendH}"><rect width="100%" ` +
      `height="100%" fill="white"/>${lines.join("")}</svg>`;
  const image = await sharp(Buffer.from(blended), { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
  return sharp({ create: { width: width + legendW, height: legendH, channels: 3, background: "#ffffff" } })
    .composite([
      { input: image, left: 0, top: 0 },
      { input: Buffer.from(svg), left: width, top: 0 },
    ])
    .png()
    .toBuffer();
}

/** A class map painted with `palette` as a PNG. */
export async function classMapPNG(
  pred: ArrayLike<number>,
  width: number,
  height: number,
  palette: readonly [number, number, number][],
): Promise<Buffer> {
  if (pred.length !== width * height)
    throw new ClipNadError(`${pred.length} class indices for a ${width}×${height} image`);
  return sharp(Buffer.from(colourise(pred, palette)), { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/** PNG bytes → a data URL (plotly image traces). */
export function pngDataURL(png: Buffer | Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString("base64")}`;
}

/**
 * Colours for class names that are toy-world colours ("red" → the toy world's red), others from classPalette;
 * "background" is light grey. For pictures of toy benchmarks, where a class map in the objects' own colours reads
 * at a glance.
 */
export function namedColourPalette(names: readonly string[]): [number, number, number][] {
  const base = classPalette(names.length);
  return names.map((n, p) =>
    n === "background" ? [200, 200, 200] : ((COLOUR_RGB as Record<string, [number, number, number]>)[n] ?? base[p]),
  );
}

/**
 * DOM-free logic of the overview heat map: colour maps, neuron order (sorting), binning the visible neuron range
 * into canvas columns (max per bin, so a single hot pair never disappears when 3072 neurons share 900 pixels),
 * and hit-testing a pointer position back to a (head, neuron) pair.
 */

/** 256-entry RGB lookup table, linearly interpolated between control colours. */
function lut(stops: [number, number, number][]): Uint8ClampedArray {
  const out = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * (stops.length - 1);
    const k = Math.min(Math.floor(x), stops.length - 2);
    const f = x - k;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(stops[k][c] * (1 - f) + stops[k + 1][c] * f);
  }
  return out;
}

/** Sequential map (viridis control points) for non-negative scores. */
export const SEQUENTIAL = lut([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]]);
/** Diverging map (blue–white–red) for signed scores such as the query similarity. */
export const DIVERGING = lut([[33, 102, 172], [146, 197, 222], [247, 247, 247], [244, 165, 130], [178, 24, 43]]);

/** Value range of a matrix (NaN ignored); signed ranges are made symmetric around 0. */
export function valueRange(values: ArrayLike<number>, signed: boolean): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (signed) { const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1; return [-m, m]; }
  return hi > lo ? [lo, hi] : [lo, lo + 1];
}

/** Neuron order: identity, or neurons sorted by their max score over heads (descending). */
export function neuronOrder(values: ArrayLike<number>, heads: number, neurons: number, sortByMax: boolean): Int32Array {
  const order = new Int32Array(neurons);
  for (let n = 0; n < neurons; n++) order[n] = n;
  if (!sortByMax) return order;
  const max = new Float64Array(neurons).fill(-Infinity);
  for (let h = 0; h < heads; h++) {
    for (let n = 0; n < neurons; n++) { const v = values[h * neurons + n]; if (v > max[n]) max[n] = v; }
  }
  return order.sort((a, b) => max[b] - max[a] || a - b);
}

/** A visible window of the (ordered) neuron axis: positions [start, end) of `order`. */
export interface NeuronWindow {
  start: number;
  end: number;
}

/** Clamp a requested window to [0, neurons) with at least one neuron. */
export function clampWindow(start: number, end: number, neurons: number): NeuronWindow {
  let s = Math.max(0, Math.min(Math.floor(start), neurons - 1));
  let e = Math.max(s + 1, Math.min(Math.ceil(end), neurons));
  if (!Number.isFinite(s)) s = 0;
  if (!Number.isFinite(e)) e = neurons;
  return { start: s, end: e };
}

/** Number of canvas columns for a window: one per neuron up to `maxColumns`, then bins. */
export function columnCount(win: NeuronWindow, maxColumns: number): number {
  return Math.max(1, Math.min(win.end - win.start, maxColumns));
}

/** The positions (within `order`) covered by column `col` of `cols`. */
export function columnSpan(win: NeuronWindow, cols: number, col: number): [number, number] {
  const w = win.end - win.start;
  const a = win.start + Math.floor((col * w) / cols);
  const b = win.start + Math.max(Math.floor(((col + 1) * w) / cols), Math.floor((col * w) / cols) + 1);
  return [a, Math.min(b, win.end)];
}

/**
 * RGBA pixels (cols × heads) of the window: each pixel is the bin's max value mapped through the colour map.
 * Also returns, per pixel, the neuron that reached that max (what a click on the pixel selects).
 */
export function rasterize(
  values: ArrayLike<number>, heads: number, neurons: number, order: Int32Array, win: NeuronWindow,
  cols: number, range: [number, number], colors: Uint8ClampedArray,
): { rgba: Uint8ClampedArray; argmax: Int32Array } {
  const rgba = new Uint8ClampedArray(cols * heads * 4);
  const argmax = new Int32Array(cols * heads);
  const scale = 255 / (range[1] - range[0] || 1);
  for (let c = 0; c < cols; c++) {
    const [a, b] = columnSpan(win, cols, c);
    for (let h = 0; h < heads; h++) {
      let best = -Infinity, bestN = order[a];
      for (let p = a; p < b; p++) {
        const n = order[p];
        const v = values[h * neurons + n];
        if (v > best) { best = v; bestN = n; }
      }
      const px = h * cols + c;
      argmax[px] = bestN;
      const k = Math.max(0, Math.min(255, Math.round((best - range[0]) * scale))) * 3;
      rgba[px * 4] = colors[k];
      rgba[px * 4 + 1] = colors[k + 1];
      rgba[px * 4 + 2] = colors[k + 2];
      rgba[px * 4 + 3] = 255;
    }
  }
  return { rgba, argmax };
}

/** Map a pointer position (CSS pixels inside the drawn area) to a pixel (column, head), or null outside. */
export function hitTest(x: number, y: number, width: number, height: number, cols: number, heads: number): { col: number; head: number } | null {
  if (x < 0 || y < 0 || x >= width || y >= height) return null;
  return { col: Math.min(cols - 1, Math.floor((x / width) * cols)), head: Math.min(heads - 1, Math.floor((y / height) * heads)) };
}

/** Compact number formatting for scores and cosines. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e4)) return v.toExponential(2);
  return v.toFixed(a < 1 ? 3 : 2);
}

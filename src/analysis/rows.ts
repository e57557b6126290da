import { ClipNadError } from "../errors";

/**
 * Per-image coefficients s (H×C each) for N images, read one image at a time so analyses stream over images
 * and never hold N×H×C×d. The collection's on-disk arrays can implement this interface directly.
 */
export interface CoefficientRows {
  readonly N: number;
  readonly H: number;
  readonly C: number;
  /** s of image i (H×C). May return a view; callers do not keep it across calls. */
  row(i: number): Float32Array;
}

/** Wrap an in-memory N×H×C array. */
export function coefficientRows(S: Float32Array, N: number, H: number, C: number): CoefficientRows {
  if (S.length !== N * H * C) throw new ClipNadError(`coefficients have ${S.length} values, expected N×H×C = ${N}×${H}×${C}`);
  return { N, H, C, row: (i: number) => S.subarray(i * H * C, (i + 1) * H * C) };
}

/** s̄ over all images (H×C), accumulated in float64. */
export function meanCoefficients(rows: CoefficientRows): Float32Array {
  const U = rows.H * rows.C;
  const acc = new Float64Array(U);
  for (let i = 0; i < rows.N; i++) {
    const s = rows.row(i);
    for (let u = 0; u < U; u++) acc[u] += s[u];
  }
  const out = new Float32Array(U);
  for (let u = 0; u < U; u++) out[u] = acc[u] / Math.max(1, rows.N);
  return out;
}

/**
 * Streaming top-k per unit (U units, k largest values with their image index). Ties keep the earlier image.
 * `finish()` returns values sorted descending (U×k) and the matching image ids (−1 where fewer than k images).
 */
export class TopK {
  private readonly vals: Float64Array;
  private readonly ids: Int32Array;
  private readonly count: Int32Array;

  constructor(readonly units: number, readonly k: number) {
    this.vals = new Float64Array(units * k);
    this.ids = new Int32Array(units * k).fill(-1);
    this.count = new Int32Array(units);
  }

  /** Offer value v of image `id` for unit u (min-heap of size k per unit). */
  push(u: number, v: number, id: number): void {
    const k = this.k;
    const o = u * k;
    const vals = this.vals;
    const ids = this.ids;
    const n = this.count[u];
    if (n < k) {
      let i = n;
      vals[o + i] = v;
      ids[o + i] = id;
      this.count[u] = n + 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!less(vals[o + i], ids[o + i], vals[o + p], ids[o + p])) break;
        swap(vals, ids, o + i, o + p);
        i = p;
      }
      return;
    }
    if (!(v > vals[o])) return;
    vals[o] = v;
    ids[o] = id;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < k && less(vals[o + l], ids[o + l], vals[o + m], ids[o + m])) m = l;
      if (r < k && less(vals[o + r], ids[o + r], vals[o + m], ids[o + m])) m = r;
      if (m === i) break;
      swap(vals, ids, o + i, o + m);
      i = m;
    }
  }

  finish(): { values: Float32Array; images: Int32Array } {
    const k = this.k;
    const values = new Float32Array(this.units * k);
    const images = new Int32Array(this.units * k).fill(-1);
    const idx: number[] = [];
    for (let u = 0; u < this.units; u++) {
      const n = this.count[u];
      idx.length = 0;
      for (let j = 0; j < n; j++) idx.push(u * k + j);
      // descending value; among equal values the earlier image first
      idx.sort((a, b) => this.vals[b] - this.vals[a] || this.ids[a] - this.ids[b]);
      idx.forEach((src, j) => {
        values[u * k + j] = this.vals[src];
        images[u * k + j] = this.ids[src];
      });
    }
    return { values, images };
  }
}

// "smaller" in heap order: lower value, or equal value and later image (so earlier images survive ties)
function less(va: number, ia: number, vb: number, ib: number): boolean {
  return va < vb || (va === vb && ia > ib);
}

function swap(vals: Float64Array, ids: Int32Array, a: number, b: number) {
  const tv = vals[a];
  vals[a] = vals[b];
  vals[b] = tv;
  const ti = ids[a];
  ids[a] = ids[b];
  ids[b] = ti;
}

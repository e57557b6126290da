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

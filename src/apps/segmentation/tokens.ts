/** B×K×P (token-major, as the graphs return) → B×P×K (class maps). */
export function tokenMajorToClassMajor(x: Float32Array, B: number, K: number, P: number): Float32Array {
  const out = new Float32Array(B * P * K);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < K; i++) for (let p = 0; p < P; p++) out[(b * P + p) * K + i] = x[(b * K + i) * P + p];
  return out;
}

/** Class rows T (P×d) → Tt (d×P), the graphs' text input. */
export function transposeRows(T: Float32Array, P: number, d: number): Float32Array {
  const out = new Float32Array(P * d);
  for (let p = 0; p < P; p++) for (let j = 0; j < d; j++) out[j * P + p] = T[p * d + j];
  return out;
}

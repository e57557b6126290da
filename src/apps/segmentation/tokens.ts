/** B×K×P (token-major, as the graphs return) → B×P×K (class maps). */
export function tokenMajorToClassMajor(x: Float32Array, B: number, K: number, P: number): Float32Array {
  const out = new Float32Array(B * P * K);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < K; i++) for (let p = 0; p < P; p++) out[(b * P + p) * K + i] = x[(b * K + i) * P + p];
  return out;
}


import { SVDTop, singularFromGram, symmetricEigen } from "./linalg";

/**
 * Exact top-m SVD of one neuron's k×d matrix of centred contributions X = D W without forming X
 * (D: k×H centred coefficients of its top images, W: H×d rows w^{n,h}, G = W Wᵀ its H×H Gram).
 *  - k ≤ H: eigen-decompose the k×k Gram X Xᵀ = D G Dᵀ.
 *  - H < k: with G = V Λ Vᵀ (rank r), X = Y Qᵀ where Y = D V Λ^{1/2} (k×r) and Q = Wᵀ V Λ^{-1/2} has orthonormal
 *    columns, so X's singular triplets are Y's: eigen-decompose the r×r YᵀY, right = Q y, left = Y y / σ.
 * The second is what makes small-H models cheap (RN50x16 has H = 48 ≈ k = 50: either way costs about the same).
 */
export function neuronSVD(
  D: Float64Array, Dn: number, k: number, H: number,
  gram: Float64Array, g: number,
  w: Float32Array, C: number, n: number, d: number, m: number,
): SVDTop {
  const addRows = (coef: Float64Array, out: Float64Array) => {
    for (let h = 0; h < H; h++) {
      if (coef[h] === 0) continue;
      const o = (h * C + n) * d;
      for (let c = 0; c < d; c++) out[c] += coef[h] * w[o + c];
    }
  };
  if (k <= H) {
    const DG = new Float64Array(k * H);
    for (let j = 0; j < k; j++)
      for (let h = 0; h < H; h++) {
        let acc = 0;
        for (let h2 = 0; h2 < H; h2++) acc += D[Dn + j * H + h2] * gram[g + h2 * H + h];
        DG[j * H + h] = acc;
      }
    const Gk = new Float64Array(k * k);
    for (let a = 0; a < k; a++)
      for (let b = a; b < k; b++) {
        let acc = 0;
        for (let h = 0; h < H; h++) acc += DG[a * H + h] * D[Dn + b * H + h];
        Gk[a * k + b] = acc;
        Gk[b * k + a] = acc;
      }
    const coef = new Float64Array(H);
    // Xᵀu = Σ_h (Σ_j u_j δ_j^{n,h}) w^{n,h}
    return singularFromGram(Gk, k, m, (u, out) => {
      coef.fill(0);
      for (let j = 0; j < k; j++) for (let h = 0; h < H; h++) coef[h] += u[j] * D[Dn + j * H + h];
      addRows(coef, out);
    }, d);
  }
  const eg = symmetricEigen(gram.subarray(g, g + H * H), H);
  const lam0 = eg.values[0];
  let r = 0;
  while (r < H && eg.values[r] > lam0 * 1e-12 && eg.values[r] > 0) r++;
  const singular = new Float64Array(m);
  const right = new Float64Array(m * d);
  const left = new Float64Array(m * k);
  if (r === 0) return { singular, right, left };
  const sq = Float64Array.from({ length: r }, (_, a) => Math.sqrt(eg.values[a]));
  const Y = new Float64Array(k * r);
  for (let j = 0; j < k; j++)
    for (let a = 0; a < r; a++) {
      let acc = 0;
      for (let h = 0; h < H; h++) acc += D[Dn + j * H + h] * eg.vectors[a * H + h];
      Y[j * r + a] = acc * sq[a];
    }
  const M = new Float64Array(r * r);
  for (let a = 0; a < r; a++)
    for (let b = a; b < r; b++) {
      let acc = 0;
      for (let j = 0; j < k; j++) acc += Y[j * r + a] * Y[j * r + b];
      M[a * r + b] = acc;
      M[b * r + a] = acc;
    }
  const em = symmetricEigen(M, r);
  const top = em.values[0] > 0 ? em.values[0] : 0;
  const coef = new Float64Array(H);
  const out = new Float64Array(d);
  for (let p = 0; p < Math.min(m, r); p++) {
    const mu = em.values[p];
    if (!(mu > top * 1e-24) || mu <= 0) continue;
    const sigma = Math.sqrt(mu);
    singular[p] = sigma;
    coef.fill(0);
    for (let a = 0; a < r; a++) {
      const f = em.vectors[p * r + a] / sq[a];
      for (let h = 0; h < H; h++) coef[h] += f * eg.vectors[a * H + h];
    }
    out.fill(0);
    addRows(coef, out);
    right.set(out, p * d);
    for (let j = 0; j < k; j++) {
      let acc = 0;
      for (let a = 0; a < r; a++) acc += Y[j * r + a] * em.vectors[p * r + a];
      left[p * k + j] = acc / sigma;
    }
  }
  return { singular, right, left };
}

import { ClipNadError } from "../errors";
import { headValueBias } from "./directions";
import { AttentionPoolWeights } from "./weights";

/**
 * Token-level contributions and edited embeddings on plain arrays, with the bias splits of paper.md §A.3
 * (pair / neuron / head contributions of one image: ImageDecomposition in ./image):
 *   head×token  r_i^h   = a_i^h W_O^h (W_V^h x_i + b_V^h) + b_O/((K+1)H)
 *   neuron×token r_i^n  = Σ_h a_i^h (x_{i,n} w^{n,h} + W_O^h b_V^h / C) + b_O/(C(K+1))
 * Each family sums to the embedding M(I). Inputs: w (H×C×d), a (H×(K+1)), Z (C×K), s (H×C).
 */

/** Pool tokens x_i = z_i + p_i for i = 0..K with z_0 = mean of z ((K+1)×C, float64). Z is C×K. */
export function poolTokens(apw: AttentionPoolWeights, Z: Float32Array): Float64Array {
  const { C, K, pos } = apw;
  if (Z.length !== C * K) throw new ClipNadError(`features Z has ${Z.length} values, expected C×K = ${C}×${K}`);
  const X = new Float64Array((K + 1) * C);
  for (let n = 0; n < C; n++) {
    let mean = 0;
    for (let i = 0; i < K; i++) {
      const z = Z[n * K + i];
      mean += z;
      X[(i + 1) * C + n] = z + pos[(i + 1) * C + n];
    }
    X[n] = mean / K + pos[n];
  }
  return X;
}

/** s[h,n] = Σ_i a_i^h x_{i,n} (H×C) from attention a (H×(K+1)) and features Z (C×K). */
export function coefficientsFromAttention(apw: AttentionPoolWeights, a: Float32Array, Z: Float32Array): Float32Array {
  const { C, H, K } = apw;
  checkAttention(apw, a);
  const X = poolTokens(apw, Z);
  const s = new Float32Array(H * C);
  const acc = new Float64Array(C);
  for (let h = 0; h < H; h++) {
    acc.fill(0);
    for (let i = 0; i <= K; i++) {
      const ai = a[h * (K + 1) + i];
      for (let n = 0; n < C; n++) acc[n] += ai * X[i * C + n];
    }
    for (let n = 0; n < C; n++) s[h * C + n] = acc[n];
  }
  return s;
}

function checkAttention(apw: AttentionPoolWeights, a: Float32Array) {
  if (a.length !== apw.H * (apw.K + 1)) {
    throw new ClipNadError(`attention a has ${a.length} values, expected H×(K+1) = ${apw.H}×${apw.K + 1}`);
  }
}

/**
 * Head×token contributions r_i^h as H×(K+1)×d (token 0 = pooled token). Σ_{h,i} r_i^h = M(I).
 * Cost (K+1)·C·C + (K+1)·C·d.
 */
export function headTokenContributions(apw: AttentionPoolWeights, a: Float32Array, Z: Float32Array): Float32Array {
  const { C, H, K, d, dh, Wv, bv, Wo, bo } = apw;
  checkAttention(apw, a);
  const X = poolTokens(apw, Z);
  const T = K + 1;
  const V = new Float64Array(T * C); // v_i = W_V x_i + b_V for all heads
  // tokens in blocks of 4: each row of W_V is read once per block
  for (let i0 = 0; i0 < T; i0 += 4) {
    const nb = Math.min(4, T - i0);
    for (let m = 0; m < C; m++) {
      const row = m * C;
      if (nb === 4) {
        const x0 = i0 * C, x1 = x0 + C, x2 = x1 + C, x3 = x2 + C;
        let a0 = bv[m], a1 = bv[m], a2 = bv[m], a3 = bv[m];
        for (let n = 0; n < C; n++) {
          const wv = Wv[row + n];
          a0 += wv * X[x0 + n];
          a1 += wv * X[x1 + n];
          a2 += wv * X[x2 + n];
          a3 += wv * X[x3 + n];
        }
        V[x0 + m] = a0;
        V[x1 + m] = a1;
        V[x2 + m] = a2;
        V[x3 + m] = a3;
      } else {
        for (let i = i0; i < i0 + nb; i++) {
          let acc = bv[m];
          for (let n = 0; n < C; n++) acc += Wv[row + n] * X[i * C + n];
          V[i * C + m] = acc;
        }
      }
    }
  }
  const out = new Float32Array(H * T * d);
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < T; i++) {
      const ai = a[h * T + i];
      const o = (h * T + i) * d;
      for (let j = 0; j < d; j++) {
        let acc = 0;
        const row = j * C + h * dh;
        for (let k = 0; k < dh; k++) acc += Wo[row + k] * V[i * C + h * dh + k];
        out[o + j] = ai * acc + bo[j] / (T * H);
      }
    }
  }
  return out;
}

/**
 * Neuron×token contributions r_i^n as (#neurons)×(K+1)×d for the selected neurons (default all; all of them
 * for RN50x16 is 3072×145×768 floats, so select). Σ_{n,i} r_i^n = M(I). Needs w (H×C×d).
 */
export function neuronTokenContributions(
  apw: AttentionPoolWeights,
  a: Float32Array,
  Z: Float32Array,
  w: Float32Array,
  neurons?: ArrayLike<number>,
): Float32Array {
  const { C, H, K, d, bo } = apw;
  checkAttention(apw, a);
  if (w.length !== H * C * d) throw new ClipNadError(`pair directions w has ${w.length} values, expected H×C×d`);
  const X = poolTokens(apw, Z);
  const T = K + 1;
  const vb = headValueBias(apw);
  // Part shared by every neuron: Σ_h a_i^h W_O^h b_V^h / C + b_O / (C (K+1)).
  const B = new Float64Array(T * d);
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < d; j++) {
      let acc = bo[j] / (C * T);
      for (let h = 0; h < H; h++) acc += (a[h * T + i] * vb[h * d + j]) / C;
      B[i * d + j] = acc;
    }
  }
  const sel = neurons ?? Array.from({ length: C }, (_, n) => n);
  const out = new Float32Array(sel.length * T * d);
  const acc = new Float64Array(d);
  for (let q = 0; q < sel.length; q++) {
    const n = sel[q];
    if (!(n >= 0 && n < C)) throw new ClipNadError(`neuron index ${n} out of range 0..${C - 1}`);
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < d; j++) acc[j] = B[i * d + j];
      const x = X[i * C + n];
      for (let h = 0; h < H; h++) {
        const f = a[h * T + i] * x;
        const o = (h * C + n) * d;
        for (let j = 0; j < d; j++) acc[j] += f * w[o + j];
      }
      const o = (q * T + i) * d;
      for (let j = 0; j < d; j++) out[o + j] = acc[j];
    }
  }
  return out;
}

/**
 * Embedding from (possibly edited) coefficients: Σ_{n,h} (s̃^{n,h} w^{n,h} + c^h) = Σ_h W_O^h W_V^h s̃^h + W_O b_V + b_O.
 * Goes through W_V then W_O (cost C·C + d·C), never through w. Equals M(I) when s̃ = s.
 * `sBias` caches W_O b_V + b_O (see `embeddingBias`).
 */
export function coefficientsToEmbedding(apw: AttentionPoolWeights, s: Float32Array | Float64Array, sBias?: Float64Array): Float32Array {
  const { C, H, d, dh, Wv, Wo } = apw;
  if (s.length !== H * C) throw new ClipNadError(`coefficients have ${s.length} values, expected H×C = ${H}×${C}`);
  const v = new Float64Array(C);
  for (let h = 0; h < H; h++) {
    for (let k = 0; k < dh; k++) {
      const m = h * dh + k;
      let acc = 0;
      const row = m * C;
      const so = h * C;
      for (let n = 0; n < C; n++) acc += Wv[row + n] * s[so + n];
      v[m] = acc;
    }
  }
  return applyOutput(apw, v, sBias ?? embeddingBias(apw));
}

/** W_O v + bias for a C-vector v of value outputs (all heads). */
export function applyOutput(apw: AttentionPoolWeights, v: Float64Array, bias: Float64Array): Float32Array {
  const { C, d, Wo } = apw;
  const out = new Float32Array(d);
  for (let j = 0; j < d; j++) {
    let acc = bias[j];
    const row = j * C;
    for (let m = 0; m < C; m++) acc += Wo[row + m] * v[m];
    out[j] = acc;
  }
  return out;
}

/** Σ_{n,h} c^h = W_O b_V + b_O (d, float64). */
export function embeddingBias(apw: AttentionPoolWeights): Float64Array {
  const { C, d, bv, Wo, bo } = apw;
  const out = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    let acc = bo[j];
    for (let m = 0; m < C; m++) acc += Wo[j * C + m] * bv[m];
    out[j] = acc;
  }
  return out;
}

import { ClipNadError } from "../errors";
import { AttentionPoolWeights } from "./weights";

/**
 * Weight-only quantities of the neuron-head decomposition (paper.md §D):
 *   r^{n,h}(I) = s^{n,h}(I) · w^{n,h} + c^{n,h},
 *   w^{n,h} = W_O^h W_V^h[:, n],   c^{n,h} = W_O^h b_V^h / C + b_O / (C·H)  (same for every n).
 */

/** W_O^h b_V^h for every head (H×d), float64. */
export function headValueBias(apw: AttentionPoolWeights): Float64Array {
  const { C, H, d, dh, bv, Wo } = apw;
  const out = new Float64Array(H * d);
  for (let h = 0; h < H; h++) {
    for (let j = 0; j < d; j++) {
      let acc = 0;
      for (let k = 0; k < dh; k++) acc += Wo[j * C + h * dh + k] * bv[h * dh + k];
      out[h * d + j] = acc;
    }
  }
  return out;
}

/** c per head (H×d): c^{n,h} = W_O^h b_V^h / C + b_O / (C·H), identical for all n. */
export function pairConstants(apw: AttentionPoolWeights): Float32Array {
  const { C, H, d, bo } = apw;
  const vb = headValueBias(apw);
  const c = new Float32Array(H * d);
  for (let h = 0; h < H; h++) for (let j = 0; j < d; j++) c[h * d + j] = vb[h * d + j] / C + bo[j] / (C * H);
  return c;
}

/** Per-neuron Gram matrices G[n][h][h'] = w^{n,h}·w^{n,h'} (C×H×H), for neuron centred norms. */
export interface NeuronGram {
  H: number;
  C: number;
  data: Float64Array;
}

/** Per-head Gram of the output projection, W_O^hᵀ W_O^h (H×dh×dh), for head centred norms. */
export interface HeadGram {
  H: number;
  dh: number;
  data: Float64Array;
}

export function headGram(apw: AttentionPoolWeights): HeadGram {
  const { C, H, d, dh, Wo } = apw;
  const data = new Float64Array(H * dh * dh);
  for (let h = 0; h < H; h++) {
    const g = h * dh * dh;
    for (let j = 0; j < d; j++) {
      const row = j * C + h * dh;
      for (let a = 0; a < dh; a++) {
        const oa = Wo[row + a];
        if (oa === 0) continue;
        for (let b = a; b < dh; b++) data[g + a * dh + b] += oa * Wo[row + b];
      }
    }
    for (let a = 0; a < dh; a++) for (let b = 0; b < a; b++) data[g + a * dh + b] = data[g + b * dh + a];
  }
  return { H, dh, data };
}

/**
 * Tables for projecting contributions onto text directions t (T rows of d, row-major) without H×C×d per image:
 * wDotT[t][h·C+n] = w^{n,h}·t = (W_V^hᵀ (W_O^hᵀ t))[n]  (cost d·C + C·C per text), cDotT[t][h] = c^h·t.
 */
export interface PairTextTables {
  /** Number of text directions. */
  T: number;
  /** T×H×C. */
  wDotT: Float32Array;
  /** T×H. */
  cDotT: Float32Array;
}

export function pairTextTables(apw: AttentionPoolWeights, texts: Float32Array, c?: Float32Array): PairTextTables {
  const { C, H, d, dh, Wv, Wo } = apw;
  if (texts.length % d !== 0) throw new ClipNadError(`text directions have ${texts.length} values, not a multiple of d = ${d}`);
  const T = texts.length / d;
  const cc = c ?? pairConstants(apw);
  const wDotT = new Float32Array(T * H * C);
  const cDotT = new Float32Array(T * H);
  // Texts in blocks of B: each row of W_V is read once per block instead of once per text.
  const B = 8;
  const u = new Float64Array(B * C);
  const acc = new Float64Array(B * C);
  for (let t0 = 0; t0 < T; t0 += B) {
    const nb = Math.min(B, T - t0);
    u.fill(0);
    for (let b = 0; b < nb; b++) {
      const to = (t0 + b) * d;
      const ub = b * C;
      for (let j = 0; j < d; j++) {
        const tj = texts[to + j];
        if (tj === 0) continue;
        const row = j * C;
        for (let m = 0; m < C; m++) u[ub + m] += Wo[row + m] * tj;
      }
    }
    for (let h = 0; h < H; h++) {
      acc.fill(0);
      for (let k = 0; k < dh; k++) {
        const row = (h * dh + k) * C;
        for (let b = 0; b < nb; b++) {
          const uk = u[b * C + h * dh + k];
          const ab = b * C;
          for (let n = 0; n < C; n++) acc[ab + n] += uk * Wv[row + n];
        }
      }
      for (let b = 0; b < nb; b++) {
        const t = t0 + b;
        const o = (t * H + h) * C;
        for (let n = 0; n < C; n++) wDotT[o + n] = acc[b * C + n];
        let cd = 0;
        for (let j = 0; j < d; j++) cd += cc[h * d + j] * texts[t * d + j];
        cDotT[t * H + h] = cd;
      }
    }
  }
  return { T, wDotT, cDotT };
}

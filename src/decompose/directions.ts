import { AttentionPoolWeights } from "./weights";

/**
 * Weight-only quantities of the neuron-head decomposition (paper.md §D):
 *   r^{n,h}(I) = s^{n,h}(I) · w^{n,h} + c^{n,h},
 *   w^{n,h} = W_O^h W_V^h[:, n],   c^{n,h} = W_O^h b_V^h / C + b_O / (C·H)  (same for every n).
 */

/** w as H×C×d: w[(h·C + n)·d + j]. Cost C·C·d once; accumulates in float64 per head. */
export function pairDirections(apw: AttentionPoolWeights): Float32Array {
  const { C, H, d, dh, Wv, Wo } = apw;
  const w = new Float32Array(H * C * d);
  // wT[j][n] for one head, row by row: row j stays in cache while the head's dh rows of W_V (dh×C) stream past.
  const wT = new Float64Array(d * C);
  for (let h = 0; h < H; h++) {
    wT.fill(0);
    for (let j = 0; j < d; j++) {
      const base = j * C;
      const ob = j * C + h * dh;
      let k = 0;
      // four W_V rows per pass: a quarter of the loads/stores of wT
      for (; k + 4 <= dh; k += 4) {
        const o0 = Wo[ob + k], o1 = Wo[ob + k + 1], o2 = Wo[ob + k + 2], o3 = Wo[ob + k + 3];
        const r0 = (h * dh + k) * C, r1 = r0 + C, r2 = r1 + C, r3 = r2 + C;
        for (let n = 0; n < C; n++) wT[base + n] += o0 * Wv[r0 + n] + o1 * Wv[r1 + n] + o2 * Wv[r2 + n] + o3 * Wv[r3 + n];
      }
      for (; k < dh; k++) {
        const o = Wo[ob + k];
        const row = (h * dh + k) * C;
        for (let n = 0; n < C; n++) wT[base + n] += o * Wv[row + n];
      }
    }
    const off = h * C * d;
    for (let n = 0; n < C; n++) for (let j = 0; j < d; j++) w[off + n * d + j] = wT[j * C + n];
  }
  return w;
}

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

/** |w^{n,h}| as H×C. */
export function pairDirectionNorms(w: Float32Array, H: number, C: number, d: number): Float32Array {
  const out = new Float32Array(H * C);
  for (let p = 0; p < H * C; p++) {
    let acc = 0;
    const o = p * d;
    for (let j = 0; j < d; j++) acc += w[o + j] * w[o + j];
    out[p] = Math.sqrt(acc);
  }
  return out;
}

/** Per-neuron Gram matrices G[n][h][h'] = w^{n,h}·w^{n,h'} (C×H×H), for neuron centred norms. */
export interface NeuronGram {
  H: number;
  C: number;
  data: Float64Array;
}

export function neuronGram(w: Float32Array, H: number, C: number, d: number): NeuronGram {
  const data = new Float64Array(C * H * H);
  for (let n = 0; n < C; n++) {
    const g = n * H * H;
    for (let h = 0; h < H; h++) {
      const a = (h * C + n) * d;
      let h2 = h;
      // four partners per pass share the loads of w^{n,h}
      for (; h2 + 4 <= H; h2 += 4) {
        const b0 = (h2 * C + n) * d, b1 = b0 + C * d, b2 = b1 + C * d, b3 = b2 + C * d;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let j = 0; j < d; j++) {
          const x = w[a + j];
          s0 += x * w[b0 + j];
          s1 += x * w[b1 + j];
          s2 += x * w[b2 + j];
          s3 += x * w[b3 + j];
        }
        const sums = [s0, s1, s2, s3];
        for (let t = 0; t < 4; t++) {
          data[g + h * H + h2 + t] = sums[t];
          data[g + (h2 + t) * H + h] = sums[t];
        }
      }
      for (; h2 < H; h2++) {
        const b = (h2 * C + n) * d;
        let acc = 0;
        for (let j = 0; j < d; j++) acc += w[a + j] * w[b + j];
        data[g + h * H + h2] = acc;
        data[g + h2 * H + h] = acc;
      }
    }
  }
  return { H, C, data };
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
  const T = Math.floor(texts.length / d);
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

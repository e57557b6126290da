import { ClipNadError } from "../errors";
import { HeadGram, NeuronGram } from "./directions";
import { AttentionPoolWeights } from "./weights";

/**
 * Projections onto text directions and centred norms, all from the H×C scalars of one image.
 * δ = s − s̄ (centred coefficients); centred contribution of a pair is δ^{n,h} w^{n,h}.
 */

/** Projection of every pair's contribution on one text direction t: s·(w·t) + c·t, H×C. */
export function projectPairs(s: Float32Array, wDotT: Float32Array, cDotT: Float32Array): Float32Array {
  const H = cDotT.length;
  const C = s.length / H;
  if (wDotT.length !== s.length || !Number.isInteger(C)) {
    throw new ClipNadError(`projectPairs: s (${s.length}), wDotT (${wDotT.length}) must be H×C with H = cDotT.length = ${H}`);
  }
  const out = new Float32Array(H * C);
  for (let h = 0; h < H; h++) {
    const ct = cDotT[h];
    for (let n = 0; n < C; n++) out[h * C + n] = s[h * C + n] * wDotT[h * C + n] + ct;
  }
  return out;
}

/** Projection of every neuron's contribution r^n on t: Σ_h (s·(w·t) + c·t), C. */
export function projectNeurons(s: Float32Array, wDotT: Float32Array, cDotT: Float32Array): Float32Array {
  const p = projectPairs(s, wDotT, cDotT);
  const H = cDotT.length;
  const C = s.length / H;
  const out = new Float32Array(C);
  for (let n = 0; n < C; n++) {
    let acc = 0;
    for (let h = 0; h < H; h++) acc += p[h * C + n];
    out[n] = acc;
  }
  return out;
}

/** Projection of every head's contribution r^h on t: Σ_n (s·(w·t) + c·t), H. */
export function projectHeads(s: Float32Array, wDotT: Float32Array, cDotT: Float32Array): Float32Array {
  const p = projectPairs(s, wDotT, cDotT);
  const H = cDotT.length;
  const C = s.length / H;
  const out = new Float32Array(H);
  for (let h = 0; h < H; h++) {
    let acc = 0;
    for (let n = 0; n < C; n++) acc += p[h * C + n];
    out[h] = acc;
  }
  return out;
}

/** |δ^{n,h}| · |w^{n,h}| (H×C): the centred pair norm. */
export function centredPairNorms(sMinusMean: Float32Array, wNorms: Float32Array): Float32Array {
  if (sMinusMean.length !== wNorms.length) throw new ClipNadError(`centredPairNorms: sizes ${sMinusMean.length} vs ${wNorms.length}`);
  const out = new Float32Array(sMinusMean.length);
  for (let p = 0; p < out.length; p++) out[p] = Math.abs(sMinusMean[p]) * wNorms[p];
  return out;
}

/** |Σ_h δ^{n,h} w^{n,h}| per neuron (C), as sqrt(δᵀ G^n δ) with the per-neuron H×H Gram. Cost C·H². */
export function centredNeuronNorms(sMinusMean: Float32Array | Float64Array, gram: NeuronGram): Float32Array {
  const { H, C, data } = gram;
  if (sMinusMean.length !== H * C) throw new ClipNadError(`centredNeuronNorms: expected H×C = ${H * C} values, got ${sMinusMean.length}`);
  const out = new Float32Array(C);
  const dl = new Float64Array(H);
  for (let n = 0; n < C; n++) {
    for (let h = 0; h < H; h++) dl[h] = sMinusMean[h * C + n];
    const g = n * H * H;
    let q = 0;
    for (let h = 0; h < H; h++) {
      if (dl[h] === 0) continue;
      let row = 0;
      for (let h2 = 0; h2 < H; h2++) row += data[g + h * H + h2] * dl[h2];
      q += dl[h] * row;
    }
    out[n] = Math.sqrt(Math.max(0, q));
  }
  return out;
}

/** |W_O^h W_V^h δ^h| per head (H): v = W_V^h δ^h (dh), then sqrt(vᵀ (W_O^hᵀ W_O^h) v). Cost C·C + H·dh². */
export function centredHeadNorms(sMinusMean: Float32Array | Float64Array, apw: AttentionPoolWeights, gram: HeadGram): Float32Array {
  const { C, H, dh, Wv } = apw;
  if (sMinusMean.length !== H * C) throw new ClipNadError(`centredHeadNorms: expected H×C = ${H * C} values, got ${sMinusMean.length}`);
  const out = new Float32Array(H);
  const v = new Float64Array(dh);
  for (let h = 0; h < H; h++) {
    for (let k = 0; k < dh; k++) {
      const row = (h * dh + k) * C;
      let acc = 0;
      for (let n = 0; n < C; n++) acc += Wv[row + n] * sMinusMean[h * C + n];
      v[k] = acc;
    }
    const g = h * dh * dh;
    let q = 0;
    for (let a = 0; a < dh; a++) {
      let row = 0;
      for (let b = 0; b < dh; b++) row += gram.data[g + a * dh + b] * v[b];
      q += v[a] * row;
    }
    out[h] = Math.sqrt(Math.max(0, q));
  }
  return out;
}

/**
 * Test-only naive references for the top-image analyses: materialise every contribution r = s w + c from its
 * definition (float64, test/decompose-reference) and rank images by brute force (sort, ties by lower row).
 */
import { headContribution, neuronContribution, pairContribution, pairDirections } from "./decompose-reference";

export interface RefPoolWeights {
  C: number;
  H: number;
  d: number;
  Wv: ArrayLike<number>;
  bv: ArrayLike<number>;
  Wo: ArrayLike<number>;
  bo: ArrayLike<number>;
}

/** c^h = W_O^h b_V^h / C + b_O / (C·H), float64, straight from the definition. */
export function referenceConstants(p: RefPoolWeights): Float64Array {
  const dh = p.C / p.H;
  const out = new Float64Array(p.H * p.d);
  for (let h = 0; h < p.H; h++) {
    for (let j = 0; j < p.d; j++) {
      let acc = 0;
      for (let k = 0; k < dh; k++) acc += p.Wo[j * p.C + h * dh + k] * p.bv[h * dh + k];
      out[h * p.d + j] = acc / p.C + p.bo[j] / (p.C * p.H);
    }
  }
  return out;
}

const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((a, x) => a + x * x, 0));

export interface NaiveNorms {
  pair: Float64Array;
  neuron: Float64Array;
  head: Float64Array;
}

/** Materialised norms of every unit for each image (rows of s, H×C each): raw, or centred on `mean`. */
export function naiveNorms(p: RefPoolWeights, rows: Float32Array[], mean?: ArrayLike<number>): NaiveNorms[] {
  const { H, C, d } = p;
  const w = pairDirections(p);
  const c = mean ? new Float64Array(H * d) : referenceConstants(p); // centring removes every constant
  return rows.map((row) => {
    const s = Float64Array.from(row);
    if (mean) for (let u = 0; u < H * C; u++) s[u] -= mean[u];
    const pair = new Float64Array(H * C), neuron = new Float64Array(C), head = new Float64Array(H);
    for (let h = 0; h < H; h++) for (let n = 0; n < C; n++) pair[h * C + n] = norm(pairContribution(s, w, c, h, n));
    for (let n = 0; n < C; n++) neuron[n] = norm(neuronContribution(s, w, c, n));
    for (let h = 0; h < H; h++) head[h] = norm(headContribution(s, w, c, h));
    return { pair, neuron, head };
  });
}

/** Brute force: every image's value, sorted descending (ties: lower row first), the best k. */
export function bruteTop(N: number, value: (i: number) => number, k: number): { rows: number[]; scores: number[] } {
  const all = Array.from({ length: N }, (_, i) => ({ i, v: value(i) }));
  all.sort((a, b) => b.v - a.v || a.i - b.i);
  return { rows: all.slice(0, k).map((x) => x.i), scores: all.slice(0, k).map((x) => x.v) };
}

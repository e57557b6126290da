import { ClipNadError } from "../errors";
import { Decomposition } from "./decomposition";
import { headTokenContributions, neuronTokenContributions } from "./contributions";
import { Pair, RankedPair, checkHead, checkNeuron, pairIndex } from "./units";

/** The image tower's outputs for one image, by their stable names. */
export interface ImageInternals {
  /** M(I), the un-normalised image embedding (d). */
  embedding: Float32Array;
  /** Z, the post-ReLU output of the last layer4 block, C×K (K = grid², row-major over the grid). */
  Z: Float32Array;
  /** a, the pooled query's attention per head over the K+1 tokens, H×(K+1); token 0 is the pooled token. */
  a: Float32Array;
  /** s, the pair coefficients s^{n,h} = Σ_i a_i^h x_{i,n}, H×C. */
  s: Float32Array;
}

/** Neuron×token contributions above this many bytes need an explicit `maxBytes` (RN50x16, all neurons: 1.4 GB). */
export const DEFAULT_MAX_NEURON_TOKEN_BYTES = 256 << 20;

/**
 * One image, decomposed: its internals (Z, a, s, embedding) and its contributions at every granularity, each
 * derived on demand from s, a, Z and the model's weight-only tables (paper.md §A.3):
 *   pair(p)         r^{n,h} = s^{n,h} w^{n,h} + c^{n,h}                      (d)
 *   neuron(n)       r^n = Σ_h r^{n,h}                                       (d)
 *   head(h)         r^h = Σ_n r^{n,h}                                       (d)
 *   headTokens(h)   r_i^h = a_i^h W_O^h (W_V^h x_i + b_V^h) + b_O/((K+1)H)   ((K+1)×d, token 0 = pooled)
 *   neuronTokens(n) r_i^n = Σ_h a_i^h (x_{i,n} w^{n,h} + W_O^h b_V^h/C) + b_O/(C(K+1))   ((K+1)×d)
 * Each family sums to the embedding.
 */
export class ImageDecomposition implements ImageInternals {
  readonly embedding: Float32Array;
  readonly Z: Float32Array;
  readonly a: Float32Array;
  readonly s: Float32Array;
  private headTokensAll?: Float32Array;

  constructor(readonly decomposition: Decomposition, internals: ImageInternals) {
    const { H, C, K, d } = decomposition;
    const want: [keyof ImageInternals, number][] = [["embedding", d], ["Z", C * K], ["a", H * (K + 1)], ["s", H * C]];
    for (const [name, n] of want) {
      if (internals[name]?.length !== n) throw new ClipNadError(`${name} has ${internals[name]?.length} values, expected ${n}`);
    }
    ({ embedding: this.embedding, Z: this.Z, a: this.a, s: this.s } = internals);
  }

  /** r^{n,h} (d). */
  pair(pair: Pair): Float32Array {
    const { C, d, w, c } = this.decomposition;
    const p = pairIndex(this.decomposition, pair);
    const h = Math.floor(p / C);
    const sv = this.s[p];
    const out = new Float32Array(d);
    for (let j = 0; j < d; j++) out[j] = sv * w[p * d + j] + c[h * d + j];
    return out;
  }

  /** r^n = Σ_h r^{n,h} (d). */
  neuron(neuron: number): Float32Array {
    const { H, C, d, w, c } = this.decomposition;
    const n = checkNeuron(this.decomposition, neuron);
    const acc = new Float64Array(d);
    for (let h = 0; h < H; h++) {
      const sv = this.s[h * C + n];
      const o = (h * C + n) * d;
      for (let j = 0; j < d; j++) acc[j] += sv * w[o + j] + c[h * d + j];
    }
    return Float32Array.from(acc);
  }

  /** r^h = Σ_n r^{n,h} (d). */
  head(head: number): Float32Array {
    const { C, d, w, c } = this.decomposition;
    const h = checkHead(this.decomposition, head);
    const acc = new Float64Array(d);
    for (let n = 0; n < C; n++) {
      const sv = this.s[h * C + n];
      const o = (h * C + n) * d;
      for (let j = 0; j < d; j++) acc[j] += sv * w[o + j];
    }
    for (let j = 0; j < d; j++) acc[j] += C * c[h * d + j];
    return Float32Array.from(acc);
  }

  /** r_i^h of one head, (K+1)×d (token 0 = the pooled token); all heads are computed once and kept (H·(K+1)·d). */
  headTokens(head: number): Float32Array {
    const { K, d } = this.decomposition;
    const h = checkHead(this.decomposition, head);
    this.headTokensAll ??= headTokenContributions(this.decomposition.apw, this.a, this.Z);
    return this.headTokensAll.slice(h * (K + 1) * d, (h + 1) * (K + 1) * d);
  }

  /**
   * r_i^n for the given neurons, (#neurons)×(K+1)×d. All C neurons of a large model are over a gigabyte, so more
   * than `maxBytes` (default 256 MB) is refused: pass a selection, or raise the bound on purpose.
   */
  neuronTokens(neurons: number | number[], opts: { maxBytes?: number } = {}): Float32Array {
    const { K, d } = this.decomposition;
    const list = (typeof neurons === "number" ? [neurons] : neurons).map((n) => checkNeuron(this.decomposition, n));
    const bytes = list.length * (K + 1) * d * 4;
    const max = opts.maxBytes ?? DEFAULT_MAX_NEURON_TOKEN_BYTES;
    if (bytes > max) {
      throw new ClipNadError(`neuron×token contributions of ${list.length} neurons take ${(bytes / 2 ** 20).toFixed(0)} MB, ` +
        `more than the ${(max / 2 ** 20).toFixed(0)} MB bound; select fewer neurons or pass a larger maxBytes`);
    }
    return neuronTokenContributions(this.decomposition.apw, this.a, this.Z, this.decomposition.w, list);
  }

  /**
   * Every pair's share of the embedding along a unit direction e (default: the embedding's own direction ê), from
   * the H×C scalars alone: ⟨r^{n,h} − μ, e⟩ = (s − s̄)(w·e) + (c·e − ⟨μ_c, e⟩). With `meanCoefficients` s̄ given, the
   * centred version (s − s̄)(w·e); without, the raw ⟨r^{n,h}, e⟩ = s (w·e) + c·e. H×C.
   */
  projections(opts: { direction?: Float32Array; meanCoefficients?: Float32Array } = {}): Float32Array {
    const { H, C, d } = this.decomposition;
    const e = opts.direction ?? unit(this.embedding);
    if (e.length !== d) throw new ClipNadError(`direction has ${e.length} values, expected d = ${d}`);
    const { wDotT, cDotT } = this.decomposition.textTables(e);
    const sBar = opts.meanCoefficients;
    if (sBar && sBar.length !== H * C) throw new ClipNadError(`mean coefficients must be H×C = ${H}×${C}`);
    const out = new Float32Array(H * C);
    for (let p = 0; p < H * C; p++) {
      out[p] = sBar ? (this.s[p] - sBar[p]) * wDotT[p] : this.s[p] * wDotT[p] + cDotT[Math.floor(p / C)];
    }
    return out;
  }

  /** The `top` pairs by `projections(opts)`, best first. */
  topPairs(top = 10, opts: { direction?: Float32Array; meanCoefficients?: Float32Array } = {}): RankedPair[] {
    return this.decomposition.rankPairs(this.projections(opts), top);
  }
}

function unit(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  return Float32Array.from(v, (x) => (n > 0 ? x / n : 0));
}

import { ClipNadError } from "../errors";
import { topIndices } from "../util/topk";
import { AttentionPoolWeights } from "./weights";
import { HeadGram, NeuronGram, PairTextTables, pairConstants, pairTextTables } from "./directions";
import { embeddingBias } from "./contributions";
import { pairTables } from "./tables";
import { Pair, RankedPair, pairAt, pairIndex } from "./units";

/**
 * Everything the decomposition derives from the weights alone, built once per model and shared by every image,
 * collection, browser and analysis of that model (paper.md §D):
 *   w^{n,h} = W_O^h W_V^h[:, n]  (H×C×d),   c^{n,h} = W_O^h b_V^h / C + b_O / (C·H)  (H×d, the same for all n),
 *   |w| (H×C), W_O b_V + b_O (d), per-neuron Gram (C×H×H) and per-head Gram (H×dh×dh).
 * Memory: H·C·d floats for w (453 MB for RN50x16) + C·H²·8 bytes (57 MB) + small tables.
 */
export class Decomposition {
  readonly H: number;
  readonly C: number;
  readonly d: number;
  /** Spatial tokens; the pool sees K + 1. */
  readonly K: number;

  private constructor(
    readonly apw: AttentionPoolWeights,
    /** Pair directions, H×C×d (pair index h·C + n). */
    readonly w: Float32Array,
    /** Pair constants per head, H×d. */
    readonly c: Float32Array,
    /** |w^{n,h}|, H×C. */
    readonly wNorms: Float32Array,
    /** Σ_{n,h} c^{n,h} = W_O b_V + b_O (d), float64. */
    readonly bias: Float64Array,
    readonly neuronGram: NeuronGram,
    readonly headGram: HeadGram,
  ) {
    ({ H: this.H, C: this.C, d: this.d, K: this.K } = apw);
  }

  /** Build the tables (onnxruntime GEMM). Prefer `decompositionOf`, which builds once per set of weights. */
  static async build(apw: AttentionPoolWeights): Promise<Decomposition> {
    const t = await pairTables(apw, { directions: true });
    return new Decomposition(apw, t.w!, pairConstants(apw), t.wNorms, embeddingBias(apw), t.neuronGram, t.headGram);
  }

  /** w^{n,h} as a view (d). */
  direction(pair: Pair): Float32Array {
    const p = pairIndex(this, pair);
    return this.w.subarray(p * this.d, (p + 1) * this.d);
  }

  /** w·t and c·t for T texts (T×d rows): the projection tables of src/decompose/directions. */
  textTables(texts: Float32Array): PairTextTables {
    return pairTextTables(this.apw, checkTexts(texts, this.d), this.c);
  }

  /**
   * cos(w^{n,h}, t) for every pair (H×C): how much a pair's direction points along the text embedding t.
   * The sign convention is w's: a positive cosine means a larger s^{n,h} moves the embedding towards t.
   */
  pairSimilarity(text: Float32Array): Float32Array {
    const t = checkTexts(text, this.d);
    if (t.length !== this.d) throw new ClipNadError(`pairSimilarity takes one text embedding of ${this.d} values, got ${t.length}`);
    let tn = 0;
    for (let j = 0; j < this.d; j++) tn += t[j] * t[j];
    tn = Math.sqrt(tn);
    const { wDotT } = this.textTables(t);
    const out = new Float32Array(this.H * this.C);
    for (let p = 0; p < out.length; p++) out[p] = this.wNorms[p] > 0 && tn > 0 ? wDotT[p] / (this.wNorms[p] * tn) : 0;
    return out;
  }

  /** The `top` pairs by an H×C score, best first (ties: lower h·C + n first). */
  rankPairs(scores: Float32Array, top: number): RankedPair[] {
    if (scores.length !== this.H * this.C) throw new ClipNadError(`pair scores must be H×C = ${this.H}×${this.C}, got ${scores.length} values`);
    return topIndices(scores, top).map((p) => ({ ...pairAt(this, p), score: scores[p] }));
  }
}

function checkTexts(texts: Float32Array, d: number): Float32Array {
  if (!(texts instanceof Float32Array) || texts.length === 0 || texts.length % d !== 0) {
    throw new ClipNadError(`text embeddings must be a Float32Array of rows of d = ${d} values, got ${texts?.length} values`);
  }
  for (let i = 0; i < texts.length; i++) {
    if (!Number.isFinite(texts[i])) throw new ClipNadError(`text embedding value ${i} is not finite (${texts[i]})`);
  }
  return texts;
}

// One Decomposition per set of attention-pool weights, and per checkpoint hash when one is known: a model and the
// collections made with it share the same tables. Weak references: the tables go when nothing holds them.
const byWeights = new WeakMap<AttentionPoolWeights, Promise<Decomposition>>();
const byHash = new Map<string, WeakRef<Decomposition>>();

/** The shared Decomposition of these weights (built on first use). `hash` = sha256 of their checkpoint. */
export function decompositionOf(apw: AttentionPoolWeights, hash?: string): Promise<Decomposition> {
  const known = hash ? byHash.get(hash)?.deref() : undefined;
  if (known && sameShape(known.apw, apw)) return Promise.resolve(known);
  let pending = byWeights.get(apw);
  if (!pending) {
    pending = Decomposition.build(apw).then((dec) => {
      if (hash) byHash.set(hash, new WeakRef(dec));
      return dec;
    });
    pending.catch(() => byWeights.delete(apw));
    byWeights.set(apw, pending);
  }
  return pending;
}

function sameShape(a: AttentionPoolWeights, b: AttentionPoolWeights): boolean {
  return a.H === b.H && a.C === b.C && a.d === b.d && a.K === b.K;
}

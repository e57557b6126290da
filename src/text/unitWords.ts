import { ClipNadError } from "../errors";
import { Collection } from "../collect/collection";
import { Decomposition, coefficientsToEmbedding } from "../decompose";
import { Unit, isPair } from "../analysis/topImages";
import { matchWords } from "./words";

/**
 * Words for units (figure labels, tables): a small interface so the sparse text decompositions (OMP words for
 * pairs and neurons, TextSpan texts for heads) can replace the plain vocabulary matcher here without touching the
 * figures. The matcher labels a unit by the vocabulary words closest (cosine) to the mean centred contribution of
 * its top images, (1/k) Σ_j (r(I_j) − r(s̄)): for a pair sign(mean δ)·w, for a neuron Σ_h mean δ^h w^{n,h}, for a head
 * W_O^h W_V^h mean δ^h — what the top images have in common, in embedding space.
 */
export interface UnitLabeler {
  /** Up to `k` words for a unit, best first, given the rows of its top images. */
  words(unit: Unit, topRows: ArrayLike<number>, k?: number): Promise<string[]>;
}

/** (1/k) Σ_j (r(I_j) − r(s̄)) of a unit over the given rows of a collection (d values). */
export function meanCentredContribution(
  collection: Collection, dec: Decomposition, unit: Unit, rows: ArrayLike<number>,
): Float32Array {
  const { H, C, d } = dec;
  if (collection.H !== H || collection.C !== C) {
    const theirs = `${collection.H}×${collection.C}`;
    throw new ClipNadError(`the decomposition (${H}×${C}) is not the collection's (${theirs})`, {
      file: collection.dir,
    });
  }
  const mean = collection.meanCoefficients;
  const delta = new Float64Array(H * C);
  let m = 0;
  for (let j = 0; j < rows.length; j++) {
    if (rows[j] < 0) continue;
    const s = collection.coefficientsOf(rows[j]);
    for (let u = 0; u < H * C; u++) delta[u] += s[u] - mean[u];
    m++;
  }
  if (m > 0) for (let u = 0; u < H * C; u++) delta[u] /= m;
  const out = new Float32Array(d);
  const addPair = (h: number, n: number) => {
    const p = h * C + n, f = delta[p];
    for (let j = 0; j < d; j++) out[j] += f * dec.w[p * d + j];
  };
  if (isPair(unit)) addPair(unit.head, unit.neuron);
  else if (unit.neuron !== undefined) for (let h = 0; h < H; h++) addPair(h, unit.neuron);
  else {
    const only = new Float64Array(H * C);
    only.set(delta.subarray(unit.head * C, (unit.head + 1) * C), unit.head * C);
    return coefficientsToEmbedding(dec.apw, only, new Float64Array(d)); // W_O^h W_V^h δ̄^h, no bias
  }
  return out;
}

/** The vocabulary matcher (see the module comment): `embeddings` are V × d unit rows of `words`. */
export function vocabularyLabeler(
  collection: Collection, dec: Decomposition, vocab: { words: readonly string[]; embeddings: Float32Array },
): UnitLabeler {
  return {
    async words(unit, topRows, k = 3) {
      if (vocab.words.length === 0) return [];
      const dir = meanCentredContribution(collection, dec, unit, topRows);
      return matchWords(dir, vocab.embeddings, vocab.words, k).filter((w) => w.sign > 0).map((w) => w.word);
    },
  };
}

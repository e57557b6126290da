import { ClipNadError } from "../errors";
import { topIndices } from "../util/topk";
import { rowCosines } from "../util/rows";

/** A vocabulary word matched to a direction: sign +1 for +w, −1 for −w, and its cosine with that sign. */
export interface WordMatch {
  word: string;
  sign: 1 | -1;
  cosine: number;
}

/**
 * Best-matching vocabulary words of one pair direction: the k words with the highest cosine to +w and the k with
 * the highest cosine to −w. `vocab` is V × d with unit rows.
 */
export function matchWords(direction: Float32Array, vocab: Float32Array, words: readonly string[], k: number): WordMatch[] {
  const d = direction.length;
  if (vocab.length !== words.length * d) throw new ClipNadError(`vocabulary embeddings are not ${words.length} × ${d}`);
  const cos = rowCosines(vocab, direction);
  const pos = topIndices(cos, k).map((i): WordMatch => ({ word: words[i], sign: 1, cosine: cos[i] }));
  const neg = new Float32Array(cos.length);
  for (let i = 0; i < cos.length; i++) neg[i] = -cos[i];
  const negs = topIndices(neg, k).map((i): WordMatch => ({ word: words[i], sign: -1, cosine: neg[i] }));
  return pos.concat(negs);
}


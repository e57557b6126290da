import { ClipNadError } from "../errors";
import { mulberry32 } from "../toyworld/random";
import { CAPTION_WORDS } from "../toyworld/vocab";
import { TextEncoder, loadTemplates } from "./templates";
import { WORDS_30K, checkWords, readWordList, vocabularyEmbeddings } from "./vocabulary";

/**
 * Text dictionaries for the sparse text decomposition (paper.md §A.7): a word list embedded with the 80 templates
 * (normalise each, average, normalise; cached per model by src/text/vocabulary), then the paper's normalisation
 * of the dictionary — subtract the mean over words, divide each embedding dimension (column) by its norm over
 * words (rows are NOT unit-normalised afterwards) — which gives the OMP atoms.
 */

/**
 * The paper's dictionary normalisation on a K×d matrix E (rows = words): D = E − mean over words, then each column
 * divided by its norm over words. Returns a new K×d float32 array; a column that is constant over the words (zero
 * after centring) stays zero.
 */
export function normalizeDictionary(E: ArrayLike<number>, K: number, d: number): Float32Array {
  if (!(K >= 1) || !(d >= 1) || E.length !== K * d)
    throw new ClipNadError(`dictionary embeddings must be K×d = ${K}×${d}, got ${E.length} values`);
  const mean = new Float64Array(d);
  for (let i = 0; i < K; i++) for (let j = 0; j < d; j++) mean[j] += E[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= K;
  const norm = new Float64Array(d);
  for (let i = 0; i < K; i++) for (let j = 0; j < d; j++) norm[j] += (E[i * d + j] - mean[j]) ** 2;
  for (let j = 0; j < d; j++) norm[j] = Math.sqrt(norm[j]);
  const D = new Float32Array(K * d);
  for (let i = 0; i < K; i++)
    for (let j = 0; j < d; j++) D[i * d + j] = norm[j] > 0 ? (E[i * d + j] - mean[j]) / norm[j] : 0;
  return D;
}

export interface DictionaryWordsOptions {
  /** The full list (default: the paper's 30,000 words, assets/text/words_30k.txt). */
  words?: readonly string[];
  /** Words always in the dictionary, first (e.g. the toy model's caption words). */
  include?: readonly string[];
  /** Subset seed (default 0). */
  seed?: number;
}

/**
 * A dictionary of `size` words: the `include` words, then the first words of a seeded shuffle of the list. For one
 * seed the subsets are nested (the 1,000-word dictionary is the first 1,000 of the 3,000-word one). A size that
 * covers the whole list gives the list in its own order.
 */
export function dictionaryWords(size: number, opts: DictionaryWordsOptions = {}): string[] {
  const all = checkWords(opts.words ?? readWordList(WORDS_30K));
  const include = [...new Set(opts.include ?? [])];
  const pool = new Set(all);
  for (const w of include) pool.add(w);
  if (!Number.isInteger(size) || size < 1)
    throw new ClipNadError(`a dictionary size must be a positive integer, got ${size}`);
  if (size > pool.size) throw new ClipNadError(`a dictionary of ${size} words asked for, the list has ${pool.size}`);
  if (size < include.length)
    throw new ClipNadError(`a dictionary of ${size} words cannot hold the ${include.length} words it must include`);
  const rest = all.filter((w) => !include.includes(w));
  if (size === pool.size) return [...include, ...rest];
  const rand = mulberry32(opts.seed ?? 0);
  const order = rest.slice();
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return [...include, ...order.slice(0, size - include.length)];
}

/** The toy model's dictionary: its captions' vocabulary (toyworld.CAPTION_WORDS) plus seeded words of the 30k list. */
export function toyDictionaryWords(size: number, seed = 0): string[] {
  return dictionaryWords(size, { include: CAPTION_WORDS, seed });
}

export interface TextDictionary {
  words: string[];
  d: number;
  /** Template-averaged unit embeddings, K×d (row i = words[i]). */
  embeddings: Float32Array;
  /** The OMP atoms: normalizeDictionary(embeddings), K×d. */
  atoms: Float32Array;
}

export interface TextDictionaryOptions {
  /** sha256 of the model (the embeddings' cache key). */
  modelHash: string;
  /** Prompt templates (default: the 80 OpenAI ImageNet templates); [] = each word as it is. */
  templates?: string[];
  cacheDir?: string;
  onProgress?: (done: number, total: number) => void;
}

/** Embed (or load from the cache) a word list and normalise it into OMP atoms. */
export async function textDictionary(
  words: readonly string[],
  encode: TextEncoder,
  opts: TextDictionaryOptions,
): Promise<TextDictionary> {
  const list = checkWords(words);
  const templates = opts.templates ?? loadTemplates();
  const embeddings = await vocabularyEmbeddings(list, encode, {
    modelHash: opts.modelHash,
    templates: templates.length ? templates : undefined,
    cacheDir: opts.cacheDir,
    onProgress: opts.onProgress,
  });
  const d = embeddings.length / list.length;
  return { words: list, d, embeddings, atoms: normalizeDictionary(embeddings, list.length, d) };
}

/** The dictionary of its first `size` words (nested subsets of dictionaryWords), normalised over those words. */
export function subDictionary(dict: TextDictionary, size: number): TextDictionary {
  if (!Number.isInteger(size) || size < 1 || size > dict.words.length) {
    throw new ClipNadError(`a sub-dictionary of ${size} words asked for, the dictionary has ${dict.words.length}`);
  }
  const embeddings = dict.embeddings.slice(0, size * dict.d);
  return {
    words: dict.words.slice(0, size),
    d: dict.d,
    embeddings,
    atoms: normalizeDictionary(embeddings, size, dict.d),
  };
}

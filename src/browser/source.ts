/**
 * The real BrowserSource: pair directions and similarities from the collection's Decomposition (shared with the
 * model), scores from the collection (mean and top-k centred norms), top images from its pair top-k (read where
 * the collection stored them), text embeddings from the model's text tower, vocabulary embeddings cached on disk
 * (src/text/vocabulary) and sharp thumbnails; thumbnails that fail are kept for the caller to report.
 */
import * as path from "path";
import sharp from "sharp";
import { ClipNadError } from "../errors";
import { ClipModel } from "../clip/types";
import { Collection, checkCollectionModel } from "../collect";
import { meanTopNorms } from "../analysis/sparsity";
import { TextLabels } from "../analysis/textDecomposition";
import { readJson } from "../io/atomic";
import { WORDS_30K, checkWords, readWordList, vocabularyEmbeddings } from "../text/vocabulary";
import { Unit, UnitTopImages } from "../analysis/topImages";
import { BrowserSource, SourceImage, UnitTextLabels } from "./backend";

export interface BrowserSourceOptions {
  /** Vocabulary for best-matching words: a list, or a file of one word per line (default words_30k); [] = none. */
  vocabulary?: string[] | string;
  /** Use only the first N words of the vocabulary (default: all). */
  vocabularySize?: number;
  /** Cache folder (default: clip-nad's cache); vocabulary embeddings go to <cache>/text/. */
  cacheDir?: string;
  /** Thumbnail edge in pixels (default 64). */
  thumbnailSize?: number;
  /** Folder the collection's image ids are relative to (default: the collection manifest's images.root). */
  imageRoot?: string;
  /**
   * Top images of units by the top-image retrieval (analysis.unitTopImages: raw or centred norms) for the neuron and
   * head views; units it lacks, and every unit without it, use the collection's stored (centred) top-k.
   */
  unitTopImages?: UnitTopImages;
  /**
   * Sparse text labels (`clip-nad text-decompose` labels.json, or the object): OMP words with signed coefficients
   * for pairs and neurons, TextSpan texts for heads, shown beside the best-matching words.
   */
  labels?: TextLabels | string;
  /** OMP words shown per unit (default 8). */
  labelWords?: number;
  /** Replaces the model's text tower (tests, precomputed embeddings): texts → T × d. */
  textEncoder?: (texts: string[]) => Promise<Float32Array>;
  onProgress?: (message: string, fraction?: number) => void;
}

/** A PNG thumbnail (cover-cropped square) of an image file. */
export async function thumbnailPNG(file: string, size: number): Promise<Uint8Array> {
  try {
    const buf = await sharp(file).resize(size, size, { fit: "cover" }).png({ compressionLevel: 6 }).toBuffer();
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  } catch (e) {
    throw new ClipNadError(`cannot make a thumbnail: ${(e as Error).message}`, { file });
  }
}

/** Build the browser's data source from a loaded model (or null: no text) and a finished collection. */
export async function browserSourceFrom(model: ClipModel | null, collection: Collection, opts: BrowserSourceOptions = {}): Promise<BrowserSource> {
  const { H, C, d } = collection;
  if (model) checkCollectionModel(collection, model);
  const dec = await collection.decomposition();
  if (dec.H !== H || dec.C !== C || dec.d !== d) {
    throw new ClipNadError(`attention-pool weights (${dec.H}×${dec.C}×${dec.d}) do not match the collection (${H}×${C}×${d})`, { file: collection.dir });
  }
  const mean = collection.meanCoefficients;
  const contribution = new Float32Array(H * C);
  for (let p = 0; p < H * C; p++) contribution[p] = Math.abs(mean[p]) * dec.wNorms[p];
  const top = collection.pairTopK;
  const sparsity = meanTopNorms(top.values, top.k);
  const ids = collection.ids;
  const size = opts.thumbnailSize ?? 64;
  const thumbs = new Map<string, Promise<Uint8Array>>();
  const encode = opts.textEncoder ?? (model ? (texts: string[]) => model.encodeTexts(texts, { batchSize: 64 }) : null);
  const needEncoder = () => {
    if (!encode) throw new ClipNadError("text queries and word matching need a model (or a textEncoder)");
    return encode;
  };
  let vocab: Promise<{ words: string[]; embeddings: Float32Array }> | null = null;
  const failures: { path: string; reason: string }[] = [];
  const image = (row: number, value: number): SourceImage =>
    ({ id: ids[row], path: collection.imagePath(row, opts.imageRoot), label: path.basename(ids[row]), value });
  const lists = opts.unitTopImages;
  if (lists && (lists.H !== H || lists.C !== C || lists.N !== collection.N)) {
    throw new ClipNadError(
      `the unit top images are for ${lists.H}×${lists.C} units over ${lists.N} images, not this collection's`,
      { file: collection.dir },
    );
  }
  /** The retrieval's list of a unit, else the collection's stored centred one. */
  const unitTop = (unit: { neuron: number; head?: number } | { head: number; neuron?: number }) => {
    if (lists?.has(unit as Unit)) { const t = lists.of(unit as Unit); return { rows: t.rows, values: t.scores }; }
    if (unit.head !== undefined && unit.neuron !== undefined)
      return collection.topPair({ neuron: unit.neuron, head: unit.head });
    return unit.neuron !== undefined ? collection.topNeuron(unit.neuron) : collection.topHead(unit.head!);
  };
  const textLabels = opts.labels === undefined
    ? undefined
    : unitTextLabels(opts.labels, collection, opts.labelWords ?? 8);

  const source: BrowserSource = {
    title: `${model ? model.name : collection.manifest.model.name} · ${collection.N} images · ${H} heads × ${C} neurons`,
    heads: H, neurons: C, dim: d, directions: dec.w,
    pairSimilarity: (t) => dec.pairSimilarity(t),
    scores: [
      { name: "contribution norm", signed: false, values: contribution },
      { name: "sparsity score", signed: false, values: sparsity },
      { name: "direction norm |w|", signed: false, values: dec.wNorms },
    ],
    topImages(head, neuron, offset, count): { total: number; images: SourceImage[] } {
      const t = collection.topPair({ neuron, head });
      const images: SourceImage[] = [];
      for (let i = offset; i < Math.min(t.rows.length, offset + count); i++) {
        const row = t.rows[i];
        if (row < 0 || row >= ids.length) continue;
        images.push(image(row, t.values[i]));
      }
      return { total: t.rows.length, images };
    },
    unitImages(unit, count) {
      const t = unitTop(unit);
      const out: SourceImage[] = [];
      for (let i = 0; i < Math.min(count, t.rows.length); i++)
        if (t.rows[i] >= 0) out.push(image(t.rows[i], t.values[i]));
      return out;
    },
    unitImagesRanking: lists ? `${lists.norm} norm ‖r(I)‖` : "centred norm ‖r(I) − r(s̄)‖",
    encodeTexts: (texts) => needEncoder()(texts),
    vocabulary() {
      if (!vocab) {
        vocab = (async () => {
          const v = opts.vocabulary ?? WORDS_30K;
          // An empty in-memory list means "no best-matching words" (export-browser --no-words): nothing to embed.
          if (Array.isArray(v) && v.length === 0) return { words: [], embeddings: new Float32Array(0) };
          let words = typeof v === "string" ? readWordList(v) : checkWords(v);
          if (opts.vocabularySize !== undefined) words = words.slice(0, opts.vocabularySize);
          const embeddings = await vocabularyEmbeddings(words, (t) => needEncoder()(t), {
            modelHash: collection.manifest.model.hash, cacheDir: opts.cacheDir,
            onProgress: (done, total) => opts.onProgress?.(`embedding vocabulary ${done}/${total}`, done / total),
          });
          return { words, embeddings };
        })();
        vocab.catch(() => { vocab = null; }); // a failure is retried by the next request
      }
      return vocab;
    },
    thumbnail(file) {
      let t = thumbs.get(file);
      if (!t) {
        t = thumbnailPNG(file, size);
        thumbs.set(file, t);
        t.catch((e) => {
          thumbs.delete(file);
          failures.push({ path: file, reason: e instanceof Error ? e.message : String(e) });
        });
      }
      return t;
    },
    thumbnailFailures: () => failures.slice(),
    textLabels,
  };
  return source;
}

/** The labels of a collection's units, checked against it (same model, same H × C). */
export function unitTextLabels(labels: TextLabels | string, collection: Collection, words: number): UnitTextLabels {
  const file = typeof labels === "string" ? labels : undefined;
  const L = typeof labels === "string" ? readJson<TextLabels>(labels) : labels;
  const { H, C } = collection;
  const shaped = L && Array.isArray(L.pairs) && Array.isArray(L.neurons) && Array.isArray(L.heads);
  if (!shaped || L.format !== "clip-nad-text-labels/1") {
    throw new ClipNadError("not a clip-nad text labels file (clip-nad text-decompose labels.json)", { file });
  }
  if (L.model?.hash && L.model.hash !== collection.manifest.model.hash) {
    throw new ClipNadError(`the labels were made with model ${L.model.name} (sha256 ${L.model.hash.slice(0, 12)}…), ` +
      `the collection with ${collection.manifest.model.name}`, { file });
  }
  if (L.pairs.length !== H * C || L.neurons.length !== C || (L.heads.length !== 0 && L.heads.length !== H)) {
    const covered = `${L.pairs.length} pairs, ${L.neurons.length} neurons and ${L.heads.length} heads`;
    throw new ClipNadError(`labels cover ${covered}; ` +
      `the collection has ${H}×${C} pairs`, { file });
  }
  return {
    pair: (h, n) => L.pairs[h * C + n].words.slice(0, words),
    neuron: (n) => L.neurons[n].words.slice(0, words),
    head: (h) => (L.heads[h]?.texts ?? []).map((t) => ({ text: t.text, fraction: t.fraction })),
  };
}

/**
 * The real BrowserSource: pair directions w from the collection's attention-pool weights, scores from the
 * collection (mean and top-k centred norms), top images from its pair top-k, text embeddings from the model's
 * text tower, vocabulary embeddings cached on disk keyed by model hash + word list, and sharp thumbnails.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import sharp from "sharp";
import { ClipNadError } from "../../src/errors";
import { ClipModel } from "../../src/clip/types";
import { encodeTexts } from "../../src/clip/encode";
import { Collection } from "../../src/collect";
import { pairDirections, pairDirectionNorms } from "../../src/decompose";
import { meanTopNorms } from "../../src/analysis/sparsity";
import { BrowserSource, SourceImage } from "./browserBackend";
import { normalizeRows } from "./browserLogic";

export interface BrowserSourceOptions {
  /** Vocabulary for best-matching words: a word list or a file with one word per line (default words_30k). */
  vocabulary?: string[] | string;
  /** Use only the first N words of the vocabulary (default: all). */
  vocabularySize?: number;
  /** Cache folder (default $CLIP_NAD_CACHE or ~/.cache/clip-nad); vocabulary embeddings go to <cache>/vocab/. */
  cacheDir?: string;
  /** Thumbnail edge in pixels (default 64). */
  thumbnailSize?: number;
  /** Folder the collection's image ids are relative to (default: the collection manifest's images.root). */
  imageRoot?: string;
  /** Replaces the model's text tower (tests, precomputed embeddings): texts → T × d. */
  textEncoder?: (texts: string[]) => Promise<Float32Array>;
  onProgress?: (message: string, fraction?: number) => void;
}

export const DEFAULT_VOCABULARY = path.join(__dirname, "..", "..", "assets", "text", "words_30k.txt");

export function defaultCacheDir(): string {
  return process.env.CLIP_NAD_CACHE || path.join(os.homedir(), ".cache", "clip-nad");
}

/** Read a word list (one per line, blank lines dropped). */
export function readWordList(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ClipNadError(`cannot read the vocabulary: ${(e as Error).message}`, { file });
  }
  return text.split(/\r?\n/).map((w) => w.trim()).filter(Boolean);
}

/**
 * Unit-row text embeddings of `words`, computed in batches once per (model, word list) and cached as raw float32
 * at <cacheDir>/vocab/<model hash>-<words hash>-<d>.f32 (written atomically).
 */
export async function vocabularyEmbeddings(
  modelHash: string, d: number, words: string[], encode: (texts: string[]) => Promise<Float32Array>,
  cacheDir: string, onProgress?: (message: string, fraction?: number) => void,
): Promise<Float32Array> {
  const wordsHash = crypto.createHash("sha256").update(words.join("\n")).digest("hex").slice(0, 16);
  const file = path.join(cacheDir, "vocab", `${modelHash.slice(0, 16)}-${wordsHash}-${d}.f32`);
  if (fs.existsSync(file)) {
    const buf = fs.readFileSync(file);
    if (buf.length === words.length * d * 4) return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  }
  const out = new Float32Array(words.length * d);
  const batch = 256;
  for (let i = 0; i < words.length; i += batch) {
    const chunk = words.slice(i, i + batch);
    const emb = await encode(chunk);
    if (emb.length !== chunk.length * d) throw new ClipNadError(`text encoder returned ${emb.length} values for ${chunk.length} texts of ${d} dims`);
    out.set(emb, i * d);
    onProgress?.(`embedding vocabulary ${Math.min(i + batch, words.length)}/${words.length}`, Math.min(1, (i + batch) / words.length));
  }
  const unit = normalizeRows(out, d);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, Buffer.from(unit.buffer, unit.byteOffset, unit.byteLength));
  fs.renameSync(tmp, file);
  return unit;
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

/** Build the browser's data source from a loaded model and a finished collection. */
export function browserSourceFrom(model: ClipModel | null, collection: Collection, opts: BrowserSourceOptions = {}): BrowserSource {
  const { H, C, d } = collection;
  const apw = collection.weights;
  if (apw.H !== H || apw.C !== C || apw.d !== d) {
    throw new ClipNadError(`attention-pool weights (${apw.H}×${apw.C}×${apw.d}) do not match the collection (${H}×${C}×${d})`, { file: collection.dir });
  }
  if (model && model.config.embedDim !== d) {
    throw new ClipNadError(`the model embeds into ${model.config.embedDim} dims but the collection has ${d}`, { file: model.path });
  }
  const w = pairDirections(apw);
  const wNorms = pairDirectionNorms(w, H, C, d);
  const mean = collection.meanCoefficients;
  const contribution = new Float32Array(H * C);
  for (let p = 0; p < H * C; p++) contribution[p] = Math.abs(mean[p]) * wNorms[p];
  const top = collection.pairTopK;
  const sparsity = meanTopNorms(top.values, top.k);
  const root = opts.imageRoot ?? collection.manifest.images.root;
  const ids = collection.ids;
  const size = opts.thumbnailSize ?? 64;
  const thumbs = new Map<string, Promise<Uint8Array>>();
  const encode = opts.textEncoder ?? (model ? (texts: string[]) => encodeTexts(model, texts, { batchSize: 64 }) : null);
  const needEncoder = () => {
    if (!encode) throw new ClipNadError("text queries and word matching need a model (or a textEncoder)");
    return encode;
  };
  let vocab: Promise<{ words: string[]; embeddings: Float32Array }> | null = null;
  const modelHash = model ? model.hash : collection.manifest.model.hash;

  return {
    title: `${model ? model.name : collection.manifest.model.name} · ${collection.N} images · ${H} heads × ${C} neurons`,
    heads: H, neurons: C, dim: d, directions: w,
    scores: [
      { name: "contribution norm", signed: false, values: contribution },
      { name: "sparsity score", signed: false, values: sparsity },
      { name: "direction norm |w|", signed: false, values: wNorms },
    ],
    topImages(h, n, offset, count): { total: number; images: SourceImage[] } {
      const t = collection.topPair(h, n);
      const images: SourceImage[] = [];
      for (let i = offset; i < Math.min(t.rows.length, offset + count); i++) {
        const row = t.rows[i];
        if (row < 0 || row >= ids.length) continue;
        const id = ids[row];
        images.push({ id, path: root ? path.join(root, id) : id, label: path.basename(id), value: t.values[i] });
      }
      return { total: t.rows.length, images };
    },
    encodeTexts: (texts) => needEncoder()(texts),
    vocabulary() {
      if (!vocab) {
        vocab = (async () => {
          const v = opts.vocabulary ?? DEFAULT_VOCABULARY;
          let words = typeof v === "string" ? readWordList(v) : v.slice();
          if (opts.vocabularySize !== undefined) words = words.slice(0, opts.vocabularySize);
          const embeddings = await vocabularyEmbeddings(modelHash, d, words, (t) => needEncoder()(t), opts.cacheDir ?? defaultCacheDir(), opts.onProgress);
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
        t.catch(() => thumbs.delete(file));
      }
      return t;
    },
  };
}

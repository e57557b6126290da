import { ClipNadError } from "../errors";
import { preprocessImages } from "./preprocess";
import { tokenizeBatch } from "./tokenizer";
import { ClipModel, ImageForward } from "./types";
import { templateEmbeddings } from "../text/templates";

/**
 * Batch helpers over a loaded ClipModel: image files → embeddings (or the full ImageForward), texts → embeddings.
 * Embeddings are un-normalised (as CLIP's encode_image / encode_text return them).
 */

export interface EncodeOptions {
  /** Images (or texts) per forward pass; default 16. */
  batchSize?: number;
  /** Called after each batch with the number of items done and the total. */
  onProgress?: (done: number, total: number) => void;
}

function batchSizeOf(opts: EncodeOptions): number {
  const b = opts.batchSize ?? 16;
  if (!Number.isInteger(b) || b < 1) throw new ClipNadError(`batch size must be a positive integer, got ${b}`);
  return b;
}

/** Image files → N×d float32 embeddings (row i = paths[i]). */
export async function encodeImages(model: ClipModel, paths: string[], opts: EncodeOptions = {}): Promise<Float32Array> {
  const d = model.config.embedDim;
  const out = new Float32Array(paths.length * d);
  await forEachImageBatch(model, paths, opts, (fwd, start) => out.set(fwd.embedding, start * d));
  return out;
}

/**
 * Run the image tower over `paths` in batches and hand each batch's outputs (embedding, Z, a, s) to `visit`
 * with the index of its first image — for callers that keep more than the embeddings.
 */
export async function forEachImageBatch(
  model: ClipModel,
  paths: string[],
  opts: EncodeOptions,
  visit: (fwd: ImageForward, start: number) => void | Promise<void>,
): Promise<void> {
  const bs = batchSizeOf(opts);
  const R = model.config.imageResolution;
  const prepare = (start: number) => {
    const p = preprocessImages(paths.slice(start, start + bs), R);
    p.catch(() => undefined); // awaited below; this only keeps an early failure from counting as unhandled
    return p;
  };
  // Decode/resize the next batch (JS thread) while onnxruntime runs the current one (its own threads).
  let next = paths.length > 0 ? prepare(0) : undefined;
  for (let start = 0; start < paths.length; start += bs) {
    const count = Math.min(bs, paths.length - start);
    const pixels = await next!;
    next = start + bs < paths.length ? prepare(start + bs) : undefined;
    const fwd = await model.encodeImagePixels(pixels, count);
    await visit(fwd, start);
    opts.onProgress?.(start + count, paths.length);
  }
}

/** One image file → the full forward (batch 1): embedding d, Z C×h×w, a H×(K+1), s H×C. */
export async function forwardImage(model: ClipModel, path: string): Promise<ImageForward> {
  const pixels = await preprocessImages([path], model.config.imageResolution);
  return model.encodeImagePixels(pixels, 1);
}

/**
 * Texts → N×d float32 embeddings. Texts are tokenized with CLIP's BPE at the model's context length
 * (truncated, EOT last, like open_clip). A model whose vocabulary is smaller than CLIP's cannot take them.
 */
export async function encodeTexts(model: ClipModel, texts: string[], opts: EncodeOptions = {}): Promise<Float32Array> {
  const { contextLength: T, vocabSize: V, embedDim: d } = model.config;
  if (V < 49408) {
    throw new ClipNadError(
      `this model's text vocabulary has ${V} tokens, but CLIP's BPE tokenizer needs 49408 (ids up to 49407); it cannot embed text`,
      { file: model.path },
    );
  }
  const bs = batchSizeOf(opts);
  const out = new Float32Array(texts.length * d);
  for (let start = 0; start < texts.length; start += bs) {
    const chunk = texts.slice(start, start + bs);
    const ids = tokenizeBatch(chunk, T);
    out.set(await model.encodeTokens(ids, chunk.length), start * d);
    opts.onProgress?.(start + chunk.length, texts.length);
  }
  return out;
}

/** One text embedded with prompt templates (default: the paper's 80), as a unit row (d). */
export async function templateEmbedding(model: ClipModel, text: string, templates?: string[]): Promise<Float32Array> {
  return templateEmbeddings([text], (t) => encodeTexts(model, t, { batchSize: 80 }), { templates });
}

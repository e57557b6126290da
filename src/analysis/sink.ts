import { ClipNadError } from "../errors";
import { ClipModel, ImageForward } from "../clip/types";
import { neuronsOf, tokensOf } from "../clip/config";
import { SkippedImage, loadPixelBatch } from "../clip/imageBatch";
import { ImageItem, ImageSource, listImages } from "../data/images";
import { LabelledImages } from "../data/labelled";
import { selectIndices } from "../collect/select";
import { AttentionPoolWeights } from "../decompose/weights";
import { coefficientsFromAttention, coefficientsToEmbedding } from "../decompose/contributions";
import { headValueBias } from "../decompose/directions";
import { accuracy, predictOne } from "./zeroshot";

/**
 * The attention sink of CLIP-ResNet's attention pool (paper.md §A.13): the pooled query puts much of its attention
 * on the last (bottom-right) spatial token. Here: the mean attention per token (over heads and images) as a grid,
 * and the paper's zero-sink ablation (ablation.py --mode zero_sink): the pooled query's attention to the last
 * token is set to 0 after the softmax and NOT renormalised, then the embedding is recomputed.
 *
 * The edited forward, from the stored a and Z alone: with a' = a except a'^h_K = 0,
 *   M' = Σ_h W_O^h Σ_i a'^h_i (W_V^h x_i + b_V^h) + b_O = Σ_h W_O^h W_V^h s'^h + Σ_h (Σ_i a'^h_i) W_O^h b_V^h + b_O,
 * s' = coefficientsFromAttention(a', Z). The value bias is weighted by Σ_i a'^h_i = 1 − a^h_K (not 1): attention
 * weights multiply the whole value vector, bias included, as in the hooked torch forward.
 */

/** Index of the sink token among the K + 1 pool tokens: the last spatial token (bottom-right; token 0 = pooled). */
export function sinkTokenIndex(apw: { K: number }): number {
  return apw.K;
}

/** a with the attention to `token` (default: the last) set to 0 in every head of every image; not renormalised. */
export function zeroSinkAttention(a: Float32Array, H: number, T: number, token = T - 1): Float32Array {
  if (a.length % (H * T) !== 0) {
    throw new ClipNadError(`attention has ${a.length} values, not a multiple of H×(K+1) = ${H}×${T}`);
  }
  if (!(Number.isInteger(token) && token >= 0 && token < T)) {
    throw new ClipNadError(`token ${token} out of range 0..${T - 1}`);
  }
  const out = a.slice();
  for (let r = 0; r < out.length / T; r++) out[r * T + token] = 0;
  return out;
}

/**
 * M' of one image with the attention to the last token zeroed (see the module comment): a is H×(K+1), Z is C×K.
 * `valueBias` caches headValueBias(apw) (H×d).
 */
export function zeroSinkEmbedding(
  apw: AttentionPoolWeights,
  a: Float32Array,
  Z: Float32Array,
  valueBias?: Float64Array,
): Float32Array {
  const { H, K, d, bo } = apw;
  const T = K + 1;
  if (a.length !== H * T) throw new ClipNadError(`attention a has ${a.length} values, expected H×(K+1) = ${H}×${T}`);
  const edited = zeroSinkAttention(a, H, T);
  const s = coefficientsFromAttention(apw, edited, Z);
  const vb = valueBias ?? headValueBias(apw);
  const bias = new Float64Array(d);
  for (let j = 0; j < d; j++) bias[j] = bo[j];
  for (let h = 0; h < H; h++) {
    let mass = 0;
    for (let i = 0; i < T; i++) mass += edited[h * T + i];
    for (let j = 0; j < d; j++) bias[j] += mass * vb[h * d + j];
  }
  return coefficientsToEmbedding(apw, s, bias);
}

/** Zero-sink embeddings of a batch: a B×H×(K+1), Z B×C×K → B×d. */
export function zeroSinkEmbeddings(
  apw: AttentionPoolWeights,
  a: Float32Array,
  Z: Float32Array,
  B: number,
): Float32Array {
  const { C, H, K, d } = apw;
  const T = K + 1;
  if (a.length !== B * H * T || Z.length !== B * C * K) {
    throw new ClipNadError(`a batch of ${B}: attention must be B×H×(K+1), features B×C×K`);
  }
  const vb = headValueBias(apw);
  const out = new Float32Array(B * d);
  for (let b = 0; b < B; b++) {
    out.set(
      zeroSinkEmbedding(apw, a.subarray(b * H * T, (b + 1) * H * T), Z.subarray(b * C * K, (b + 1) * C * K), vb),
      b * d,
    );
  }
  return out;
}

/** Mean over heads and images of the pooled query's attention per token, accumulated batch by batch. */
export class AttentionMap {
  private readonly sum: Float64Array;
  images = 0;

  constructor(readonly H: number, readonly T: number) {
    this.sum = new Float64Array(T);
  }

  /** Add a batch of attention a (B×H×T). */
  add(a: Float32Array, B: number): void {
    const { H, T } = this;
    if (a.length !== B * H * T) {
      throw new ClipNadError(`attention has ${a.length} values, expected B×H×(K+1) = ${B}×${H}×${T}`);
    }
    for (let r = 0; r < B * H; r++) for (let i = 0; i < T; i++) this.sum[i] += a[r * T + i];
    this.images += B;
  }

  /** Mean attention per token (T values; token 0 = the pooled token itself). */
  mean(): number[] {
    if (this.images === 0) throw new ClipNadError("no images were added to the attention map");
    return Array.from(this.sum, (v) => v / (this.images * this.H));
  }
}

export interface ForwardOptions {
  /** Images per forward pass (default 8). */
  batchSize?: number;
  /** Every S-th image of the sorted list, then at most `limit` (as collect selects). */
  stride?: number;
  limit?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Run the image tower over the selected images in batches (decode-ahead, unreadable images skipped and reported,
 * src/clip/imageBatch), handing each batch's outputs and the items it holds to `visit`. Memory: two batches of
 * pixels plus what `visit` keeps.
 */
export async function forEachForward(
  model: ClipModel,
  items: readonly ImageItem[],
  opts: ForwardOptions,
  visit: (fwd: ImageForward, batch: ImageItem[]) => void | Promise<void>,
): Promise<{ images: number; skipped: SkippedImage[] }> {
  const bs = opts.batchSize ?? 8;
  if (!Number.isInteger(bs) || bs < 1) throw new ClipNadError(`batch size must be a positive integer, got ${bs}`);
  const selected = selectIndices(items.length, { stride: opts.stride, limit: opts.limit });
  const R = model.config.imageResolution;
  const skipped: SkippedImage[] = [];
  let images = 0;
  const load = (start: number) => loadPixelBatch(items, selected.slice(start, start + bs), R);
  let pending = selected.length > 0 ? load(0) : null;
  for (let start = 0; pending; start += bs) {
    const batch = await pending;
    pending = start + bs < selected.length ? load(start + bs) : null; // decode ahead while the model runs
    skipped.push(...batch.skipped);
    if (batch.ok.length > 0) {
      const fwd = await model.encodeImagePixels(batch.pixels, batch.ok.length);
      await visit(fwd, batch.ok.map((i) => items[i]));
      images += batch.ok.length;
    }
    opts.onProgress?.(Math.min(start + bs, selected.length), selected.length);
  }
  if (images === 0) {
    const first = skipped[0] ? ` (first: ${skipped[0].id}: ${skipped[0].reason})` : "";
    throw new ClipNadError(`none of the ${selected.length} selected images could be read${first}`);
  }
  return { images, skipped };
}

/** The items of an image source (src/data/images' lister). */
export function imageItems(images: ImageSource | LabelledImages): ImageItem[] {
  return typeof images === "object" && "labelOf" in images ? images.items : listImages(images).items;
}

export interface AttentionSinkInputs extends ForwardOptions {
  model: ClipModel;
  /** Labelled images (class sub-folders, or toy:<attribute>; src/data/labelled). */
  labelled: LabelledImages;
  /** Unit-row class embeddings (classes × d), e.g. analysis.zeroShotClassifier. */
  classifier: Float32Array;
}

export interface AttentionSinkReport {
  analysis: "attention-sink";
  model: { name: string; hash: string };
  images: number;
  skipped: number;
  grid: number;
  /** Mean attention of the pooled query per token, over heads and images (K + 1; index 0 = the pooled token). */
  meanAttention: number[];
  /** The spatial tokens' mean attention as grid rows (row-major, top row first; the sink is the last cell). */
  gridAttention: number[][];
  /** Token (1..K) with the largest mean attention. */
  maxToken: number;
  /** Mean attention to the last (bottom-right) token, and the uniform share 1/(K+1) for comparison. */
  sinkAttention: number;
  uniform: number;
  /** Zero-shot top-1 accuracy of the unmodified model and with the attention to the last token set to 0. */
  accuracy: { unmodified: number; zeroSink: number };
}

/** Mean attention map and zero-sink accuracy over labelled images (one forward pass per batch). */
export async function attentionSinkReport(inp: AttentionSinkInputs): Promise<AttentionSinkReport> {
  const { model, labelled, classifier } = inp;
  const apw = model.attentionPool;
  const { H, K, d } = apw;
  if (classifier.length % d !== 0 || classifier.length / d !== labelled.classNames.length) {
    throw new ClipNadError(
      `the classifier must be classes × d = ${labelled.classNames.length}×${d}, got ${classifier.length} values`
    );
  }
  if (neuronsOf(model.config) !== apw.C || tokensOf(model.config) !== K) {
    throw new ClipNadError("the model's config and attention pool disagree", { file: model.path });
  }
  const map = new AttentionMap(H, K + 1);
  const vb = headValueBias(apw);
  const predicted: number[] = [];
  const predictedZero: number[] = [];
  const labels: number[] = [];
  const scratch = new Float64Array(classifier.length / d);
  const run = await forEachForward(model, labelled.items, inp, (fwd, batch) => {
    const B = batch.length;
    map.add(fwd.attention, B);
    const T = (K + 1) * H;
    const CK = apw.C * K;
    for (let b = 0; b < B; b++) {
      const zs = zeroSinkEmbedding(
        apw,
        fwd.attention.subarray(b * T, (b + 1) * T),
        fwd.features.subarray(b * CK, (b + 1) * CK),
        vb,
      );
      predicted.push(predictOne(fwd.embedding.subarray(b * d, (b + 1) * d), classifier, scratch));
      predictedZero.push(predictOne(zs, classifier, scratch));
      labels.push(labelled.labelOf.get(batch[b].id) ?? -1);
    }
  });
  const mean = map.mean();
  const g = model.config.grid;
  const spatial = mean.slice(1);
  let maxToken = 1;
  for (let i = 2; i <= K; i++) if (mean[i] > mean[maxToken]) maxToken = i;
  return {
    analysis: "attention-sink",
    model: { name: model.name, hash: model.hash },
    images: run.images,
    skipped: run.skipped.length,
    grid: g,
    meanAttention: mean,
    gridAttention: Array.from({ length: g }, (_, r) => spatial.slice(r * g, (r + 1) * g)),
    maxToken,
    sinkAttention: mean[sinkTokenIndex(apw)],
    uniform: 1 / (K + 1),
    accuracy: { unmodified: accuracy(predicted, labels), zeroSink: accuracy(predictedZero, labels) },
  };
}

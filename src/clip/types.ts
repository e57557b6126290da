import { ClipConfig } from "./config";
import { AttentionPoolWeights } from "../decompose/weights";
import { Decomposition } from "../decompose/decomposition";
import { ImageDecomposition } from "../decompose/image";
import { RankedPair } from "../decompose/units";
import { RGBImage } from "./preprocess";
import { EncodeOptions } from "./encode";

/**
 * Outputs of the image graph for a batch of B images. Stable names (used everywhere in clip-nad):
 *  - `embedding`    M(I), un-normalised image embedding, B×d.
 *  - `features`     Z, post-ReLU output of the last layer4 block, B×C×h×w (row-major over h, w).
 *  - `attention`    a, the pooled (mean) query's attention per head over the K+1 tokens, B×H×(K+1);
 *                   index 0 is the pooled token itself, index 1+i is spatial token i (row-major).
 *  - `coefficients` s, pair coefficients s[h,n] = Σ_i a_i^h x_{i,n}, B×H×C (x = tokens + positional embedding).
 */
export interface ImageForward {
  batch: number;
  embedding: Float32Array;
  features: Float32Array;
  attention: Float32Array;
  coefficients: Float32Array;
}

/** An image to decompose: a file path, or decoded 8-bit RGB pixels. */
export type ImageInput = string | RGBImage;

export interface RankPairsOptions {
  /** How many pairs (default 20). */
  top?: number;
  /**
   * Embed the text with prompt templates (`true` = the paper's 80 ImageNet templates: normalise each, average,
   * normalise), or as given (default).
   */
  templates?: boolean | string[];
}

/**
 * A loaded CLIP-ResNet: its config, onnxruntime sessions for both towers, the attention-pool weights and — built
 * on first use and shared by everything that decomposes with this model — the weight-only decomposition tables.
 */
export interface ClipModel {
  /** The name or path the model was loaded from ("toy", "RN50", "/path/to/file.pt"). */
  readonly name: string;
  /** Resolved checkpoint file. */
  readonly path: string;
  /** sha256 of the checkpoint file (hex): the model's identity (graph cache, collections). */
  readonly hash: string;
  readonly config: ClipConfig;
  /** The attention pool's v_proj, c_proj and positional embedding (the rest of the state dict is not kept). */
  readonly attentionPool: AttentionPoolWeights;
  readonly metadata: Record<string, string>;
  /** w, c, |w|, Gram tables of this model (built once, on first call). */
  decomposition(): Promise<Decomposition>;
  /** One image → its internals (Z, a, s, embedding) and contributions per pair / neuron / head / token. */
  decompose(image: ImageInput): Promise<ImageDecomposition>;
  /** All H×C pairs ranked by cos(w^{n,h}, t) for a text (or a ready text embedding), best first. */
  rankPairs(text: string | Float32Array, opts?: RankPairsOptions): Promise<RankedPair[]>;
  /** Image files → N×d embeddings (un-normalised, as CLIP's encode_image). */
  encodeImages(paths: string[], opts?: EncodeOptions): Promise<Float32Array>;
  /** Texts → N×d embeddings (un-normalised, as CLIP's encode_text). */
  encodeTexts(texts: string[], opts?: EncodeOptions): Promise<Float32Array>;
  /** Run the image tower on preprocessed pixels (B×3×R×R float32, normalised). */
  encodeImagePixels(pixels: Float32Array, batch: number): Promise<ImageForward>;
  /** Run the text tower on token ids (B×contextLength); returns B×d un-normalised text embeddings. */
  encodeTokens(ids: Int32Array | number[][], batch?: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

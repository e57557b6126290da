import { ClipConfig } from "./config";
import { StateDict } from "../weights/types";

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

/** A loaded CLIP-ResNet: weights, config and onnxruntime sessions for the image and text towers. */
export interface ClipModel {
  /** The name or path the model was loaded from ("toy", "RN50", "/path/to/file.pt"). */
  readonly name: string;
  /** Resolved checkpoint file. */
  readonly path: string;
  /** sha256 of the checkpoint file (hex); keys the graph cache. */
  readonly hash: string;
  readonly config: ClipConfig;
  /** OpenAI-named float32 tensors (kept for the decomposition's weight-only quantities). */
  readonly weights: StateDict;
  readonly metadata: Record<string, string>;
  /** Run the image tower on preprocessed pixels (B×3×R×R float32, normalised). */
  encodeImagePixels(pixels: Float32Array, batch: number): Promise<ImageForward>;
  /** Run the text tower on token ids (B×contextLength); returns B×d un-normalised text embeddings. */
  encodeTokens(ids: Int32Array | number[][], batch?: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

import { ClipNadError } from "../errors";
import { ClipConfig, neuronsOf, tokensOf } from "../clip/config";
import { StateDict } from "../weights/types";

/**
 * The weight-only part of CLIP-ResNet's attention pool that the decomposition needs (paper.md §A.2–A.3).
 * Query/key weights are not needed: the attention a comes from the image graph.
 * Layout is PyTorch's: a Linear weight is out×in, row-major.
 */
export interface AttentionPoolWeights {
  /** Neurons (attention-pool input width). */
  C: number;
  /** Heads. */
  H: number;
  /** Output embedding dimension. */
  d: number;
  /** Spatial tokens (grid²); the pool sees K+1 tokens. */
  K: number;
  /** Head dimension C/H. */
  dh: number;
  /** v_proj.weight, C×C (row = value output channel h·dh+k, column = neuron n). */
  Wv: Float32Array;
  /** v_proj.bias, C. */
  bv: Float32Array;
  /** c_proj.weight, d×C (column block h·dh..(h+1)·dh belongs to head h). */
  Wo: Float32Array;
  /** c_proj.bias, d. */
  bo: Float32Array;
  /** positional_embedding, (K+1)×C (row 0 = pooled token). */
  pos: Float32Array;
  /**
   * The query and key projections (q_proj, k_proj: C×C weights, C biases), for what recomputes attention (ablating
   * neurons, self-self attention). A loaded model has them; a collection's saved weights do not (the decomposition
   * takes a from the image graph).
   */
  query?: { Wq: Float32Array; bq: Float32Array; Wk: Float32Array; bk: Float32Array };
}

const PREFIX = "visual.attnpool.";

/** The state-dict tensors the decomposition keeps (OpenAI names). */
export const ATTENTION_POOL_KEYS = ["v_proj.weight", "v_proj.bias", "c_proj.weight", "c_proj.bias", "positional_embedding"].map((k) => PREFIX + k);
/** And the query/key projections a model keeps besides (`AttentionPoolWeights.query`). */
export const ATTENTION_QUERY_KEYS = ["q_proj.weight", "q_proj.bias", "k_proj.weight", "k_proj.bias"].map((k) => PREFIX + k);

function take(sd: StateDict, key: string, shape: number[], file: string): Float32Array {
  const t = sd.get(PREFIX + key);
  if (!t) throw new ClipNadError(`missing attention-pool tensor`, { file, key: PREFIX + key });
  const ok = t.shape.length === shape.length && t.shape.every((v, i) => v === shape[i]);
  if (!ok) {
    throw new ClipNadError(`shape [${t.shape.join(",")}], expected [${shape.join(",")}]`, { file, key: PREFIX + key });
  }
  return t.data;
}

/**
 * Read the attention-pool weights (OpenAI names visual.attnpool.{v_proj,c_proj}.{weight,bias},
 * positional_embedding) from a state dict, checking every shape against the config.
 */
export function attentionPoolWeights(weights: StateDict, config: ClipConfig, file = "<weights>"): AttentionPoolWeights {
  const C = neuronsOf(config);
  const H = config.visionHeads;
  const K = tokensOf(config);
  if (!(H > 0) || C % H !== 0) throw new ClipNadError(`vision heads ${H} do not divide C=${C}`, { file });
  const cw = weights.get(PREFIX + "c_proj.weight");
  const d = cw && cw.shape.length === 2 ? cw.shape[0] : config.embedDim;
  return {
    C,
    H,
    d,
    K,
    dh: C / H,
    Wv: take(weights, "v_proj.weight", [C, C], file),
    bv: take(weights, "v_proj.bias", [C], file),
    Wo: take(weights, "c_proj.weight", [d, C], file),
    bo: take(weights, "c_proj.bias", [d], file),
    pos: take(weights, "positional_embedding", [K + 1, C], file),
    query: weights.has(PREFIX + "q_proj.weight") ? {
      Wq: take(weights, "q_proj.weight", [C, C], file),
      bq: take(weights, "q_proj.bias", [C], file),
      Wk: take(weights, "k_proj.weight", [C, C], file),
      bk: take(weights, "k_proj.bias", [C], file),
    } : undefined,
  };
}

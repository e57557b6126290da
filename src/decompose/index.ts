/**
 * Neuron-attention decomposition of CLIP-ResNet's attention pool (paper.md §A.3, §D).
 * Everything image-dependent is derived on demand from s (H×C), a (H×(K+1)) and Z (C×K);
 * w, c and the Gram matrices are weight-only and computed once (see `prepareDecomposition`).
 */
import { AttentionPoolWeights } from "./weights";
import { HeadGram, NeuronGram, headGram, neuronGram, pairConstants, pairDirectionNorms, pairDirections } from "./directions";
import { embeddingBias } from "./contributions";

export * from "./weights";
export * from "./directions";
export * from "./contributions";
export * from "./norms";

/** All weight-only quantities in one object. */
export interface Decomposition {
  apw: AttentionPoolWeights;
  /** H×C×d pair directions. */
  w: Float32Array;
  /** H×d pair constants. */
  c: Float32Array;
  /** H×C |w|. */
  wNorms: Float32Array;
  /** W_O b_V + b_O (d). */
  bias: Float64Array;
  neuronGram: NeuronGram;
  headGram: HeadGram;
}

/** Compute w, c, |w| and the neuron/head Gram matrices (cost ≈ C·C·d + C·H²·d/2, once per model). */
export function prepareDecomposition(apw: AttentionPoolWeights): Decomposition {
  const w = pairDirections(apw);
  return {
    apw,
    w,
    c: pairConstants(apw),
    wNorms: pairDirectionNorms(w, apw.H, apw.C, apw.d),
    bias: embeddingBias(apw),
    neuronGram: neuronGram(w, apw.H, apw.C, apw.d),
    headGram: headGram(apw),
  };
}

/**
 * The paper code's self-self attention baseline (`forward_self_self`, SCLIP's CSA ported to the attention pool;
 * paper.md §A.9 "Baselines"): per head A = softmax(QQᵀ/√dh) + softmax(KKᵀ/√dh) over all K+1 pool tokens (the mean
 * token included; Q, K, V with their biases and the positional embedding), every token's output
 * o_i = Σ_h W_O^h (A V^h)_i + b_O, and the logit cos(o_i, t_p) for the spatial tokens. No sink fix.
 */
import { AttentionPoolWeights } from "../../decompose/weights";
import { runSegmentationGraph } from "./graphs";
import { tokenMajorToClassMajor } from "./tokens";

/** B crops' token logits (B×P×K) from Z (B×C×K); Tt = class rows transposed (d×P). Needs `apw.query`. */
export async function selfSelfTokenLogits(
  apw: AttentionPoolWeights,
  Z: Float32Array,
  B: number,
  Tt: Float32Array,
  P: number,
): Promise<Float32Array> {
  return tokenMajorToClassMajor(await runSegmentationGraph("selfSelfTokens", apw, B, { Z, Tt, P }), B, apw.K, P);
}

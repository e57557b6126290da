/**
 * MaskCLIP's ResNet path (volgachen/MaskCLIP maskclip_head.py, algorithms.md §C): every spatial token goes through
 * the attention pool's value and output projections alone, feat_i = c_proj(v_proj(z_i)), with no positional
 * embedding and query/key unused; the logit is cos(feat_i, t_p). `withPositional` is the paper code's
 * `forward_values_only`, which adds the positional embedding first (x_i = z_i + p_i). No sink fix.
 */
import { AttentionPoolWeights } from "../../decompose/weights";
import { runSegmentationGraph } from "./graphs";
import { tokenMajorToClassMajor } from "./tokens";

/** B crops' token logits (B×P×K) from Z (B×C×K); Tt = class rows transposed (d×P). */
export async function maskclipTokenLogits(
  apw: AttentionPoolWeights,
  Z: Float32Array,
  B: number,
  Tt: Float32Array,
  P: number,
  opts: { withPositional?: boolean } = {},
): Promise<Float32Array> {
  const kind = opts.withPositional ? "valueTokensPos" : "valueTokens";
  return tokenMajorToClassMajor(await runSegmentationGraph(kind, apw, B, { Z, Tt, P }), B, apw.K, P);
}

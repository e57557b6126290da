/**
 * ONNX graph of CLIP's text transformer (openai/CLIP model.py): token + positional embedding, pre-LN
 * residual attention blocks with a causal mask and QuickGELU MLPs, ln_final at the EOT token (the
 * largest id, found with ArgMax), then `@ text_projection` ([W,d], not transposed like nn.Linear).
 *   tokens int64 [B,T] → text_embedding [B,d],  T ≤ ctx
 *
 * T may be shorter than the context length: with a causal mask, position p only sees tokens ≤ p, so ids can
 * be cut right after the EOT token without changing the result. encodeTokens cuts each batch to its longest
 * caption, which makes short captions (most prompts are < 20 of 77 tokens) several times cheaper.
 */
import { ClipConfig } from "./config";
import { StateDict } from "../weights/types";
import { DataType } from "../onnx/graph";
import { WeightGraph } from "../onnx/weightGraph";

export const TEXT_INPUT = "tokens";
export const TEXT_OUTPUT = "text_embedding";
/** Graph-format version (producer_version); 2 = variable token length. */
export const TEXT_GRAPH_VERSION = "clip-nad-text-2";

export function buildTextGraph(sd: StateDict, cfg: ClipConfig, file?: string): WeightGraph {
  const g = new WeightGraph("clip_text", sd, file);
  g.producerVersion = TEXT_GRAPH_VERSION;
  const T = cfg.contextLength;
  const W = cfg.transformerWidth;
  g.input(TEXT_INPUT, DataType.INT64, ["batch", "length"]);

  // Runtime length t = tokens.shape[1] as a 1-D tensor [t].
  const t = g.node("Slice", [g.node("Shape", [TEXT_INPUT]), g.constI64("start", [1]), g.constI64("end", [2])]);
  const zero = g.constI64("zero", [0]);
  g.tensor("token_embedding.weight", [cfg.vocabSize, W]);
  let x = g.node("Gather", [g.w("token_embedding.weight"), TEXT_INPUT], { axis: 0 });
  const pos = g.node("Slice", [g.w("positional_embedding", [T, W]), zero, t, zero]);
  x = g.node("Add", [x, pos]);

  // Causal mask: −inf strictly above the diagonal (as CLIP's build_attention_mask), cut to t×t.
  const mask = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) mask[i * T + j] = -Infinity;
  const tt = g.node("Concat", [t, t], { axis: 0 });
  const maskName = g.node("Slice", [g.constF("causal_mask", [T, T], mask), g.constI64("start", [0, 0]), tt, g.constI64("axes", [0, 1])]);

  for (let i = 0; i < cfg.transformerLayers; i++) {
    const p = `transformer.resblocks.${i}`;
    x = g.node("Add", [x, selfAttention(g, g.layerNorm(x, `${p}.ln_1`), p, cfg, maskName)]);
    const h = g.linear(g.layerNorm(x, `${p}.ln_2`), `${p}.mlp.c_fc`);
    const gelu = g.node("Mul", [h, g.node("Sigmoid", [g.scale(h, 1.702)])]);
    x = g.node("Add", [x, g.linear(gelu, `${p}.mlp.c_proj`)]);
  }

  // Pool at the EOT token: index = argmax(ids) → [B,1,W] via GatherElements, then ln_final and projection.
  const eot = g.node("ArgMax", [TEXT_INPUT], { axis: 1, keepdims: 1 });
  const idx = g.node("Expand", [g.node("Unsqueeze", [eot, g.constI64("axes", [2])]), g.constI64("shape", [1, 1, W])]);
  const pooled = g.reshape(g.node("GatherElements", [x, idx], { axis: 1 }), [0, W]);
  const y = g.layerNorm(pooled, "ln_final");
  g.node("MatMul", [y, g.w("text_projection", [W, cfg.embedDim])], {}, TEXT_OUTPUT);
  g.output(TEXT_OUTPUT);
  return g;
}

/** nn.MultiheadAttention with packed in_proj (rows q, k, v) and an additive causal mask. */
function selfAttention(g: WeightGraph, x: string, p: string, cfg: ClipConfig, mask: string): string {
  const W = cfg.transformerWidth;
  const H = cfg.transformerHeads;
  const D = W / H;
  g.tensor(`${p}.attn.in_proj_weight`, [3 * W, W]);
  const wt = g.transpose(g.w(`${p}.attn.in_proj_weight`), [1, 0]);
  const qkv = g.node("Add", [g.node("MatMul", [x, wt]), g.w(`${p}.attn.in_proj_bias`)]);
  // [B,t,3W] → [B,t,3,H,D] → [3,B,H,t,D]
  const heads = g.transpose(g.reshape(qkv, [0, 0, 3, H, D]), [2, 0, 3, 1, 4]);
  const axis0 = g.constI64("axes", [0]);
  const [q, k, v] = g.nodeN("Split", [heads], { axis: 0 }, 3).map((part) => g.node("Squeeze", [part, axis0]));
  const kt = g.transpose(k, [0, 1, 3, 2]);
  const scores = g.node("Add", [g.node("MatMul", [g.scale(q, 1 / Math.sqrt(D)), kt]), mask]);
  const att = g.node("Softmax", [scores], { axis: -1 });
  const o = g.reshape(g.transpose(g.node("MatMul", [att, v]), [0, 2, 1, 3]), [0, 0, W]);
  return g.linear(o, `${p}.attn.out_proj`);
}

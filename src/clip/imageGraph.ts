/**
 * ONNX graph of CLIP's ModifiedResNet + AttentionPool2d (openai/CLIP model.py), built from OpenAI-named
 * weights with unchanged layouts. Besides the embedding it outputs what the neuron-attention decomposition
 * needs (stable names, see types.ts):
 *   pixels [B,3,R,R] → features Z [B,C,h,w], attention a [B,H,K+1], coefficients s [B,H,C], embedding [B,d].
 *
 * Only the pooled (mean-token) query row is computed, and the pool is evaluated in its rank-1 form:
 *   scores_h = (W_K^hᵀ q_h) · x_i       (q_h · b_K^h is the same for every token, so softmax drops it)
 *   s_h      = Σ_i a_i^h x_i            (= coefficients)
 *   o_h      = W_V^h s_h + b_V^h        (because Σ_i a_i^h = 1)
 *   embedding = c_proj(concat_h o_h)
 * which equals multi_head_attention_forward but skips the L×C×C key/value projections.
 */
import { ClipConfig, neuronsOf, tokensOf } from "./config";
import { StateDict } from "../weights/types";
import { DataType } from "../onnx/graph";
import { WeightGraph } from "../onnx/weightGraph";

/** Graph input / output names of the image graph. */
export const IMAGE_INPUT = "pixels";
export const IMAGE_OUTPUTS = ["embedding", "features", "attention", "coefficients"] as const;
/** Graph-format version, stored as producer_version: a cached graph with another version is rebuilt. */
export const IMAGE_GRAPH_VERSION = "clip-nad-image-1";

/** Build the image graph; returns the builder (encode / writeFile it). */
export function buildImageGraph(sd: StateDict, cfg: ClipConfig, file?: string): WeightGraph {
  const g = new WeightGraph("clip_resnet_image", sd, file);
  g.producerVersion = IMAGE_GRAPH_VERSION;
  const R = cfg.imageResolution;
  g.input(IMAGE_INPUT, DataType.FLOAT, ["batch", 3, R, R]);

  // Stem: 3 convs (first with stride 2), each BN + ReLU, then AvgPool(2).
  let x = IMAGE_INPUT;
  x = g.relu(g.bn(g.conv(x, "visual.conv1.weight", 2), "visual.bn1"));
  x = g.relu(g.bn(g.conv(x, "visual.conv2.weight"), "visual.bn2"));
  x = g.relu(g.bn(g.conv(x, "visual.conv3.weight"), "visual.bn3"));
  x = g.avgPool(x, 2);

  // Stages: planes = w·2^i, stride 2 on block 0 of stages 1..3, expansion 4.
  let inplanes = cfg.visionWidth;
  for (let stage = 0; stage < 4; stage++) {
    const planes = cfg.visionWidth * 2 ** stage;
    for (let b = 0; b < cfg.visionLayers[stage]; b++) {
      const stride = b === 0 && stage > 0 ? 2 : 1;
      const last = stage === 3 && b === cfg.visionLayers[3] - 1;
      x = bottleneck(g, x, `visual.layer${stage + 1}.${b}`, inplanes, planes, stride, last ? "features" : undefined);
      inplanes = planes * 4;
    }
  }
  attentionPool(g, x, cfg);
  for (const o of IMAGE_OUTPUTS) g.output(o);
  return g;
}

function bottleneck(g: WeightGraph, x: string, p: string, inplanes: number, planes: number, stride: number, out?: string): string {
  let y = g.relu(g.bn(g.conv(x, `${p}.conv1.weight`), `${p}.bn1`));
  y = g.relu(g.bn(g.conv(y, `${p}.conv2.weight`), `${p}.bn2`));
  y = g.avgPool(y, stride);
  y = g.bn(g.conv(y, `${p}.conv3.weight`), `${p}.bn3`);
  let identity = x;
  if (stride > 1 || inplanes !== planes * 4) {
    identity = g.bn(g.conv(g.avgPool(x, stride), `${p}.downsample.0.weight`), `${p}.downsample.1`);
  }
  return g.relu(g.node("Add", [y, identity]), out);
}

function attentionPool(g: WeightGraph, z: string, cfg: ClipConfig): void {
  const C = neuronsOf(cfg);
  const K = tokensOf(cfg);
  const L = K + 1;
  const H = cfg.visionHeads;
  const D = C / H;
  const P = "visual.attnpool";
  const pos = g.w(`${P}.positional_embedding`, [L, C]);
  for (const n of ["q", "k", "v"]) g.tensor(`${P}.${n}_proj.weight`, [C, C]);

  // Tokens, channel-major: XT [B,C,L] = [mean | z_1..z_K] + posᵀ; X [B,L,C].
  const zf = g.reshape(z, [0, C, K]);
  const mean = g.node("ReduceMean", [zf], { axes: [2], keepdims: 1 });
  const xt = g.node("Add", [g.node("Concat", [mean, zf], { axis: 2 }), g.transpose(pos, [1, 0])]);
  const X = g.transpose(xt, [0, 2, 1]);

  // Pooled query q = W_Q x_0 + b_Q, scaled by 1/√D, split into heads [B,H,1,D].
  const x0 = g.node("Gather", [X, g.constI64("zero", [0], [])], { axis: 1 });
  const q = g.reshape(g.scale(g.linear(x0, `${P}.q_proj`), 1 / Math.sqrt(D)), [0, H, 1, D]);
  // Per-head query in token space: W_K^hᵀ q_h → [B,H,C]; scores [B,H,L].
  const wk = g.reshape(g.w(`${P}.k_proj.weight`), [H, D, C]);
  const qk = g.reshape(g.node("MatMul", [q, wk]), [0, H, C]);
  const scores = g.node("MatMul", [qk, xt]);
  const a = g.node("Softmax", [scores], { axis: -1 }, "attention");
  const s = g.node("MatMul", [a, X], {}, "coefficients");

  // Values through s: o_h = W_V^h s_h + b_V^h, concat heads → [B,C], then c_proj.
  const wv = g.reshape(g.w(`${P}.v_proj.weight`), [H, D, C]);
  const s4 = g.node("Unsqueeze", [s, g.constI64("axes", [3])]);
  const o = g.node("Add", [g.reshape(g.node("MatMul", [wv, s4]), [0, C]), g.w(`${P}.v_proj.bias`)]);
  const wc = g.transpose(g.w(`${P}.c_proj.weight`, [cfg.embedDim, C]), [1, 0]);
  g.node("Add", [g.node("MatMul", [o, wc]), g.w(`${P}.c_proj.bias`)], {}, "embedding");
}

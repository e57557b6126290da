import * as ort from "onnxruntime-node";
import { ClipNadError } from "../errors";
import { ClipModel } from "../clip/types";
import { sessionOptions } from "../clip/session";
import { ImageSource } from "../data/images";
import { AttentionPoolWeights } from "../decompose/weights";
import { DataType, GraphBuilder } from "../onnx";
import { transpose } from "../util/rows";
import { topIndices } from "../util/topk";
import { ForwardOptions, forEachForward, imageItems } from "./sink";

/**
 * Register neurons of the attention sink (paper.md §A.13, find_registers.py --mode activations): for each neuron n,
 * zero Z[n, :] in every spatial token (so the mean token's entry too; the positional embedding stays) and record
 * the change in the pooled query's mean-over-heads attention to the last token. Neurons are ranked by the mean
 * absolute change over images.
 *
 * Derivation of the cheap update. Tokens x_i = z_i + p_i (i = 1..K), x_0 = z̄ + p_0; write z_0 := z̄. Zeroing neuron
 * n gives x_i' = x_i − z_{i,n} e_n for every i = 0..K, hence with u = W_Q[:, n], v = W_K[:, n] (rank-1 changes)
 *   q' = q − z̄_n u,   k_i' = k_i − z_{i,n} v.
 * Per head h (restrict q, k, u, v to the head's dh rows; logits carry the 1/√dh of the model):
 *   ℓ'_i = q'·k_i' / √dh = ℓ_i − z_{i,n} (q·v) / √dh − z̄_n (u·k_i) / √dh + z̄_n z_{i,n} (u·v) / √dh.
 * The key bias is dropped throughout: q·b_K and u·b_K are the same for every token and cancel in the softmax.
 * So per image, with k̃_i = W_K x_i (T×C) computed once:
 *   qk[h, n]    = Σ_{j∈h} q_j W_K[j, n] / √dh       (the "query in token space", ℓ_i = qk^h · x_i)     H×C
 *   P[h, i, n]  = Σ_{j∈h} k̃_{i,j} W_Q[j, n] / √dh                                                    H×T×C
 *   uv[h, n]    = Σ_{j∈h} W_Q[j, n] W_K[j, n] / √dh   (weights only)                                    H×C
 *   ℓ'[h, i, n] = ℓ[h, i] − z_{i,n} qk[h, n] − z̄_n P[h, i, n] + z̄_n z_{i,n} uv[h, n],
 * then a softmax over i for every (h, n) and the mean over h of the last token's share. The trunk runs once per
 * batch; the cost per image is two T×C×C GEMMs (k̃ and P) plus H·T·C exponentials, instead of C full attention-pool
 * recomputations (C·T·C² more). Both stages run in onnxruntime (float32).
 *
 * Memory: one batch of Z plus B·H·T·(K + dh) floats, and the per-block tensors B·H·T·nb with the neuron block nb
 * chosen so that B·H·T·nb ≤ BLOCK_ELEMENTS (16 MB per tensor).
 */

const BLOCK_ELEMENTS = 4 * 1024 * 1024;

/** Stage 1 (per batch): tokens, baseline logits ℓ, qk, k̃ per head, the baseline attention, z with the mean token. */
function prepareGraph(apw: AttentionPoolWeights, Wq: Float32Array, bq: Float32Array, Wk: Float32Array): Uint8Array {
  const { C, H, K, dh, pos } = apw;
  const T = K + 1;
  const g = new GraphBuilder("clip_nad_registers_prepare");
  const Z = g.input("Z", DataType.FLOAT, ["B", C, K]);
  const init = (name: string, dims: number[], data: Float32Array) => floatInitializer(g, name, dims, data);
  const posT = init("posT", [C, T], transpose(pos, T, C));
  const wqT = init("WqT", [C, C], transpose(Wq, C, C));
  const wkT = init("WkT", [C, C], transpose(Wk, C, C));
  const bQ = init("bq", [C], bq);
  const wkH = init("WkH", [H, dh, C], Wk);
  const mean = g.node("ReduceMean", [Z], { axes: [2], keepdims: 1 });
  const zt = g.node("Concat", [mean, Z], { axis: 2 }); // [B, C, T], token 0 = z̄
  g.node("Transpose", [zt], { perm: [0, 2, 1] }, "zTokens"); // [B, T, C]
  const xt = g.node("Add", [zt, posT]); // [B, C, T]
  const X = g.node("Transpose", [xt], { perm: [0, 2, 1] }); // [B, T, C]
  const x0 = g.node("Gather", [X, g.constI64("zero", [0], [])], { axis: 1 }); // [B, C]
  const q = g.node(
    "Mul",
    [g.node("Add", [g.node("MatMul", [x0, wqT]), bQ]), g.constF("scale", [], [1 / Math.sqrt(dh)])],
  );
  const q4 = g.node("Reshape", [q, g.constI64("qshape", [0, H, 1, dh])]);
  const qk = g.node("MatMul", [q4, wkH], {}, "qk"); // [B, H, 1, C]
  const qk3 = g.node("Reshape", [qk, g.constI64("qk3", [0, H, C])]);
  const logits = g.node("MatMul", [qk3, xt], {}, "logits"); // [B, H, T]
  const a = g.node("Softmax", [logits], { axis: -1 }, "attention");
  const last = g.node("Gather", [a, g.constI64("last", [T - 1], [])], { axis: 2 }); // [B, H]
  g.node("ReduceMean", [last], { axes: [1], keepdims: 0 }, "baseline"); // [B]
  const kx = g.node("MatMul", [X, wkT]); // [B, T, C]: k̃ = W_K x (no bias)
  const k4 = g.node("Reshape", [kx, g.constI64("kshape", [0, T, H, dh])]);
  g.node("Transpose", [k4], { perm: [0, 2, 1, 3] }, "keys"); // [B, H, T, dh]
  for (const o of ["zTokens", "qk", "logits", "attention", "baseline", "keys"]) g.output(o);
  return g.toBytes();
}

/** Stage 2 (per batch, neuron block [start, end)): the last token's mean-over-heads attention, each neuron zeroed. */
function blockGraph(apw: AttentionPoolWeights, Wq: Float32Array, Wk: Float32Array): Uint8Array {
  const { C, H, K, dh } = apw;
  const T = K + 1;
  const g = new GraphBuilder("clip_nad_registers_block");
  const logits = g.input("logits", DataType.FLOAT, ["B", H, T]);
  const qk = g.input("qk", DataType.FLOAT, ["B", H, 1, C]);
  const keys = g.input("keys", DataType.FLOAT, ["B", H, T, dh]);
  const zTokens = g.input("zTokens", DataType.FLOAT, ["B", T, C]);
  const start = g.input("start", DataType.INT64, [1]);
  const end = g.input("end", DataType.INT64, [1]);
  const scale = 1 / Math.sqrt(dh);
  const wqH = Float32Array.from(Wq, (v) => v * scale); // [H, dh, C]: row h·dh + j of W_Q
  const uv = new Float32Array(H * C);
  for (let h = 0; h < H; h++) {
    for (let j = 0; j < dh; j++) {
      const row = (h * dh + j) * C;
      for (let n = 0; n < C; n++) uv[h * C + n] += Wq[row + n] * Wk[row + n] * scale;
    }
  }
  const init = (name: string, dims: number[], data: Float32Array) => floatInitializer(g, name, dims, data);
  const wq = init("WqH", [H, dh, C], wqH);
  const uvT = init("uv", [1, H, 1, C], uv);
  const slice = (x: string, axis: number) => g.node("Slice", [x, start, end, g.constI64("axis", [axis])]);
  const qkb = slice(qk, 3); // [B, H, 1, nb]
  const zb = g.node("Unsqueeze", [slice(zTokens, 2), g.constI64("ax1", [1])]); // [B, 1, T, nb]
  const zbar = g.node("Gather", [zb, g.constI64("zero", [0], [])], { axis: 2 }); // [B, 1, nb]
  const zbar4 = g.node("Unsqueeze", [zbar, g.constI64("ax2", [2])]); // [B, 1, 1, nb]
  const P = g.node("MatMul", [keys, slice(wq, 2)]); // [B, H, T, nb]
  const l4 = g.node("Unsqueeze", [logits, g.constI64("ax3", [3])]); // [B, H, T, 1]
  const t1 = g.node("Mul", [zb, qkb]);
  const t2 = g.node("Mul", [zbar4, P]);
  const t3 = g.node("Mul", [g.node("Mul", [zbar4, zb]), slice(uvT, 3)]);
  const edited = g.node("Add", [g.node("Sub", [g.node("Sub", [l4, t1]), t2]), t3]);
  const a = g.node("Softmax", [edited], { axis: 2 });
  const last = g.node("Gather", [a, g.constI64("last", [T - 1], [])], { axis: 2 }); // [B, H, nb]
  g.node("ReduceMean", [last], { axes: [1], keepdims: 0 }, "zeroed"); // [B, nb]
  g.output("zeroed");
  return g.toBytes();
}

function floatInitializer(g: GraphBuilder, name: string, dims: number[], data: Float32Array): string {
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return g.initializer(name, { dims, dataType: DataType.FLOAT, raw });
}

export interface RegisterAttention {
  /** Mean over heads of the pooled query's attention to the last token, per image (B). */
  baseline: Float32Array;
  /** The same with neuron n zeroed in every token, B×C. */
  zeroed: Float32Array;
  /** The pooled query's attention as the stage-1 graph computes it (B×H×(K+1)), for checks against the model. */
  attention: Float32Array;
}

/** The two onnxruntime sessions of the register search for one attention pool (needs its q/k projections). */
export class RegisterScorer {
  private constructor(
    readonly apw: AttentionPoolWeights,
    private readonly prepare: ort.InferenceSession,
    private readonly block: ort.InferenceSession,
    private readonly blockElements: number,
  ) {}

  /** `blockElements` bounds B·H·T·nb, the size of one per-block tensor (default 4 Mi floats). */
  static async create(
    apw: AttentionPoolWeights,
    opts: { threads?: number; blockElements?: number } = {},
  ): Promise<RegisterScorer> {
    const q = apw.query;
    if (!q) {
      throw new ClipNadError("the attention pool has no query/key projections "
        + "(load the model's checkpoint, not a collection's saved weights)");
    }
    const so = sessionOptions(opts.threads);
    const prepare = await ort.InferenceSession.create(prepareGraph(apw, q.Wq, q.bq, q.Wk), so);
    try {
      const block = await ort.InferenceSession.create(blockGraph(apw, q.Wq, q.Wk), so);
      return new RegisterScorer(apw, prepare, block, opts.blockElements ?? BLOCK_ELEMENTS);
    } catch (e) {
      await prepare.release();
      throw e;
    }
  }

  /**
   * Attention to the last token, mean over heads, before and with each neuron zeroed, for B images (Z: B×C×K).
   * `neurons: false` runs only the first stage (baseline and attention; `zeroed` is left empty).
   */
  async attention(Z: Float32Array, B: number, opts: { neurons?: boolean } = {}): Promise<RegisterAttention> {
    const { C, H, K } = this.apw;
    if (!(Number.isInteger(B) && B >= 1) || Z.length !== B * C * K) {
      throw new ClipNadError(`features Z must be B×C×K = ${B}×${C}×${K}, got ${Z.length} values`);
    }
    const prep = await this.prepare.run({ Z: new ort.Tensor("float32", Z, [B, C, K]) });
    const zeroed = new Float32Array(opts.neurons === false ? 0 : B * C);
    const nb = Math.max(1, Math.min(C, Math.floor(this.blockElements / (B * H * (K + 1)))));
    for (let n0 = 0; n0 < C && opts.neurons !== false; n0 += nb) {
      const n1 = Math.min(C, n0 + nb);
      const out = await this.block.run({
        logits: prep.logits, qk: prep.qk, keys: prep.keys, zTokens: prep.zTokens,
        start: new ort.Tensor("int64", BigInt64Array.from([BigInt(n0)]), [1]),
        end: new ort.Tensor("int64", BigInt64Array.from([BigInt(n1)]), [1]),
      });
      const z = out.zeroed.data as Float32Array;
      const w = n1 - n0;
      for (let b = 0; b < B; b++) zeroed.set(z.subarray(b * w, (b + 1) * w), b * C + n0);
    }
    return {
      baseline: Float32Array.from(prep.baseline.data as Float32Array),
      zeroed,
      attention: Float32Array.from(prep.attention.data as Float32Array),
    };
  }

  async release(): Promise<void> {
    await this.prepare.release();
    await this.block.release();
  }
}

/** Accumulates per-neuron changes over images: mean |Δ| (the ranking score) and mean Δ. Δ = baseline − zeroed. */
export class RegisterDrops {
  private readonly abs: Float64Array;
  private readonly signed: Float64Array;
  private baseSum = 0;
  images = 0;

  constructor(readonly C: number) {
    this.abs = new Float64Array(C);
    this.signed = new Float64Array(C);
  }

  add(r: RegisterAttention): void {
    const B = r.baseline.length;
    if (r.zeroed.length !== B * this.C) {
      throw new ClipNadError(`register attention: ${r.zeroed.length} values for ${B} images × C = ${this.C}`);
    }
    for (let b = 0; b < B; b++) {
      const base = r.baseline[b];
      this.baseSum += base;
      for (let n = 0; n < this.C; n++) {
        const delta = base - r.zeroed[b * this.C + n];
        this.abs[n] += Math.abs(delta);
        this.signed[n] += delta;
      }
    }
    this.images += B;
  }

  result(): { drop: number[]; signedDrop: number[]; baseline: number; ranking: number[] } {
    if (this.images === 0) throw new ClipNadError("no images were scored");
    const drop = Array.from(this.abs, (v) => v / this.images);
    return {
      drop,
      signedDrop: Array.from(this.signed, (v) => v / this.images),
      baseline: this.baseSum / this.images,
      ranking: topIndices(drop, this.C),
    };
  }
}

export interface RegisterInputs extends ForwardOptions {
  model: ClipModel;
  images: ImageSource;
  threads?: number;
}

export interface RegisterReport {
  analysis: "registers";
  model: { name: string; hash: string };
  images: number;
  skipped: number;
  /** Per neuron: mean over images of |Δ|, Δ = the drop of the mean-over-heads attention to the last token (C). */
  drop: number[];
  /** Per neuron: mean over images of Δ (positive: zeroing the neuron lowers the sink's attention). */
  signedDrop: number[];
  /** Mean-over-heads attention to the last token of the unmodified model, mean over images. */
  baseline: number;
  /** Neurons by `drop`, largest first (ties: lower index first). */
  ranking: number[];
}

/** The register search over images: the trunk once per batch, then only the attention pool per neuron block. */
export async function findRegisters(inp: RegisterInputs): Promise<RegisterReport> {
  const { model } = inp;
  const scorer = await RegisterScorer.create(model.attentionPool, { threads: inp.threads });
  const acc = new RegisterDrops(model.attentionPool.C);
  try {
    const run = await forEachForward(model, imageItems(inp.images), inp, async (fwd, batch) => {
      acc.add(await scorer.attention(fwd.features, batch.length));
    });
    return {
      analysis: "registers",
      model: { name: model.name, hash: model.hash },
      images: run.images,
      skipped: run.skipped.length,
      ...acc.result(),
    };
  } finally {
    await scorer.release();
  }
}

/**
 * The per-crop dense maps of the segmentation methods as onnxruntime graphs (batched float32 GEMMs; in JS loops
 * the C×C value projection of every token alone is ~1.4 GFLOP per RN50x16 crop). Inputs are the image graph's
 * outputs for B crops: Z (B×C×K, post-ReLU features) and a (B×H×(K+1), pooled-query attention); class rows
 * T (P×d, centred and normalised) are fed as Tt (d×P). Tokens x_i = z_i + p_i with z_0 = mean of z (CLIP's pool).
 *
 *   headSimilarities  L[b,h,i,p] = cos(r_i^h, t_p),  r_i^h = a_i^h W_O^h (W_V^h x_i + b_V^h) + b_O/((K+1)H)
 *                     (src/decompose headTokenContributions), spatial tokens only: B×H×K×P; through W_O^hᵀ t_p and
 *                     the head Gram W_O^hᵀ W_O^h, so r itself (H×(K+1)×d) is never formed
 *   selectedActivations  G[b,q,i] = Σ_n M[q,n] Z[b,n,i] for a 0/1 selection matrix M (Q×C): B×Q×K
 *   valueTokens       MaskCLIP: cos(W_O(W_V z_i + b_V) + b_O, t_p) (with `pos`, x_i = z_i + p_i): B×K×P
 *   selfSelfTokens    per head A = softmax(QQᵀ/√dh) + softmax(KKᵀ/√dh) over the K+1 tokens (biases and the
 *                     positional embedding in Q, K, V), o = Σ_h W_O^h A V^h + b_O; cos(o_i, t_p): B×K×P
 * Memory: the weights (3·C² + C·d floats for self-self) plus B·H·(K+1)·d floats of activations.
 */
import * as ort from "onnxruntime-node";
import { ClipNadError } from "../../errors";
import { DataType, GraphBuilder } from "../../onnx";
import { sessionOptions } from "../../clip/session";
import { AttentionPoolWeights } from "../../decompose/weights";
import { headGram } from "../../decompose/directions";
import { transpose } from "../../util/rows";

export type SegmentationGraph =
  "headSimilarities" | "selectedActivations" | "valueTokens" | "valueTokensPos" | "selfSelfTokens";

/** Row-major transpose of an r×c matrix. */
/** x / max(|x|, 1e-12) along the last axis (torch F.normalize). */
function normalizeLast(g: GraphBuilder, x: string): string {
  const sq = g.node("ReduceSumSquare", [x], { axes: [-1], keepdims: 1 });
  const norm = g.node("Max", [g.node("Sqrt", [sq]), g.constF("eps", [1], [1e-12])]);
  return g.node("Div", [x, norm]);
}

/** Z (B×C×K) → pool tokens B×(K+1)×C: [mean; z_1..z_K] + positional embedding. */
function poolTokens(g: GraphBuilder, apw: AttentionPoolWeights, Z: string): string {
  const Zt = g.node("Transpose", [Z], { perm: [0, 2, 1] }); // B×K×C
  const mean = g.node("ReduceMean", [Zt], { axes: [1], keepdims: 1 }); // B×1×C
  const X = g.node("Concat", [mean, Zt], { axis: 1 });
  return g.node("Add", [X, g.constF("pos", [apw.K + 1, apw.C], apw.pos)]);
}

/** x W^T + b for a PyTorch Linear (W out×in, row-major). */
function linear(
  g: GraphBuilder,
  x: string,
  W: Float32Array,
  b: Float32Array,
  outDim: number,
  inDim: number,
  stem: string,
): string {
  const y = g.node("MatMul", [x, g.constF(`${stem}_WT`, [inDim, outDim], transpose(W, outDim, inDim))]);
  return g.node("Add", [y, g.constF(`${stem}_b`, [outDim], b)]);
}

/** B×N×C → B×H×N×dh (heads split from the channel axis). */
function splitHeads(g: GraphBuilder, x: string, H: number, dh: number): string {
  const r = g.node("Reshape", [x, g.constI64("shape", [0, 0, H, dh])]);
  return g.node("Transpose", [r], { perm: [0, 2, 1, 3] });
}

/** Tokens 1..K of a B×(K+1)×… tensor along `axis`. */
function spatial(g: GraphBuilder, x: string, K: number, axis: number): string {
  return g.node("Slice", [x, g.constI64("start", [1]), g.constI64("end", [K + 1]), g.constI64("axis", [axis])]);
}

/** The bias share c = b_O/((K+1)H) of every head×token contribution, W_O^hᵀ c (H×dh) and |c|². */
function biasShare(apw: AttentionPoolWeights): { c: Float64Array; wc: Float32Array; c2: number } {
  const { C, H, K, d, dh, Wo, bo } = apw;
  const c = new Float64Array(d);
  let c2 = 0;
  for (let j = 0; j < d; j++) {
    c[j] = bo[j] / ((K + 1) * H);
    c2 += c[j] * c[j];
  }
  const wc = new Float32Array(H * dh);
  for (let m = 0; m < H * dh; m++) {
    let acc = 0;
    for (let j = 0; j < d; j++) acc += Wo[j * C + m] * c[j];
    wc[m] = acc;
  }
  return { c, wc, c2 };
}

/** The class-side inputs of headSimilarities: Uh = W_O^hᵀ t_p (H×dh×P) and ct = c·t_p (P), for P unit rows T. */
export function headTextProjections(
  apw: AttentionPoolWeights,
  T: Float32Array,
): { Uh: Float32Array; ct: Float32Array; P: number } {
  const { C, H, d, dh, Wo } = apw;
  const P = T.length / d;
  const { c } = biasShare(apw);
  const Uh = new Float32Array(H * dh * P);
  const ct = new Float32Array(P);
  for (let p = 0; p < P; p++) {
    let acc = 0;
    for (let j = 0; j < d; j++) acc += c[j] * T[p * d + j];
    ct[p] = acc;
  }
  const col = new Float64Array(C);
  for (let p = 0; p < P; p++) {
    col.fill(0);
    for (let j = 0; j < d; j++) {
      const t = T[p * d + j];
      for (let m = 0; m < C; m++) col[m] += Wo[j * C + m] * t;
    }
    for (let m = 0; m < C; m++) Uh[m * P + p] = col[m];
  }
  return { Uh, ct, P };
}

function build(kind: SegmentationGraph, apw: AttentionPoolWeights): Uint8Array {
  const { C, H, K, d, dh } = apw;
  const g = new GraphBuilder(`clip_nad_segmentation_${kind}`);
  const Z = g.input("Z", DataType.FLOAT, ["B", C, K]);
  if (kind === "selectedActivations") {
    const M = g.input("M", DataType.FLOAT, ["Q", C]);
    g.node("MatMul", [M, Z], {}, "out"); // B×Q×K
    g.output("out");
    return g.toBytes();
  }
  if (kind === "headSimilarities") {
    // cos(r_i^h, t_p) without forming r (H×(K+1)×d): with v = (W_V x_i + b_V)^h and c = b_O/((K+1)H),
    //   r·t = a v·(W_O^hᵀ t) + c·t,   |r|² = a² vᵀ(W_O^hᵀ W_O^h)v + 2a v·(W_O^hᵀ c) + |c|²
    // (Uh = W_O^hᵀ t_p and ct = c·t_p are fed per class set: headTextProjections).
    const a = g.input("a", DataType.FLOAT, ["B", H, K + 1]);
    const Uh = g.input("Uh", DataType.FLOAT, [H, dh, "P"]);
    const ct = g.input("ct", DataType.FLOAT, ["P"]);
    const V = splitHeads(g, linear(g, poolTokens(g, apw, Z), apw.Wv, apw.bv, C, C, "v"), H, dh); // B×H×(K+1)×dh
    const Vs = spatial(g, V, K, 2); // B×H×K×dh
    const as = g.node("Unsqueeze", [spatial(g, a, K, 2), g.constI64("axes", [3])]); // B×H×K×1
    const num = g.node("Add", [g.node("Mul", [g.node("MatMul", [Vs, Uh]), as]), ct]); // B×H×K×P
    const gram = headGram(apw);
    const G = g.constF("head_gram", [H, dh, dh], Float32Array.from(gram.data));
    const q = g.node("ReduceSum", [g.node("Mul", [g.node("MatMul", [Vs, G]), Vs]), g.constI64("axes", [3])], {
      keepdims: 1,
    }); // B×H×K×1
    const { wc, c2 } = biasShare(apw);
    const lin = g.node("MatMul", [Vs, g.constF("Wo_c", [H, dh, 1], wc)]); // B×H×K×1
    const two = g.constF("two", [1], [2]);
    const n2 = g.node("Add", [
      g.node("Add", [g.node("Mul", [g.node("Mul", [as, as]), q]), g.node("Mul", [g.node("Mul", [as, lin]), two])]),
      g.constF("c2", [1], [c2]),
    ]);
    const norm = g.node("Sqrt", [g.node("Max", [n2, g.constF("eps2", [1], [1e-24])])]);
    g.node("Div", [num, norm], {}, "out");
    g.output("out");
    return g.toBytes();
  }
  const Tt = g.input("Tt", DataType.FLOAT, [d, "P"]);
  if (kind === "valueTokens" || kind === "valueTokensPos") {
    let X = g.node("Transpose", [Z], { perm: [0, 2, 1] }); // B×K×C
    if (kind === "valueTokensPos") X = g.node("Add", [X, g.constF("pos", [K, C], apw.pos.subarray(C))]);
    const V = linear(g, X, apw.Wv, apw.bv, C, C, "v");
    const F = linear(g, V, apw.Wo, apw.bo, d, C, "o"); // B×K×d
    g.node("MatMul", [normalizeLast(g, F), Tt], {}, "out");
  } else {
    const q = apw.query;
    if (!q)
      throw new ClipNadError(
        "self-self attention needs the attention pool's q/k projections (a loaded model has them)",
      );
    const X = poolTokens(g, apw, Z);
    const Q = splitHeads(g, linear(g, X, q.Wq, q.bq, C, C, "q"), H, dh);
    const Kk = splitHeads(g, linear(g, X, q.Wk, q.bk, C, C, "k"), H, dh);
    const V = splitHeads(g, linear(g, X, apw.Wv, apw.bv, C, C, "v"), H, dh);
    const scale = g.constF("scale", [1], [1 / Math.sqrt(dh)]);
    const self = (m: string) =>
      g.node(
        "Softmax",
        [g.node("Mul", [g.node("MatMul", [m, g.node("Transpose", [m], { perm: [0, 1, 3, 2] })]), scale])],
        { axis: -1 },
      );
    const A = g.node("Add", [self(Q), self(Kk)]); // B×H×N×N, rows sum to 2
    const O = g.node("Transpose", [g.node("MatMul", [A, V])], { perm: [0, 2, 1, 3] }); // B×N×H×dh
    const merged = g.node("Reshape", [O, g.constI64("shape", [0, 0, C])]);
    const out = linear(g, merged, apw.Wo, apw.bo, d, C, "o"); // B×N×d
    g.node("MatMul", [normalizeLast(g, spatial(g, out, K, 1)), Tt], {}, "out");
  }
  g.output("out");
  return g.toBytes();
}

const sessions = new WeakMap<AttentionPoolWeights, Map<SegmentationGraph, Promise<ort.InferenceSession>>>();

/** The session of one graph for these weights (built once per process and weights). */
export function segmentationSession(kind: SegmentationGraph, apw: AttentionPoolWeights): Promise<ort.InferenceSession> {
  let byKind = sessions.get(apw);
  if (!byKind) sessions.set(apw, (byKind = new Map()));
  let s = byKind.get(kind);
  if (!s) {
    s = ort.InferenceSession.create(build(kind, apw), sessionOptions());
    s.catch(() => byKind!.delete(kind));
    byKind.set(kind, s);
  }
  return s;
}

/** Release the sessions built for these weights (they are rebuilt on the next use). */
export async function releaseSegmentationSessions(apw: AttentionPoolWeights): Promise<void> {
  const byKind = sessions.get(apw);
  sessions.delete(apw);
  for (const s of byKind?.values() ?? []) await (await s.catch(() => undefined))?.release();
}

/** Run one graph on B crops; returns its single output. */
export async function runSegmentationGraph(
  kind: SegmentationGraph,
  apw: AttentionPoolWeights,
  B: number,
  feeds: {
    Z: Float32Array;
    a?: Float32Array;
    Tt?: Float32Array;
    P?: number;
    M?: Float32Array;
    Q?: number;
    heads?: { Uh: Float32Array; ct: Float32Array; P: number };
  },
): Promise<Float32Array> {
  const { C, H, K, d } = apw;
  if (feeds.Z.length !== B * C * K)
    throw new ClipNadError(`features Z have ${feeds.Z.length} values, expected B×C×K = ${B}×${C}×${K}`);
  const t: Record<string, ort.Tensor> = { Z: new ort.Tensor("float32", feeds.Z, [B, C, K]) };
  if (kind === "selectedActivations") {
    t.M = new ort.Tensor("float32", feeds.M!, [feeds.Q!, C]);
  } else if (kind === "headSimilarities") {
    if (!feeds.a || feeds.a.length !== B * H * (K + 1))
      throw new ClipNadError(`attention a has ${feeds.a?.length} values, expected B×H×(K+1)`);
    const { Uh, ct, P } = feeds.heads!;
    t.a = new ort.Tensor("float32", feeds.a, [B, H, K + 1]);
    t.Uh = new ort.Tensor("float32", Uh, [H, apw.dh, P]);
    t.ct = new ort.Tensor("float32", ct, [P]);
  } else {
    t.Tt = new ort.Tensor("float32", feeds.Tt!, [d, feeds.P!]);
  }
  const session = await segmentationSession(kind, apw);
  const out = await session.run(t);
  return new Float32Array(out.out.data as Float32Array);
}

/**
 * Test-only reference: a straightforward attention-pool forward (paper.md §A.2) on small random weights,
 * written independently of src/decompose so the identities are checked against first principles.
 */
import { ClipConfig } from "../src/clip/config";
import { StateDict, Tensor } from "../src/weights/types";
import { mulberry32 as rng } from "../src/toyworld/random";

export { mulberry32 as rng } from "../src/toyworld/random";

export function gaussian(r: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

export interface RefPool {
  C: number;
  H: number;
  d: number;
  K: number;
  Wq: Float32Array; bq: Float32Array;
  Wk: Float32Array; bk: Float32Array;
  Wv: Float32Array; bv: Float32Array;
  Wo: Float32Array; bo: Float32Array;
  pos: Float32Array;
}

export function randomPool(seed: number, C = 64, H = 4, d = 16, K = 9): RefPool {
  const g = gaussian(rng(seed));
  const mk = (n: number, scale: number) => Float32Array.from({ length: n }, () => g() * scale);
  return {
    C, H, d, K,
    Wq: mk(C * C, 1 / Math.sqrt(C)), bq: mk(C, 0.1),
    Wk: mk(C * C, 1 / Math.sqrt(C)), bk: mk(C, 0.1),
    Wv: mk(C * C, 1 / Math.sqrt(C)), bv: mk(C, 0.3),
    Wo: mk(d * C, 1 / Math.sqrt(C)), bo: mk(d, 0.3),
    pos: mk((K + 1) * C, 0.3),
  };
}

const t = (shape: number[], data: Float32Array): Tensor => ({ shape, data, storedDtype: "float32" });

export function poolStateDict(p: RefPool): StateDict {
  const sd: StateDict = new Map();
  const P = "visual.attnpool.";
  sd.set(P + "q_proj.weight", t([p.C, p.C], p.Wq));
  sd.set(P + "q_proj.bias", t([p.C], p.bq));
  sd.set(P + "k_proj.weight", t([p.C, p.C], p.Wk));
  sd.set(P + "k_proj.bias", t([p.C], p.bk));
  sd.set(P + "v_proj.weight", t([p.C, p.C], p.Wv));
  sd.set(P + "v_proj.bias", t([p.C], p.bv));
  sd.set(P + "c_proj.weight", t([p.d, p.C], p.Wo));
  sd.set(P + "c_proj.bias", t([p.d], p.bo));
  sd.set(P + "positional_embedding", t([p.K + 1, p.C], p.pos));
  return sd;
}

export function poolConfig(p: RefPool): ClipConfig {
  const grid = Math.round(Math.sqrt(p.K));
  return {
    visionLayers: [1, 1, 1, 1], visionWidth: p.C / 32, visionHeads: p.H, imageResolution: grid * 32, grid,
    embedDim: p.d, contextLength: 77, vocabSize: 100, transformerWidth: 64, transformerHeads: 1, transformerLayers: 1,
  };
}

export interface RefForward {
  embedding: Float32Array; // d
  a: Float32Array; // H×(K+1)
  s: Float32Array; // H×C
  Z: Float32Array; // C×K
}

/** Random post-ReLU-like features (C×K): non-negative, some exact zeros, image-dependent scale. */
export function randomFeatures(p: RefPool, seed: number): Float32Array {
  const g = gaussian(rng(seed));
  const scale = 0.5 + rng(seed + 7)();
  return Float32Array.from({ length: p.C * p.K }, () => Math.max(0, g() * scale + 0.2));
}

export function referenceForward(p: RefPool, Z: Float32Array): RefForward {
  const { C, H, d, K } = p;
  const dh = C / H;
  const T = K + 1;
  const x: number[][] = [];
  const z0 = new Array(C).fill(0);
  for (let n = 0; n < C; n++) for (let i = 0; i < K; i++) z0[n] += Z[n * K + i] / K;
  for (let i = 0; i < T; i++) x.push(Array.from({ length: C }, (_, n) => (i === 0 ? z0[n] : Z[n * K + i - 1]) + p.pos[i * C + n]));
  const lin = (W: Float32Array, b: Float32Array, v: number[], out: number) =>
    Array.from({ length: out }, (_, m) => v.reduce((acc, vn, n) => acc + W[m * v.length + n] * vn, b[m]));
  const q = lin(p.Wq, p.bq, x[0], C);
  const k = x.map((xi) => lin(p.Wk, p.bk, xi, C));
  const v = x.map((xi) => lin(p.Wv, p.bv, xi, C));
  const a = new Float32Array(H * T);
  const s = new Float32Array(H * C);
  const heads = new Array(C).fill(0);
  for (let h = 0; h < H; h++) {
    const logits = k.map((ki) => {
      let acc = 0;
      for (let j = 0; j < dh; j++) acc += q[h * dh + j] * ki[h * dh + j];
      return acc / Math.sqrt(dh);
    });
    const mx = Math.max(...logits);
    const e = logits.map((l) => Math.exp(l - mx));
    const sum = e.reduce((u, b) => u + b, 0);
    const ah = e.map((u) => u / sum);
    for (let i = 0; i < T; i++) {
      a[h * T + i] = ah[i];
      for (let j = 0; j < dh; j++) heads[h * dh + j] += ah[i] * v[i][h * dh + j];
    }
    for (let n = 0; n < C; n++) {
      let acc = 0;
      for (let i = 0; i < T; i++) acc += ah[i] * x[i][n];
      s[h * C + n] = acc;
    }
  }
  const embedding = Float32Array.from(lin(p.Wo, p.bo, heads, d));
  return { embedding, a, s, Z };
}

export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  if (got.length !== want.length) return Infinity;
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

/**
 * Weight-only tables of the decomposition in plain float64 loops (the independent reference for the onnxruntime
 * float32 tables of src/decompose/tables.ts). Layouts as PyTorch stores them: Wv is C×C (out × in), Wo is d×C.
 */
export interface RefWeights {
  C: number;
  H: number;
  d: number;
  Wv: ArrayLike<number>;
  Wo: ArrayLike<number>;
}

/** w^{n,h} = W_O^h W_V^h[:, n] as H×C×d: w[(h·C + n)·d + j], accumulated in float64. */
export function pairDirections(p: RefWeights): Float32Array {
  const { C, H, d, Wv, Wo } = p;
  const dh = C / H;
  const w = new Float32Array(H * C * d);
  for (let h = 0; h < H; h++) {
    for (let n = 0; n < C; n++) {
      for (let j = 0; j < d; j++) {
        let acc = 0;
        for (let k = 0; k < dh; k++) acc += Wo[j * C + h * dh + k] * Wv[(h * dh + k) * C + n];
        w[(h * C + n) * d + j] = acc;
      }
    }
  }
  return w;
}

/** |w^{n,h}| as H×C. */
export function pairDirectionNorms(w: ArrayLike<number>, H: number, C: number, d: number): Float32Array {
  const out = new Float32Array(H * C);
  for (let p = 0; p < H * C; p++) {
    let acc = 0;
    for (let j = 0; j < d; j++) acc += w[p * d + j] ** 2;
    out[p] = Math.sqrt(acc);
  }
  return out;
}

export interface RefGram {
  H: number;
  C: number;
  data: Float64Array;
}

/** Per-neuron Gram G^n[h][h'] = w^{n,h}·w^{n,h'} (C×H×H, float64), shaped like src's NeuronGram. */
export function neuronGram(w: ArrayLike<number>, H: number, C: number, d: number): RefGram {
  const data = new Float64Array(C * H * H);
  for (let n = 0; n < C; n++) {
    for (let h = 0; h < H; h++) {
      for (let h2 = 0; h2 < H; h2++) {
        let acc = 0;
        for (let j = 0; j < d; j++) acc += w[(h * C + n) * d + j] * w[(h2 * C + n) * d + j];
        data[(n * H + h) * H + h2] = acc;
      }
    }
  }
  return { H, C, data };
}

/** H, C, d from s (H×C), w (H×C×d) and c (H×d). */
function dims(s: ArrayLike<number>, w: ArrayLike<number>, c: ArrayLike<number>): { H: number; C: number; d: number } {
  const d = w.length / s.length;
  const H = c.length / d;
  return { H, C: s.length / H, d };
}

type Arr = ArrayLike<number>;

/**
 * Per-image contributions from s (H×C), w (H×C×d) and c (H×d), straight from their definitions (paper.md §A.3):
 * r^{n,h} = s^{n,h} w^{n,h} + c^h, r^n = Σ_h r^{n,h}, r^h = Σ_n r^{n,h}. Float64 sums, any w (not just the model's).
 */
export function pairContribution(s: Arr, w: Arr, c: Arr, h: number, n: number): Float64Array {
  const { C, d } = dims(s, w, c);
  const out = new Float64Array(d);
  for (let j = 0; j < d; j++) out[j] = s[h * C + n] * w[(h * C + n) * d + j] + c[h * d + j];
  return out;
}

export function neuronContribution(s: Arr, w: Arr, c: Arr, n: number): Float64Array {
  const { H, d } = dims(s, w, c);
  const out = new Float64Array(d);
  for (let h = 0; h < H; h++) {
    const r = pairContribution(s, w, c, h, n);
    for (let j = 0; j < d; j++) out[j] += r[j];
  }
  return out;
}

export function headContribution(s: Arr, w: Arr, c: Arr, h: number): Float64Array {
  const { C, d } = dims(s, w, c);
  const out = new Float64Array(d);
  for (let n = 0; n < C; n++) {
    const r = pairContribution(s, w, c, h, n);
    for (let j = 0; j < d; j++) out[j] += r[j];
  }
  return out;
}

#!/usr/bin/python3
"""Writes notebooks/sanity.ipynb (exactness of the decomposition + rank-1 pairs on the toy model). Thin: the
notebook only calls src/decompose and src/analysis. Run: /usr/bin/python3 tools/notebooks/make_sanity.py"""
import os
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "notebooks", "sanity.ipynb")
import json
def md(src): return {"cell_type":"markdown","id":None,"metadata":{},"source":src.strip("\n").splitlines(True)}
def code(src): return {"cell_type":"code","execution_count":None,"id":None,"metadata":{},"outputs":[],"source":src.strip("\n").splitlines(True)}
cells=[
md(r"""
# Sanity — the decomposition is exact, and every neuron-head pair is rank-1

Two facts the whole paper stands on (paper.md §A.3, §D), checked on real images with the embedded **toy** model:

1. **Exactness.** With the bias splits of §A.3, the pair contributions $r^{n,h}(I)=s^{n,h}(I)\,w^{n,h}+c^{n,h}$ sum to the
   image embedding $M(I)$, and so do the coarser units: heads $r^h$, neurons $r^n$ and head×token $r_i^h$.
2. **Rank one.** A pair's centred contribution is $(s-\bar s)\,w^{n,h}$, so the paper's empirical first principal
   component (mean-centre, top-50 by norm, SVD, majority sign) must be $\pm w^{n,h}/\lVert w^{n,h}\rVert$.

Every number below is computed by the library (`src/decompose`, `src/analysis`); the notebook only arranges it.
Cells run from the repository root.
"""),
code(r"""
import { loadModel } from "./src/clip/model";
import { preprocessRGB } from "./src/clip/preprocess";
import { generateScene } from "./src/toyworld";
import { attentionPoolWeights, headContribution, headTokenContributions, neuronContribution, pairContribution, prepareDecomposition } from "./src/decompose";
import { coefficientRows, empiricalPairPCs, pairPCA } from "./src/analysis";
import { showTable } from "./kernel-ext/display";

const model = await loadModel("toy");
const cfg = model.config;
const N_IMAGES = 64;
const R = cfg.imageResolution;
const pixels = new Float32Array(N_IMAGES * 3 * R * R);
for (let i = 0; i < N_IMAGES; i++) {
  const scene = generateScene(11, i, { size: R });
  pixels.set(preprocessRGB({ width: scene.width, height: scene.height, data: scene.rgb }, R), i * 3 * R * R);
}
const fwd = await model.encodeImagePixels(pixels, N_IMAGES);
const dec = prepareDecomposition(attentionPoolWeights(model.weights, cfg, model.path));
const { C, H, d, K } = dec.apw;
console.log(`toy model: C = ${C} neurons × H = ${H} heads = ${C * H} pairs, d = ${d}, K + 1 = ${K + 1} tokens; ${N_IMAGES} toy-world scenes`);
"""),
md(r"""
## 1. Exactness

Relative error $\max_j |\hat M_j - M_j| / \max_j |M_j|$ of each sum against the embedding the ONNX graph returned.
"""),
code(r"""
function relativeError(sum: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let j = 0; j < ref.length; j++) { num = Math.max(num, Math.abs(sum[j] - ref[j])); den = Math.max(den, Math.abs(ref[j])); }
  return num / den;
}
function addInto(acc: Float64Array, v: ArrayLike<number>, offset = 0): void {
  for (let j = 0; j < acc.length; j++) acc[j] += v[offset + j];
}

const exactness: (string | number)[][] = [];
for (let b = 0; b < 4; b++) {
  const s = fwd.coefficients.subarray(b * H * C, (b + 1) * H * C);
  const a = fwd.attention.subarray(b * H * (K + 1), (b + 1) * H * (K + 1));
  const Z = fwd.features.subarray(b * C * K, (b + 1) * C * K);
  const M = fwd.embedding.subarray(b * d, (b + 1) * d);
  const byPair = new Float64Array(d), byHead = new Float64Array(d), byNeuron = new Float64Array(d), byHeadToken = new Float64Array(d);
  for (let h = 0; h < H; h++) {
    addInto(byHead, headContribution(s, dec.w, dec.c, h));
    for (let n = 0; n < C; n++) addInto(byPair, pairContribution(s, dec.w, dec.c, h, n));
  }
  for (let n = 0; n < C; n++) addInto(byNeuron, neuronContribution(s, dec.w, dec.c, n));
  const tokens = headTokenContributions(dec.apw, a, Z); // H×(K+1)×d
  for (let t = 0; t < H * (K + 1); t++) addInto(byHeadToken, tokens, t * d);
  exactness.push([`scene ${b}`, ...[byPair, byHead, byNeuron, byHeadToken].map((x) => relativeError(x, M).toExponential(1))]);
}
showTable(exactness, ["image", "Σ_{n,h} r^{n,h}", "Σ_h r^h", "Σ_n r^n", "Σ_{h,i} r_i^h"]);
const worst = Math.max(...exactness.flatMap((row) => row.slice(1).map(Number)));
if (!(worst <= 1e-5)) throw new Error(`the decomposition is not exact: relative error ${worst}`);
console.log(`largest relative error: ${worst.toExponential(2)} (float32 arithmetic; bound 1e-5)`);
"""),
md(r"""
## 2. Rank one: the empirical first PC of every pair is $\pm w/\lVert w\rVert$

The paper's procedure on the 64 scenes (top-50 images by centred norm, SVD of the 50×d matrix, majority sign),
run the slow empirical way for every pair, compared with the weight-only direction.
"""),
code(r"""
const rows = coefficientRows(fwd.coefficients, N_IMAGES, H, C);
const pca = pairPCA(rows, dec.w, dec.wNorms, { topK: 50 });
const empirical = empiricalPairPCs(rows, dec.w, pca);
let varying = 0, minAbsCos = 1;
for (let q = 0; q < empirical.pairs.length; q++) {
  const u = empirical.pairs[q];
  if (pca.sign[u] === 0) continue; // a pair whose s never changes has no PC
  varying++;
  let dot = 0, norm = 0;
  for (let j = 0; j < d; j++) { dot += empirical.pcs[q * d + j] * dec.w[u * d + j]; norm += empirical.pcs[q * d + j] ** 2; }
  minAbsCos = Math.min(minAbsCos, Math.abs(dot) / (Math.sqrt(norm) * dec.wNorms[u]));
}
showTable([[C * H, varying, minAbsCos.toFixed(7)]], ["pairs", "pairs that vary", "min |cos(PC1, w)|"]);
if (!(minAbsCos >= 0.9999)) throw new Error(`a pair's first PC is not ±w/|w|: |cos| = ${minAbsCos}`);
await model.dispose();
"""),
md(r"""
Both hold to float precision: a pair is one fixed direction $w^{n,h}$ scaled by one number per image, $s^{n,h}(I)$.
This is why clip-nad stores only $s$ (H×C floats per image) instead of the paper's 453 GB of per-pair vectors, and
why a pair's text description is a property of its weights.
"""),
]
for i,c in enumerate(cells): c["id"]=f"sanity-{i}"
nb={"cells":cells,"metadata":{"kernelspec":{"display_name":"TypeScript (clip-nad)","language":"typescript","name":"clip-nad"},"language_info":{"file_extension":".ts","mimetype":"text/typescript","name":"typescript"}},"nbformat":4,"nbformat_minor":5}
json.dump(nb,open(OUT,'w'),indent=1); open(OUT,'a').write('\n')

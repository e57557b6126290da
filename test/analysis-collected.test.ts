import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { empiricalPairPCs, neuronPCA, pairPCA, pairPCDirections, reconstructionAccuracy } from "../src/analysis";
import { loadModel } from "../src/clip/model";
import { preprocessRGB } from "../src/clip/preprocess";
import { ClipModel } from "../src/clip/types";
import { collect } from "../src/collect";
import { Decomposition } from "../src/decompose";
import { normalizeRows } from "../src/util/rows";
import { generateScene } from "../src/toyworld";

/**
 * The PCA identity on data collected by the real pipeline (collect → Collection, which streams rows from disk):
 * 60 toy-world scenes through the tiny fixture model on onnxruntime.
 */
const CKPT = path.join(__dirname, "fixtures", "tiny", "weights.safetensors");
const N = 60;
let model: ClipModel;
let dec: Decomposition;
let tmp: string;
let col: Awaited<ReturnType<typeof collect>>;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clipnad-analysis-"));
  model = await loadModel(CKPT, { cacheDir: path.join(tmp, "cache"), threads: 1 });
  dec = await model.decomposition();
  const items = Array.from({ length: N }, (_, i) => ({ id: `scene-${String(i).padStart(3, "0")}`, path: `scene:${i}` }));
  col = await collect({
    model,
    images: { items },
    outDir: path.join(tmp, "col"),
    batchSize: 10,
    loadPixels: async (file, R) => {
      const sc = generateScene(11, Number(file.split(":")[1]), { size: 96 });
      return preprocessRGB({ width: sc.width, height: sc.height, data: sc.rgb }, R);
    },
  });
});

afterAll(async () => {
  await model?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("PCA on a collection made by the real pipeline", () => {
  it("the empirical first PC of every varying pair equals ±w/|w| (|cos| ≥ 0.9999), with the analytic sign", () => {
    const { H, C, d } = dec.apw;
    expect([col.N, col.H, col.C]).toEqual([N, H, C]);
    const pca = pairPCA(col, dec.w, dec.wNorms, { topK: 50 });
    const emp = empiricalPairPCs(col, dec.w, pca);
    const analytic = pairPCDirections(pca, dec.w, dec.wNorms);
    let varying = 0;
    let worst = 1;
    for (let u = 0; u < H * C; u++) {
      if (!(pca.topNorms[u * pca.k] > 0)) continue;
      varying++;
      let ww = 0, ee = 0, we = 0, ae = 0;
      for (let j = 0; j < d; j++) {
        ww += dec.w[u * d + j] ** 2;
        ee += emp.pcs[u * d + j] ** 2;
        we += dec.w[u * d + j] * emp.pcs[u * d + j];
        ae += analytic[u * d + j] * emp.pcs[u * d + j];
      }
      worst = Math.min(worst, Math.abs(we) / Math.sqrt(ww * ee), ae);
    }
    expect(varying).toBeGreaterThan(0.9 * H * C);
    expect(worst).toBeGreaterThanOrEqual(0.9999);
  });

  it("reconstruction with pairs' PCs reproduces the collection's own embeddings' predictions", () => {
    const { d } = dec.apw;
    const pca = pairPCA(col, dec.w, dec.wNorms, { topK: 50 });
    const npca = neuronPCA(col, dec.w, dec.neuronGram, { topK: 50, pcs: 4 });
    // classes = 5 of the collected embeddings (centred) — a task the images actually separate
    const emb = col.embeddings;
    const classifier = new Float32Array(5 * d);
    for (let c = 0; c < 5; c++) for (let j = 0; j < d; j++) classifier[c * d + j] = emb[c * 7 * d + j] - col.meanEmbedding[j];
    normalizeRows(classifier, d);
    const labels = Int32Array.from({ length: N }, (_, i) => i % 5);
    const res = reconstructionAccuracy(col, labels, { apw: dec.apw, w: dec.w, sBar: pca.sBar, classifier, bias: dec.bias }, { pairPCA: pca, neuronPCs: npca });
    expect(Array.from(res.predictions.pairs)).toEqual(Array.from(res.predictions.unmodified));
    // the model's stored embeddings give the same predictions as the decomposition's
    const direct = Array.from({ length: N }, (_, i) => {
      let best = 0, bestV = -Infinity;
      for (let c = 0; c < 5; c++) {
        let v = 0;
        for (let j = 0; j < d; j++) v += emb[i * d + j] * classifier[c * d + j];
        if (v > bestV) { bestV = v; best = c; }
      }
      return best;
    });
    expect(Array.from(res.predictions.unmodified)).toEqual(direct);
    // H = 4 ≤ 4 PCs: neuron reconstruction is exact too
    expect(Array.from(res.predictions.neurons[2])).toEqual(direct);
  });
});

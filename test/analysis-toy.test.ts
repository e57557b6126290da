import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ablationCurve,
  empiricalPairPCs,
  meanTopNorms,
  neuronPCA,
  pairPCA,
  predict,
  predictOne,
  reconstructionAccuracy,
  zeroShotClassifier,
} from "../src/analysis";
import { accuracy } from "../src/analysis/zeroshot";
import { encodeTexts } from "../src/clip/encode";
import { loadModel } from "../src/clip/model";
import { preprocessRGB } from "../src/clip/preprocess";
import { ClipModel } from "../src/clip/types";
import { Collection, collect } from "../src/collect";
import { Decomposition, coefficientsToEmbedding } from "../src/decompose";
import { COLOURS, generateScene } from "../src/toyworld";

/**
 * End to end on the embedded toy model: collect toy-world scenes (PCA set and a held-out evaluation set),
 * zero-shot colour classifier from the model's text tower × 80 templates, then the paper's analyses.
 * Asserts only what holds by construction; prints the (empirical) accuracies.
 */
let model: ClipModel;
let dec: Decomposition;
let tmp: string;
let pcaSet: Collection;
let evalSet: Collection;
let classifier: Float32Array;
let labels: Int32Array;

async function collectScenes(seed: number, n: number, dir: string): Promise<Collection> {
  const items = Array.from({ length: n }, (_, i) => ({ id: `s${seed}-${String(i).padStart(3, "0")}`, path: `${seed}:${i}` }));
  return collect({
    model,
    images: { items },
    outDir: dir,
    batchSize: 16,
    loadPixels: async (file, R) => {
      const [s, i] = file.split(":").map(Number);
      const sc = generateScene(s, i, { size: 128 });
      return preprocessRGB({ width: sc.width, height: sc.height, data: sc.rgb }, R);
    },
  });
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clipnad-toy-analysis-"));
  model = await loadModel("toy", { cacheDir: path.join(tmp, "cache"), threads: 1 });
  dec = await model.decomposition();
  pcaSet = await collectScenes(101, 80, path.join(tmp, "pca"));
  evalSet = await collectScenes(202, 60, path.join(tmp, "eval"));
  classifier = await zeroShotClassifier([...COLOURS], (texts) => encodeTexts(model, texts));
  labels = Int32Array.from({ length: evalSet.N }, (_, i) => COLOURS.indexOf(generateScene(202, i, { size: 128 }).labels.colour));
});

afterAll(async () => {
  await model?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("paper analyses on the embedded toy model (colour zero-shot)", () => {
  it("classifier rows are unit norm and the model's own embeddings classify like the decomposition", () => {
    const d = dec.apw.d;
    for (let c = 0; c < COLOURS.length; c++) expect(Math.hypot(...classifier.subarray(c * d, (c + 1) * d))).toBeCloseTo(1, 5);
    const direct = predict(evalSet.embeddings, classifier, d);
    const HC = dec.apw.H * dec.apw.C;
    const viaS = Int32Array.from({ length: evalSet.N }, (_, i) => predictOne(coefficientsToEmbedding(dec.apw, evalSet.row(i).subarray(0, HC), dec.bias), classifier));
    expect(Array.from(viaS)).toEqual(Array.from(direct));
    console.log(`toy colour zero-shot accuracy on ${evalSet.N} held-out scenes: ${accuracy(direct, labels).toFixed(3)} (chance ${(1 / COLOURS.length).toFixed(3)})`);
  });

  it("empirical first PCs are ±w/|w| and pair reconstruction keeps every prediction; neurons need more PCs", () => {
    const { H, C, d } = dec.apw;
    const pca = pairPCA(pcaSet, dec.w, dec.wNorms, { topK: 50 });
    const emp = empiricalPairPCs(pcaSet, dec.w, pca);
    let worst = 1;
    for (let u = 0; u < H * C; u++) {
      if (!(pca.topNorms[u * pca.k] > 0)) continue;
      let we = 0;
      for (let j = 0; j < d; j++) we += dec.w[u * d + j] * emp.pcs[u * d + j];
      worst = Math.min(worst, Math.abs(we) / dec.wNorms[u]);
    }
    expect(worst).toBeGreaterThanOrEqual(0.9999);
    const npca = neuronPCA(pcaSet, dec.w, dec.neuronGram, { topK: 50, pcs: H });
    const ctx = { apw: dec.apw, w: dec.w, sBar: pca.sBar, classifier, bias: dec.bias };
    const res = reconstructionAccuracy(evalSet, labels, ctx, { pairDirections: emp.pcs, neuronPCs: { pcs: npca.pcs, m: H }, neuronK: [1, 2, 4, H] });
    expect(Array.from(res.predictions.pairs)).toEqual(Array.from(res.predictions.unmodified));
    // H PCs span a neuron's H directions: exact
    expect(Array.from(res.predictions.neurons[3])).toEqual(Array.from(res.predictions.unmodified));
    console.log(`toy reconstruction: unmodified ${res.unmodified.toFixed(3)}, pairs 1 PC ${res.pairs.toFixed(3)}, ` +
      res.neurons.map((n) => `neurons ${n.pcs} PC ${n.accuracy.toFixed(3)}`).join(", "));
  });

  it("ablation curves: 100% kept = unmodified; 0% kept = all-means (count rule) or the top unit(s) only (percentile)", () => {
    const { H, C } = dec.apw;
    const pca = pairPCA(pcaSet, dec.w, dec.wNorms, { topK: 50 });
    const npca = neuronPCA(pcaSet, dec.w, dec.neuronGram, { topK: 50, pcs: 1 });
    const ctx = { apw: dec.apw, sBar: pca.sBar, classifier, bias: dec.bias };
    const unmod = accuracy(predict(evalSet.embeddings, classifier, dec.apw.d), labels);
    const allMeans = accuracy(new Int32Array(evalSet.N).fill(predictOne(coefficientsToEmbedding(dec.apw, pca.sBar, dec.bias), classifier)), labels);
    const percentKept = [0, 5, 10, 20, 50, 100];
    const scores = { pair: meanTopNorms(pca.topNorms, pca.k), neuron: meanTopNorms(npca.topNorms, npca.k) };
    const curves = (rule: "count" | "percentile") => (["pair", "neuron"] as const).map((unit) =>
      ablationCurve(evalSet, labels, ctx, { unit, scores: scores[unit], percentKept, rule }));
    for (const curve of curves("count")) {
      expect(curve.points[5].accuracy).toBe(unmod);
      expect(curve.points[0].accuracy).toBe(allMeans);
    }
    const official = curves("percentile");
    for (const curve of official) {
      const sc = scores[curve.unit];
      expect(curve.points[5].accuracy).toBe(unmod);
      // 0 %: the 100th percentile is the top score, so exactly the units scoring it stay; check by masking s
      const top = Math.max(...sc);
      expect(curve.points[0].kept).toBe(Array.from(sc).filter((v) => v === top).length);
      const HC = H * C;
      const preds = Int32Array.from({ length: evalSet.N }, (_, i) => {
        const s = evalSet.row(i).subarray(0, HC);
        const st = Float32Array.from(s, (v, q) => (sc[curve.unit === "pair" ? q : q % C] === top ? v : pca.sBar[q]));
        return predictOne(coefficientsToEmbedding(dec.apw, st, dec.bias), classifier);
      });
      expect(curve.points[0].accuracy).toBe(accuracy(preds, labels));
    }
    const fmt = (c: (typeof official)[number]) =>
      c.points.map((p) => `${p.percentKept}%:${p.accuracy.toFixed(2)}`).join(" ");
    console.log(`toy ablation, official percentile rule (kept → accuracy) pairs ${fmt(official[0])} | ` +
      `neurons ${fmt(official[1])}`);
  });
});

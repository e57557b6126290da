import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../src/clip/model";
import { preprocessImages, preprocessRGB } from "../src/clip/preprocess";
import { ClipModel, ImageForward } from "../src/clip/types";
import {
  Decomposition,
  attentionPoolWeights,
  coefficientsFromAttention,
  coefficientsToEmbedding,
  headContribution,
  headTokenContributions,
  neuronContribution,
  neuronTokenContributions,
  pairContribution,
  prepareDecomposition,
} from "../src/decompose";
import { generateScene } from "../src/toyworld";
import { relErr } from "./decompose-reference";

/**
 * The identities on models run by onnxruntime (loadModel → image graph) on real images: toy-world scenes and
 * PNG files. Models: the tiny oracle checkpoint and the embedded toy model (no PyTorch needed).
 */
const MODELS: [string, string][] = [
  ["tiny oracle checkpoint (C=256, H=4, K=9, d=64)", path.join(__dirname, "fixtures", "tiny", "weights.safetensors")],
  ["embedded toy model (assets/toy, C=512, H=8, K=16, d=256)", "toy"],
];
const PNGS = ["crop_half_225x224.png", "crop_tall_64x67.png"].map((f) => path.join(__dirname, "fixtures", "io", "preprocess", f));

for (const [label, nameOrPath] of MODELS) {
  describe(`decomposition identities on the ONNX model with real images: ${label}`, () => {
    let model: ClipModel;
    let dec: Decomposition;
    let fwd: ImageForward;
    let cache: string;

    beforeAll(async () => {
      cache = fs.mkdtempSync(path.join(os.tmpdir(), "clipnad-decompose-"));
      model = await loadModel(nameOrPath, { cacheDir: cache, threads: 1 });
      dec = prepareDecomposition(attentionPoolWeights(model.weights, model.config, model.path));
      const R = model.config.imageResolution;
      const scenes = [0, 1, 2].map((i) => {
        const sc = generateScene(7, i, { size: 128 });
        return preprocessRGB({ width: sc.width, height: sc.height, data: sc.rgb }, R);
      });
      const files = await preprocessImages(PNGS, R);
      const pixels = new Float32Array(5 * 3 * R * R);
      scenes.forEach((p, i) => pixels.set(p, i * p.length));
      pixels.set(files, 3 * 3 * R * R);
      fwd = await model.encodeImagePixels(pixels, 5);
    });

    afterAll(async () => {
      await model?.dispose();
      fs.rmSync(cache, { recursive: true, force: true });
    });

    for (let b = 0; b < 5; b++) {
      it(`image ${b}: s from (a, Z) matches the graph; pairs, heads, neurons, head×token, neuron×token sum to the embedding`, () => {
        const { H, C, d, K, apw } = { ...dec.apw, apw: dec.apw };
        const emb = fwd.embedding.subarray(b * d, (b + 1) * d);
        const s = fwd.coefficients.subarray(b * H * C, (b + 1) * H * C);
        const a = fwd.attention.subarray(b * H * (K + 1), (b + 1) * H * (K + 1));
        const Z = fwd.features.subarray(b * C * K, (b + 1) * C * K);
        expect(relErr(coefficientsFromAttention(apw, a, Z), s)).toBeLessThan(1e-5);
        const pairs = new Float64Array(d);
        const heads = new Float64Array(d);
        const neurons = new Float64Array(d);
        for (let h = 0; h < H; h++) {
          for (let n = 0; n < C; n++) pairContribution(s, dec.w, dec.c, h, n).forEach((v, j) => (pairs[j] += v));
          headContribution(s, dec.w, dec.c, h).forEach((v, j) => (heads[j] += v));
        }
        for (let n = 0; n < C; n++) neuronContribution(s, dec.w, dec.c, n).forEach((v, j) => (neurons[j] += v));
        const ht = new Float64Array(d);
        headTokenContributions(apw, a, Z).forEach((v, q) => (ht[q % d] += v));
        const nt = new Float64Array(d);
        neuronTokenContributions(apw, a, Z, dec.w).forEach((v, q) => (nt[q % d] += v));
        for (const sum of [pairs, heads, neurons, ht, nt, coefficientsToEmbedding(apw, s, dec.bias)]) {
          expect(relErr(sum, emb)).toBeLessThan(1e-5);
        }
      });
    }

    it("different images give different coefficients (the check is not vacuous)", () => {
      const { H, C } = dec.apw;
      expect(relErr(fwd.coefficients.subarray(0, H * C), fwd.coefficients.subarray(H * C, 2 * H * C))).toBeGreaterThan(1e-3);
    });
  });
}

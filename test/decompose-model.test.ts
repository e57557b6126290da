import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../src/clip/model";
import { preprocessImages, preprocessRGB } from "../src/clip/preprocess";
import { ClipModel, ImageForward } from "../src/clip/types";
import {
  Decomposition,
  ImageDecomposition,
  coefficientsFromAttention,
  coefficientsToEmbedding,
  headTokenContributions,
  neuronTokenContributions,
} from "../src/decompose";
import { generateScene } from "../src/toyworld";
import { pairDirections, relErr } from "./decompose-reference";
import { e2eImagePaths, expectedNpy } from "./cli-helpers";

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
      dec = await model.decomposition();
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
        const img = new ImageDecomposition(dec, { embedding: emb, Z, a, s });
        const pairs = new Float64Array(d);
        const heads = new Float64Array(d);
        const neurons = new Float64Array(d);
        for (let h = 0; h < H; h++) {
          for (let n = 0; n < C; n++) img.pair({ neuron: n, head: h }).forEach((v, j) => (pairs[j] += v));
          img.head(h).forEach((v, j) => (heads[j] += v));
        }
        for (let n = 0; n < C; n++) img.neuron(n).forEach((v, j) => (neurons[j] += v));
        const ht = new Float64Array(d);
        headTokenContributions(apw, a, Z).forEach((v, q) => (ht[q % d] += v));
        const nt = new Float64Array(d);
        neuronTokenContributions(apw, a, Z, dec.w).forEach((v, q) => (nt[q % d] += v));
        for (const sum of [pairs, heads, neurons, ht, nt, coefficientsToEmbedding(apw, s, dec.bias)]) {
          expect(relErr(sum, emb)).toBeLessThan(1e-5);
        }
      });
    }

    it("the model's decomposition is shared and its pair directions equal the float64 reference", async () => {
      expect(await model.decomposition()).toBe(dec);
      expect(dec.apw).toBe(model.attentionPool);
      // float32 GEMM over dh = C/H terms (≤ 64): a few float32 ulp
      expect(relErr(dec.w, pairDirections(model.attentionPool))).toBeLessThan(1e-6);
    });

    it("decompose(file) = the batched forward of the same image", async () => {
      const { H, C, d } = dec;
      const img = await model.decompose(PNGS[0]);
      expect(img.decomposition).toBe(dec);
      // batch of 5 vs batch of 1 through onnxruntime: float32 rounding only
      expect(relErr(img.embedding, fwd.embedding.subarray(3 * d, 4 * d))).toBeLessThan(1e-5);
      expect(relErr(img.s, fwd.coefficients.subarray(3 * H * C, 4 * H * C))).toBeLessThan(1e-5);
      const sum = new Float64Array(d);
      for (let n = 0; n < C; n++) img.neuron(n).forEach((v, j) => (sum[j] += v));
      expect(relErr(sum, img.embedding)).toBeLessThan(1e-5);
    });

    it("different images give different coefficients (the check is not vacuous)", () => {
      const { H, C } = dec.apw;
      expect(relErr(fwd.coefficients.subarray(0, H * C), fwd.coefficients.subarray(H * C, 2 * H * C))).toBeGreaterThan(1e-3);
    });
  });
}

describe("ClipModel.decompose(file) embeds like CLIP's own transform (torch oracle, tiny checkpoint)", () => {
  it("RGB, RGBA and palette PNGs (resized in their own mode, as PIL does)", async () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), "clipnad-decompose-file-"));
    const model = await loadModel(MODELS[0][1], { cacheDir: cache, threads: 1 });
    try {
      const d = model.config.embedDim;
      const expected = expectedNpy("image_embeddings.npy").data;
      for (let i = 0; i < e2eImagePaths.length; i++) {
        const img = await model.decompose(e2eImagePaths[i]);
        // float32 onnxruntime vs float32 torch: the oracle's own tolerance for this fixture (test/cli-io)
        expect(relErr(img.embedding, expected.subarray(i * d, (i + 1) * d))).toBeLessThanOrEqual(1e-4);
      }
    } finally {
      await model.dispose();
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });
});

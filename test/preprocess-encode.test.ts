import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadModel } from "../src/clip/model";
import { encodeImages, encodeTexts, forwardImage, forEachImageBatch } from "../src/clip/encode";
import { tokenizeBatch } from "../src/clip/tokenizer";
import { ClipModel } from "../src/clip/types";
import { TINY_WEIGHTS, e2eCases, e2eImagePaths, expectedNpy, relErr, writeTextCapableTiny } from "./cli-helpers";

let tmp = "";
let model: ClipModel;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-encode-"));
  model = await loadModel(TINY_WEIGHTS, { cacheDir: path.join(tmp, "graphs") });
});
afterAll(async () => {
  await model?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("encode (image files → PIL-exact preprocessing → image tower) vs the torch oracle", () => {
  it("encodeImages matches the oracle's embeddings for each batch size, with progress", async () => {
    const expected = expectedNpy("image_embeddings.npy");
    expect(expected.shape).toEqual([3, 64]);
    for (const batchSize of [1, 2, 16]) {
      const seen: number[] = [];
      const emb = await encodeImages(model, e2eImagePaths, { batchSize, onProgress: (done, total) => { expect(total).toBe(3); seen.push(done); } });
      expect(emb.length).toBe(3 * 64);
      expect(relErr(emb, expected.data)).toBeLessThanOrEqual(1e-4);
      expect(seen[seen.length - 1]).toBe(3);
    }
  });

  it("forwardImage gives Z, a, s of one image like the oracle", async () => {
    const fwd = await forwardImage(model, e2eImagePaths[0]);
    expect(relErr(fwd.features, expectedNpy("features0.npy").data)).toBeLessThanOrEqual(1e-4);
    expect(relErr(fwd.attention, expectedNpy("attention0.npy").data)).toBeLessThanOrEqual(1e-4);
    expect(relErr(fwd.coefficients, expectedNpy("coefficients0.npy").data)).toBeLessThanOrEqual(1e-4);
    const starts: number[] = [];
    await forEachImageBatch(model, e2eImagePaths, { batchSize: 2 }, (f, start) => { starts.push(start); expect(f.batch).toBe(start === 0 ? 2 : 1); });
    expect(starts).toEqual([0, 2]);
  });

  it("rejects a bad batch size and names an unreadable image", async () => {
    await expect(encodeImages(model, e2eImagePaths, { batchSize: 0 })).rejects.toThrow(/batch size must be a positive integer/);
    const missing = path.join(tmp, "nope.png");
    await expect(encodeImages(model, [e2eImagePaths[0], missing])).rejects.toThrow(`${missing}: image file not found`);
    // failure in the batch prepared ahead while the previous one runs: reported once, nothing left unhandled
    const visited: number[] = [];
    await expect(forEachImageBatch(model, [e2eImagePaths[0], missing, e2eImagePaths[1]], { batchSize: 1 }, (_f, start) => { visited.push(start); })).rejects.toThrow(missing);
    expect(visited).toEqual([0]);
  });

  it("refuses text for a model whose vocabulary is smaller than CLIP's", async () => {
    await expect(encodeTexts(model, ["a photo of a cat"])).rejects.toThrow(/vocabulary has 512 tokens/);
  });

  it("encodeTexts (real CLIP BPE, truncation at the model's context) matches the oracle", async () => {
    const file = writeTextCapableTiny(path.join(tmp, "tiny49k.safetensors"));
    const m = await loadModel(file, { cacheDir: path.join(tmp, "graphs") });
    try {
      expect(m.config.vocabSize).toBe(49408);
      const emb = await encodeTexts(m, e2eCases.texts, { batchSize: 3 });
      expect(relErr(emb, expectedNpy("text_embeddings.npy").data)).toBeLessThanOrEqual(1e-4);
      const direct = await m.encodeTokens(tokenizeBatch(e2eCases.texts, m.config.contextLength), e2eCases.texts.length);
      expect(relErr(emb, direct)).toBeLessThanOrEqual(1e-6);
    } finally {
      await m.dispose();
    }
  });
});

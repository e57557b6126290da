/**
 * The real BrowserSource (src/browser/source.ts) on a collection made with the fake model: model/collection
 * identity, query ranking from the shared Decomposition, scores, top images where the collection stored them,
 * vocabulary embeddings (cached; none for an empty list) and word lists (src/text/vocabulary).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserBackend } from "../src/browser/backend";
import { browserSourceFrom } from "../src/browser/source";
import { hashEmbedding } from "../src/browser/synthetic";
import { Collection, collect } from "../src/collect";
import { readWordList } from "../src/text/vocabulary";
import { fakeModel, sharpLoader, writeImageFolder } from "./collect.fake";
import { pairDirections, relErr } from "./decompose-reference";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-browser-source-"));
const images = path.join(tmp, "images");
const model = fakeModel();
const { H, C, d } = model.attentionPool;
const k = 4;
let col: Collection;
const encoded: string[][] = [];
/** A deterministic stand-in for the text tower (rows of any norm). */
const textEncoder = async (texts: string[]) => {
  encoded.push(texts);
  return Float32Array.from(texts.flatMap((t) => Array.from(hashEmbedding(t, d), (x) => x * (1 + t.length))));
};

beforeAll(async () => {
  await writeImageFolder(images, 12);
  col = await collect({ model, images, outDir: path.join(tmp, "col"), batchSize: 4, topK: k, loadPixels: sharpLoader });
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("browserSourceFrom (model + collection)", () => {
  it("refuses a model other than the collection's (by checkpoint hash)", async () => {
    const other = { ...model, hash: "0".repeat(64) };
    await expect(browserSourceFrom(other, col)).rejects.toThrow(/collection was made with model fake/);
  });

  it("pair directions and the query ranking come from the model's weights: cos(w^{n,h}, t)", async () => {
    const src = await browserSourceFrom(model, col, { vocabulary: [], cacheDir: tmp });
    expect([src.heads, src.neurons, src.dim]).toEqual([H, C, d]);
    const wRef = pairDirections(model.attentionPool);
    expect(relErr(src.directions, wRef)).toBeLessThan(1e-6); // float32 GEMM (src/decompose/tables)
    const t = hashEmbedding("query", d);
    const want = Array.from({ length: H * C }, (_, p) => {
      const w = wRef.subarray(p * d, (p + 1) * d);
      let dot = 0, ww = 0, tt = 0;
      for (let j = 0; j < d; j++) { dot += w[j] * t[j]; ww += w[j] ** 2; tt += t[j] ** 2; }
      return dot / Math.sqrt(ww * tt);
    });
    expect(relErr(src.pairSimilarity(t), want)).toBeLessThan(1e-5);
  });

  it("scores: |s̄|·|w| and the mean of each pair's top-k centred norms |s − s̄|·|w|", async () => {
    const src = await browserSourceFrom(model, col, { vocabulary: [] });
    const S = Array.from({ length: col.N }, (_, r) => col.coefficientsOf(r));
    const mean = Array.from({ length: H * C }, (_, p) => S.reduce((a, s) => a + s[p], 0) / col.N);
    const wRef = pairDirections(model.attentionPool);
    const wn = (p: number) => Math.hypot(...wRef.subarray(p * d, (p + 1) * d));
    const byName = new Map(src.scores.map((s) => [s.name, s.values]));
    const contribution = Array.from({ length: H * C }, (_, p) => Math.abs(mean[p]) * wn(p));
    const sparsity = Array.from({ length: H * C }, (_, p) => {
      const norms = S.map((s) => Math.abs(s[p] - mean[p]) * wn(p)).sort((a, b) => b - a);
      return norms.slice(0, k).reduce((a, b) => a + b, 0) / k;
    });
    expect(relErr(byName.get("contribution norm")!, contribution)).toBeLessThan(1e-5);
    expect(relErr(byName.get("sparsity score")!, sparsity)).toBeLessThan(1e-5);
    expect(relErr(byName.get("direction norm |w|")!, Array.from({ length: H * C }, (_, p) => wn(p)))).toBeLessThan(1e-6);
  });

  it("top images are the pair's top-k rows, read where the collection stored them (or under a moved root)", async () => {
    const src = await browserSourceFrom(model, col, { vocabulary: [] });
    const t = col.topPair({ neuron: 9, head: 2 });
    const page = src.topImages(2, 9, 1, 2);
    expect(page.total).toBe(k);
    expect(page.images.map((im) => [im.id, im.path, im.value])).toEqual([1, 2].map((i) =>
      [col.ids[t.rows[i]], path.join(path.resolve(images), col.ids[t.rows[i]]), t.values[i]]));
    const moved = await browserSourceFrom(model, col, { vocabulary: [], imageRoot: "/elsewhere" });
    expect(moved.topImages(2, 9, 0, 1).images[0].path).toBe(path.join("/elsewhere", col.ids[t.rows[0]]));
  });

  it("vocabulary: unit rows of the encoder's embeddings, cached on disk by model; [] = no words, no encoder", async () => {
    const cacheDir = path.join(tmp, "cache");
    const words = ["red", "blue dog", "a"];
    encoded.length = 0;
    const src = await browserSourceFrom(model, col, { vocabulary: words, textEncoder, cacheDir });
    const v = await src.vocabulary();
    expect(v.words).toEqual(words);
    const raw = await textEncoder(words);
    for (let i = 0; i < words.length; i++) {
      const row = raw.subarray(i * d, (i + 1) * d);
      const n = Math.hypot(...row);
      expect(relErr(v.embeddings.subarray(i * d, (i + 1) * d), Array.from(row, (x) => x / n))).toBeLessThan(1e-6);
    }
    expect(fs.readdirSync(path.join(cacheDir, "text")).filter((f) => f.endsWith(".f32")).length).toBe(1);
    // a second source of the same model reads the cache: the encoder is not called again
    encoded.length = 0;
    const again = await browserSourceFrom(model, col, { vocabulary: words, textEncoder, cacheDir });
    expect(Array.from((await again.vocabulary()).embeddings)).toEqual(Array.from(v.embeddings));
    expect(encoded).toEqual([]);

    const none = await browserSourceFrom(model, col, { vocabulary: [], textEncoder: async () => { throw new Error("no"); } });
    expect(await none.vocabulary()).toEqual({ words: [], embeddings: new Float32Array(0) });
    const { reply } = await new BrowserBackend(none).handle({ kind: "select", id: 1, head: 0, neuron: 0 });
    expect(reply.kind === "pair" && reply.detail.words).toEqual([]);
    const twice = await browserSourceFrom(model, col, { vocabulary: ["x", "x"], textEncoder });
    await expect(twice.vocabulary()).rejects.toThrow(/appears twice/);
  });

  it("word lists: one word per line, trimmed; empty lists, blank lines inside and duplicates are errors", () => {
    const f = path.join(tmp, "words.txt");
    fs.writeFileSync(f, "cat\t\n dog \nbird\n\n");
    expect(readWordList(f)).toEqual(["cat", "dog", "bird"]);
    fs.writeFileSync(f, "\n");
    expect(() => readWordList(f)).toThrow(/empty/);
    fs.writeFileSync(f, "cat\n\ndog\n");
    expect(() => readWordList(f)).toThrow(/line 2/);
    fs.writeFileSync(f, "cat\ndog\ncat\n");
    expect(() => readWordList(f)).toThrow(/'cat' appears twice/);
    expect(() => readWordList(path.join(tmp, "missing.txt"))).toThrow(/missing\.txt: cannot read the word list/);
  });
});

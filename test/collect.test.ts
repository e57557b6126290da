import { describe, it, expect, beforeAll, afterAll } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { collect, openCollection, mergeCollections, parseShard, selectIndices } from "../src/collect";
import { loadLabelledImages } from "../src/data/labelled";
import { readToyDataset } from "../src/data/toy";
import { readNpy } from "../src/io/npy";
import { TopK, topIndices } from "../src/util/topk";
import { writeToyDataset } from "../src/toyworld";
import { pairDirections } from "./decompose-reference";
import { ClipNadError } from "../src/errors";
import { FAKE, fakeCoefficients, fakeModel, sharpLoader, writeImageFolder } from "./collect.fake";
import { expectSameFolder, folderBytes } from "./collect.compare";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-collect-"));
const images = path.join(tmp, "images");
const model = fakeModel();
const H = FAKE.heads, C = FAKE.width * 32, d = FAKE.embed, R = FAKE.grid * 32;
let ids: string[];

beforeAll(async () => {
  ids = await writeImageFolder(images, 23, ["broken.png", "sub/zz-broken.png"]);
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Brute-force ranking: rows sorted by score desc, row asc; first k. */
function topRows(scores: number[], k: number): number[] {
  return scores.map((s, r) => [s, r]).sort((x, y) => y[0] - x[0] || x[1] - y[1]).slice(0, k).map((x) => x[1]);
}

describe("collect with a fake model", () => {
  const out = path.join(tmp, "single");

  it("stores s, embeddings, ids and skips unreadable images", async () => {
    const events: string[] = [];
    const col = await collect({ model, images, outDir: out, batchSize: 4, topK: 5, loadPixels: sharpLoader, onProgress: (e) => events.push(e.phase) });
    expect(col.N).toBe(23);
    expect([col.H, col.C, col.d]).toEqual([H, C, d]);
    expect(col.manifest.skipped.map((s) => s.id)).toEqual(["broken.png", "sub/zz-broken.png"]);
    expect(events).toContain("collect");
    expect(events).toContain("topk");
    const readable = ids.filter((i) => !i.includes("broken"));
    expect(col.ids).toEqual(readable);
    for (let r = 0; r < col.N; r++) {
      const px = await sharpLoader(path.join(images, col.ids[r]), R);
      expect(Array.from(col.coefficientsOf(r))).toEqual(Array.from(fakeCoefficients(px, H, C)));
      expect(col.imageIndex[r]).toBe(ids.indexOf(col.ids[r]));
    }
    const direct = await model.encodeImagePixels(await sharpLoader(path.join(images, col.ids[3]), R), 1);
    expect(Array.from(col.embeddingOf(3))).toEqual(Array.from(direct.embedding));
  });

  it("means, pair/neuron/head top-k equal brute force", () => {
    const col = openCollection(out);
    const N = col.N;
    const S: Float32Array[] = [];
    for (let r = 0; r < N; r++) S.push(col.coefficientsOf(r));
    const mean = new Float64Array(H * C);
    for (const s of S) for (let p = 0; p < H * C; p++) mean[p] += s[p];
    for (let p = 0; p < H * C; p++) mean[p] /= N;
    expect(Array.from(col.meanCoefficients)).toEqual(Array.from(Float32Array.from(mean)));

    const w = pairDirections(model.attentionPool);
    const k = 5;
    // pairs
    for (let p = 0; p < H * C; p++) {
      let wn = 0;
      for (let j = 0; j < d; j++) wn += w[p * d + j] ** 2;
      wn = Math.sqrt(wn);
      const sc = S.map((s) => Math.abs(s[p] - mean[p]));
      const want = topRows(sc, k);
      const t = col.topPair({ neuron: p % C, head: Math.floor(p / C) });
      expect(Array.from(t.rows)).toEqual(want);
      want.forEach((r, j) => {
        expect(t.values[j]).toBeCloseTo(sc[r] * wn, 5);
        expect(t.delta![j]).toBeCloseTo(S[r][p] - mean[p], 5);
      });
    }
    // neurons and heads: explicit d-dimensional centred contributions
    const neuronScores: number[][] = Array.from({ length: C }, () => []);
    const headScores: number[][] = Array.from({ length: H }, () => []);
    for (const s of S) {
      const rn = new Float64Array(C * d), rh = new Float64Array(H * d);
      for (let h = 0; h < H; h++) for (let n = 0; n < C; n++) {
        const dl = s[h * C + n] - mean[h * C + n];
        for (let j = 0; j < d; j++) {
          const v = dl * w[(h * C + n) * d + j];
          rn[n * d + j] += v;
          rh[h * d + j] += v;
        }
      }
      const norm = (a: Float64Array, u: number) => Math.sqrt(Array.from(a.subarray(u * d, (u + 1) * d)).reduce((x, y) => x + y * y, 0));
      for (let n = 0; n < C; n++) neuronScores[n].push(norm(rn, n));
      for (let h = 0; h < H; h++) headScores[h].push(norm(rh, h));
    }
    for (let n = 0; n < C; n++) {
      const t = col.topNeuron(n);
      expect(Array.from(t.rows)).toEqual(topRows(neuronScores[n], k));
      expect(t.values[0]).toBeCloseTo(Math.max(...neuronScores[n]), 4);
    }
    for (let h = 0; h < H; h++) {
      const t = col.topHead(h);
      expect(Array.from(t.rows)).toEqual(topRows(headScores[h], k));
      expect(t.values[0]).toBeCloseTo(Math.max(...headScores[h]), 4);
    }
  });

  it("format 2: paths.json gives each row's image (imagePath, a moved root); the decomposition is the model's", async () => {
    const col = openCollection(out);
    expect(col.manifest.version).toBe(2);
    expect(col.manifest.images.root).toBe(path.resolve(images));
    // the folder's images are all below the root: stored relative, "/"-separated, and equal to the ids
    expect(col.storedPaths).toEqual(col.ids);
    expect(JSON.parse(fs.readFileSync(path.join(out, "paths.json"), "utf8"))).toEqual(col.ids);
    for (let r = 0; r < col.N; r++) expect(col.imagePath(r)).toBe(path.join(path.resolve(images), ...col.ids[r].split("/")));
    expect(col.imagePath(0, "/moved/here")).toBe(path.join("/moved/here", col.ids[0]));
    expect(() => col.imagePath(col.N)).toThrow(ClipNadError);
    expect(await col.decomposition()).toBe(await model.decomposition());
    expect(Array.from(col.weights.Wv)).toEqual(Array.from(model.attentionPool.Wv));
  });

  it("top-k lookups are by named, validated units", () => {
    const col = openCollection(out);
    expect(() => col.topPair({ neuron: C, head: 0 })).toThrow(/neuron/);
    expect(() => col.topPair({ neuron: 0, head: H })).toThrow(/head/);
    expect(() => col.topNeuron(-1)).toThrow(ClipNadError);
    expect(() => col.topHead(1.5)).toThrow(ClipNadError);
    const p = 3 * C + 17;
    const stored = col.pairTopK.indices.subarray(p * col.k, (p + 1) * col.k);
    expect(Array.from(col.topPair({ neuron: 17, head: 3 }).rows)).toEqual(Array.from(stored));
  });

  it("writes numpy-format headers and chunked iteration covers all rows", () => {
    const col = openCollection(out);
    const raw = fs.readFileSync(path.join(out, "coefficients.npy"));
    expect(raw.subarray(0, 6).toString("latin1")).toBe("\x93NUMPY");
    expect(raw.subarray(10, 128).toString("latin1")).toContain(`'shape': (23, ${H}, ${C})`);
    expect(raw.length).toBe(128 + 23 * H * C * 4);
    const means = readNpy(path.join(out, "mean_coefficients.npy"));
    expect(means.shape).toEqual([H, C]);
    let rows = 0;
    for (const ch of col.chunks(7)) {
      expect(Array.from(ch.data.subarray(0, H * C))).toEqual(Array.from(col.coefficientsOf(ch.start)));
      rows += ch.count;
    }
    expect(rows).toBe(23);
  });

  it("a rerun of a finished collection returns it; different options are refused with a clear error", async () => {
    const before = folderBytes(out);
    const again = await collect({ model, images, outDir: out, batchSize: 4, topK: 5, loadPixels: sharpLoader });
    expect(again.N).toBe(23);
    expect(folderBytes(out)).toEqual(before);
    await expect(collect({ model, images, outDir: out, batchSize: 4, topK: 7, loadPixels: sharpLoader })).rejects.toThrow(/top-k differs: existing 5, requested 7/);
    await expect(collect({ model, images, outDir: out, batchSize: 4, topK: 5, stride: 2, loadPixels: sharpLoader })).rejects.toThrow(/manifest\.json.*stride differs/);
  });

  it("one writer per folder: a live lock holder is refused, a stale lock (killed writer) is taken over", async () => {
    const dir = path.join(tmp, "locked");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, ".clip-nad.lock"), `${process.ppid}\n`); // a live process
    await expect(collect({ model, images, outDir: dir, topK: 5, loadPixels: sharpLoader })).rejects.toThrow(new RegExp(`${dir}: another clip-nad process \\(pid ${process.ppid}\\) is writing this folder`));
    fs.writeFileSync(path.join(dir, ".clip-nad.lock"), "999999999\n"); // no such process
    const col = await collect({ model, images, outDir: dir, batchSize: 4, topK: 5, loadPixels: sharpLoader });
    expect(col.N).toBe(23);
    expect(fs.existsSync(path.join(dir, ".clip-nad.lock"))).toBe(false);
    expectSameFolder(out, dir);
  });

  it("shards 0/2 + 1/2 merge byte-identically to the single run", async () => {
    const a = path.join(tmp, "shard0"), b = path.join(tmp, "shard1"), m = path.join(tmp, "merged");
    const s1 = await collect({ model, images, outDir: b, batchSize: 4, topK: 5, shard: { index: 1, count: 2 }, loadPixels: sharpLoader });
    const s0 = await collect({ model, images, outDir: a, batchSize: 4, topK: 5, shard: { index: 0, count: 2 }, loadPixels: sharpLoader });
    expect(s0.N + s1.N).toBe(23);
    await mergeCollections([b, a], m);
    expectSameFolder(out, m);
    await expect(mergeCollections([a], path.join(tmp, "merged-bad"))).rejects.toThrow(/shard 1\/2 is missing/);
    // A shard of another collection (different --topk) is refused with the difference named.
    const other = path.join(tmp, "shard1-topk6");
    await collect({ model, images, outDir: other, batchSize: 4, topK: 6, shard: { index: 1, count: 2 }, loadPixels: sharpLoader });
    await expect(mergeCollections([a, other], path.join(tmp, "merged-mixed"))).rejects.toThrow(
      new RegExp(`${other}: not a shard of the same collection as ${a}: top-k differs: existing 5, requested 6`),
    );
  });

  it("a toy-world dataset folder collects its scene images, not its masks", async () => {
    const toy = path.join(tmp, "toy");
    await writeToyDataset(toy, { n: 5, seed: 2, size: 32 });
    expect(fs.readdirSync(path.join(toy, "masks")).length).toBe(5);
    const col = await collect({ model, images: toy, outDir: path.join(tmp, "toy-col"), topK: 3, loadPixels: sharpLoader });
    // ids are paths relative to the dataset root; the toy record ids stay in meta.record
    const scenes = ["000000", "000001", "000002", "000003", "000004"];
    expect(col.ids).toEqual(scenes.map((r) => `images/${r}.png`));
    expect(readToyDataset(toy).items.map((it) => [it.id, it.meta?.record])).toEqual(scenes.map((r) => [`images/${r}.png`, r]));
    expect(col.imagePath(2)).toBe(path.join(toy, "images", "000002.png"));
    const lab = loadLabelledImages(toy, "toy:shape");
    const shapes = fs.readFileSync(path.join(toy, "index.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l).labels.shape);
    expect(col.ids.map((id) => lab.classNames[lab.labelOf.get(id)!])).toEqual(shapes);
  });

  it("labelled class sub-folders map to the class list (underscores for spaces)", () => {
    const dir = path.join(tmp, "labelled");
    for (const [cls, file] of [["golden_retriever", "a.png"], ["tabby cat", "b.png"], ["golden_retriever", "c.png"]]) {
      fs.mkdirSync(path.join(dir, cls), { recursive: true });
      fs.copyFileSync(path.join(images, ids[0]), path.join(dir, cls, file));
    }
    const classes = path.join(tmp, "classes.txt");
    fs.writeFileSync(classes, "tabby cat\ngolden retriever\n");
    const lab = loadLabelledImages(dir, classes);
    expect(lab.classNames).toEqual(["tabby cat", "golden retriever"]);
    expect(lab.items.map((it) => [it.id, lab.labelOf.get(it.id)])).toEqual([["golden_retriever/a.png", 1], ["golden_retriever/c.png", 1], ["tabby cat/b.png", 0]]);
    fs.writeFileSync(classes, "tabby cat\n");
    expect(() => loadLabelledImages(dir, classes)).toThrow(/golden_retriever: sub-folder 'golden_retriever' is not a class/);
  });

  it("an ImageNet val folder (WNID sub-folders) is labelled in ILSVRC order with CLIP's curated names", () => {
    const root = path.join(tmp, "imagenet");
    for (const [wnid, file] of [["n01443537", "ILSVRC2012_val_00000002.JPEG"], ["n01440764", "ILSVRC2012_val_00000001.JPEG"]]) {
      fs.mkdirSync(path.join(root, "val", wnid), { recursive: true });
      fs.copyFileSync(path.join(images, ids[0]), path.join(root, "val", wnid, file)); // a PNG under .JPEG: content decides
    }
    const lab = loadLabelledImages(root, "imagenet");
    expect(lab.classNames.length).toBe(1000);
    expect(lab.classNames.slice(0, 2)).toEqual(["tench", "goldfish"]);
    // ids are paths relative to the dataset root
    expect(lab.items.map((it) => [it.id, lab.labelOf.get(it.id)])).toEqual([
      ["val/n01440764/ILSVRC2012_val_00000001.JPEG", 0], ["val/n01443537/ILSVRC2012_val_00000002.JPEG", 1],
    ]);
  });

  it("stride, limit and shard select as documented", () => {
    expect(selectIndices(10, { stride: 3 })).toEqual([0, 3, 6, 9]);
    expect(selectIndices(10, { stride: 2, limit: 3 })).toEqual([0, 2, 4]);
    expect(selectIndices(10, { stride: 2, limit: 4, shard: { index: 1, count: 2 } })).toEqual([2, 6]);
    expect(() => selectIndices(10, { shard: { index: 2, count: 2 } })).toThrow(ClipNadError);
  });

  it("empty or missing folders and all-unreadable folders fail with the folder named", async () => {
    const empty = path.join(tmp, "empty");
    fs.mkdirSync(empty);
    fs.writeFileSync(path.join(empty, "readme.txt"), "no images");
    await expect(collect({ model, images: empty, outDir: path.join(tmp, "o1") })).rejects.toThrow(new RegExp(`${empty}: no images found`));
    await expect(collect({ model, images: path.join(tmp, "nope"), outDir: path.join(tmp, "o2") })).rejects.toThrow(/nope: no such image file or folder/);
    const bad = path.join(tmp, "bad");
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, "a.png"), "garbage");
    await expect(collect({ model, images: bad, outDir: path.join(tmp, "o3"), loadPixels: sharpLoader })).rejects.toThrow(new RegExp(`${bad}: none of the 1 selected images could be read`));
    expect(() => openCollection(path.join(tmp, "o3"))).toThrow(/not finished/);
  });
});

describe("TopK (src/util/topk, the one streaming top-k)", () => {
  let seed = 5;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);

  it("matches a full sort for random scores with ties, in any feeding order", () => {
    const N = 200, units = 7, k = 9;
    const scores = Array.from({ length: units }, () => Array.from({ length: N }, () => Math.floor(rand() * 20)));
    const fwd = new TopK(units, k), rev = new TopK(units, k);
    for (let r = 0; r < N; r++) for (let u = 0; u < units; u++) fwd.offer(u, scores[u][r], r);
    for (let r = N - 1; r >= 0; r--) for (let u = 0; u < units; u++) rev.offer(u, scores[u][r], r);
    const a = fwd.result(k), b = rev.result(k);
    for (let u = 0; u < units; u++) {
      const want = topRows(scores[u], k);
      expect(Array.from(a.rows.subarray(u * k, (u + 1) * k))).toEqual(want);
      expect(Array.from(a.scores.subarray(u * k, (u + 1) * k))).toEqual(want.map((r) => scores[u][r]));
    }
    expect(Array.from(b.rows)).toEqual(Array.from(a.rows));
  });

  it("accepts() predicts whether offer() changes the list; NaN never ranks", () => {
    const t = new TopK(1, 3);
    expect(t.accepts(0, NaN, 0)).toBe(false);
    t.offer(0, NaN, 0);
    for (const [score, row] of [[2, 1], [5, 2], [2, 3]]) {
      expect(t.accepts(0, score, row)).toBe(true);
      t.offer(0, score, row);
    }
    expect(t.accepts(0, 2, 4)).toBe(false); // equal to the worst kept score, later row
    expect(t.accepts(0, 2, 0)).toBe(true); // equal score, earlier row
    expect(t.accepts(0, 1, 0)).toBe(false);
    expect(Array.from(t.result().rows)).toEqual([2, 1, 3]);
  });

  it("result(kOut, scale): first kOut per unit, scores times scale[u] (float32), aux kept with its row", () => {
    const t = new TopK(2, 4);
    for (let r = 0; r < 6; r++) {
      t.offer(0, r % 3, r, -r);
      if (r < 2) t.offer(1, 10 - r, r, r + 0.5);
    }
    const { rows, scores, aux } = t.result(3, [2, 0.1]);
    expect(Array.from(rows)).toEqual([2, 5, 1, 0, 1, -1]);
    expect(Array.from(scores.subarray(0, 3))).toEqual([4, 4, 2]);
    expect(scores[3]).toBe(Math.fround(10 * 0.1));
    expect(scores[4]).toBe(Math.fround(9 * 0.1));
    expect(Number.isNaN(scores[5])).toBe(true);
    expect(Array.from(aux.subarray(0, 5))).toEqual([-2, -5, -1, 0.5, 1.5]);
  });

  it("topIndices: the k largest, best first, lower index on ties, NaN skipped", () => {
    const v = Array.from({ length: 50 }, (_, i) => (i % 7 === 0 ? NaN : Math.floor(rand() * 10)));
    const want = v.map((x, i) => [x, i]).filter(([x]) => !Number.isNaN(x))
      .sort((p, q) => q[0] - p[0] || p[1] - q[1]).map((x) => x[1]);
    expect(topIndices(v, 12)).toEqual(want.slice(0, 12));
    expect(topIndices(v, 1000)).toEqual(want);
    expect(topIndices(v, 0)).toEqual([]);
    expect(topIndices([NaN, NaN], 2)).toEqual([]);
  });
});

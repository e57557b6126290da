import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Collection, collect } from "../src/collect";
import { distinctLabelCounts, topImageInertia } from "../src/analysis/polysemanticity";
import { enrichedLabel, readSuperclassMap } from "../src/analysis/rowLabels";
import { runCli } from "./cli-helpers";
import { writeToyDataset } from "../src/toyworld";
import { ATTRIBUTES } from "../src/toyworld/vocab";
import { mulberry32 } from "../src/toyworld/random";
import { fakeModel, sharpLoader } from "./collect.fake";
import { bruteTop, naiveNorms } from "./topimages-reference";

/**
 * Polysemanticity (paper.md §A.12): inertia of the top images' normalised embeddings and distinct-label counts,
 * against hand-made examples and direct computations; `clip-nad analyze polysemanticity` on collections made by the
 * fake model over a fake ImageNet val folder (super-classes, v1) and a toy-world dataset (attributes).
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clipnad-poly-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const run = (...args: string[]) => runCli(...args, "--quiet");

/** Σ_j ‖e_j − ē‖² of the normalised rows, the textbook way (two passes, float64). */
function directInertia(emb: Float32Array, d: number, rows: number[]): number {
  const e = rows.map((r) => { const v = Array.from(emb.subarray(r * d, (r + 1) * d)); const n = Math.hypot(...v); return v.map((x) => x / n); });
  const mean = Array.from({ length: d }, (_, c) => e.reduce((a, v) => a + v[c], 0) / e.length);
  return e.reduce((a, v) => a + v.reduce((b, x, c) => b + (x - mean[c]) ** 2, 0), 0);
}

describe("numeric entry points", () => {
  it("inertia of normalised embeddings: a hand example and k − k‖ē‖² on random data, missing rows skipped", () => {
    // [3, 0] and [0, 5] normalise to e1, e2: ē = (½, ½), inertia = 2 · ½ = 1; one image alone: 0; identical: 0.
    const emb = Float32Array.of(3, 0, 0, 5, 0, 2);
    const got = topImageInertia(emb, 2, Int32Array.of(0, 1, -1, 2, -1, -1, 1, 2, -1), 3);
    expect(got[0]).toBeCloseTo(1, 6);
    expect(got[1]).toBe(0);
    expect(got[2]).toBeCloseTo(0, 6);
    const rand = mulberry32(5);
    const d = 7, N = 40, k = 10;
    const big = Float32Array.from({ length: N * d }, () => rand() - 0.3);
    const rows = Int32Array.from({ length: 6 * k }, () => Math.floor(rand() * N));
    const inert = topImageInertia(big, d, rows, k);
    for (let u = 0; u < 6; u++) {
      const mean = new Array(d).fill(0);
      for (let j = 0; j < k; j++) {
        const r = rows[u * k + j];
        const v = Array.from(big.subarray(r * d, (r + 1) * d));
        const n = Math.hypot(...v);
        v.forEach((x, c) => (mean[c] += x / n / k));
      }
      expect(inert[u]).toBeCloseTo(k - k * mean.reduce((a, x) => a + x * x, 0), 5);
    }
  });

  it("distinct labels among the top rows, unlabelled rows not counted; super-class map from a file", () => {
    const labels = Int32Array.of(0, 0, 1, 2, -1, 2);
    expect(Array.from(distinctLabelCounts(labels, Int32Array.of(0, 1, 4, 2, 3, 5, 4, -1, -1), 3))).toEqual([1, 2, 0]);
    const file = path.join(tmp, "super.json");
    fs.writeFileSync(file, JSON.stringify({ 0: 0, 1: 0, 2: 1, 7: 3 }));
    const m = readSuperclassMap(file);
    expect(m.superclasses).toBe(4);
    expect(Array.from(m.classToSuper.subarray(0, 8))).toEqual([0, 0, 1, -1, -1, -1, -1, 3]);
    fs.writeFileSync(file, JSON.stringify({ 1000: 2 }));
    expect(() => readSuperclassMap(file)).toThrow(
      `${file}, key '1000': '1000' is not an ImageNet class index (0..999)`,
    );
    // The most over-represented label across kinds: colour r is 3/3 of the rows against 3/10 overall (+0.7),
    // size 0 only 2/3 vs ½.
    const colour = {
      name: "colour",
      classes: 3,
      names: ["r", "g", "b"],
      values: Int32Array.of(0, 0, 0, 1, 1, 2, 2, 2, 2, 2),
    };
    const size = { name: "size", classes: 2, values: Int32Array.of(0, 1, 0, 1, 0, 1, 0, 1, 0, 1) };
    expect(enrichedLabel([size, colour], [0, 1, 2, -1])).toEqual({
      kind: "colour",
      name: "r",
      count: 3,
      of: 3,
      base: 0.3,
    });
    expect(enrichedLabel([size], [1, 3])).toEqual({ kind: "size", name: "1", count: 2, of: 2, base: 0.5 });
    const shipped = readSuperclassMap();
    expect(shipped.superclasses).toBe(100);
    expect(Array.from(shipped.classToSuper).filter((v) => v >= 0)).toHaveLength(551);
  });
});

describe("clip-nad analyze polysemanticity", () => {
  const WNIDS = ["n01440764", "n01443537", "n01484850", "n01491361"]; // ImageNet classes 0..3
  const val = path.join(tmp, "val");
  const toy = path.join(tmp, "toy");
  let imagenetCol: Collection;
  let toyCol: Collection;

  beforeAll(async () => {
    const rand = mulberry32(3);
    for (const [c, wnid] of WNIDS.entries()) {
      fs.mkdirSync(path.join(val, wnid), { recursive: true });
      for (let i = 0; i < 6; i++) {
        const raw = Buffer.from(Array.from({ length: 8 * 8 * 3 }, () => Math.floor(rand() * 256)));
        await sharp(raw, { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(path.join(val, wnid, `ILSVRC2012_val_${c}${i}.png`));
      }
    }
    imagenetCol = await collect({ model: fakeModel(), images: val, outDir: path.join(tmp, "col-val"), topK: 5, loadPixels: sharpLoader });
    await writeToyDataset(toy, { n: 24, seed: 4, size: 32, masks: false });
    toyCol = await collect({ model: fakeModel(), images: toy, outDir: path.join(tmp, "col-toy"), topK: 5, loadPixels: sharpLoader });
  }, 120_000);

  afterAll(() => { imagenetCol?.close(); toyCol?.close(); });

  it("writes C neuron and H×C pair inertias (vs brute-force top rows), histograms, and super-class counts (v1)", async () => {
    const mapping = path.join(tmp, "super4.json");
    fs.writeFileSync(mapping, JSON.stringify({ 0: 0, 1: 0, 2: 1 })); // class 3 has no super-class
    const out = path.join(tmp, "poly.json");
    await run("analyze", "polysemanticity", "--collection", path.join(tmp, "col-val"), "--top", "5", "--labels", "imagenet", "--superclasses", mapping, "--out", out);
    const j = JSON.parse(fs.readFileSync(out, "utf8"));
    const { H, C, N, d } = imagenetCol;
    expect(j.neurons).toHaveLength(C);
    expect(j.pairs).toHaveLength(H);
    for (const row of j.pairs) expect(row).toHaveLength(C);
    const hist = j.histograms.inertia;
    expect(hist.edges).toHaveLength(31);
    expect(hist.neurons.reduce((a: number, b: number) => a + b, 0)).toBe(C);
    expect(hist.pairs.reduce((a: number, b: number) => a + b, 0)).toBe(H * C);
    const naive = naiveNorms(imagenetCol.weights, Array.from({ length: N }, (_, i) => imagenetCol.coefficientsOf(i)));
    const emb = imagenetCol.embeddings;
    const superOf = (row: number) => [0, 0, 1, -1][WNIDS.indexOf(imagenetCol.ids[row].split("/")[0])];
    const distinct = (rows: number[]) => new Set(rows.map(superOf).filter((s) => s >= 0)).size;
    for (const n of [0, 9, 40, 63]) {
      const top = bruteTop(N, (i) => naive[i].neuron[n], 5).rows;
      expect(j.neurons[n]).toBeCloseTo(directInertia(emb, d, top), 4);
      expect(j.labels["WordNet super-classes"].neurons[n]).toBe(distinct(top));
      for (const h of [0, 3]) {
        const pt = bruteTop(N, (i) => naive[i].pair[h * C + n], 5).rows;
        expect(j.pairs[h][n]).toBeCloseTo(directInertia(emb, d, pt), 4);
        expect(j.labels["WordNet super-classes"].pairs[h][n]).toBe(distinct(pt));
      }
    }
    expect(j.histograms["WordNet super-classes"].edges).toEqual([-0.5, 0.5, 1.5, 2.5]);
    // The report draws as the polysemanticity figure (export-figure --figure polysemanticity[:<label>]).
    const svg = path.join(tmp, "poly.svg");
    await runCli("export-figure", "--figure", "polysemanticity:WordNet super-classes", "--in", out, "--out", svg);
    expect(fs.readFileSync(svg, "utf8")).toContain("distinct WordNet super-classes among the top-5");
    await expect(runCli("export-figure", "--figure", "polysemanticity:colour", "--in", out, "--out", svg))
      .rejects.toThrow("not a polysemanticity report with a 'colour' histogram (has: inertia, WordNet super-classes)");
  }, 120_000);

  it("--labels toy counts distinct attribute values among the top images (ground truth from index.jsonl)", async () => {
    const out = path.join(tmp, "poly-toy.json");
    await run("analyze", "polysemanticity", "--collection", path.join(tmp, "col-toy"), "--top", "4", "--norm", "centred", "--labels", "toy", "--out", out);
    const j = JSON.parse(fs.readFileSync(out, "utf8"));
    expect(Object.keys(j.labels).sort()).toEqual(Object.keys(ATTRIBUTES).sort());
    const records = new Map(fs.readFileSync(path.join(toy, "index.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).map((r) => [r.image, r.labels]));
    const { N, C } = toyCol;
    const naive = naiveNorms(toyCol.weights, Array.from({ length: N }, (_, i) => toyCol.coefficientsOf(i)), toyCol.meanCoefficients);
    for (const n of [1, 30]) {
      const top = bruteTop(N, (i) => naive[i].neuron[n], 4).rows;
      for (const attr of Object.keys(ATTRIBUTES)) {
        expect(j.labels[attr].neurons[n]).toBe(new Set(top.map((r) => records.get(toyCol.ids[r])[attr])).size);
      }
      const pt = bruteTop(N, (i) => naive[i].pair[2 * C + n], 4).rows;
      expect(j.labels.colour.pairs[2][n]).toBe(new Set(pt.map((r) => records.get(toyCol.ids[r]).colour)).size);
    }
  });

  it("bad input: labels of another dataset, an unknown label kind, another model", async () => {
    const out = path.join(tmp, "bad.json");
    const poly = (...a: string[]) => run("analyze", "polysemanticity", "--out", out, ...a);
    await expect(poly("--collection", path.join(tmp, "col-toy"), "--labels", "imagenet", "--dataset", val))
      .rejects.toThrow(/24 of the collection's 24 images are not in the ImageNet val folder/);
    await expect(poly("--collection", path.join(tmp, "col-val"), "--labels", "toy")).rejects.toThrow(/index\.jsonl/);
    await expect(poly("--collection", path.join(tmp, "col-val"), "--labels", "wordnet")).rejects.toThrow("--labels must be imagenet or toy, got 'wordnet'");
    await expect(poly("--collection", path.join(tmp, "col-val"), "--model", "toy")).rejects.toThrow(/made with model fake/);
    expect(fs.existsSync(out)).toBe(false);
  });
});

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { openCollection } from "../src/collect";
import { encodeNpy } from "../src/io/npy";
import { loadModel } from "../src/clip/model";
import { preprocessImages } from "../src/clip/preprocess";
import { SHAPES, writeToyDataset } from "../src/toyworld";
import { coefficientsToEmbedding } from "../src/decompose";
import { predictOne } from "../src/analysis";
import { normalizeRows } from "../src/util/rows";
import { expectSameFolder } from "./collect.compare";

/**
 * End to end on the tiny oracle fixture model (real image graph through onnxruntime) and a labelled toy-world
 * folder, through the real `clip-nad` launcher: collect, shard + merge, analyze reconstruct / ablate.
 */
const root = path.resolve(__dirname, "..");
const MODEL = path.join(root, "test/fixtures/tiny/weights.safetensors");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-e2e-"));
const toy = path.join(tmp, "toy");
const col = path.join(tmp, "collection");

function cli(...args: string[]): { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  return cliEnv({}, ...args);
}

function cliEnv(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(root, "src/cli/bin.cjs"), ...args], { cwd: root, encoding: "utf8", env: { ...process.env, ...env } });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  await writeToyDataset(toy, { n: 40, seed: 3, size: 96, masks: false });
  const r = cli("collect", "--model", MODEL, "--images", path.join(toy, "images"), "--out", col, "--batch", "8", "--topk", "10", "--quiet");
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("40 images × H=4 × C=256 (d=64)");
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("collect → analyze end to end (tiny fixture model)", () => {
  it("stored s and embeddings equal a direct forward pass of the same images", async () => {
    const c = openCollection(col);
    const model = await loadModel(MODEL);
    try {
      for (const r of [0, 17, 39]) {
        const px = await preprocessImages([path.join(toy, "images", c.ids[r])], model.config.imageResolution);
        const fwd = await model.encodeImagePixels(px, 1);
        const s = c.coefficientsOf(r);
        for (let p = 0; p < s.length; p += 37) expect(s[p]).toBeCloseTo(fwd.coefficients[p], 4);
        const e = c.embeddingOf(r);
        for (let j = 0; j < c.d; j++) expect(e[j]).toBeCloseTo(fwd.embedding[j], 4);
        // Σ r^{n,h} = M: the collected s reproduce the collected embedding through the saved weights.
        const m = coefficientsToEmbedding(c.weights, s);
        for (let j = 0; j < c.d; j++) expect(m[j]).toBeCloseTo(e[j], 3);
      }
    } finally {
      await model.dispose();
      c.close();
    }
  });

  it("the real CLI killed with SIGKILL (before a commit, inside finalize) and rerun gives the same bytes", () => {
    const out = path.join(tmp, "killed");
    const args = ["collect", "--model", MODEL, "--images", path.join(toy, "images"), "--out", out, "--batch", "8", "--topk", "10", "--quiet"];
    for (const point of ["after-append:3", "finalize-mid:1"]) {
      const r = cliEnv({ CLIP_NAD_COLLECT_CRASH: point }, ...args);
      expect(r.signal).toBe("SIGKILL");
    }
    const r = cli(...args);
    expect(r.code).toBe(0);
    expectSameFolder(col, out);
  });

  it("shards 0/2 + 1/2 through the CLI merge byte-identically to the single run", () => {
    for (const i of [0, 1]) {
      const r = cli("collect", "--model", MODEL, "--images", path.join(toy, "images"), "--out", path.join(tmp, `shard${i}`), "--batch", "8", "--topk", "10", "--shard", `${i}/2`, "--quiet");
      expect(r.code).toBe(0);
    }
    const m = cli("merge", "--out", path.join(tmp, "merged"), path.join(tmp, "shard1"), path.join(tmp, "shard0"), "--quiet");
    expect(m.stderr).toBe("");
    expect(m.code).toBe(0);
    expectSameFolder(col, path.join(tmp, "merged"));
  });

  it("analyze reconstruct and ablate print and write consistent numbers", () => {
    // Class embeddings: normalised centroids of each shape's image embeddings (stands in for a text tower,
    // which the tiny fixture's 512-token vocabulary does not have).
    const c = openCollection(col);
    const records = fs.readFileSync(path.join(toy, "index.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const shapeOf = new Map(records.map((r) => [r.image as string, SHAPES.indexOf(r.labels.shape)]));
    const d = c.d;
    const emb = normalizeRows(Float32Array.from(c.embeddings), d);
    const cls = new Float32Array(SHAPES.length * d);
    c.ids.forEach((id, r) => {
      const k = shapeOf.get(`images/${id}`)!;
      for (let j = 0; j < d; j++) cls[k * d + j] += emb[r * d + j];
    });
    const clsFile = path.join(tmp, "classes.npy");
    fs.writeFileSync(clsFile, encodeNpy(cls, [SHAPES.length, d]));
    const common = ["--collection", col, "--images", toy, "--classes", "toy:shape", "--class-embeddings", clsFile, "--quiet"];

    const rec = cli("analyze", "reconstruct", ...common, "--out", path.join(tmp, "rec.json"));
    expect(rec.stderr).toBe("");
    expect(rec.code).toBe(0);
    expect(rec.stdout).toMatch(/unmodified model\s+\d+\.\d+%/);
    const R = JSON.parse(fs.readFileSync(path.join(tmp, "rec.json"), "utf8"));
    expect(R.evaluation.images).toBe(40);
    expect(R.classes).toEqual([...SHAPES]);
    // The unmodified accuracy equals classifying the model's own (collected) embeddings.
    const unit = normalizeRows(Float32Array.from(cls), d);
    const direct = c.ids.filter((id, r) => predictOne(c.embeddingOf(r), unit) === shapeOf.get(`images/${id}`)).length / c.N;
    expect(R.accuracy.unmodified).toBeCloseTo(direct, 10);
    // Pairs are rank-1: mean + projection on PC1 rebuilds every varying pair exactly (paper.md §D).
    expect(R.varyingPairs).toBe(R.pairs);
    expect(R.accuracy.pairs).toBe(R.accuracy.unmodified);
    expect(R.accuracy.neurons.map((n: { pcs: number }) => n.pcs)).toEqual([1, 2, 4]);
    // A neuron spans ≤ H = 4 directions: 4 PCs rebuild it exactly.
    expect(R.accuracy.neurons[2].accuracy).toBe(R.accuracy.unmodified);

    // "count" rule: exactly round(p % · units) kept, so 0 % ablates every unit
    const abl = cli("analyze", "ablate", ...common, "--percent", "0,50,100", "--keep-rule", "count",
      "--out", path.join(tmp, "abl.json"));
    expect(abl.stderr).toBe("");
    expect(abl.code).toBe(0);
    const A = JSON.parse(fs.readFileSync(path.join(tmp, "abl.json"), "utf8"));
    expect(A.rule).toBe("count");
    const meanPred = predictOne(coefficientsToEmbedding(c.weights, c.meanCoefficients), unit);
    for (const [level, units] of [["pair", 4 * 256], ["neuron", 256]] as const) {
      const pts = A.curves[level].points;
      expect(pts.map((p: { percentKept: number }) => p.percentKept)).toEqual([0, 50, 100]);
      expect(pts.map((p: { kept: number }) => p.kept)).toEqual([0, units / 2, units]);
      expect(pts[2].accuracy).toBe(R.accuracy.unmodified);
      // 0% kept: every image gets the mean embedding, so one class is predicted for all.
      const share = c.ids.filter((id) => shapeOf.get(`images/${id}`) === meanPred).length / c.N;
      expect(pts[0].accuracy).toBeCloseTo(share, 10);
    }
    // the official "percentile" rule (default): score ≥ the (100 − p)th percentile; 0 % keeps the top unit(s)
    const off = cli("analyze", "ablate", ...common, "--percent", "0,50,100", "--out", path.join(tmp, "abl-official.json"));
    expect(off.stderr).toBe("");
    expect(off.code).toBe(0);
    const O = JSON.parse(fs.readFileSync(path.join(tmp, "abl-official.json"), "utf8"));
    expect(O.rule).toBe("percentile");
    for (const [level, units] of [["pair", 4 * 256], ["neuron", 256]] as const) {
      const pts = O.curves[level].points;
      expect(pts[0].kept).toBeGreaterThanOrEqual(1);
      expect(pts[1].kept).toBeGreaterThanOrEqual(units / 2);
      expect(pts[2].kept).toBe(units);
      expect(pts[2].accuracy).toBe(R.accuracy.unmodified);
    }
    expect(A.histograms.pair.counts.reduce((a: number, b: number) => a + b, 0)).toBe(4 * 256);
    c.close();
  });

  it("bad inputs fail with the file named", () => {
    const r = cli("analyze", "ablate", "--collection", path.join(tmp, "nope"), "--images", toy, "--classes", "toy:shape", "--out", path.join(tmp, "x.json"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${path.join(tmp, "nope")}: not a clip-nad collection`);
    const t = cli("analyze", "ablate", "--collection", col, "--images", toy, "--classes", "toy:weight", "--out", path.join(tmp, "x.json"));
    expect(t.stderr).toContain("unknown toy attribute 'weight'");
    const e = cli("collect", "--model", MODEL, "--images", path.join(tmp, "empty-none"), "--out", path.join(tmp, "o"));
    expect(e.code).toBe(1);
    expect(e.stderr).toContain(`${path.join(tmp, "empty-none")}: no such image file or folder`);
  });
});

describe("collect → analyze with the embedded toy model (real text tower, 80 templates)", () => {
  it("reconstruct and ablate on toy-world colours: pairs rebuild exactly, the curves end at the unmodified model", () => {
    const pcaSet = path.join(tmp, "toy-pca"), evalSet = path.join(tmp, "toy-eval");
    const w1 = cli("toyworld", "--out", pcaSet, "--n", "40", "--seed", "5", "--no-masks", "--quiet");
    const w2 = cli("toyworld", "--out", evalSet, "--n", "80", "--seed", "6", "--no-masks", "--quiet");
    expect([w1.code, w2.code]).toEqual([0, 0]);
    const toyCol = path.join(tmp, "toy-collection");
    const c = cli("collect", "--images", pcaSet, "--out", toyCol, "--topk", "20", "--quiet"); // --model defaults to toy
    expect(c.stderr).toBe("");
    expect(c.code).toBe(0);
    const common = ["--collection", toyCol, "--images", evalSet, "--classes", "toy:colour", "--quiet"];
    const rec = cli("analyze", "reconstruct", ...common, "--out", path.join(tmp, "toy-rec.json"));
    expect(rec.stderr).toBe("");
    expect(rec.code).toBe(0);
    const R = JSON.parse(fs.readFileSync(path.join(tmp, "toy-rec.json"), "utf8"));
    expect(R.classes.length).toBe(10);
    expect(R.accuracy.unmodified).toBeGreaterThan(0.3); // model card: 68% on colour; chance 10%
    expect(R.accuracy.pairs).toBe(R.accuracy.unmodified);
    const abl = cli("analyze", "ablate", ...common, "--percent", "0,10,100", "--out", path.join(tmp, "toy-abl.json"));
    expect(abl.code).toBe(0);
    expect(abl.stdout).toMatch(/kept by the percentile rule\s+pairs \(kept\)\s+neurons \(kept\)/);
    const A = JSON.parse(fs.readFileSync(path.join(tmp, "toy-abl.json"), "utf8"));
    expect(A.curves.pair.points[2].accuracy).toBe(R.accuracy.unmodified);
    expect(A.curves.neuron.points[2].accuracy).toBe(R.accuracy.unmodified);
    expect(A.curves.pair.units).toBe(8 * 512);
    expect(A.curves.neuron.units).toBe(512);
  });
});

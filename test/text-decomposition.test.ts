// The text decomposition around OMP: the paper's dictionary normalisation (numpy fixture), seeded nested word
// subsets, the resumable vocabulary cache, head outputs from s (against ImageDecomposition.head), unit codes
// against a naive residual-based OMP written here, TextSpan head replacement, the toy ground-truth counts, the
// browser source's label checks, and `clip-nad text-decompose` end to end on the toy model.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Collection, collect } from "../src/collect";
import { ImageDecomposition } from "../src/decompose";
import { headOutputs } from "../src/analysis/heads";
import { linearEditAccuracy, neuronDirectionEdit, pairDirectionEdit } from "../src/analysis/linearEdit";
import { reconstructionAccuracy } from "../src/analysis/reconstruct";
import { Matrix, codeRow } from "../src/analysis/omp";
import { labelPrecision, sharedAttributeValues } from "../src/analysis/groundTruth";
import {
  TextLabels,
  headReplacementAccuracy,
  headTextSpans,
  textDirections,
  unitCodes,
  unitSignals,
} from "../src/analysis/textDecomposition";
import { dictionaryWords, normalizeDictionary, toyDictionaryWords } from "../src/text/dictionary";
import { vocabularyEmbeddings } from "../src/text/vocabulary";
import { CAPTION_WORDS } from "../src/toyworld/vocab";
import { mulberry32 } from "../src/toyworld/random";
import { readNpy } from "../src/io/npy";
import { readCsrNpz } from "../src/io/npz";
import { browserSourceFrom } from "../src/browser/source";
import { fakeModel, sharpLoader, writeImageFolder } from "./collect.fake";
import { register as registerTextDecompose } from "../src/cli/commands/textDecompose";
import { runCommand } from "./cli-helpers";
import { loadModel } from "../src/clip/model";
import { preprocessRGB } from "../src/clip/preprocess";
import { generateScene } from "../src/toyworld";

const FIX = path.join(__dirname, "fixtures", "omp");
let tmp = "";
let col: Collection;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-text-"));
  const images = path.join(tmp, "images");
  await writeImageFolder(images, 30);
  col = await collect({
    model: fakeModel(),
    images,
    outDir: path.join(tmp, "fake-col"),
    batchSize: 10,
    topK: 8,
    loadPixels: sharpLoader,
  });
}, 120_000);
afterAll(() => {
  col?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("text dictionaries", () => {
  it("normalizeDictionary = numpy's (E − mean over words) / column norms (paper.md §A.7)", () => {
    const E = readNpy(path.join(FIX, "dictionary_E.npy"));
    const want = readNpy(path.join(FIX, "dictionary_D.npy")).data;
    const got = normalizeDictionary(E.data as Float32Array, E.shape[0], E.shape[1]);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-6);
  });

  it("dictionaryWords: included words first, seeded subsets nested, the whole list in its own order", () => {
    const list = Array.from({ length: 50 }, (_, i) => `w${i}`);
    const small = dictionaryWords(10, { words: list, include: ["w3", "extra"], seed: 5 });
    const big = dictionaryWords(30, { words: list, include: ["w3", "extra"], seed: 5 });
    expect(small.slice(0, 2)).toEqual(["w3", "extra"]);
    expect(big.slice(0, 10)).toEqual(small);
    expect(new Set(big).size).toBe(30);
    expect(dictionaryWords(10, { words: list, seed: 6 })).not.toEqual(dictionaryWords(10, { words: list, seed: 5 }));
    expect(dictionaryWords(51, { words: list, include: ["extra"] })).toEqual(["extra", ...list]);
    expect(() => dictionaryWords(52, { words: list, include: ["extra"] })).toThrow(
      /52 words asked for, the list has 51/,
    );
    expect(() => dictionaryWords(5, { words: ["a", "b", "a"] })).toThrow(/'a' appears twice/);
    expect(toyDictionaryWords(40).slice(0, CAPTION_WORDS.length)).toEqual([...CAPTION_WORDS]);
  });

  it("vocabularyEmbeddings resumes a killed run from its partial file, encoding only the missing words", async () => {
    const words = Array.from({ length: 30 }, (_, i) => `word${i}`);
    const embed = (w: string) => {
      const r = mulberry32(w.length * 977 + w.charCodeAt(w.length - 1));
      return Array.from({ length: 6 }, () => r() - 0.5);
    };
    const encodeAll = async (texts: string[]) => Float32Array.from(texts.flatMap(embed));
    const whole = await vocabularyEmbeddings(words, encodeAll, {
      modelHash: "a".repeat(64),
      cacheDir: path.join(tmp, "cache-a"),
      templates: ["a {}.", "the {}!"],
    });
    let calls = 0;
    const dying = async (texts: string[]) => {
      if (++calls > 20) throw new Error("killed"); // 8 words × 2 templates per call: dies in the third batch
      return encodeAll(texts);
    };
    const opts = { modelHash: "a".repeat(64), cacheDir: path.join(tmp, "cache-b"), templates: ["a {}.", "the {}!"] };
    await expect(vocabularyEmbeddings(words, dying, opts)).rejects.toThrow("killed");
    const partial = fs.readdirSync(path.join(tmp, "cache-b", "text")).filter((f) => f.endsWith(".partial"));
    expect(partial).toHaveLength(1);
    const seen: string[] = [];
    const resumed = await vocabularyEmbeddings(
      words,
      async (t) => {
        seen.push(...t);
        return encodeAll(t);
      },
      opts,
    );
    expect(seen.length).toBe((30 - 16) * 2);
    expect(Array.from(resumed)).toEqual(Array.from(whole));
    expect(fs.readdirSync(path.join(tmp, "cache-b", "text")).filter((f) => f.endsWith(".partial"))).toHaveLength(0);
  });
});

/** Naive OMP: residual r = x − γ·D_S, LS by normal equations (Gaussian elimination), first index on ties. */
function naiveOmp(D: Float32Array, K: number, d: number, x: Float32Array, m: number): Map<number, number> {
  const S: number[] = [];
  let gamma: number[] = [];
  const r = Float64Array.from(x);
  for (let it = 0; it < m; it++) {
    let best = -1,
      bestAbs = -1;
    for (let k = 0; k < K; k++) {
      let c = 0;
      for (let j = 0; j < d; j++) c += D[k * d + j] * r[j];
      if (Math.abs(c) > bestAbs) {
        bestAbs = Math.abs(c);
        best = k;
      }
    }
    if (S.includes(best) || bestAbs ** 2 < 2 ** -23) break;
    S.push(best);
    const n = S.length;
    const A = S.map((a) => [
      ...S.map((b) => {
        let g = 0;
        for (let j = 0; j < d; j++) g += D[a * d + j] * D[b * d + j];
        return g;
      }),
      (() => {
        let g = 0;
        for (let j = 0; j < d; j++) g += D[a * d + j] * x[j];
        return g;
      })(),
    ]);
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const f = A[q][p] / A[p][p];
        for (let c = p; c <= n; c++) A[q][c] -= f * A[p][c];
      }
    gamma = new Array(n).fill(0);
    for (let p = n - 1; p >= 0; p--) {
      let s = A[p][n];
      for (let c = p + 1; c < n; c++) s -= A[p][c] * gamma[c];
      gamma[p] = s / A[p][p];
    }
    for (let j = 0; j < d; j++) {
      let v = x[j];
      for (let q = 0; q < n; q++) v -= gamma[q] * D[S[q] * d + j];
      r[j] = v;
    }
  }
  return new Map(S.map((a, i) => [a, gamma[i]]));
}

describe("units in words (fake model collection)", () => {
  it("headOutputs (two GEMMs on s) = ImageDecomposition.head (Σ_n s·w + C·c) for every image and head", async () => {
    const dec = await col.decomposition();
    const R = await headOutputs(col, dec.apw, { chunk: 7 });
    const { H, C, d, K } = dec;
    for (let i = 0; i < col.N; i++) {
      const image = new ImageDecomposition(dec, {
        embedding: col.embeddingOf(i),
        Z: new Float32Array(C * K),
        a: new Float32Array(H * (K + 1)),
        s: col.coefficientsOf(i),
      });
      for (let h = 0; h < H; h++) {
        const want = image.head(h);
        for (let j = 0; j < d; j++)
          expect(Math.abs(R[(h * col.N + i) * d + j] - want[j])).toBeLessThan(2e-4 * (1 + Math.abs(want[j])));
      }
    }
  });

  it("unit codes of the pair and neuron PCs equal a naive OMP; textDirections = normalize(γD)", async () => {
    const dec = await col.decomposition();
    const sig = unitSignals(col, dec);
    const K = 30,
      d = dec.d,
      m = 4;
    const r = mulberry32(9);
    const atoms = normalizeDictionary(
      Float32Array.from({ length: K * d }, () => r() - 0.5),
      K,
      d,
    );
    const dict: Matrix = { data: atoms, rows: K, cols: d };
    const codes = await unitCodes(sig, dict, { nonzero: m });
    expect([codes.pairs.N, codes.neurons.N]).toEqual([dec.H * dec.C, dec.C]);
    const dirs = textDirections(codes.pairs, dict);
    for (const u of [0, 5, 77, 130, 255]) {
      const x = sig.pairs.rows(u, 1) as Float32Array;
      const want = naiveOmp(atoms, K, d, x, m);
      const { atoms: got, values } = codeRow(codes.pairs, u);
      expect([...got].sort((a, b) => a - b)).toEqual([...want.keys()].sort((a, b) => a - b));
      got.forEach((a, j) => expect(Math.abs(values[j] - want.get(a)!)).toBeLessThan(1e-4));
      const rec = new Float64Array(d);
      want.forEach((g, a) => {
        for (let j = 0; j < d; j++) rec[j] += g * atoms[a * d + j];
      });
      const n = Math.hypot(...rec);
      for (let j = 0; j < d; j++) expect(Math.abs(dirs[u * d + j] - rec[j] / n)).toBeLessThan(1e-4);
      // the signal is the pair's PC: ±w/|w|
      const w = dec.direction({ neuron: u % dec.C, head: Math.floor(u / dec.C) });
      const cos = w.reduce((a, v, j) => a + v * x[j], 0) / dec.wNorms[u];
      expect(Math.abs(Math.abs(cos) - 1)).toBeLessThan(1e-5);
    }
    for (const n of [0, 9, 63]) {
      const x = sig.neurons.data.subarray(n * d, (n + 1) * d) as Float32Array;
      const want = naiveOmp(atoms, K, d, x, m);
      expect([...codeRow(codes.neurons, n).atoms].sort((a, b) => a - b)).toEqual(
        [...want.keys()].sort((a, b) => a - b),
      );
    }
  });

  it("a head replaced by TextSpan texts spanning its whole output space changes nothing; fewer texts do", async () => {
    const dec = await col.decomposition();
    const d = dec.d;
    const r = mulberry32(4);
    const texts: Matrix = { data: Float32Array.from({ length: 40 * d }, () => r() - 0.5), rows: 40, cols: d };
    const classifier = Float32Array.from({ length: 5 * d }, () => r() - 0.5);
    const labels = Int32Array.from({ length: col.N }, (_, i) => i % 5);
    const full = await headTextSpans(col, dec, texts, { iterations: d, rank: d });
    const acc = await headReplacementAccuracy(col, labels, dec, classifier, full);
    expect(acc.perHead.every((a) => a === acc.unmodified)).toBe(true);
    expect(acc.allHeads).toBe(acc.unmodified);
    const spans = await headTextSpans(col, dec, texts, { iterations: 2, rank: d });
    for (const s of spans) expect(s.variance.reduce((a, b) => a + b, 0)).toBeLessThan(s.totalVariance);
  });
});

describe("linear edits of s = the reconstruction with explicit directions", () => {
  it("linearEditAccuracy (GEMM) predicts exactly what reconstructionAccuracy (per image, float64) does", async () => {
    const dec = await col.decomposition();
    const { H, C, d } = dec;
    const r = mulberry32(11);
    const unit = (rows: number) => {
      const a = Float32Array.from({ length: rows * d }, () => r() - 0.5);
      for (let i = 0; i < rows; i++) {
        const n = Math.hypot(...a.subarray(i * d, (i + 1) * d));
        for (let j = 0; j < d; j++) a[i * d + j] /= n;
      }
      return a;
    };
    const pairDirs = unit(H * C), neuronDirs = unit(C);
    const classifier = unit(6);
    const labels = Int32Array.from({ length: col.N }, (_, i) => (i * 7) % 6);
    const ctx = { apw: dec.apw, w: dec.w, sBar: col.meanCoefficients, classifier, bias: dec.bias };
    const ref = reconstructionAccuracy(col, labels, ctx, {
      pairDirections: pairDirs, neuronPCs: { pcs: neuronDirs, m: 1 }, neuronK: [1],
    });
    const got = await linearEditAccuracy(col, labels, ctx, [
      pairDirectionEdit(dec.w, pairDirs, H * C), neuronDirectionEdit(dec.w, neuronDirs, H, C),
    ], { chunk: 7 });
    expect(Array.from(got.predictions[0])).toEqual(Array.from(ref.predictions.pairs));
    expect(Array.from(got.predictions[1])).toEqual(Array.from(ref.predictions.neurons[0]));
    expect(got.accuracy).toEqual([ref.pairs, ref.neurons[0].accuracy]);
  });
});

describe("ground truth from labelled images", () => {
  it("finds values shared by ≥ min of the top images and counts how often they are among the unit's words", () => {
    const labels = [
      { colour: "red", size: "large" },
      { colour: "red", size: "small" },
      { colour: "red", size: "large" },
      { colour: "blue", size: "large" },
      { colour: "blue", size: "small" },
    ];
    // unit 0: rows 0,1,2,3 → red ×3, large ×3; unit 1: rows 3,4,1,0 → nothing ≥ 3; unit 2: a missing row (−1)
    const top = Int32Array.from([0, 1, 2, 3, 3, 4, 1, 0, 0, 2, -1, 1]);
    const shared = sharedAttributeValues(top, 4, labels, { top: 4, min: 3 });
    expect(shared[0]).toEqual([
      { attribute: "colour", value: "red", count: 3 },
      { attribute: "size", value: "large", count: 3 },
    ]);
    expect(shared[1]).toEqual([]);
    expect(shared[2]).toEqual([]);
    const p = labelPrecision(shared, (u) => (u === 0 ? ["Red", "circle"] : ["large"]));
    expect(p).toEqual({
      instances: 2,
      hits: 1,
      units: 1,
      byAttribute: { colour: { instances: 1, hits: 1 }, size: { instances: 1, hits: 0 } },
    });
  });
});

describe("labels in the browser source", () => {
  it("refuses labels of another model or another shape, naming the file", async () => {
    const file = path.join(tmp, "labels.json");
    const base: TextLabels = {
      format: "clip-nad-text-labels/1",
      model: { name: "fake", hash: col.manifest.model.hash },
      collection: col.dir,
      dictionary: { words: 2, templates: 0, normalisation: "" },
      nonzero: 1,
      pairs: Array.from({ length: col.H * col.C }, (_, u) => ({
        neuron: u % col.C,
        head: Math.floor(u / col.C),
        words: [{ word: "a", coefficient: 1 }],
      })),
      neurons: Array.from({ length: col.C }, (_, n) => ({ neuron: n, words: [{ word: "b", coefficient: -1 }] })),
      heads: [],
    };
    fs.writeFileSync(file, JSON.stringify({ ...base, model: { name: "other", hash: "0".repeat(64) } }));
    await expect(
      browserSourceFrom(null, col, { labels: file, textEncoder: async () => new Float32Array(0) }),
    ).rejects.toThrow(`${file}: the labels were made with model other`);
    fs.writeFileSync(file, JSON.stringify({ ...base, neurons: base.neurons.slice(1) }));
    await expect(browserSourceFrom(null, col, { labels: file })).rejects.toThrow(/labels cover 256 pairs, 63 neurons/);
    const source = await browserSourceFrom(null, col, { labels: base });
    expect(source.textLabels!.neuron(3)).toEqual([{ word: "b", coefficient: -1 }]);
  });
});

describe("clip-nad text-decompose on the toy model", () => {
  it("writes scipy codes of every pair and neuron, the word list and signed labels with head texts", async () => {
    const model = await loadModel("toy", { cacheDir: path.join(tmp, "toy-cache"), threads: 1 });
    const items = Array.from({ length: 40 }, (_, i) => ({ id: `s${String(i).padStart(3, "0")}`, path: `101:${i}` }));
    const toyCol = await collect({
      model,
      images: { items },
      outDir: path.join(tmp, "toy-col"),
      batchSize: 20,
      topK: 10,
      loadPixels: async (file, R) => {
        const [s, i] = file.split(":").map(Number);
        const sc = generateScene(s, i, { size: 128 });
        return preprocessRGB({ width: sc.width, height: sc.height, data: sc.rgb }, R);
      },
    });
    toyCol.close();
    await model.dispose();
    const out = path.join(tmp, "td");
    const run = (words: string, dir: string, extra: string[] = []) =>
      runCommand(registerTextDecompose, ["text-decompose", "--collection", path.join(tmp, "toy-col"), "--out", dir,
        "--words", words, "--templates", "none", "--quiet", ...extra]);
    const env = process.env.CLIP_NAD_CACHE;
    process.env.CLIP_NAD_CACHE = path.join(tmp, "toy-cache");
    try {
      const text = await run("toy", out, ["--size", "60", "--textspan", "5"]);
      expect(text).toMatch(/8×512 pairs and 512 neurons over 60 words, m = 8/);
      await expect(run("toy", out, ["--size", "60"])).rejects.toThrow(/earlier text decomposition.*--force/);
      // bad word lists: clear errors naming the file
      const dup = path.join(tmp, "dup.txt");
      fs.writeFileSync(dup, "red\nblue\nred\n");
      const empty = path.join(tmp, "empty.txt");
      fs.writeFileSync(empty, "\n\n");
      const few = path.join(tmp, "few.txt");
      fs.writeFileSync(few, "red\nblue\n");
      const bad = path.join(tmp, "td-bad");
      await expect(run(dup, bad)).rejects.toThrow(`${dup}, key 'line 3': 'red' appears twice (entries 1 and 3)`);
      await expect(run(empty, bad)).rejects.toThrow(`${empty}: the word list is empty`);
      await expect(run(few, bad)).rejects.toThrow(`${few}: the dictionary has 2 words, fewer than --nonzero 8`);
    } finally {
      if (env === undefined) delete process.env.CLIP_NAD_CACHE;
      else process.env.CLIP_NAD_CACHE = env;
    }
    const pairs = readCsrNpz(path.join(out, "pairs.npz"));
    const neurons = readCsrNpz(path.join(out, "neurons.npz"));
    expect([pairs.shape, neurons.shape]).toEqual([[4096, 60], [512, 60]]);
    const words = fs.readFileSync(path.join(out, "words.txt"), "utf8").trim().split("\n");
    expect(words.slice(0, CAPTION_WORDS.length)).toEqual([...CAPTION_WORDS]);
    const labels = JSON.parse(fs.readFileSync(path.join(out, "labels.json"), "utf8")) as TextLabels;
    expect([labels.pairs[512 + 8].neuron, labels.pairs[512 + 8].head]).toEqual([8, 1]);
    // labels = the codes' largest |γ|, signed
    const u = 3 * 512 + 17;
    const row = Array.from({ length: pairs.indptr[u + 1] - pairs.indptr[u] }, (_, j) => ({
      word: words[pairs.indices[pairs.indptr[u] + j]],
      coefficient: pairs.data[pairs.indptr[u] + j],
    }));
    row.sort((a, b) => Math.abs(b.coefficient) - Math.abs(a.coefficient));
    expect(labels.pairs[u].words.map((w) => w.word)).toEqual(row.slice(0, 10).map((w) => w.word));
    expect(labels.pairs[u].words[0].coefficient).toBeCloseTo(row[0].coefficient, 6);
    expect(labels.heads).toHaveLength(8);
    expect(labels.heads[0].texts).toHaveLength(5);
    expect(fs.existsSync(path.join(out, "work"))).toBe(false);
  }, 300_000);
});

// Distribution-shift monitor (paper.md §A.10): ρ from the stored scalars vs a naive sum of materialised r^{n,h},
// concept pairs vs materialised PCs, point-biserial r and p vs scipy (committed fixture), labels CSV, the command.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  coefficientRows, conceptPairScores, conceptScores, groupMeans, labelRows, pairPCAFromCollection, pearson,
  pointBiserial, regularizedBeta, shiftReport, studentTwoSidedP, topConceptPairs,
} from "../src/analysis";
import { openCollection } from "../src/collect";
import { carsShiftLabels, readShiftLabels, readStanfordCars, toyShiftLabels, writeShiftLabels } from "../src/data";
import { ClipNadError } from "../src/errors";
import { writeNpy } from "../src/io/npy";
import { writeToyDataset } from "../src/toyworld";
import { gaussian, pairContribution, pairDirections, rng } from "./decompose-reference";

const root = path.resolve(__dirname, "..");
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures/stats/correlations.json"), "utf8")) as {
  cases: { kind: string; labels?: number[]; scores?: number[]; x?: number[]; y?: number[]; r: number; p: number }[];
  betainc: { a: number; b: number; x: number; value: number }[];
};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-shift-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function relClose(got: number, want: number, rel: number, abs = 1e-300): void {
  expect(Math.abs(got - want)).toBeLessThanOrEqual(Math.max(abs, rel * Math.abs(want)));
}

describe("point-biserial r and p vs scipy.stats (tools/oracle/make_stats_fixture.py)", () => {
  it("matches pointbiserialr and pearsonr to 1e-9 (r) and 1e-8 relative (p), down to p ≈ 1e-32", () => {
    for (const c of fixture.cases) {
      const got = c.kind === "pointbiserial" ? pointBiserial(c.labels!, c.scores!) : pearson(c.x!, c.y!);
      expect(Math.abs(got.r - c.r)).toBeLessThan(1e-9);
      relClose(got.p, c.p, 1e-8, 1e-15);
      expect(got.n).toBe((c.labels ?? c.x)!.length);
    }
  });

  it("the incomplete beta matches scipy.special.betainc (large a, x near 0 and 1)", () => {
    for (const b of fixture.betainc) relClose(regularizedBeta(b.x, b.a, b.b), b.value, 1e-9, 1e-14);
  });

  it("p is 1 at t = 0, 0 at |r| = 1, symmetric in the sign of t", () => {
    expect(studentTwoSidedP(0, 7)).toBe(1);
    expect(studentTwoSidedP(2.3, 9)).toBeCloseTo(studentTwoSidedP(-2.3, 9), 15);
    expect(pearson([1, 2, 3, 4], [2, 4, 6, 8]).p).toBe(0);
  });

  it("a constant label (r undefined) and non-binary labels are errors", () => {
    expect(() => pointBiserial([1, 1, 1, 1], [0.1, 0.2, 0.3, 0.4])).toThrow(/constant label/);
    expect(() => pointBiserial([0, 1, 2, 1], [0.1, 0.2, 0.3, 0.4])).toThrow(/expected 0 or 1/);
    expect(() => pearson([1, 2, 3], [5, 5, 5])).toThrow(ClipNadError);
  });
});

/** Random pair tables: w (H×C×d) from random W_V / W_O, c^h = W_O^h b_V^h / C + b_O / (C·H), written out here. */
function randomTables(seed: number, H = 3, C = 20, d = 8) {
  const g = gaussian(rng(seed));
  const Wv = Float32Array.from({ length: C * C }, () => g() / Math.sqrt(C));
  const Wo = Float32Array.from({ length: d * C }, () => g() / Math.sqrt(C));
  const bv = Float32Array.from({ length: C }, () => g() * 0.3);
  const bo = Float32Array.from({ length: d }, () => g() * 0.3);
  return { H, C, d, w: pairDirections({ C, H, d, Wv, Wo }), c: refConstants({ C, H, d, Wo, bv, bo }) };
}

describe("ρ(I) from the stored scalars", () => {
  const t = randomTables(5, 4, 24, 10);
  const N = 7;
  const g = gaussian(rng(99));
  const S = Float32Array.from({ length: N * t.H * t.C }, () => Math.abs(g()) + 0.1 * g());
  // M(I) = Σ_all r^{n,h}(I), materialised pair by pair
  const M = new Float32Array(N * t.d);
  const sum = (s: Float32Array, pairs: { neuron: number; head: number }[]) => {
    const v = new Float64Array(t.d);
    for (const p of pairs) {
      const r = pairContribution(s, t.w, t.c, p.head, p.neuron);
      for (let j = 0; j < t.d; j++) v[j] += r[j];
    }
    return v;
  };
  const all = Array.from({ length: t.H * t.C }, (_, u) => ({ neuron: u % t.C, head: Math.floor(u / t.C) }));
  for (let i = 0; i < N; i++) M.set(sum(S.subarray(i * t.H * t.C, (i + 1) * t.H * t.C), all), i * t.d);

  it("equals ‖Σ_{top-k} r^{n,h}‖ / ‖Σ_all r^{n,h}‖ with every r^{n,h} materialised", () => {
    const pairs = [
      { neuron: 3, head: 0 },
      { neuron: 17, head: 2 },
      { neuron: 3, head: 1 },
      { neuron: 23, head: 3 },
      { neuron: 0, head: 0 },
    ];
    const rho = conceptScores(coefficientRows(S, N, t.H, t.C), M, t, pairs);
    for (let i = 0; i < N; i++) {
      const v = sum(S.subarray(i * t.H * t.C, (i + 1) * t.H * t.C), pairs);
      const want = Math.hypot(...v) / Math.hypot(...M.subarray(i * t.d, (i + 1) * t.d));
      relClose(rho[i], want, 1e-6);
    }
    // a subset of rows, in the order asked
    const some = conceptScores(coefficientRows(S, N, t.H, t.C), M, t, pairs, { rows: [5, 2] });
    expect(Array.from(some)).toEqual([rho[5], rho[2]]);
  });

  it("one pair: ρ = |s w + c| / |M|; all pairs: ρ = 1", () => {
    const rows = coefficientRows(S, N, t.H, t.C);
    const one = conceptScores(rows, M, t, [{ neuron: 9, head: 1 }]);
    const whole = conceptScores(rows, M, t, all);
    for (let i = 0; i < N; i++) {
      const r = pairContribution(S.subarray(i * t.H * t.C, (i + 1) * t.H * t.C), t.w, t.c, 1, 9);
      relClose(one[i], Math.hypot(...r) / Math.hypot(...M.subarray(i * t.d, (i + 1) * t.d)), 1e-6);
      relClose(whole[i], 1, 1e-5);
    }
  });

  it("rejects repeated pairs, a zero embedding and mismatched shapes", () => {
    const rows = coefficientRows(S, N, t.H, t.C);
    expect(() => conceptScores(rows, M, t, [{ neuron: 1, head: 0 }, { neuron: 1, head: 0 }])).toThrow(/repeat/);
    expect(() => conceptScores(rows, new Float32Array(N * t.d), t, [{ neuron: 1, head: 0 }])).toThrow(/zero embedding/);
    expect(() => conceptScores(rows, M.subarray(1), t, [{ neuron: 1, head: 0 }])).toThrow(ClipNadError);
  });
});

describe("concept pairs: top-k by ⟨r̂^{n,h}, t⟩", () => {
  it("equal the top-k of the materialised signed unit PCs dotted with t/|t|; pairs that never vary: none", () => {
    const t = randomTables(8, 3, 12, 6);
    const g = gaussian(rng(3));
    const text = Float32Array.from({ length: t.d }, () => g());
    const sign = Int8Array.from({ length: t.H * t.C }, (_, u) => (u % 7 === 0 ? 0 : u % 3 === 0 ? -1 : 1));
    const wDotT = new Float32Array(t.H * t.C);
    const wNorms = new Float32Array(t.H * t.C);
    for (let u = 0; u < t.H * t.C; u++) {
      for (let j = 0; j < t.d; j++) wDotT[u] += t.w[u * t.d + j] * text[j];
      wNorms[u] = Math.hypot(...t.w.subarray(u * t.d, (u + 1) * t.d));
    }
    const tn = Math.hypot(...text);
    const scores = conceptPairScores(wDotT, wNorms, sign, tn);
    const naive: { u: number; v: number }[] = [];
    for (let u = 0; u < t.H * t.C; u++) {
      if (sign[u] === 0) continue;
      let v = 0;
      for (let j = 0; j < t.d; j++) v += ((sign[u] * t.w[u * t.d + j]) / wNorms[u]) * (text[j] / tn);
      naive.push({ u, v });
      expect(scores[u]).toBeCloseTo(v, 5);
    }
    naive.sort((a, b) => b.v - a.v);
    const top = topConceptPairs(scores, t, 5);
    expect(top.map((p) => p.head * t.C + p.neuron)).toEqual(naive.slice(0, 5).map((x) => x.u));
    for (let u = 0; u < sign.length; u++) if (sign[u] === 0) expect(Number.isNaN(scores[u])).toBe(true);
    expect(() => topConceptPairs(scores, t, naive.length + 1)).toThrow(/only \d+ pairs vary/);
  });
});

describe("group means", () => {
  it("orders numeric groups numerically, counts shares and mean scores; ungrouped images are left out", () => {
    const gm = groupMeans(
      [1, 0, 1, 1, 0, 0],
      [0.5, 0.1, 0.7, 0.3, 0.2, 9],
      ["2010", "2010", "999", "999", "2010", undefined],
    );
    expect(gm).toEqual([
      { group: "999", images: 2, positives: 2, share: 1, meanScore: 0.5 },
      { group: "2010", images: 3, positives: 1, share: 1 / 3, meanScore: (0.5 + 0.1 + 0.2) / 3 },
    ]);
    expect(groupMeans([0, 1], [1, 2], ["b", "a"]).map((g) => g.group)).toEqual(["a", "b"]);
  });
});

describe("labels.csv", () => {
  const write = (name: string, text: string) => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, text);
    return f;
  };

  it("reads image, label and group; round-trips ids with commas and quotes", () => {
    const labels = [
      { image: "a/1.png", label: 1 as const, group: "2001" },
      { image: 'b,"x".png', label: 0 as const, group: "2002" },
      { image: "c.png", label: 0 as const },
    ];
    const f = path.join(tmp, "rt.csv");
    writeShiftLabels(f, labels);
    expect(readShiftLabels(f)).toEqual(labels);
    expect(
      readShiftLabels(write("nogroup.csv", "label,image\n1,x.png\n0,y.png\n"))
    ).toEqual([{ image: "x.png", label: 1 }, { image: "y.png", label: 0 }]);
  });

  it("names the file, the row and the problem", () => {
    const bad = [
      ["nolabel.csv", "image,score\nx.png,1\n", /no 'label' column/],
      ["noimage.csv", "file,label\nx.png,1\n", /no 'image' column/],
      ["notbinary.csv", "image,label\nx.png,1\ny.png,2\n", /row 3: label '2' of 'y.png' is not 0 or 1/],
      ["word.csv", "image,label\nx.png,yes\n", /row 2: label 'yes'/],
      ["twice.csv", "image,label\nx.png,1\nx.png,0\n", /row 3: image 'x.png' is labelled twice \(first on row 2\)/],
      ["empty.csv", "", /empty/],
      ["header.csv", "image,label\n", /no rows/],
      ["blankid.csv", "image,label\n,1\n", /row 2: empty image id/],
    ] as const;
    for (const [name, text, msg] of bad) {
      const f = write(name, text);
      let err: unknown;
      try {
        readShiftLabels(f);
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(ClipNadError);
      expect(String((err as Error).message)).toContain(f);
      expect((err as Error).message).toMatch(msg);
    }
    expect(() => readShiftLabels(path.join(tmp, "missing.csv"))).toThrow(/missing\.csv/);
  });

  it("labels that name images the collection lacks are an error naming the file and the ids", () => {
    const ids = ["images/000.png", "images/001.png"];
    expect(
      Array.from(labelRows(ids, [{ image: "images/001.png", label: 1 }, { image: "images/000.png", label: 0 }]))
    ).toEqual([0, 1]);
    expect(() => labelRows(ids, [{ image: "000.png", label: 1 }], "labels.csv")).toThrow(
      /labels\.csv.*1 of 1 labelled images are not in the collection \('000\.png'\).*'images\/000\.png'/
    );
  });
});

describe("label writers", () => {
  it("toy world: any / dominant object, background values, drift years as groups", async () => {
    const dir = path.join(tmp, "toy-labels");
    await writeToyDataset(dir, { n: 30, seed: 4, size: 32, masks: false, drift: "yellow:0.1->0.6,years:2001-2003" });
    const recs = fs.readFileSync(path.join(dir, "index.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const any = toyShiftLabels(dir, "yellow");
    const dominant = toyShiftLabels(dir, "colour.yellow", { rule: "dominant" });
    const bg = toyShiftLabels(dir, "background.blue");
    expect(any.map((l) => l.image)).toEqual(recs.map((r) => r.image));
    recs.forEach((r, i) => {
      expect(any[i].label).toBe(r.objects.some((o: { colour: string }) => o.colour === "yellow") ? 1 : 0);
      expect(dominant[i].label).toBe(r.labels.colour === "yellow" ? 1 : 0);
      expect(bg[i].label).toBe(r.background.colour === "blue" ? 1 : 0);
      expect(any[i].group).toBe(String(r.year));
    });
    expect(() => toyShiftLabels(dir, "chartreuse")).toThrow(/not a shape, colour/);
  });

  it("Stanford Cars: yellow = colour 9 (no colour: skipped), convertible from the class name, years", async () => {
    const cars = path.join(tmp, "cars");
    fs.mkdirSync(path.join(cars, "cars_train"), { recursive: true });
    fs.writeFileSync(
      path.join(cars, "names.csv"),
      "AM General Hummer SUV 2000\nsmart fortwo Convertible 2012\nAcura RL Sedan 2012\n",
    );
    const files = ["00001.jpg", "00002.jpg", "00003.jpg", "00004.jpg"];
    const grey = { create: { width: 4, height: 4, channels: 3 as const, background: "#808080" } };
    for (const f of files) await sharp(grey).jpeg().toFile(path.join(cars, "cars_train", f));
    fs.writeFileSync(
      path.join(cars, "anno_train.csv"),
      ["00001.jpg,1,1,3,3,1", "00002.jpg,1,1,3,3,2", "00003.jpg,1,1,3,3,3", "00004.jpg,1,1,3,3,2"].join("\n") + "\n",
    );
    const csv = path.join(cars, "refined_train.csv");
    fs.writeFileSync(csv, "Class,image\n1_9,00001.jpg\n2_3,00002.jpg\n3_9,00003.jpg\n");
    const ds = readStanfordCars(cars, { colourCsv: csv });
    expect(carsShiftLabels(ds, "yellow")).toEqual([
      { image: "00001.jpg", label: 1, group: "2000" },
      { image: "00002.jpg", label: 0, group: "2012" },
      { image: "00003.jpg", label: 1, group: "2012" },
    ]);
    expect(carsShiftLabels(ds, "convertible").map((l) => l.label)).toEqual([0, 1, 0, 1]);
    expect(carsShiftLabels(ds, "convertible", { root: cars })[0].image).toBe("cars_train/00001.jpg");
    expect(() => carsShiftLabels(readStanfordCars(cars), "yellow")).toThrow(/colour CSV/);
  });
});

describe("clip-nad analyze shift (tiny fixture model)", () => {
  const MODEL = path.join(root, "test/fixtures/tiny/weights.safetensors");
  const toy = path.join(tmp, "toy");
  const col = path.join(tmp, "col");
  const cli = (...args: string[]) => {
    const r = spawnSync(
      process.execPath,
      [path.join(root, "src/cli/bin.cjs"), ...args],
      { cwd: root, encoding: "utf8" },
    );
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  beforeAll(async () => {
    await writeToyDataset(toy, { n: 24, seed: 9, size: 64, masks: false, drift: "yellow:0.1->0.7,years:2001-2004" });
    const r = cli("collect", "--model", MODEL, "--images", toy, "--out", col, "--batch", "8", "--topk", "10",
      "--quiet");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  }, 120_000);

  it("writes scores, r, p, the pairs and group means that a naive recomputation reproduces", async () => {
    const labels = path.join(tmp, "labels.csv");
    let r = cli("analyze", "shift-labels", "--toy", toy, "--concept", "yellow", "--out", labels);
    expect(r.code).toBe(0);
    const c = openCollection(col);
    const emb = path.join(tmp, "concept.npy");
    const g = gaussian(rng(17));
    writeNpy(emb, Float32Array.from({ length: c.d }, () => g()), [1, c.d]);
    const out = path.join(tmp, "shift.json");
    r = cli("analyze", "shift", "--collection", col, "--concept-embedding", emb, "--labels", labels, "--k", "3",
      "--out", out, "--quiet");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/point-biserial r = -?\d\.\d{4}, p = /);
    const rep = JSON.parse(fs.readFileSync(out, "utf8"));
    expect(rep.pairs).toHaveLength(3);
    expect(rep.images).toEqual(c.ids);
    const want = readShiftLabels(labels);
    expect(rep.labels).toEqual(c.ids.map((id) => want.find((l) => l.image === id)!.label));
    // ρ per image from the stored s with independently built w = W_O^h W_V^h[:, n], c, and ‖M‖
    const apw = c.weights;
    const w = pairDirections(apw);
    const consts = refConstants(apw);
    for (let i = 0; i < c.N; i++) {
      const s = c.coefficientsOf(i);
      const v = new Float64Array(c.d);
      for (const p of rep.pairs) {
        const rr = pairContribution(s, w, consts, p.head, p.neuron);
        for (let j = 0; j < c.d; j++) v[j] += rr[j];
      }
      relClose(rep.scores[i], Math.hypot(...v) / Math.hypot(...c.embeddingOf(i)), 1e-4);
    }
    const pb = pointBiserial(rep.labels, rep.scores);
    expect(rep.r).toBeCloseTo(pb.r, 12);
    expect(rep.p).toBeCloseTo(pb.p, 12);
    expect(rep.groupMeans.map((x: { group: string }) => x.group)).toEqual(["2001", "2002", "2003", "2004"]);
    const dec = await c.decomposition();
    const sign = pairPCAFromCollection(c, dec).sign;
    for (const p of rep.pairs) expect(sign[p.head * c.C + p.neuron]).not.toBe(0);
    c.close();
  }, 60_000);

  it("bad input: missing images, a constant label, a non-binary label, no concept text, both concepts", () => {
    const emb = path.join(tmp, "concept.npy");
    const base = ["analyze", "shift", "--collection", col, "--out", path.join(tmp, "x.json")];
    const lab = (name: string, text: string) => {
      const f = path.join(tmp, name);
      fs.writeFileSync(f, text);
      return f;
    };
    const c = openCollection(col);
    const ids = c.ids;
    c.close();
    const cases: [string[], RegExp][] = [
      [
        ["--concept-embedding", emb, "--labels", lab("missing.csv", `image,label\n${ids[0]},1\nnot/there.png,0\n`)],
        /missing\.csv.*1 of 2 labelled images are not in the collection \('not\/there\.png'\)/,
      ],
      [
        ["--concept-embedding", emb, "--labels", lab("const.csv", `image,label\n${ids.slice(0, 3).join(",1\n")},1\n`)],
        /const\.csv.*every label is 1.*undefined for a constant label/,
      ],
      [
        ["--concept-embedding", emb, "--labels", lab("two.csv", `image,label\n${ids[0]},1\n${ids[1]},2\n`)],
        /two\.csv.*row 3: label '2'/,
      ],
      [
        ["--concept", "  ", "--labels", lab("ok.csv", `image,label\n${ids[0]},1\n${ids[1]},0\n${ids[2]},0\n`)],
        /--concept is empty/,
      ],
      [["--labels", path.join(tmp, "ok.csv")], /exactly one of --concept/],
      [
        ["--concept", "yellow", "--concept-embedding", emb, "--labels", path.join(tmp, "ok.csv")],
        /exactly one of --concept/,
      ],
      [
        ["--concept-embedding", path.join(root, "test/fixtures/tiny/weights.safetensors"), "--labels",
          path.join(tmp, "ok.csv")],
        /weights\.safetensors/,
      ],
    ];
    for (const [args, msg] of cases) {
      const r = cli(...base, ...args);
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toMatch(/at .*\.ts:\d+/); // a message, not a stack trace
    }
  }, 60_000);

  it("shiftReport: a concept with no text is an error", async () => {
    const c = openCollection(col);
    const labels = c.ids.map((image, i) => ({ image, label: (i % 2) as 0 | 1 }));
    await expect(
      shiftReport({ collection: c, concept: "", labels, encodeText: async () => new Float32Array(0) })
    ).rejects.toThrow(/concept text is empty/);
    c.close();
  });
});

/** c^h = W_O^h b_V^h / C + b_O / (C·H) (H×d) from the pool weights, written out here. */
type BiasWeights = { C: number; H: number; d: number; Wo: Float32Array; bv: Float32Array; bo: Float32Array };
function refConstants(apw: BiasWeights): Float32Array {
  const { C, H, d, Wo, bv, bo } = apw;
  const dh = C / H;
  const c = new Float32Array(H * d);
  for (let h = 0; h < H; h++) {
    for (let j = 0; j < d; j++) {
      let vb = 0;
      for (let k = 0; k < dh; k++) vb += Wo[j * C + h * dh + k] * bv[h * dh + k];
      c[h * d + j] = vb / C + bo[j] / (C * H);
    }
  }
  return c;
}

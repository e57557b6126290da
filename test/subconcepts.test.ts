import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Collection, collect, openCollection } from "../src/collect";
import { subconcepts } from "../src/analysis/subconcepts";
import { unitTopImages } from "../src/analysis/topImages";
import { runCli } from "./cli-helpers";
import { fakeModel, sharpLoader, writeImageFolder } from "./collect.fake";
import { bruteTop, naiveNorms } from "./topimages-reference";

/**
 * `clip-nad analyze subconcepts` on a small collection made by the fake model (random weights, s from the pixels):
 * the JSON's shape, ids and order against a brute-force sort of materialised contributions; the collection's stored
 * centred top-k; bad input.
 */
const root = path.resolve(__dirname, "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clipnad-subconcepts-"));
const images = path.join(tmp, "images");
const colDir = path.join(tmp, "col");
let col: Collection;
let ids: string[];

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(root, "src/cli/bin.cjs"), ...args], { cwd: root, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  ids = await writeImageFolder(images, 30);
  col = await collect({ model: fakeModel(), images, outDir: colDir, topK: 6, batchSize: 7, loadPixels: sharpLoader });
}, 120_000);

afterAll(() => {
  col?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const run = (...args: string[]) => runCli(...args, "--quiet");

function rowsOf(c: Collection): Float32Array[] {
  return Array.from({ length: c.N }, (_, i) => c.coefficientsOf(i));
}

describe("clip-nad analyze subconcepts", () => {
  it("writes the neuron's and every pair's top images (ids, best first, scores) as a brute-force sort ranks them", () => {
    const out = path.join(tmp, "sub.json");
    const r = cli("analyze", "subconcepts", "--collection", colDir, "--neuron", "5", "--top", "4", "--out", out, "--quiet");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("neuron 5: top-4 of 30 images by the raw norm");
    const j = JSON.parse(fs.readFileSync(out, "utf8"));
    expect(Object.keys(j).sort()).toEqual(["images", "model", "neuron", "norm", "pairs", "top"]);
    expect([j.norm, j.top, j.images, j.model.name]).toEqual(["raw", 4, 30, "fake"]);
    expect(j.neuron.neuron).toBe(5);
    expect(j.pairs.map((p: { head: number }) => p.head)).toEqual([0, 1, 2, 3]);
    const naive = naiveNorms(col.weights, rowsOf(col));
    const want = (v: (i: number) => number) => bruteTop(col.N, v, 4);
    const check = (got: { id: string; score: number }[], w: { rows: number[]; scores: number[] }) => {
      expect(got.map((x) => x.id)).toEqual(w.rows.map((i) => col.ids[i]));
      got.forEach((x, i) => expect(Math.abs(x.score - w.scores[i])).toBeLessThanOrEqual(1e-4 * (1 + w.scores[i])));
      for (const x of got) expect(ids).toContain(x.id); // ids are paths relative to the image folder
    };
    check(j.neuron.top, want((i) => naive[i].neuron[5]));
    for (const p of j.pairs) {
      expect(p.neuron).toBe(5);
      check(p.top, want((i) => naive[i].pair[p.head * col.C + 5]));
      expect(p.strength).toBeCloseTo(p.top.reduce((a: number, x: { score: number }) => a + x.score, 0) / 4, 5);
    }
  });

  it("--norm centred ranks by ‖r − r(s̄)‖ (brute force) and reproduces the collection's stored centred top-k", async () => {
    const out = path.join(tmp, "sub-centred.json");
    await run("analyze", "subconcepts", "--collection", colDir, "--neuron", "17", "--top", "6", "--norm", "centred", "--out", out);
    const j = JSON.parse(fs.readFileSync(out, "utf8"));
    const naive = naiveNorms(col.weights, rowsOf(col), col.meanCoefficients);
    expect(j.neuron.top.map((x: { id: string }) => x.id)).toEqual(bruteTop(col.N, (i) => naive[i].neuron[17], 6).rows.map((i) => col.ids[i]));
    expect(j.neuron.top.map((x: { id: string }) => x.id)).toEqual(Array.from(col.topNeuron(17).rows, (i) => col.ids[i]));
    for (const p of j.pairs) expect(p.top.map((x: { id: string }) => x.id)).toEqual(Array.from(col.topPair({ neuron: 17, head: p.head }).rows, (i) => col.ids[i]));
    // all heads, centred: the collection's head lists too
    const all = await unitTopImages(col, await col.decomposition(), { k: 6, norm: "centred", mean: col.meanCoefficients, pairs: [], neurons: [] });
    for (let h = 0; h < col.H; h++) expect(Array.from(all.head(h).rows)).toEqual(Array.from(col.topHead(h).rows));
  });

  it("bad input: a neuron out of range, another model, images that moved (and --images pointing at them)", async () => {
    const out = path.join(tmp, "bad.json");
    const launcher = cli("analyze", "subconcepts", "--collection", colDir, "--neuron", "64", "--out", out);
    expect(launcher.code).toBe(1);
    expect(launcher.stderr).toContain(`clip-nad: ${colDir}: --neuron 64 is out of range: the collection's model has neurons 0..63`);
    const sub = (...a: string[]) => run("analyze", "subconcepts", "--collection", colDir, "--out", out, ...a);
    await expect(sub("--neuron", "-1")).rejects.toThrow("--neuron must be a non-negative integer, got '-1'");
    await expect(sub("--neuron", "3", "--model", "toy")).rejects.toThrow(/the collection was made with model fake \(sha256 ffffffffffff…\), not toy/);
    await expect(sub("--neuron", "3", "--norm", "l2")).rejects.toThrow('norm must be "raw" or "centred", got "l2"');
    const moved = path.join(tmp, "images-moved");
    fs.renameSync(images, moved);
    try {
      const err = await sub("--neuron", "3").catch((e: Error) => e);
      expect(String(err)).toMatch(/\/images\/\S+\.png: image '\S+' of the collection is missing/);
      expect(fs.existsSync(out)).toBe(false);
      await sub("--neuron", "3", "--images", moved);
      expect(fs.existsSync(out)).toBe(true);
    } finally {
      fs.renameSync(moved, images);
    }
    await expect(run("analyze", "subconcepts", "--collection", path.join(tmp, "nope"), "--neuron", "3", "--out", out))
      .rejects.toThrow(`${path.join(tmp, "nope")}: not a clip-nad collection`);
  });

  it("the library call returns the same lists as the command, and refuses a neuron out of range", async () => {
    const { report } = await subconcepts(col, 5, { top: 4 });
    const j = JSON.parse(fs.readFileSync(path.join(tmp, "sub.json"), "utf8"));
    expect(report.neuron.top.map((x) => x.id)).toEqual(j.neuron.top.map((x: { id: string }) => x.id));
    await expect(subconcepts(col, 64)).rejects.toThrow(/neuron 64 is out of range/);
    expect(openCollection(colDir).N).toBe(30);
  });
});

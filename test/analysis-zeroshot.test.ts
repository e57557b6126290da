import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { ClipNadError } from "../src/errors";
import { accuracy, cosineLogits, predict, TextEncoder, zeroShotClassifier } from "../src/analysis/zeroshot";
import { fillTemplate, loadTemplates, templateEmbeddings } from "../src/text/templates";
import { gaussian, rng } from "./decompose-reference";

const d = 8;
/** Deterministic fake text tower: a vector from a hash of the text, scaled by its length (so norms differ). */
function hashVec(text: string): number[] {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  const g = gaussian(rng(h >>> 0));
  return Array.from({ length: d }, () => g() * (1 + text.length / 10));
}
const calls: string[][] = [];
const encode: TextEncoder = async (texts) => {
  calls.push(texts);
  return Float32Array.from(texts.flatMap(hashVec));
};

describe("zero-shot classifier (80 templates: normalise, mean, normalise)", () => {
  it("loads the 80 OpenAI templates", () => {
    const t = loadTemplates();
    expect(t.length).toBe(80);
    expect(t[0]).toBe("a bad photo of a {}.");
    expect(fillTemplate("a photo of a {}.", "cat")).toBe("a photo of a cat.");
  });

  it("rows are unit norm and equal normalise(mean(normalise(template embeddings)))", async () => {
    calls.length = 0;
    const names = ["goldfish", "tiger shark", "ox"];
    const W = await zeroShotClassifier(names, encode);
    expect(W.length).toBe(names.length * d);
    expect(calls.length).toBe(3);
    expect(calls[1].length).toBe(80);
    expect(calls[1].every((t) => t.includes("tiger shark") && !t.includes("{}"))).toBe(true);
    for (let c = 0; c < names.length; c++) {
      const row = W.subarray(c * d, (c + 1) * d);
      expect(Math.hypot(...row)).toBeCloseTo(1, 6);
      const mean = new Array(d).fill(0);
      for (const t of loadTemplates()) {
        const v = hashVec(fillTemplate(t, names[c]));
        const n = Math.hypot(...v);
        v.forEach((x, j) => (mean[j] += x / n));
      }
      const n = Math.hypot(...mean);
      mean.forEach((x, j) => expect(row[j]).toBeCloseTo(x / n, 5));
    }
  });

  it("differs from the un-normalised mean when template norms differ", async () => {
    const W = await zeroShotClassifier(["a"], encode, { templates: ["{}", "a much longer template about {} here"] });
    const raw = [hashVec("a"), hashVec("a much longer template about a here")];
    const m = raw[0].map((x, j) => x + raw[1][j]);
    const nm = Math.hypot(...m);
    const diff = Math.max(...m.map((x, j) => Math.abs(x / nm - W[j])));
    expect(diff).toBeGreaterThan(1e-3);
  });

  it("templateEmbeddings (src/text/templates) with given templates: normalise, mean, normalise; progress per name", async () => {
    const progress: number[] = [];
    const rows = await templateEmbeddings(["ox", "yak"], encode,
      { templates: ["{}", "a {} here"], onProgress: (n) => progress.push(n) });
    expect(progress).toEqual([1, 2]);
    ["ox", "yak"].forEach((name, c) => {
      const mean = new Array(d).fill(0);
      for (const t of [name, `a ${name} here`]) {
        const v = hashVec(t);
        const n = Math.hypot(...v);
        v.forEach((x, j) => (mean[j] += x / n));
      }
      const n = Math.hypot(...mean);
      mean.forEach((x, j) => expect(rows[c * d + j]).toBeCloseTo(x / n, 5));
    });
    await expect(templateEmbeddings([], encode)).rejects.toThrow(ClipNadError);
    await expect(templateEmbeddings(["ox"], encode, { templates: ["no placeholder"] })).rejects.toThrow(ClipNadError);
  });

  it("prediction is the argmax cosine and ignores the image embedding's scale", () => {
    const W = new Float32Array([1, 0, 0, 1]);
    const emb = new Float32Array([3, 1, 0.1, 5, -100, -200, 100, 200]);
    expect(Array.from(predict(emb, W, 2))).toEqual([0, 1, 0, 1]);
    const l = cosineLogits([3, 4], W);
    expect(l[0]).toBeCloseTo(0.6, 12);
    expect(l[1]).toBeCloseTo(0.8, 12);
    expect(accuracy([0, 1, 1], [0, 1, 0])).toBeCloseTo(2 / 3);
    expect(accuracy([0, 1, 1], [0, -1, -1])).toBe(1);
  });

  it("bad template files and encoders throw ClipNadError naming the file", async () => {
    const f = path.join(os.tmpdir(), `bad-templates-${process.pid}.json`);
    fs.writeFileSync(f, JSON.stringify(["no placeholder"]));
    expect(() => loadTemplates(f)).toThrow(ClipNadError);
    expect(() => loadTemplates(f)).toThrow(f);
    fs.unlinkSync(f);
    await expect(zeroShotClassifier(["x"], async () => new Float32Array(7), { templates: ["{}", "a {}"] })).rejects.toThrow(ClipNadError);
  });
});

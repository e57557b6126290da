/**
 * The shipped toy model (assets/toy/toyclip.safetensors) through the TS runtime: embeddings and attention must match
 * the trainer's eval-mode torch model (tools/toyclip/export.py, fp16-rounded weights) on held-out toy scenes, the
 * scenes must regenerate bit-exactly from the generator, and zero-shot prompts must name their object and background
 * colours (the attributes the model knows well; see assets/toy/MODEL_CARD.md for shape).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../src/clip/model";
import { encodeImages, encodeTexts, forwardImage } from "../src/clip/encode";
import { tokenize } from "../src/clip/tokenizer";
import { ClipModel } from "../src/clip/types";
import { generateScene } from "../src/toyworld";

const FIXTURES = path.join(__dirname, "fixtures", "toy");
interface GoldenScene {
  file: string; index: number; caption: string; token_ids: number[];
  labels: { shape: string; colour: string; background: string; count: number };
  image_embedding: number[]; text_embedding: number[]; attention: number[][];
}
const golden = JSON.parse(fs.readFileSync(path.join(FIXTURES, "golden.json"), "utf8")) as {
  generator: { seed: number; size: number }; shapes: string[]; colours: string[]; scenes: GoldenScene[];
};

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

function normalisedRows(x: Float32Array, n: number, d: number): Float32Array[] {
  return Array.from({ length: n }, (_, i) => {
    const r = x.slice(i * d, (i + 1) * d);
    const norm = Math.hypot(...r);
    return r.map((v) => v / norm);
  });
}

function argmaxCos(img: Float32Array, texts: Float32Array[]): number {
  let best = -1, bestScore = -Infinity;
  texts.forEach((t, i) => {
    let s = 0;
    for (let k = 0; k < t.length; k++) s += t[k] * img[k];
    if (s > bestScore) [best, bestScore] = [i, s];
  });
  return best;
}

let model: ClipModel;
let cacheDir: string;
const paths = golden.scenes.map((s) => path.join(FIXTURES, s.file));

beforeAll(async () => {
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "toymodel-cache-"));
  model = await loadModel("toy", { cacheDir });
});
afterAll(async () => {
  await model?.dispose();
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

describe("toy model (assets/toy/toyclip.safetensors)", () => {
  it("has the documented config and metadata", () => {
    expect(model.config).toMatchObject({ imageResolution: 128, visionWidth: 16, visionHeads: 8, contextLength: 32, vocabSize: 49408, transformerWidth: 128 });
    expect(JSON.parse(model.metadata.config).vision_heads).toBe(8);
    expect(JSON.parse(model.metadata.recipe).steps).toBeGreaterThan(0);
  });

  it("golden images are the generator's scenes, bit for bit", async () => {
    for (const s of golden.scenes) {
      const scene = generateScene(golden.generator.seed, s.index, { size: golden.generator.size });
      const png = await sharp(path.join(FIXTURES, s.file)).raw().toBuffer();
      expect(Buffer.from(scene.rgb).equals(png), s.file).toBe(true);
      expect(scene.captions[0]).toBe(s.caption);
    }
  });

  it("reproduces the trainer's image embeddings and attention (rel err ≤ 1e-4)", async () => {
    const d = model.config.embedDim;
    const emb = await encodeImages(model, paths, { batchSize: 2 });
    golden.scenes.forEach((s, i) => {
      expect(relErr(emb.subarray(i * d, (i + 1) * d), s.image_embedding), s.file).toBeLessThanOrEqual(1e-4);
    });
    const fwd = await forwardImage(model, paths[0]);
    expect(relErr(fwd.attention, golden.scenes[0].attention.flat())).toBeLessThanOrEqual(1e-4);
  });

  it("tokenizes the captions like the trainer and reproduces the text embeddings (rel err ≤ 1e-4)", async () => {
    const d = model.config.embedDim;
    const ids = tokenize(golden.scenes.map((s) => s.caption), model.config.contextLength, { truncate: true });
    golden.scenes.forEach((s, i) => expect(Array.from(ids[i])).toEqual(s.token_ids));
    const txt = await encodeTexts(model, golden.scenes.map((s) => s.caption));
    golden.scenes.forEach((s, i) => {
      expect(relErr(txt.subarray(i * d, (i + 1) * d), s.text_embedding), s.caption).toBeLessThanOrEqual(1e-4);
    });
  });

  it("names the object colour and the background colour of single-object scenes zero-shot", async () => {
    const d = model.config.embedDim;
    const an = (w: string) => (/^[aeiou]/.test(w) ? "an" : "a");
    const single = golden.scenes.filter((s) => s.labels.count === 1);
    expect(single.length).toBeGreaterThanOrEqual(3);
    const imgs = normalisedRows(await encodeImages(model, single.map((s) => path.join(FIXTURES, s.file))), single.length, d);
    for (let i = 0; i < single.length; i++) {
      const shape = single[i].labels.shape;
      const colourText = normalisedRows(await encodeTexts(model, golden.colours.map((c) => `${an(c)} ${c} ${shape}`)), golden.colours.length, d);
      expect(golden.colours[argmaxCos(imgs[i], colourText)], single[i].file).toBe(single[i].labels.colour);
      const bgText = normalisedRows(await encodeTexts(model, golden.colours.map((c) => `${an(shape)} ${shape} on ${an(c)} ${c} background`)), golden.colours.length, d);
      expect(golden.colours[argmaxCos(imgs[i], bgText)], single[i].file).toBe(single[i].labels.background);
    }
  });
});

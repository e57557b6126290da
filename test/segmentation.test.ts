// Segmentation (paper.md §A.9): every method's token logits against an independent PyTorch implementation on the
// tiny oracle checkpoint (tools/oracle/segmentation_reference.py → test/fixtures/segmentation), slide inference
// against that reference and against a naive per-pixel one written here, mIoU against hand-computed values, the
// class-embedding step, and the bad-input errors.
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import sharp from "sharp";
import { loadModel } from "../src/clip/model";
import { ClipModel } from "../src/clip/types";
import { readNpy } from "../src/io/npy";
import { templateEmbeddings } from "../src/text/templates";
import { writeToyDataset } from "../src/toyworld";
import {
  SEGMENTATION_METHODS,
  SegmentationMethod,
  Segmenter,
  argmaxClasses,
  classTextEmbeddings,
  createSegmenter,
  denseLogits,
  evaluateSegmentation,
  interpolateSink,
  miouSummary,
  parseClassList,
  prepareClassEmbeddings,
  readClassFile,
  resizeBilinear,
  segmentImageFile,
  segmentationAreas,
  slideWindows,
  testTimeSize,
  toySegmentation,
  addAreas,
  emptyAreas,
} from "../src/apps/segmentation";
import { loadImage } from "../src/clip/preprocess";
import { register as registerSegment } from "../src/cli/commands/segment";
import { register as registerSegmentEval } from "../src/cli/commands/segmentEval";
import { TINY_WEIGHTS, relErr, runCommand, writeTextCapableTiny } from "./cli-helpers";

const FIX = path.join(__dirname, "fixtures", "segmentation");
const cases = JSON.parse(fs.readFileSync(path.join(FIX, "cases.json"), "utf8"));
const npy = (f: string) => readNpy(path.join(FIX, f)).data as Float32Array;

let tmp = "";
let oldCache: string | undefined;
let model: ClipModel;
let TEXT_TINY = ""; // the tiny checkpoint with a full-size vocabulary (segment-eval embeds class names)
let T: Float32Array;
const raw = () => npy("class_embeddings.npy");

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-seg-"));
  oldCache = process.env.CLIP_NAD_CACHE;
  process.env.CLIP_NAD_CACHE = path.join(tmp, "graph-cache");
  model = await loadModel(TINY_WEIGHTS);
  TEXT_TINY = writeTextCapableTiny(path.join(tmp, "tiny-text.safetensors"));
  T = prepareClassEmbeddings(raw(), model.config.embedDim);
});
afterAll(async () => {
  await model?.dispose();
  if (oldCache === undefined) delete process.env.CLIP_NAD_CACHE;
  else process.env.CLIP_NAD_CACHE = oldCache;
  fs.rmSync(tmp, { recursive: true, force: true });
});

const run = (args: string[]) => runCommand([registerSegment, registerSegmentEval], args);

describe("token logits vs the PyTorch reference (tiny oracle, whole image)", () => {
  for (const method of SEGMENTATION_METHODS) {
    it(`${method}`, async () => {
      const seg = await createSegmenter(model, { method, classEmbeddings: T });
      const r = await segmentImageFile(model, seg, path.join(FIX, cases.whole.image), { mode: { mode: "whole" } });
      expect(seg.P).toBe(cases.P);
      if (cases.whole.cases[method].k) expect(seg.selection!.k).toBe(cases.whole.cases[method].k);
      expect(relErr(r.tokenLogits, npy(cases.whole.cases[method].file))).toBeLessThan(2e-4);
    });
  }

  for (const method of ["pairs", "neurons", "heads"] as SegmentationMethod[]) {
    it(`${method} with k = ${cases.kSigned} and signed pair PCs`, async () => {
      const signs = Int8Array.from(npy(cases.signed.signs));
      const seg = await createSegmenter(model, { method, classEmbeddings: T, k: cases.kSigned, signs });
      const r = await segmentImageFile(model, seg, path.join(FIX, cases.whole.image), { mode: { mode: "whole" } });
      expect(relErr(r.tokenLogits, npy(cases.signed.files[method]))).toBeLessThan(2e-4);
    });
  }

  it("the fixture tells the two sink fixes apart (fixing both factors ≠ fixing the product)", async () => {
    // In the reference the last token is the product of the interpolated maps, which differs from the mean of its
    // neighbours' logits: an implementation that fixed the product instead fails the `pairs` case above.
    const seg = await createSegmenter(model, { method: "pairs", classEmbeddings: T });
    const expected = npy(cases.whole.cases.pairs.file); // P×3×3
    const g = 3,
      K = 9;
    let differs = 0;
    for (let p = 0; p < cases.P; p++) {
      const m = expected.subarray(p * K, (p + 1) * K);
      const mean = (m[K - 2] + m[K - 1 - g] + m[K - 2 - g]) / 3;
      if (Math.abs(m[K - 1] - mean) > 1e-4 * Math.max(...Array.from(m, Math.abs))) differs++;
    }
    expect(differs).toBeGreaterThan(0);
    expect(seg.grid).toBe(3);
  });
});

describe("slide inference", () => {
  for (const method of ["pairs", "maskclip"] as SegmentationMethod[]) {
    it(`${method}: mmseg slide (test-time resize, clamped windows, averaged, resized back) equals the PyTorch ` +
        `reference`, async () => {
      const c = cases.slide;
      const seg = await createSegmenter(model, { method, classEmbeddings: T });
      const img = await loadImage(path.join(FIX, c.image));
      const r = await denseLogits(model, seg, img, {
        mode: { mode: "slide", crop: c.crop, stride: c.stride },
        shortSide: c.shortSide,
        batch: 3,
      });
      expect(r.windows).toBe(c.cases[method].windows);
      expect([r.width, r.height]).toEqual([130, 100]);
      expect(relErr(r.logits, npy(c.cases[method].file))).toBeLessThan(3e-4);
    });
  }

  it("matches a naive per-pixel implementation for a synthetic segmenter", async () => {
    // A fake model: 'tokens' are the crop's mean pixel value per 2×2 block, two classes (value, −value).
    const R = 8,
      g = 2,
      P = 2;
    const fake = {
      config: { imageResolution: R },
      async encodeImagePixels(pixels: Float32Array, B: number) {
        const features = new Float32Array(B * g * g);
        for (let b = 0; b < B; b++) {
          for (let ty = 0; ty < g; ty++)
            for (let tx = 0; tx < g; tx++) {
              let s = 0;
              for (let y = ty * 4; y < ty * 4 + 4; y++)
                for (let x = tx * 4; x < tx * 4 + 4; x++) s += pixels[b * 3 * R * R + y * R + x];
              features[b * g * g + ty * g + tx] = s / 16;
            }
        }
        return {
          batch: B,
          embedding: new Float32Array(0),
          features,
          attention: new Float32Array(0),
          coefficients: new Float32Array(0),
        };
      },
    };
    const seg: Segmenter = {
      method: "maskclip",
      P,
      grid: g,
      async tokenLogits(Z: Float32Array, _a: Float32Array, B: number) {
        const out = new Float32Array(B * P * g * g);
        for (let b = 0; b < B; b++)
          for (let i = 0; i < g * g; i++) {
            out[b * P * g * g + i] = Z[b * g * g + i];
            out[(b * P + 1) * g * g + i] = -Z[b * g * g + i] * 0.5 + i;
          }
        return out;
      },
    };
    const W = 13,
      H = 11;
    const data = new Uint8Array(W * H * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 37 + 11) % 256;
    const img = { width: W, height: H, channels: 3, data, nearestOnly: false };
    const r = await denseLogits(fake, seg, img, { mode: { mode: "slide", crop: R, stride: 3 }, shortSide: "keep" });
    // Naive: every window, every pixel of it, the bilinear value written out from the definition.
    const bil = (
      m: (y: number, x: number) => number,
      h: number,
      w: number,
      Y: number,
      X: number,
      Hout: number,
      Wout: number,
    ) => {
      const sy = Math.max((Y + 0.5) * (h / Hout) - 0.5, 0),
        sx = Math.max((X + 0.5) * (w / Wout) - 0.5, 0);
      const y0 = Math.floor(sy),
        x0 = Math.floor(sx),
        y1 = Math.min(y0 + 1, h - 1),
        x1 = Math.min(x0 + 1, w - 1);
      const ly = sy - y0,
        lx = sx - x0;
      return (1 - ly) * ((1 - lx) * m(y0, x0) + lx * m(y0, x1)) + ly * ((1 - lx) * m(y1, x0) + lx * m(y1, x1));
    };
    const sum = new Float64Array(P * H * W),
      cnt = new Float64Array(H * W);
    let windows = 0;
    for (let y1 = 0; ; y1 += 3) {
      for (let x1 = 0; ; x1 += 3) {
        const y0 = Math.max(Math.min(y1 + R, H) - R, 0),
          x0 = Math.max(Math.min(x1 + R, W) - R, 0);
        windows++;
        // the crop normalised as CLIP does (channel 0 only feeds the fake), tokens, logits
        const norm = (v: number) => (Math.fround(v / 255) - Math.fround(0.48145466)) / Math.fround(0.26862954);
        const tok = (ty: number, tx: number) => {
          let s = 0;
          for (let y = ty * 4; y < ty * 4 + 4; y++)
            for (let x = tx * 4; x < tx * 4 + 4; x++) s += norm(data[((y0 + y) * W + x0 + x) * 3]);
          return s / 16;
        };
        for (let p = 0; p < P; p++) {
          const m = (ty: number, tx: number) => (p === 0 ? tok(ty, tx) : -tok(ty, tx) * 0.5 + ty * g + tx);
          for (let y = 0; y < R; y++)
            for (let x = 0; x < R; x++) sum[(p * H + y0 + y) * W + x0 + x] += bil(m, g, g, y, x, R, R);
        }
        for (let y = 0; y < R; y++) for (let x = 0; x < R; x++) cnt[(y0 + y) * W + x0 + x]++;
        if (x1 + R >= W) break;
      }
      if (y1 + R >= H) break;
    }
    expect(r.windows).toBe(windows);
    const naive = new Float32Array(P * H * W);
    for (let p = 0; p < P; p++) for (let i = 0; i < H * W; i++) naive[p * H * W + i] = sum[p * H * W + i] / cnt[i];
    expect(relErr(r.logits, naive)).toBeLessThan(1e-5);
  });

  it("windows: mmseg's grid, clamped to the image, covering it", () => {
    expect(slideWindows(130, 100, 96, 48)).toEqual([
      { y1: 0, x1: 0, y2: 96, x2: 96 },
      { y1: 0, x1: 34, y2: 96, x2: 130 },
      { y1: 4, x1: 0, y2: 100, x2: 96 },
      { y1: 4, x1: 34, y2: 100, x2: 130 },
    ]);
    expect(slideWindows(384, 384, 384, 192)).toEqual([{ y1: 0, x1: 0, y2: 384, x2: 384 }]);
    expect(slideWindows(512, 384, 384, 192).map((w) => w.x1)).toEqual([0, 128]);
    expect(testTimeSize(500, 375, 384)).toEqual([512, 384]); // a PASCAL image: short side → 384
    expect(testTimeSize(5000, 400, 384)).toEqual([2048, 164]); // the long side capped at 2048
  });

  it("bilinear resize agrees with align_corners=False on a hand example", () => {
    // 1×2 → 1×4: source x = (X + 0.5)/2 − 0.5 → −0.25 (clamped 0), 0.25, 0.75, 1.25 (clamped to the last pixel)
    expect(Array.from(resizeBilinear(Float32Array.from([0, 8]), 1, 1, 2, 1, 4))).toEqual([0, 2, 6, 8]);
  });
});

describe("mIoU (mmseg's definition) on hand-made label maps", () => {
  it("sums areas over images, ignores 255, skips classes absent from both, aAcc over labelled pixels", () => {
    // image 1 (6 px): label [0 0 1 1 2 255], pred [0 1 1 1 0 2]
    // image 2 (4 px): label [1 1 255 255],   pred [1 0 2 1]
    const a1 = segmentationAreas([0, 1, 1, 1, 0, 2], [0, 0, 1, 1, 2, 255], 4);
    const a2 = segmentationAreas([1, 0, 2, 1], [1, 1, 255, 255], 4);
    // by hand, image 1 (pixel 5 ignored): (pred, label) = (0,0) (1,0) (1,1) (1,1) (0,2)
    expect(a1).toEqual({ intersect: [1, 2, 0, 0], pred: [2, 3, 0, 0], label: [2, 2, 1, 0], union: [3, 3, 1, 0] });
    // image 2 (pixels 2, 3 ignored): (1,1) (0,1). Summed: I = [1,3,0,0], pred = [3,4,0,0], label = [2,4,1,0]
    //   → union = [4,5,1,0]; IoU = 1/4, 3/5, 0/1, and class 3 is in neither: NaN, not counted
    const total = addAreas(addAreas(emptyAreas(4), a1), a2);
    expect(total.union).toEqual([4, 5, 1, 0]);
    const s = miouSummary(total, ["a", "b", "c", "d"]);
    expect(s.perClass.map((c) => c.IoU)).toEqual([25, 60, 0, null]);
    expect(s.mIoU).toBe(28.33); // (0.25 + 0.6 + 0) / 3
    expect(s.aAcc).toBe(57.14); // ΣI / Σlabel = 4 / 7
    expect(s.mAcc).toBe(41.67); // Acc = I / label = 1/2, 3/4, 0/1
    expect(s.classesCounted).toBe(3);
    // averaging per-image mIoU instead would differ: image 1 alone has (1/3 + 2/3 + 0) / 3 — the dataset sum counts
    expect(miouSummary(a1, ["a", "b", "c", "d"]).mIoU).toBe(33.33);
  });

  it("a class predicted but absent from the ground truth counts with IoU 0", () => {
    const s = miouSummary(segmentationAreas([0, 1, 1], [0, 0, 0], 2), ["x", "y"]);
    expect(s.perClass.map((c) => c.IoU)).toEqual([33.33, 0]);
    expect(s.mIoU).toBe(16.67);
  });

  it("label values out of range are an error naming the file", () => {
    expect(() => segmentationAreas([0, 1], [0, 7], 3, { file: "m.png" })).toThrow(
      /m\.png: label value 7 at pixel 1 is out of range/,
    );
  });
});

describe("class embeddings", () => {
  it("centres over the classes, then normalises (a numpy-style computation here)", () => {
    const d = model.config.embedDim,
      r = raw(),
      P = r.length / d;
    for (let p = 0; p < P; p++) {
      const v = new Float64Array(d);
      for (let j = 0; j < d; j++) {
        let mean = 0;
        for (let q = 0; q < P; q++) mean += r[q * d + j] / P;
        v[j] = r[p * d + j] - mean;
      }
      const n = Math.hypot(...v);
      expect(
        relErr(
          T.subarray(p * d, (p + 1) * d),
          Array.from(v, (x) => x / n),
        ),
      ).toBeLessThan(1e-6);
    }
  });

  it("synonyms on a line are one class: the normalised mean of their template embeddings", async () => {
    const textModel = await loadModel(TEXT_TINY);
    try {
      const file = path.join(tmp, "classes.txt");
      fs.writeFileSync(file, "sky, cloud\n\ngrass\n");
      const classes = readClassFile(file);
      expect(classes.names).toEqual(["sky", "grass"]);
      const templates = ["a photo of a {}.", "a {}."];
      const got = await classTextEmbeddings(classes, (t) => textModel.encodeTexts(t), { templates });
      const each = await templateEmbeddings(["sky", "cloud", "grass"], (t) => textModel.encodeTexts(t), { templates });
      const d = textModel.config.embedDim;
      const mean = Array.from({ length: d }, (_, j) => (each[j] + each[d + j]) / 2);
      const n = Math.hypot(...mean);
      expect(
        relErr(
          got.subarray(0, d),
          mean.map((x) => x / n),
        ),
      ).toBeLessThan(1e-6);
      expect(relErr(got.subarray(d), each.subarray(2 * d))).toBeLessThan(1e-6);
    } finally {
      await textModel.dispose();
    }
  });
});

describe("clip-nad segment", () => {
  it("writes token_logits.npy (the reference's), logits.npy, pred.png (its argmax) and overlay.png", async () => {
    const out = path.join(tmp, "seg-cli");
    const emb = path.join(FIX, "class_embeddings.npy");
    await run([
      "segment",
      "--model",
      TINY_WEIGHTS,
      "--image",
      path.join(FIX, cases.whole.image),
      "--class-embeddings",
      emb,
      "--method",
      "heads",
      "--whole",
      "--out",
      out,
      "--quiet",
    ]);
    const tl = readNpy(path.join(out, "token_logits.npy"));
    expect(tl.shape).toEqual([5, 3, 3]);
    expect(relErr(tl.data as Float32Array, npy(cases.whole.cases.heads.file))).toBeLessThan(2e-4);
    const logits = readNpy(path.join(out, "logits.npy"));
    expect(logits.shape).toEqual([5, 96, 96]);
    const { data } = await sharp(path.join(out, "pred.png"))
      .extractChannel(0)
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(Array.from(data)).toEqual(Array.from(argmaxClasses(logits.data as Float32Array, 5)));
    const overlay = await sharp(path.join(out, "overlay.png")).metadata();
    expect(overlay.height).toBe(96);
    expect(overlay.width).toBeGreaterThan(96); // image + legend
    const meta = JSON.parse(fs.readFileSync(path.join(out, "segment.json"), "utf8"));
    expect(meta.classes).toEqual(["class 0", "class 1", "class 2", "class 3", "class 4"]);
  });

  it("slide mode on a non-square image: token logits from decompose's preprocessing, logits at the image " +
      "size", async () => {
    const out = path.join(tmp, "seg-slide");
    await run([
      "segment",
      "--model",
      TINY_WEIGHTS,
      "--image",
      path.join(FIX, cases.slide.image),
      "--class-embeddings",
      path.join(FIX, "class_embeddings.npy"),
      "--method",
      "maskclip",
      "--slide",
      "96,48",
      "--short-side",
      "104",
      "--out",
      out,
      "--quiet",
    ]);
    expect(
      relErr(readNpy(path.join(out, "logits.npy")).data as Float32Array, npy(cases.slide.cases.maskclip.file)),
    ).toBeLessThan(3e-4);
    const fwd = await model.decompose(path.join(FIX, cases.slide.image));
    const seg = await createSegmenter(model, { method: "maskclip", classEmbeddings: T });
    expect(
      relErr(readNpy(path.join(out, "token_logits.npy")).data as Float32Array, await seg.tokenLogits(fwd.Z, fwd.a, 1)),
    ).toBeLessThan(1e-6);
  });
});

describe("bad input → a clear error naming the file", () => {
  it("empty class lists and duplicate names", () => {
    expect(() => parseClassList("")).toThrow(/class list is empty/);
    expect(() => parseClassList("cat, dog,Cat")).toThrow(/duplicate class name 'Cat' \(in classes 1 and 3\)/);
    const f = path.join(tmp, "dup.txt");
    fs.writeFileSync(f, "sky, cloud\ngrass\ncloud\n");
    expect(() => readClassFile(f)).toThrow(
      `${f}, key 'cloud': class file: duplicate class name 'cloud' (in classes 1 and 3)`,
    );
    const e = path.join(tmp, "empty.txt");
    fs.writeFileSync(e, "\n\n");
    expect(() => readClassFile(e)).toThrow(`${e}: class file: the class list is empty`);
    expect(() => prepareClassEmbeddings(new Float32Array(64), 64)).toThrow(/at least two classes/);
  });

  it("an image smaller than the crop", async () => {
    const out = path.join(tmp, "small");
    const img = path.join(FIX, cases.whole.image);
    await expect(
      run([
        "segment",
        "--model",
        TINY_WEIGHTS,
        "--image",
        img,
        "--class-embeddings",
        path.join(FIX, "class_embeddings.npy"),
        "--method",
        "maskclip",
        "--slide",
        "128,64",
        "--short-side",
        "keep",
        "--out",
        out,
        "--quiet",
      ]),
    ).rejects.toThrow(`${img}: the image (96×96) is smaller than the 128-pixel crop`);
  });

  it("a mask of another size than its image, and label values out of range (segment-eval)", async () => {
    const root = path.join(tmp, "toyseg");
    const evalToy = (out: string) =>
      run(["segment-eval", "--model", TEXT_TINY, "--dataset", "toy", "--root", root, "--method", "maskclip",
        "--out", path.join(tmp, out), "--quiet"]);
    await writeToyDataset(root, { n: 2, seed: 4, size: 96, canvas: { width: 128, height: 96 } });
    const mask = path.join(root, "colour_masks", "000001.png");
    await sharp(Buffer.alloc(100 * 96), { raw: { width: 100, height: 96, channels: 1 } })
      .toColourspace("b-w")
      .png()
      .toFile(mask);
    await expect(evalToy("ev1"))
      .rejects.toThrow(`${mask}: the label map is 100×96 but its image images/000001.png is 128×96`);
    const bad = new Uint8Array(128 * 96).fill(3);
    bad[5] = 42;
    await sharp(Buffer.from(bad), { raw: { width: 128, height: 96, channels: 1 } })
      .toColourspace("b-w")
      .png()
      .toFile(mask);
    await expect(evalToy("ev2"))
      .rejects.toThrow(`${mask}: label value 42 at pixel (5, 0) is out of range (0..10, 255 = ignore)`);
  });
});

describe("segment-eval", () => {
  it("resumes after an interruption with the same result, and refuses other settings in the same folder", async () => {
    const root = path.join(tmp, "toyseg-ok");
    await writeToyDataset(root, { n: 3, seed: 8, size: 96, canvas: { width: 144, height: 96 } });
    const ds = toySegmentation(root);
    const textModel = await loadModel(TEXT_TINY);
    onTestFinished(() => textModel.dispose());
    const model = textModel;
    const full = await evaluateSegmentation({
      model,
      dataset: ds,
      method: "maskclip",
      outDir: path.join(tmp, "ev-full"),
    });
    const part = path.join(tmp, "ev-part");
    await evaluateSegmentation({ model, dataset: ds, method: "maskclip", outDir: part, limit: 2 });
    fs.appendFileSync(path.join(part, "areas.jsonl"), '{"id":"images/000002.png","pred":"pre'); // a torn line
    const steps: number[] = [];
    const resumed = await evaluateSegmentation({
      model,
      dataset: ds,
      method: "maskclip",
      outDir: part,
      onProgress: (d, _t, i) => steps.push(d, i.resumedFrom),
    });
    expect(steps.slice(0, 2)).toEqual([2, 2]);
    expect(resumed.areas).toEqual(full.areas);
    expect(resumed.mIoU).toBe(full.mIoU);
    expect(fs.readdirSync(path.join(part, "pred")).sort()).toEqual(["000000.png", "000001.png", "000002.png"]);
    // the per-class IoU of miou.json follows from the summed areas the way mmseg computes it
    for (const c of resumed.perClass)
      if (c.union > 0) expect(c.IoU).toBe(Math.round((10000 * c.intersect) / c.union) / 100);
    await expect(evaluateSegmentation({ model, dataset: ds, method: "selfself", outDir: part })).rejects.toThrow(
      /other settings \(method\)/,
    );
  });
});

describe("PASCAL Context-59 (reduce_zero_label)", () => {
  it("raw 0 is ignored and k becomes class k − 1: the summed label areas are the raw histogram shifted by " +
      "one", async () => {
    const voc = path.join(tmp, "VOCdevkit", "VOC2010");
    for (const d of ["JPEGImages", "SegmentationClassContext", "ImageSets/SegmentationContext"])
      fs.mkdirSync(path.join(voc, d), { recursive: true });
    const ids = ["2008_000001", "2008_000002"];
    const rawHist = new Array<number>(60).fill(0);
    for (const [j, id] of ids.entries()) {
      const w = 120,
        h = 100;
      const rgb = Buffer.alloc(w * h * 3);
      for (let i = 0; i < rgb.length; i++) rgb[i] = (i * (7 + j)) % 251;
      await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
        .jpeg()
        .toFile(path.join(voc, "JPEGImages", `${id}.jpg`));
      const mask = Buffer.alloc(w * h);
      for (let i = 0; i < mask.length; i++) {
        mask[i] = (i * 13 + j) % 61 === 60 ? 255 : (i * 13 + j) % 61; // 0..59 and some 255
        if (mask[i] < 60) rawHist[mask[i]]++;
      }
      await sharp(mask, { raw: { width: w, height: h, channels: 1 } })
        .toColourspace("b-w")
        .png()
        .toFile(path.join(voc, "SegmentationClassContext", `${id}.png`));
    }
    fs.writeFileSync(path.join(voc, "ImageSets", "SegmentationContext", "val.txt"), ids.join("\n") + "\n");
    const out = path.join(tmp, "ctx-eval");
    await run([
      "segment-eval",
      "--model",
      TEXT_TINY,
      "--dataset",
      "pascal-context59",
      "--root",
      path.join(tmp, "VOCdevkit"),
      "--method",
      "maskclip",
      "--slide",
      "96,48",
      "--out",
      out,
      "--quiet",
    ]);
    const r = JSON.parse(fs.readFileSync(path.join(out, "miou.json"), "utf8"));
    expect(r.perClass).toHaveLength(59);
    expect(r.perClass[0].name).toBe("airplane"); // the paper's embedded names
    expect(r.areas.label).toEqual(rawHist.slice(1));
    expect(r.shortSide).toBe(384);
    expect(fs.readdirSync(path.join(out, "pred")).sort()).toEqual(["2008_000001.png", "2008_000002.png"]);
    const pred = await sharp(path.join(out, "pred", "2008_000001.png")).metadata();
    expect([pred.width, pred.height]).toEqual([120, 100]);
  });

  it("a raw label above 59 (other than 255) is an error naming the mask", async () => {
    const voc = path.join(tmp, "VOCdevkit", "VOC2010");
    const mask = path.join(voc, "SegmentationClassContext", "2008_000002.png");
    const bad = Buffer.alloc(120 * 100, 3);
    bad[120 * 2 + 7] = 60;
    await sharp(bad, { raw: { width: 120, height: 100, channels: 1 } })
      .toColourspace("b-w")
      .png()
      .toFile(mask);
    await expect(
      run([
        "segment-eval",
        "--model",
        TEXT_TINY,
        "--dataset",
        "pascal-context59",
        "--root",
        path.join(tmp, "VOCdevkit"),
        "--method",
        "maskclip",
        "--out",
        path.join(tmp, "ctx-eval-bad"),
        "--quiet",
      ]),
    ).rejects.toThrow(`${mask}: label value 60 at pixel (7, 2) is out of range (0..59, 255 = ignore)`);
  });
});

describe("sink fix", () => {
  it("replaces the bottom-right token by the mean of its W, N, NW neighbours", () => {
    const m = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 100]);
    interpolateSink(m, 0, 1, 3);
    expect(m[8]).toBeCloseTo((8 + 6 + 5) / 3, 6);
  });
});

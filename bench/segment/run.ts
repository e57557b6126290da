/**
 * Per-image segmentation time of each method at RN50x16 shape (random weights, 384 px, 59 classes), whole and
 * slide, measured in one run: the image tower forward and the method's own head (token logits) are timed
 * separately, and the ratio of each method to MaskCLIP is printed. Never a test.
 *
 *   node node_modules/tsx/dist/cli.mjs bench/segment/run.ts [--model RN50x16] [--images 3] [--checkpoint FILE]
 *
 * The checkpoint is made on first use with bench/memory/make_checkpoint.ts (bench/out/memory/RN50x16.safetensors).
 * Slide images are 512×384 (a PASCAL-like 500×375 after the test-time resize of the short side to 384: two
 * 384-pixel windows at stride 192); whole images are 384×384 (one forward). Times are the median over images after
 * a warm-up image; read them beside the /proc/pressure/cpu line (the 2 cores are shared).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { loadModel } from "../../src/clip/model";
import { ClipModel, ImageForward } from "../../src/clip/types";
import { mulberry32 } from "../../src/toyworld/random";
import { SEGMENTATION_METHODS, Segmenter, createSegmenter, denseLogits, prepareClassEmbeddings } from "../../src/apps/segmentation";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const name = arg("model", "RN50x16");
const images = Number(arg("images", "3"));
const checkpoint = arg("checkpoint", path.join("bench", "out", "memory", `${name}.safetensors`));
const P = 59;

function pressure(): string {
  try {
    return fs.readFileSync("/proc/pressure/cpu", "utf8").split("\n")[0];
  } catch {
    return "n/a";
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The model with its forward timed. */
function timedModel(model: ClipModel, t: { forward: number }) {
  return {
    config: model.config,
    async encodeImagePixels(pixels: Float32Array, batch: number): Promise<ImageForward> {
      const t0 = performance.now();
      const out = await model.encodeImagePixels(pixels, batch);
      t.forward += performance.now() - t0;
      return out;
    },
  };
}

function timedSegmenter(seg: Segmenter, t: { head: number }): Segmenter {
  return {
    ...seg,
    async tokenLogits(Z, a, B) {
      const t0 = performance.now();
      const out = await seg.tokenLogits(Z, a, B);
      t.head += performance.now() - t0;
      return out;
    },
  };
}

function randomImage(width: number, height: number, seed: number) {
  const rand = mulberry32(seed);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rand() * 256);
  return { width, height, channels: 3, data, nearestOnly: false };
}

async function main() {
  if (!fs.existsSync(checkpoint)) {
    console.log(`making ${checkpoint} …`);
    const r = spawnSync(process.execPath, ["node_modules/tsx/dist/cli.mjs", "bench/memory/make_checkpoint.ts", "--model", name, "--out", checkpoint], { stdio: "inherit" });
    if (r.status !== 0) throw new Error("make_checkpoint failed");
  }
  const t0 = performance.now();
  const model = await loadModel(checkpoint);
  const { C, H, d } = model.attentionPool;
  console.log(`${name} (random weights): C = ${C}, H = ${H}, d = ${d}, R = ${model.config.imageResolution}; loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const rand = mulberry32(59);
  const raw = new Float32Array(P * d).map(() => rand() * 2 - 1);
  const T = prepareClassEmbeddings(raw, d);
  const rows: string[][] = [];
  const result: Record<string, { setup: number; whole: { forward: number; head: number }; slide: { forward: number; head: number } }> = {};
  for (const method of SEGMENTATION_METHODS) {
    const s0 = performance.now();
    const seg = await createSegmenter(model, { method, classEmbeddings: T });
    const setup = performance.now() - s0;
    const per: Record<"whole" | "slide", { forward: number[]; head: number[] }> = { whole: { forward: [], head: [] }, slide: { forward: [], head: [] } };
    for (const mode of ["whole", "slide"] as const) {
      for (let i = 0; i <= images; i++) {
        const t = { forward: 0, head: 0 };
        const img = mode === "whole" ? randomImage(384, 384, 100 + i) : randomImage(512, 384, 200 + i);
        await denseLogits(timedModel(model, t), timedSegmenter(seg, t), img, {
          mode: mode === "whole" ? { mode: "whole" } : { mode: "slide", crop: 384, stride: 192 }, shortSide: 384, batch: 2,
        });
        if (i === 0) continue; // warm-up
        per[mode].forward.push(t.forward);
        per[mode].head.push(t.head);
      }
    }
    const r = {
      setup,
      whole: { forward: median(per.whole.forward), head: median(per.whole.head) },
      slide: { forward: median(per.slide.forward), head: median(per.slide.head) },
    };
    result[method] = r;
    console.log(`${method}: setup ${(setup / 1000).toFixed(2)} s; whole forward ${r.whole.forward.toFixed(0)} ms + head ${r.whole.head.toFixed(0)} ms; `
      + `slide forward ${r.slide.forward.toFixed(0)} ms + head ${r.slide.head.toFixed(0)} ms   [${pressure()}]`);
  }
  const base = result.maskclip;
  const total = (x: { forward: number; head: number }) => x.forward + x.head;
  for (const method of SEGMENTATION_METHODS) {
    const r = result[method];
    rows.push([
      method, (r.setup / 1000).toFixed(2),
      total(r.whole).toFixed(0), r.whole.head.toFixed(0), (total(r.whole) / total(base.whole)).toFixed(2), (r.whole.head / base.whole.head).toFixed(2),
      total(r.slide).toFixed(0), r.slide.head.toFixed(0), (total(r.slide) / total(base.slide)).toFixed(2), (r.slide.head / base.slide.head).toFixed(2),
    ]);
  }
  console.log(`\nper image, median of ${images} (after one warm-up), ${P} classes; ratios against maskclip in the same run`);
  console.log("| method | setup (s) | whole total (ms) | whole head (ms) | ×maskclip total | ×maskclip head | slide total (ms) | slide head (ms) | ×maskclip total | ×maskclip head |");
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  console.log(`\n${pressure()}`);
  await model.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

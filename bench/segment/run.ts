/**
 * Per-image segmentation time of each method at RN50x16 shape (random weights, 384 px, 59 classes), whole and
 * slide, measured in one run: the image tower forward and the method's own head (token logits) are timed
 * separately (the head: everything after the image tower — the method's graphs, sink fix, products), and each
 * method's ratio to MaskCLIP in the same run is printed. Never a test.
 *
 *   node node_modules/tsx/dist/cli.mjs bench/segment/run.ts [--model RN50x16] [--images 3] [--checkpoint FILE]
 *
 * The checkpoint is made on first use with bench/memory/make_checkpoint.ts (bench/out/memory/RN50x16.safetensors).
 * Slide images are 512×384 (a PASCAL-like 500×375 after the test-time resize of the short side to 384: two
 * 384-pixel windows at stride 192, one batch of 2); whole images are 384×384 (one forward). Methods take turns on
 * every image, so they share the machine's load; read min-of-N beside the /proc/pressure/cpu lines (2 shared cores).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { loadModel } from "../../src/clip/model";
import { ClipModel, ImageForward } from "../../src/clip/types";
import { mulberry32 } from "../../src/toyworld/random";
import {
  SEGMENTATION_METHODS,
  Segmenter,
  createSegmenter,
  denseLogits,
  prepareClassEmbeddings,
} from "../../src/apps/segmentation";

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
    const r = spawnSync(
      process.execPath,
      ["node_modules/tsx/dist/cli.mjs", "bench/memory/make_checkpoint.ts", "--model", name, "--out", checkpoint],
      { stdio: "inherit" },
    );
    if (r.status !== 0) throw new Error("make_checkpoint failed");
  }
  const t0 = performance.now();
  const model = await loadModel(checkpoint);
  const { C, H, d } = model.attentionPool;
  console.log(
    `${name} (random weights): C = ${C}, H = ${H}, d = ${d}, R = ${model.config.imageResolution}; loaded in ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const rand = mulberry32(59);
  const raw = new Float32Array(P * d).map(() => rand() * 2 - 1);
  const T = prepareClassEmbeddings(raw, d);
  // Segmenters first (the pair methods select their pairs once per class set: "setup"), then every image through
  // every method in turn, so all methods see the same machine load; min and median over images after a warm-up.
  const segs: Record<string, Segmenter> = {};
  const setup: Record<string, number> = {};
  for (const method of SEGMENTATION_METHODS) {
    const s0 = performance.now();
    segs[method] = await createSegmenter(model, { method, classEmbeddings: T });
    setup[method] = performance.now() - s0;
  }
  type Times = { forward: number[]; head: number[]; total: number[] };
  const times: Record<string, Record<"whole" | "slide", Times>> = {};
  for (const method of SEGMENTATION_METHODS)
    times[method] = { whole: { forward: [], head: [], total: [] }, slide: { forward: [], head: [], total: [] } };
  for (let i = 0; i <= images; i++) {
    for (const mode of ["whole", "slide"] as const) {
      const img = mode === "whole" ? randomImage(384, 384, 100 + i) : randomImage(512, 384, 200 + i);
      for (const method of SEGMENTATION_METHODS) {
        const t = { forward: 0, head: 0 };
        const w0 = performance.now();
        await denseLogits(timedModel(model, t), timedSegmenter(segs[method], t), img, {
          mode: mode === "whole" ? { mode: "whole" } : { mode: "slide", crop: 384, stride: 192 },
          shortSide: 384,
          batch: 2,
        });
        const total = performance.now() - w0;
        if (i === 0) continue; // warm-up
        times[method][mode].forward.push(t.forward);
        times[method][mode].head.push(t.head);
        times[method][mode].total.push(total);
      }
    }
    if (i > 0) console.log(`image ${i}/${images} done   [${pressure()}]`);
  }
  const min = (xs: number[]) => Math.min(...xs);
  const fmt = (xs: number[]) => `${min(xs).toFixed(0)} / ${median(xs).toFixed(0)}`;
  const ratio = (a: number[], b: number[]) => `${(min(a) / min(b)).toFixed(2)} / ${(median(a) / median(b)).toFixed(2)}`;
  console.log(
    `\nper image (ms, min / median of ${images} after one warm-up), ${P} classes; ×maskclip = ratio to maskclip in ` +
      `the same run`,
  );
  for (const mode of ["whole", "slide"] as const) {
    console.log(
      `\n${mode === "whole" ? "whole: 384×384, one forward"
        : "slide: 512×384, crop 384, stride 192 (2 windows, one batch)"}`,
    );
    console.log("| method | setup (s) | forward | head | total | ×maskclip total | ×maskclip head |");
    console.log("|---|---|---|---|---|---|---|");
    const base = times.maskclip[mode];
    for (const method of SEGMENTATION_METHODS) {
      const t = times[method][mode];
      console.log(
        `| ${method} | ${(setup[method] / 1000).toFixed(2)} | ${fmt(t.forward)} | ${fmt(t.head)} | ${fmt(t.total)} | ` +
          `${ratio(t.total, base.total)} | ${ratio(t.head, base.head)} |`,
      );
    }
  }
  console.log(`\n${pressure()}`);
  await model.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

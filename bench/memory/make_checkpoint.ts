/**
 * A random-weight CLIP-ResNet checkpoint of a real model's shape (default RN50x16: 290 M parameters), as fp16
 * safetensors, for memory measurements: `node node_modules/tsx/dist/cli.mjs bench/memory/make_checkpoint.ts
 * [--model RN50x16] [--out bench/out/memory/RN50x16.safetensors]`. Weights are seeded uniform noise scaled by
 * 1/sqrt(fan-in) so activations stay finite; BatchNorm variances are 1.
 */
import * as fs from "fs";
import * as path from "path";
import { expectedClipShapes } from "../../src/clip/keys";
import { ClipConfig } from "../../src/clip/config";
import { encodeSafetensors } from "../../src/weights/safetensors";
import { Tensor } from "../../src/weights/types";
import { mulberry32 } from "../../src/toyworld/random";

const SHAPES: Record<string, Pick<ClipConfig, "visionLayers" | "visionWidth" | "imageResolution" | "embedDim" | "transformerWidth" | "transformerLayers">> = {
  RN50: { visionLayers: [3, 4, 6, 3], visionWidth: 64, imageResolution: 224, embedDim: 1024, transformerWidth: 512, transformerLayers: 12 },
  RN50x16: { visionLayers: [6, 8, 18, 8], visionWidth: 96, imageResolution: 384, embedDim: 768, transformerWidth: 768, transformerLayers: 12 },
};

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const name = arg("model", "RN50x16");
const shape = SHAPES[name];
if (!shape) throw new Error(`--model must be one of ${Object.keys(SHAPES).join(", ")}`);
const out = arg("out", path.join("bench", "out", "memory", `${name}.safetensors`));
const cfg: ClipConfig = {
  ...shape, visionHeads: (shape.visionWidth * 32) / 64, grid: shape.imageResolution / 32,
  contextLength: 77, vocabSize: 49408, transformerHeads: shape.transformerWidth / 64,
};
const rand = mulberry32(16);
const tensors: [string, Tensor][] = [];
for (const [key, dims] of expectedClipShapes(cfg)) {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  if (key.endsWith("running_var") || (key.includes("ln_") && key.endsWith("weight"))) data.fill(1);
  else if (!key.endsWith("running_mean")) {
    const fanIn = dims.length > 1 ? n / dims[0] : 1;
    const scale = key.endsWith("bias") ? 0.01 : 1 / Math.sqrt(fanIn);
    for (let i = 0; i < n; i++) data[i] = (rand() * 2 - 1) * scale;
  }
  tensors.push([key, { shape: dims, data, storedDtype: "float32" }]);
}
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, encodeSafetensors(tensors, { dtype: "F16", metadata: { note: `random ${name}-shaped weights (bench/memory)` } }));
console.log(`wrote ${out} (${(fs.statSync(out).size / 1e6).toFixed(0)} MB)`);

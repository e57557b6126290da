/**
 * bench/collect/overhead: cost of `collect` (decode + forward + storing s/embeddings with fsync'd commit points +
 * finalize: means, top-k per pair / neuron / head by centred norm) over the plain forward pass (decode + forward,
 * embeddings only), on a real model graph, in one run, same images, same batch size.
 *
 *   node node_modules/tsx/dist/cli.mjs bench/collect/overhead.ts [--model fixtures-large/rn50/weights.safetensors]
 *        [--n 48] [--batch 8] [--topk 50]
 *
 * Order: warm-up batch, plain, collect, plain, collect; reports the min of each. Prints the measured ratio and
 * its parts: per-image store cost and the once-per-collection finalize cost (weight-only |w| and Gram tables +
 * two passes over s), extrapolated to the paper's N = 1000. Not a test: nothing asserts times.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadModel } from "../../src/clip/model";
import { ClipModel } from "../../src/clip/types";
import { clipPixelLoader, collect, listImageFolder, normTablesOrt, openCollection } from "../../src/collect";
import { writeToyDataset } from "../../src/toyworld";

const ROOT = path.resolve(__dirname, "..", "..");
function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

const rn50 = path.join(ROOT, "fixtures-large/rn50/weights.safetensors");
const modelPath = arg("model", fs.existsSync(rn50) ? rn50 : path.join(ROOT, "test/fixtures/tiny/weights.safetensors"));
const N = Number(arg("n", "48"));
const B = Number(arg("batch", "8"));
const K = Number(arg("topk", "50"));

async function plainForward(model: ClipModel, files: string[]): Promise<number> {
  const R = model.config.imageResolution;
  const t0 = performance.now();
  for (let i = 0; i < files.length; i += B) {
    const chunk = files.slice(i, i + B);
    const px = await Promise.all(chunk.map((f) => clipPixelLoader(f, R)));
    const pixels = new Float32Array(chunk.length * 3 * R * R);
    px.forEach((p, j) => pixels.set(p, j * 3 * R * R));
    await model.encodeImagePixels(pixels, chunk.length);
  }
  return (performance.now() - t0) / 1000;
}

async function timedCollect(model: ClipModel, images: string, out: string) {
  fs.rmSync(out, { recursive: true, force: true });
  const t0 = performance.now();
  let tFinal = 0;
  await collect({
    model, images, outDir: out, batchSize: B, topK: K,
    onProgress: (e) => { if (e.phase !== "collect" && tFinal === 0) tFinal = performance.now(); },
  });
  const t1 = performance.now();
  return { total: (t1 - t0) / 1000, finalize: (t1 - tFinal) / 1000 };
}

async function main() {
  const work = path.join(ROOT, "bench/out/collect");
  const model = await loadModel(modelPath);
  const R = model.config.imageResolution;
  const images = path.join(work, `images-${N}-${R}`);
  if (!fs.existsSync(images)) await writeToyDataset(images, { n: N, seed: 11, size: R, masks: false });
  const files = listImageFolder(path.join(images, "images")).map((it) => it.path);
  const { visionHeads: H, embedDim: d } = model.config;
  const C = model.config.visionWidth * 32;
  console.log(`model ${path.relative(ROOT, modelPath)}: H=${H} C=${C} d=${d} R=${R}; N=${N} images, batch ${B}, top-${K}; ${os.cpus().length} CPUs`);
  const pressure = () => (fs.existsSync("/proc/pressure/cpu") ? fs.readFileSync("/proc/pressure/cpu", "utf8").split("\n")[0] : "n/a");
  console.log(`cpu pressure before: ${pressure()}`);
  await plainForward(model, files.slice(0, B)); // warm-up
  const plain: number[] = [];
  const col: { total: number; finalize: number }[] = [];
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-bench-collect-"));
  for (let rep = 0; rep < 2; rep++) {
    plain.push(await plainForward(model, files));
    col.push(await timedCollect(model, path.join(images, "images"), path.join(out, "c")));
  }
  console.log(`cpu pressure after:  ${pressure()}`);
  const p = Math.min(...plain);
  const c = col.reduce((a, b) => (b.total < a.total ? b : a));
  const store = c.total - c.finalize - p; // streaming part beyond the forward pass
  console.log(`plain forward (decode+forward):      ${p.toFixed(2)} s  (${(p / N).toFixed(3)} s/image)   runs: ${plain.map((x) => x.toFixed(2)).join(", ")}`);
  console.log(`collect (forward+store+finalize):    ${c.total.toFixed(2)} s  runs: ${col.map((x) => x.total.toFixed(2)).join(", ")}`);
  console.log(`  of which finalize (once):           ${c.finalize.toFixed(2)} s;  streaming store beyond forward: ${store.toFixed(2)} s (${((store / N) * 1000).toFixed(1)} ms/image)`);
  console.log(`RATIO collect / plain at N=${N}:       ${(c.total / p).toFixed(3)}×`);
  // Finalize = weight-only tables (once per model) + two passes over the rows (∝ N): time the tables alone.
  const t0 = performance.now();
  const col1 = openCollection(path.join(out, "c"));
  await normTablesOrt(col1.weights);
  const tables = (performance.now() - t0) / 1000;
  const perRow = Math.max(0, c.finalize - tables) / N;
  console.log(`  finalize = weight tables ${tables.toFixed(2)} s (once) + ${(perRow * 1000).toFixed(1)} ms/image (means, norms, top-k)`);
  const at = (n: number) => (n * (p / N + store / N + perRow) + tables) / (n * (p / N));
  console.log(`ratio extrapolated: N=1000 ${at(1000).toFixed(3)}×, N=5000 ${at(5000).toFixed(3)}×`);
  col1.close();
  fs.rmSync(out, { recursive: true, force: true });
  await model.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

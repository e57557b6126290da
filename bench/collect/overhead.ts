/**
 * bench/collect/overhead: cost of `collect` (decode + forward + storing s/embeddings with fsync'd commit points +
 * finalize: means, top-k per pair / neuron / head by centred norm) over the plain forward pass (decode + forward,
 * embeddings only), on a real model graph, in one run, same images, same batch size.
 *
 *   node node_modules/tsx/dist/cli.mjs bench/collect/overhead.ts [--model fixtures-large/rn50/weights.safetensors]
 *        [--n 48] [--batch 8] [--topk 50] [--reps 3] [--finalize-n 1000]
 *
 * Order: warm-up batch, then REPS × (plain, collect), then REPS × (finalize rerun, weight tables); min of each, in
 * wall and CPU seconds (CPU time of this process incl. onnxruntime threads: robust on a shared machine). Prints the
 * measured ratio and its parts — per image: forward, streaming store (s rows + fsync'd commits), finalize passes;
 * once: the weight-only |w| and Gram tables — extrapolated to the paper's N = 1000. Nothing asserts times.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadModel } from "../../src/clip/model";
import { ClipModel } from "../../src/clip/types";
import { clipPixelLoader, collect, finalizeCollection } from "../../src/collect";
import { listImages } from "../../src/data/images";
import { writeToyDataset } from "../../src/toyworld";
import sharp from "sharp";
import { fakeModel, sharpLoader } from "../../test/collect.fake";

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
const REPS = Number(arg("reps", "3"));
/** Rows of the synthetic collection for measuring the finalize passes at a realistic N (0: skip). */
const FN = Number(arg("finalize-n", "1000"));

/** Wall and CPU seconds (this process, all threads: JS + onnxruntime) of `f`. */
async function timed<T>(f: () => Promise<T>): Promise<{ wall: number; cpu: number; value: T }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6, value };
}

async function plainForward(model: ClipModel, files: string[]): Promise<void> {
  const R = model.config.imageResolution;
  for (let i = 0; i < files.length; i += B) {
    const chunk = files.slice(i, i + B);
    const px = await Promise.all(chunk.map((f) => clipPixelLoader(f, R)));
    const pixels = new Float32Array(chunk.length * 3 * R * R);
    px.forEach((p, j) => pixels.set(p, j * 3 * R * R));
    await model.encodeImagePixels(pixels, chunk.length);
  }
}

type T = { wall: number; cpu: number };
const best = (xs: T[]): T => ({ wall: Math.min(...xs.map((x) => x.wall)), cpu: Math.min(...xs.map((x) => x.cpu)) });
const fmt = (x: T) => `${x.wall.toFixed(2)} s wall, ${x.cpu.toFixed(2)} s CPU`;

/**
 * Finalize alone (idempotent rerun on the committed rows), split by its phases: weight tables and sorting/writing
 * the results happen once per collection; the two passes over s (means; norms + top-k) scale with N.
 */
async function finalizePhases(dir: string): Promise<Record<string, T>[]> {
  const phases: Record<string, T>[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const marks: { phase: string; wall: number; cpu: number }[] = [];
    const mark = (phase: string) => {
      const c = process.cpuUsage();
      marks.push({ phase, wall: performance.now() / 1000, cpu: (c.user + c.system) / 1e6 });
    };
    mark("start");
    await finalizeCollection(dir, (e) => { if (e.done === e.total || (e.phase === "write" && e.done === 0)) mark(`${e.phase}:${e.done}`); });
    const at = (p: string) => marks.filter((m) => m.phase === p).pop()!;
    const span = (a: string, b: string): T => ({ wall: at(b).wall - at(a).wall, cpu: at(b).cpu - at(a).cpu });
    phases.push({ tables: span("start", "tables:1"), passes: span("tables:1", "write:0"), write: span("write:0", "write:1"), total: span("start", "write:1") });
  }
  return phases;
}

/**
 * The finalize passes at a realistic N (top-k offers get cheaper as N grows past k): a collection of FN rows of
 * the same H×C×d shape from the fake model (no forward cost), finalized REPS times.
 */
async function syntheticPasses(H: number, C: number, d: number, grid: number, out: string): Promise<T> {
  const images = path.join(out, "synthetic-images");
  fs.mkdirSync(images, { recursive: true });
  for (let i = 0; i < FN; i++) {
    const raw = Buffer.alloc(8 * 8 * 3).map((_, j) => (i * 131 + j * 17 + ((i * j) % 7)) % 256);
    await sharp(raw, { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(path.join(images, `s${String(i).padStart(6, "0")}.png`));
  }
  const fake = fakeModel({ width: C / 32, heads: H, embed: d, grid });
  const dir = path.join(out, "synthetic");
  await collect({ model: fake, images, outDir: dir, batchSize: B, topK: K, loadPixels: sharpLoader });
  return best((await finalizePhases(dir)).map((x) => x.passes));
}

async function main() {
  const work = path.join(ROOT, "bench/out/collect");
  const model = await loadModel(modelPath);
  const R = model.config.imageResolution;
  const images = path.join(work, `images-${N}-${R}`);
  if (!fs.existsSync(images)) await writeToyDataset(images, { n: N, seed: 11, size: R, masks: false });
  const files = listImages(path.join(images, "images")).items.map((it) => it.path);
  const { visionHeads: H, embedDim: d } = model.config;
  const C = model.config.visionWidth * 32;
  console.log(`model ${path.relative(ROOT, modelPath)}: H=${H} C=${C} d=${d} R=${R}; N=${N} images, batch ${B}, top-${K}; ${os.cpus().length} CPUs`);
  const pressure = () => (fs.existsSync("/proc/pressure/cpu") ? fs.readFileSync("/proc/pressure/cpu", "utf8").split("\n")[0] : "n/a");
  console.log(`cpu pressure before: ${pressure()}`);
  await plainForward(model, files.slice(0, B)); // warm-up
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-bench-collect-"));
  const dir = path.join(out, "c");
  const plain: T[] = [], full: T[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    plain.push(await timed(() => plainForward(model, files)));
    fs.rmSync(dir, { recursive: true, force: true });
    full.push(await timed(() => collect({ model, images: path.join(images, "images"), outDir: dir, batchSize: B, topK: K })));
  }
  const phases = await finalizePhases(dir);
  console.log(`cpu pressure after:  ${pressure()}`);
  const p = best(plain), c = best(full);
  const ph = (k: string) => best(phases.map((x) => x[k]));
  const f = ph("total"), t = ph("tables"), ps = ph("passes"), w = ph("write");
  console.log(`plain forward (decode + forward):         ${fmt(p)}  (${(p.wall / N).toFixed(3)} s/image wall)`);
  console.log(`collect (forward + store + finalize):     ${fmt(c)}`);
  console.log(`  finalize alone:                         ${fmt(f)}`);
  console.log(`    weight-only tables (once per model):  ${fmt(t)}`);
  console.log(`    passes over s (means, norms, top-k):  ${fmt(ps)}`);
  console.log(`    sort + write results (once):          ${fmt(w)}`);
  console.log(`RATIO collect / plain at N=${N}:  wall ${(c.wall / p.wall).toFixed(3)}×   CPU ${(c.cpu / p.cpu).toFixed(3)}×`);
  for (const key of ["wall", "cpu"] as const) {
    const fwd = p[key] / N, store = Math.max(0, c[key] - f[key] - p[key]) / N, rows = ps[key] / N, once = t[key] + w[key];
    const proj = (n: number) => (n * (fwd + store + rows) + once) / (n * fwd);
    console.log(`  ${key}: per image forward ${(fwd * 1000).toFixed(1)} ms, store ${(store * 1000).toFixed(1)} ms, finalize passes ${(rows * 1000).toFixed(1)} ms; once ${once.toFixed(2)} s → N=1000: ${proj(1000).toFixed(3)}×, N=5000: ${proj(5000).toFixed(3)}×`);
  }
  if (FN > 0) {
    // Same projection with the passes measured at N = FN rows (synthetic s of the same shape).
    const syn = await syntheticPasses(H, C, d, model.config.grid, out);
    console.log(`finalize passes at N=${FN} (synthetic rows, same shape): ${fmt(syn)} = ${((syn.wall / FN) * 1000).toFixed(1)} ms wall, ${((syn.cpu / FN) * 1000).toFixed(1)} ms CPU per image`);
    for (const key of ["wall", "cpu"] as const) {
      const fwd = p[key] / N, store = Math.max(0, c[key] - f[key] - p[key]) / N, rows = syn[key] / FN, once = t[key] + w[key];
      const ratio = (FN * (fwd + store + rows) + once) / (FN * fwd);
      console.log(`  ${key}: RATIO at N=${FN} (real forward/store per image, passes measured at N=${FN}, once-costs): ${ratio.toFixed(3)}×`);
    }
  } else console.log("(at N < k every row enters every heap; at N ≫ k most top-k offers are one comparison: the projection is an upper bound)");
  fs.rmSync(out, { recursive: true, force: true });
  await model.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

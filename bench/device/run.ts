/**
 * bench/device: the GPU execution providers against the CPU, on random-weight CLIP-ResNets of real shapes.
 *
 *   node node_modules/tsx/dist/cli.mjs bench/device/run.ts [--shapes RN50,RN50x16] [--devices webgpu,cuda]
 *                                                         [--runs 10] [--batches 1,8] [--threads 2]
 *
 * For each shape (RN50 @224, RN50x16 @384; `toy` = the embedded model, a quick smoke run) it writes a seeded
 * random checkpoint with bench/memory/make_checkpoint.ts (bench/out/device/, git-ignored), loads it on the CPU and
 * on each device, and
 *  - checks every image-tower output (embedding, Z, a, s) and the text embeddings against the CPU's: max |Δ| over
 *    max |CPU| must be ≤ 1e-3 (PASS/FAIL per output);
 *  - prints min and median per-image time (ms) of the image tower at each batch size, and the CPU/device ratio.
 * A device that is not available prints the DeviceError (what is missing, how to get it) and is skipped.
 * Exit status: 1 if any available device FAILED the check, 2 if no GPU device was available, else 0.
 * Not a test: nothing asserts times.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { loadModel } from "../../src/clip/model";
import { ClipModel, ImageForward } from "../../src/clip/types";
import { Device, DeviceError, parseDevice } from "../../src/clip/device";

const ROOT = path.resolve(__dirname, "..", "..");
const OUT = path.join(ROOT, "bench", "out", "device");
const TOLERANCE = 1e-3;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

const SHAPES = arg("shapes", "RN50,RN50x16").split(",").map((s) => s.trim()).filter(Boolean);
const DEVICES = arg("devices", "webgpu,cuda").split(",").map((d) => parseDevice(d)).filter((d) => d !== "cpu");
const RUNS = Number(arg("runs", "10"));
const BATCHES = arg("batches", "1,8").split(",").map(Number);
const THREADS = Number(arg("threads", "2"));
const TEXTS = ["a photo of a dog", "a red circle on a blue background", "a striped yellow square", "an empty room"];

function checkpointFor(shape: string): string {
  if (shape === "toy") return "toy";
  const file = path.join(OUT, `${shape}.safetensors`);
  if (!fs.existsSync(file)) {
    const r = spawnSync(
      process.execPath,
      [
        path.join(ROOT, "node_modules/tsx/dist/cli.mjs"),
        path.join(ROOT, "bench/memory/make_checkpoint.ts"),
        "--model",
        shape,
        "--out",
        file,
      ],
      { cwd: ROOT, stdio: "inherit" },
    );
    if (r.status !== 0) throw new Error(`make_checkpoint.ts --model ${shape} failed`);
  }
  return file;
}

/** Seeded pixels in CLIP's normalised range, B×3×R×R. */
function pixels(batch: number, R: number): Float32Array {
  const px = new Float32Array(batch * 3 * R * R);
  let s = 12345;
  for (let i = 0; i < px.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    px[i] = (s / 2 ** 32) * 4 - 2;
  }
  return px;
}

/** max |a − b| / max |a| (the CPU output is a). */
function relError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(b[i])) return Infinity;
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]));
  }
  return diff / (scale || 1);
}

async function perImageTimes(model: ClipModel, batch: number): Promise<{ min: number; median: number }> {
  const R = model.config.imageResolution;
  const px = pixels(batch, R);
  for (let i = 0; i < 2; i++) await model.encodeImagePixels(px, batch); // warm-up (kernels, allocations)
  const t: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    await model.encodeImagePixels(px, batch);
    t.push(Number(process.hrtime.bigint() - t0) / 1e6 / batch);
  }
  t.sort((a, b) => a - b);
  return { min: t[0], median: t.length % 2 ? t[(t.length - 1) / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2 };
}

async function open(file: string, device: Device): Promise<ClipModel | DeviceError> {
  try {
    return await loadModel(file, { device, threads: THREADS, cacheDir: path.join(OUT, "cache") });
  } catch (e) {
    if (e instanceof DeviceError) return e;
    throw e;
  }
}

async function main(): Promise<number> {
  fs.mkdirSync(OUT, { recursive: true });
  let failed = false;
  let anyDevice = false;
  for (const shape of SHAPES) {
    const file = checkpointFor(shape);
    const cpu = await open(file, "cpu");
    if (cpu instanceof DeviceError) throw cpu;
    const R = cpu.config.imageResolution;
    console.log(
      `\n== ${shape} @${R} (H=${cpu.config.visionHeads}, d=${cpu.config.embedDim}); ${RUNS} runs per batch size, ` +
        `${THREADS} CPU thread(s)`,
    );
    const refPx = pixels(2, R);
    const ref: ImageForward = await cpu.encodeImagePixels(refPx, 2);
    const refText = await cpu.encodeTexts(TEXTS);
    const cpuTimes = new Map<number, { min: number; median: number }>();
    for (const b of BATCHES) cpuTimes.set(b, await perImageTimes(cpu, b));
    for (const b of BATCHES)
      console.log(
        `  cpu     batch ${b}: ${cpuTimes.get(b)!.min.toFixed(1)} / ${cpuTimes.get(b)!.median.toFixed(1)} ms per ` +
          `image (min / median)`,
      );
    for (const device of DEVICES) {
      const model = await open(file, device);
      if (model instanceof DeviceError) {
        console.log(`  ${device.padEnd(7)} UNAVAILABLE: ${model.message.replace(/\n/g, "\n    ")}`);
        continue;
      }
      anyDevice = true;
      try {
        failed = !(await compareAndTime(model, device, ref, refPx, refText, cpuTimes)) || failed;
      } catch (e) {
        failed = true; // e.g. an operator the provider cannot run at inference time
        console.log(`  ${device.padEnd(7)} FAIL: ${(e as Error).message}`);
      }
      await model.dispose();
    }
    await cpu.dispose();
  }
  if (failed) return 1;
  if (!anyDevice) {
    console.log("\nno GPU device was available (see the UNAVAILABLE lines)");
    return 2;
  }
  return 0;
}

/** The parity check and the timings of one device; false when an output is off by more than the tolerance. */
async function compareAndTime(
  model: ClipModel,
  device: Device,
  ref: ImageForward,
  refPx: Float32Array,
  refText: Float32Array,
  cpuTimes: Map<number, { min: number; median: number }>,
): Promise<boolean> {
  const out = await model.encodeImagePixels(refPx, 2);
  const text = await model.encodeTexts(TEXTS);
  const errors: [string, number][] = [
    ["embedding", relError(ref.embedding, out.embedding)],
    ["Z", relError(ref.features, out.features)],
    ["a", relError(ref.attention, out.attention)],
    ["s", relError(ref.coefficients, out.coefficients)],
    ["text", relError(refText, text)],
  ];
  const bad = errors.filter(([, e]) => !(e <= TOLERANCE));
  console.log(
    `  ${device.padEnd(7)} ${bad.length ? "FAIL" : "PASS"} vs cpu (max rel. error ≤ ${TOLERANCE}): ` +
      errors.map(([k, e]) => `${k} ${e.toExponential(2)}`).join(", "),
  );
  for (const b of BATCHES) {
    const t = await perImageTimes(model, b);
    const c = cpuTimes.get(b)!;
    console.log(
      `  ${device.padEnd(7)} batch ${b}: ${t.min.toFixed(1)} / ${t.median.toFixed(1)} ms per image (min / median), ` +
        `cpu/${device} ${(c.min / t.min).toFixed(2)}×`,
    );
  }
  return bad.length === 0;
}

main().then((code) => process.exit(code), (e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});

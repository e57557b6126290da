/**
 * bench/forward: per-image time of a random-weight CLIP-ResNet image tower on onnxruntime-node (the graph
 * clip-nad builds) vs the oracle's PyTorch (tools/oracle/clipmini.py), same weights, same machine, same run.
 *
 *   node node_modules/tsx/dist/cli.mjs bench/forward/run.ts [--runs 15] [--runs-x16 4] [--rounds 2] [--threads 2] [--only rn50|rn50x16]
 *
 * Reports min and median of N batch-1 forwards (--threads intra-op threads for both, default 2) and the ratio torch/ORT (> 1: ORT faster).
 * Weights are cached in bench/out/forward/<config>/ (git-ignored). Not a test: never asserts times.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as ort from "onnxruntime-node";
import { ClipConfig } from "../../src/clip/config";
import { buildImageGraph } from "../../src/clip/imageGraph";
import { sessionOptions } from "../../src/clip/session";
import { readSafetensors } from "../../src/weights/safetensors";

const ROOT = path.resolve(__dirname, "..", "..");
const PY = "/usr/bin/python3";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

const stats = (t: number[]) => {
  const s = t.slice().sort((a, b) => a - b);
  return { min: s[0], median: s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2 };
};

function configFrom(meta: Record<string, string>): ClipConfig {
  const c = JSON.parse(meta.config) as Record<string, number & number[]>;
  const grid = c.image_resolution / 32;
  return {
    visionLayers: c.vision_layers as unknown as ClipConfig["visionLayers"], visionWidth: c.vision_width, visionHeads: c.vision_heads,
    imageResolution: c.image_resolution, grid, embedDim: c.embed_dim,
    // text fields are unused by the image graph
    contextLength: 0, vocabSize: 0, transformerWidth: 0, transformerHeads: 0, transformerLayers: 0,
  };
}

const THREADS = Number(arg("threads", "2"));

function torchRuns(name: string, dir: string, runs: number): number[] {
  // OMP_WAIT_POLICY=PASSIVE is torch's counterpart of ORT's allow_spinning=0 (clip-nad's setting): with the
  // default spinning, one preempted OpenMP thread on a busy 2-core box made RN50 take 2.7 s instead of 0.18 s.
  const env = { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? "PASSIVE" };
  const py = spawnSync(PY, [path.join(__dirname, "torch_forward.py"), name, dir, String(runs), String(THREADS)], { encoding: "utf8", env });
  if (py.status !== 0) throw new Error(`torch_forward.py failed:\n${py.stderr}`);
  return (JSON.parse(py.stdout.trim().split("\n").pop()!) as { times_ms: number[] }).times_ms;
}

/** `rounds` alternations of (PyTorch: N runs, ORT: N runs); min/median over all runs of each engine. */
async function benchOne(name: string, runs: number, rounds: number): Promise<void> {
  const dir = path.join(ROOT, "bench", "out", "forward", name);
  console.log(`\n== ${name}: ${rounds} round(s) of ${runs} runs per engine, ${THREADS} thread(s) each`);
  const torchTimes = torchRuns(name, dir, runs); // also creates the weights on first use
  const ck = readSafetensors(path.join(dir, "visual.safetensors"));
  const cfg = configFrom(ck.metadata);
  const graphFile = path.join(dir, "image.onnx");
  const tb = Date.now();
  const bytes = buildImageGraph(ck.tensors, cfg, ck.path).writeFile(graphFile);
  const buildMs = Date.now() - tb;
  ck.tensors.clear(); // the session is created from the file; drop the JS weights first
  const tc = Date.now();
  const session = await ort.InferenceSession.create(graphFile, sessionOptions(THREADS));
  const createMs = Date.now() - tc;
  const io = readSafetensors(path.join(dir, "io.safetensors")).tensors;
  const px = io.get("pixels")!;
  const feeds = { pixels: new ort.Tensor("float32", px.data, px.shape) };
  const first = await session.run(feeds);
  await session.run(feeds);
  const ortTimes: number[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round > 0) torchTimes.push(...torchRuns(name, dir, runs));
    const mark = ortTimes.length;
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      ortTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    console.log(`  round ${round + 1}: torch min ${Math.min(...torchTimes.slice(-runs)).toFixed(1)} ms, ORT min ${Math.min(...ortTimes.slice(mark)).toFixed(1)} ms (${readPressure()})`);
  }
  await session.release();

  const expected = io.get("embedding")!.data;
  const got = first.embedding.data as Float32Array;
  let err = 0, mx = 0;
  for (let i = 0; i < expected.length; i++) {
    err = Math.max(err, Math.abs(got[i] - expected[i]));
    mx = Math.max(mx, Math.abs(expected[i]));
  }
  const t = stats(torchTimes), o = stats(ortTimes);
  console.log(`graph ${(bytes / 2 ** 20).toFixed(0)} MiB built in ${buildMs} ms, session.create ${createMs} ms, ` +
    `embedding max rel err vs torch ${(err / mx).toExponential(2)}`);
  console.log(`| ${name} @${cfg.imageResolution}, ${THREADS} thr | torch min ${t.min.toFixed(1)} / med ${t.median.toFixed(1)} ms ` +
    `| ORT min ${o.min.toFixed(1)} / med ${o.median.toFixed(1)} ms | ratio torch/ORT: min ${(t.min / o.min).toFixed(2)}×, median ${(t.median / o.median).toFixed(2)}× |`);
}

async function main(): Promise<void> {
  ort.env.logLevel = "error";
  const only = arg("only", "");
  const runs = Number(arg("runs", "15"));
  const runsX16 = Number(arg("runs-x16", "4"));
  const rounds = Number(arg("rounds", "2"));
  fs.mkdirSync(path.join(ROOT, "bench", "out", "forward"), { recursive: true });
  console.log(`machine: ${require("os").cpus().length} logical CPUs; /proc/pressure/cpu: ${readPressure()}`);
  if (!only || only === "rn50") await benchOne("rn50", runs, rounds);
  if (!only || only === "rn50x16") await benchOne("rn50x16", runsX16, rounds);
  console.log(`\n/proc/pressure/cpu after: ${readPressure()}`);
}

function readPressure(): string {
  try {
    return fs.readFileSync("/proc/pressure/cpu", "utf8").split("\n")[0];
  } catch {
    return "n/a";
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

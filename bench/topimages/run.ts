/**
 * bench/topimages: top-k images per unit by RAW contribution norm (src/analysis/topImages: pairs from 3 scalars each,
 * neurons and heads on onnxruntime) at RN50x16 shape — H = 48 heads × C = 3072 neurons (147,456 pairs), d = 768 —
 * with random weights and random coefficients s. Prints the time per 1,000 images for each level alone and all
 * together, the projection to ImageNet val (50,000 images = 7.4·10⁹ pair-images), and the peak memory.
 * With --disk it also streams N rows from a coefficients .npy file (written first; read back from the page cache).
 *
 *   node node_modules/tsx/dist/cli.mjs bench/topimages/run.ts [--images 1000] [--k 10] [--C 3072] [--H 48] [--d 768] [--disk 1]
 *
 * Not a test: prints times; the random s is generated outside the timed region.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { TopImagesAccumulator, unitTopImages } from "../../src/analysis/topImages";
import { AttentionPoolWeights, pairTables } from "../../src/decompose";
import { RowNpyReader, RowNpyWriter } from "../../src/io/npy";
import { mulberry32 } from "../../src/toyworld/random";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}
const C = arg("C", 3072), H = arg("H", 48), d = arg("d", 768), N = arg("images", 1000), k = arg("k", 10);
const K = 144, HC = H * C;
const R = Math.max(1, Math.floor((8 * 1024 * 1024) / HC)); // the collection's chunk: ≈ 32 MB of s
const rand = mulberry32(2024);
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
const mk = (n: number, sc: number) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = gauss() * sc; return a; };
const rssMB = () => process.memoryUsage().rss / 1e6;
const peakMB = () => process.resourceUsage().maxRSS / 1e3;
/** How busy the shared machine is (Linux PSI: share of time some task waited for a CPU, last 10 s). */
function pressure(): string {
  try {
    return `CPU pressure ${/avg10=([\d.]+)/.exec(fs.readFileSync("/proc/pressure/cpu", "utf8"))![1]}%`;
  } catch {
    return "CPU pressure unknown";
  }
}

/** Post-ReLU-like s: non-negative, heavy-tailed, 30 % exact zeros (like collected coefficients). */
function randomRows(out: Float32Array): Float32Array {
  for (let i = 0; i < out.length; i++) { const u = rand(); out[i] = u < 0.3 ? 0 : -Math.log(rand() + 1e-12) * (1 + (i % 7)); }
  return out;
}

async function timeLevel(label: string, weights: Parameters<typeof TopImagesAccumulator.create>[0], opts: Parameters<typeof TopImagesAccumulator.create>[1]): Promise<number> {
  const acc = await TopImagesAccumulator.create(weights, { k, norm: "raw", ...opts });
  const buf = new Float32Array(R * HC);
  let t = 0, cpu = 0;
  for (let start = 0; start < N; start += R) {
    const count = Math.min(R, N - start);
    randomRows(buf);
    const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
    await acc.add(buf.subarray(0, count * HC), start, count);
    t += Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    cpu += (c.user + c.system) / 1e6; // this process, onnxruntime's threads included
  }
  const res = acc.result();
  await acc.release();
  const per1000 = (t * 1000) / N, cpu1000 = (cpu * 1000) / N;
  const units = res.pairs.units.length + res.neurons.units.length + res.heads.units.length;
  console.log(
    `  ${label.padEnd(34)} ${per1000.toFixed(2).padStart(6)} s wall  ${cpu1000.toFixed(2).padStart(6)} s CPU  ` +
      `per 1,000 images  (×50 for 50,000: ${(per1000 * 50).toFixed(0)} s wall; ${units} units)`,
  );
  return per1000;
}

async function main(): Promise<void> {
  console.log(`bench/topimages: H=${H} C=${C} (${HC} pairs) d=${d}, ${N} images, top-${k} by raw norm, chunks of ` +
    `${R} rows; ${os.cpus().length} CPUs; ${pressure()}`);
  const rss0 = rssMB();
  const apw: AttentionPoolWeights = {
    C, H, d, K, dh: C / H,
    Wv: mk(C * C, 1 / Math.sqrt(C)), bv: mk(C, 0.3), Wo: mk(d * C, 1 / Math.sqrt(C)), bo: mk(d, 0.3), pos: mk((K + 1) * C, 0.3),
  };
  let t0 = Date.now();
  const tables = await pairTables(apw); // |w| and the neuron Gram (no H×C×d directions)
  const weights = { apw, wNorms: tables.wNorms, neuronGram: tables.neuronGram };
  console.log(`  weight tables (|w|, Gram; once per model)   ${((Date.now() - t0) / 1000).toFixed(2)} s; RSS ${rssMB().toFixed(0)} MB (start ${rss0.toFixed(0)} MB)`);
  t0 = Date.now();
  const probe = await TopImagesAccumulator.create(weights, { k, norm: "raw", pairs: [], neurons: [], heads: [] });
  await probe.release();
  console.log(`  raw-norm scalars (w·c per pair, w·c̄)        ${((Date.now() - t0) / 1000).toFixed(2)} s (once per model)`);
  const rssReady = rssMB();

  const pairs = await timeLevel("pairs only (147,456 × 3 flops)", weights, { neurons: [], heads: [] });
  const neurons = await timeLevel("neurons only (onnxruntime)", weights, { pairs: [], heads: [] });
  const heads = await timeLevel("heads only (onnxruntime)", weights, { pairs: [], neurons: [] });
  const all = await timeLevel("all pairs + neurons + heads", weights, {});
  console.log(`  sum of the levels alone: ${(pairs + neurons + heads).toFixed(2)} s / 1,000; together ${all.toFixed(2)} s / 1,000`);
  console.log(`  pair-images per second: ${((HC * 1000) / pairs / 1e6).toFixed(0)}·10⁶ (pairs alone), ` +
    `${((HC * 1000) / all / 1e6).toFixed(0)}·10⁶ (with neurons and heads); 7.4·10⁹ for RN50x16 on ImageNet val`);

  if (arg("disk", 0)) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clipnad-topimages-"));
    const file = path.join(dir, "coefficients.npy");
    try {
      const w = RowNpyWriter.open(file, "<f4", [H, C], 0);
      const buf = new Float32Array(R * HC);
      for (let s = 0; s < N; s += R) { const n = Math.min(R, N - s); w.append(randomRows(buf).subarray(0, n * HC), n); }
      w.commit();
      w.close();
      const reader = new RowNpyReader(file);
      const source = {
        N, H, C,
        row: (i: number) => reader.readRows(i, 1) as Float32Array,
        chunks: function* (rows = R) { for (let s = 0; s < N; s += rows) { const n = Math.min(rows, N - s); yield { start: s, count: n, data: reader.readRows(s, n) as Float32Array }; } },
      };
      t0 = Date.now();
      await unitTopImages(source, weights, { k, norm: "raw" });
      const t = (Date.now() - t0) / 1000;
      reader.close();
      const size = (fs.statSync(file).size / 1e9).toFixed(2);
      console.log(
        `  unitTopImages end to end from a ${size} GB coefficients.npy (page cache), all levels: ${t.toFixed(2)} s ` +
          `for ${N} images, including the once-per-model scalars and sessions`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const topBytes = (HC + C + H) * k * 20;
  console.log(`  memory: RSS after the weights ${rssReady.toFixed(0)} MB; peak RSS ${peakMB().toFixed(0)} MB (process, incl. weights and random-data buffers)`);
  console.log(`  ${pressure()} at the end`);
  console.log(`  bound: top-k state ${(topBytes / 1e6).toFixed(0)} MB + one chunk ${((R * HC * 4) / 1e6).toFixed(0)} MB + onnxruntime buffers of one chunk; independent of N`);
}

main().catch((e) => { console.error(e); process.exit(1); });

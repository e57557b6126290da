/**
 * bench/collect/disk: bytes on disk of a collection for an RN50x16-shaped model (H=48, C=3072, d=768, 12×12 grid)
 * vs the official code's float32 memmap of every pair contribution, (N, H, C, d) = 453 GB for N = 1000.
 * Measured on small N with a fake model of that shape (deterministic s; the sizes do not depend on the values),
 * for two N so the per-image slope and the fixed part are both measured, then checked against the formula
 *
 *   bytes(N) = 4·N·(H·C + d + 1)                      coefficients, embeddings, image index (+ ids ≈ N·(|id|+3))
 *            + 4·H·C·(3k + 1) + 4·C·2k + 4·H·2k + 4·d  means, pair / neuron / head top-k (indices, values, Δs)
 *            + 4·(C² + C + d·C + d + (K+1)·C)          attention-pool weights (v_proj, c_proj, pos. embedding)
 *            + headers, manifest, progress, id lists
 *
 *   node node_modules/tsx/dist/cli.mjs bench/collect/disk.ts [--n 50,60] [--topk 50]
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import sharp from "sharp";
import { collect } from "../../src/collect";
import { fakeModel, sharpLoader } from "../../test/collect.fake";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

const DIMS = { width: 96, heads: 48, embed: 768, grid: 12 }; // RN50x16
const H = DIMS.heads, C = DIMS.width * 32, d = DIMS.embed, K = DIMS.grid * DIMS.grid;
const k = Number(arg("topk", "50"));
// Both N ≥ k so the top-k arrays have their full width and the slope is the true per-image cost.
const Ns = arg("n", `${k},${k + 10}`).split(",").map(Number);
const OFFICIAL_PER_IMAGE = 4 * H * C * d; // float32 (N, 48, 3072, 768)

function formula(N: number): number {
  const kk = Math.min(k, N);
  return 4 * N * (H * C + d + 1) + 4 * H * C * (3 * kk + 1) + 4 * C * 2 * kk + 4 * H * 2 * kk + 4 * d + 4 * (C * C + C + d * C + d + (K + 1) * C);
}

function folderBytes(dir: string): { total: number; files: [string, number][] } {
  const files = fs.readdirSync(dir).sort().map((f) => [f, fs.statSync(path.join(dir, f)).size] as [string, number]);
  return { total: files.reduce((a, [, b]) => a + b, 0), files };
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-bench-disk-"));
  const images = path.join(tmp, "images");
  fs.mkdirSync(images);
  const nMax = Math.max(...Ns);
  for (let i = 0; i < nMax; i++) {
    const raw = Buffer.alloc(16 * 16 * 3, (i * 37) % 256).map((v, j) => (v + j * 13) % 256);
    await sharp(raw, { raw: { width: 16, height: 16, channels: 3 } }).png().toFile(path.join(images, `img${String(i).padStart(6, "0")}.png`));
  }
  const model = fakeModel(DIMS);
  console.log(`RN50x16-shaped: H=${H} C=${C} d=${d} K=${K}, top-${k}; official per image 4·H·C·d = ${(OFFICIAL_PER_IMAGE / 1e6).toFixed(1)} MB`);
  const measured: { N: number; bytes: number }[] = [];
  for (const N of Ns) {
    const out = path.join(tmp, `c${N}`);
    const t0 = Date.now();
    await collect({ model, images, outDir: out, limit: N, topK: k, batchSize: 4, loadPixels: sharpLoader });
    const { total, files } = folderBytes(out);
    measured.push({ N, bytes: total });
    console.log(`N=${N}: ${total} bytes on disk (${((Date.now() - t0) / 1000).toFixed(1)} s); formula without headers/JSON ${formula(N)} (+${total - formula(N)} B)`);
    for (const [f, b] of files) console.log(`    ${f.padEnd(26)} ${b}`);
  }
  const [a, b] = [measured[0], measured[measured.length - 1]];
  const perImage = (b.bytes - a.bytes) / (b.N - a.N);
  const fixed = a.bytes - perImage * a.N;
  console.log(`measured: ${perImage.toFixed(0)} B per image (formula 4·(H·C+d+1) + ids = ${4 * (H * C + d + 1)} + ~16), fixed ${(fixed / 1e6).toFixed(1)} MB`);
  // Projection: the formula at N plus what the formula leaves out (headers, JSON, id lists), measured at the larger
  // N, with the id-list part scaled by N.
  const extraPerImage = perImage - 4 * (H * C + d + 1);
  const overhead = b.bytes - formula(b.N) - extraPerImage * b.N;
  for (const N of [1000, 5000]) {
    const ours = formula(N) + overhead + extraPerImage * N;
    const official = OFFICIAL_PER_IMAGE * N;
    console.log(`N=${N}: clip-nad ${(ours / 1e9).toFixed(3)} GB (${(ours / N / 1e6).toFixed(3)} MB/image) vs official ${(official / 1e9).toFixed(1)} GB → RATIO ${(official / ours).toFixed(0)}× smaller`);
  }
  console.log(`marginal per image: ${(perImage / 1e6).toFixed(3)} MB vs ${(OFFICIAL_PER_IMAGE / 1e6).toFixed(1)} MB → ${(OFFICIAL_PER_IMAGE / perImage).toFixed(0)}×`);
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

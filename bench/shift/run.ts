/**
 * bench/shift: the distribution-shift monitor's per-image score ρ (src/analysis/shift.ts conceptScores) at a real
 * model's shape (default RN50x16: H = 48, C = 3072, d = 768, k = 5) over --N stored images, read from an N×H×C
 * .npy on disk in chunks as a collection is, vs the naive route measured in the same run on --naive images:
 * materialise r^{n,h} = s·w + c for the k pairs AND for all H·C pairs (the denominator Σ_all r), then the two norms.
 * Also times reading the coefficient rows alone (the floor for any route that reads s).
 *
 *   node node_modules/tsx/dist/cli.mjs bench/shift/run.ts [--H 48] [--C 3072] [--d 768] [--N 1000] [--naive 5] [--k 5]
 *
 * Not a test: prints seconds per 1,000 images and the ratio naive / clip-nad. The .npy (N·H·C·4 bytes: 590 MB for
 * RN50x16 at N = 1000) is written to --dir (default the OS temp folder) and removed at the end.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CoefficientRows, conceptScores } from "../../src/analysis";
import { RowNpyReader, RowNpyWriter } from "../../src/io/npy";
import { mulberry32 } from "../../src/toyworld/random";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}
const H = arg("H", 48), C = arg("C", 3072), d = arg("d", 768), N = arg("N", 1000);
const naiveN = arg("naive", 5), k = arg("k", 5);
const dirArg = process.argv.indexOf("--dir");
const dir = fs.mkdtempSync(path.join(dirArg > 0 ? process.argv[dirArg + 1] : os.tmpdir(), "clip-nad-bench-shift-"));
const U = H * C;

const rand = mulberry32(5);
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
const w = new Float32Array(U * d);
for (let i = 0; i < w.length; i++) w[i] = gauss() * 0.05;
const c = new Float32Array(H * d);
for (let i = 0; i < c.length; i++) c[i] = gauss() * 1e-4;
const sec = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** Chunked rows over a RowNpyReader, as Collection.row reads them. */
function rowsOf(reader: RowNpyReader, chunk: number): CoefficientRows {
  let start = -1;
  let data: Float32Array = new Float32Array(0);
  return {
    N, H, C,
    row(i: number) {
      if (i < start || i >= start + chunk || start < 0) {
        start = i - (i % chunk);
        data = reader.readRows(start, Math.min(chunk, N - start)) as Float32Array;
      }
      return data.subarray((i - start) * U, (i - start + 1) * U);
    },
  };
}

try {
  console.log(`H=${H} C=${C} d=${d}, N=${N} images (${((N * U * 4) / 1e6).toFixed(0)} MB of s), k=${k}`);
  const file = path.join(dir, "coefficients.npy");
  let t0 = process.hrtime.bigint();
  const writer = RowNpyWriter.open(file, "<f4", [U], 0);
  const row = new Float32Array(U);
  for (let i = 0; i < N; i++) {
    for (let u = 0; u < U; u++) row[u] = Math.abs(gauss());
    writer.append(row, 1);
  }
  writer.commit();
  writer.close();
  console.log(`wrote the synthetic s in ${sec(t0).toFixed(1)} s`);
  // embeddings M(I) = Σ_all r: computed for the naive route's images; the rest random (only their norms are used)
  const M = new Float32Array(N * d);
  for (let i = 0; i < M.length; i++) M[i] = gauss();
  const pairs = Array.from({ length: k }, (_, q) => ({ neuron: (q * 613) % C, head: (q * 7) % H }));
  const chunk = Math.max(1, Math.floor((32 * 1024 * 1024) / (U * 4)));

  const reader = new RowNpyReader(file);
  t0 = process.hrtime.bigint();
  let sink = 0;
  for (let start = 0; start < N; start += chunk) {
    sink += (reader.readRows(start, Math.min(chunk, N - start)) as Float32Array)[0];
  }
  const readOnly = sec(t0);
  t0 = process.hrtime.bigint();
  const rho = conceptScores(rowsOf(reader, chunk), M, { H, C, d, w, c }, pairs);
  const ours = sec(t0);

  // naive on the first naiveN images: every r^{n,h} materialised
  t0 = process.hrtime.bigint();
  const rows = rowsOf(reader, chunk);
  let maxRel = 0;
  for (let i = 0; i < naiveN; i++) {
    const s = rows.row(i);
    const top = new Float64Array(d);
    const all = new Float64Array(d);
    const r = new Float64Array(d);
    for (let u = 0; u < U; u++) {
      const h = Math.floor(u / C);
      for (let j = 0; j < d; j++) r[j] = s[u] * w[u * d + j] + c[h * d + j];
      for (let j = 0; j < d; j++) all[j] += r[j];
      if (pairs.some((p) => p.head * C + p.neuron === u)) for (let j = 0; j < d; j++) top[j] += r[j];
    }
    // the same ratio with this image's true M = Σ_all r
    M.set(Float32Array.from(all), i * d);
    const want = Math.hypot(...top) / Math.hypot(...all);
    const got = conceptScores(rows, M, { H, C, d, w, c }, pairs, { rows: [i] })[0];
    maxRel = Math.max(maxRel, Math.abs(got - want) / want);
  }
  const naive = sec(t0) / naiveN;
  reader.close();
  const per1000 = (x: number) => (x * 1000).toFixed(3);
  console.log(`read s only: ${per1000(readOnly / N)} s per 1,000 images`);
  console.log(`clip-nad ρ (k stored scalars per image, rows read in ${chunk}-row chunks): `
    + `${per1000(ours / N)} s per 1,000 images (${rho.length} scored)`);
  console.log(`naive (every r^{n,h} materialised): ${per1000(naive)} s per 1,000 images (extrapolated from ${naiveN})`);
  console.log(`ratio naive / clip-nad: ${(naive / (ours / N)).toFixed(0)}×; `
    + `max relative difference on the naive images ${maxRel.toExponential(2)} (checksum ${sink.toFixed(3)})`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

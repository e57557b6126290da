/**
 * bench/omp — clip-nad's OMP (Batch-OMP on one Gram, WebAssembly SIMD) vs scikit-learn's
 * SparseCoder(transform_algorithm='omp') on the same dictionary and signals, in the same run:
 * time ratio, identical supports, and the projection to the full RN50x16 run (147,456 pairs + 3,072 neurons).
 *
 *   node node_modules/tsx/dist/cli.mjs bench/omp/run.ts [--K 30000] [--d 768] [--m 64] [--N 200] [--sklearn 1] \
 *     [--threads 2]
 *
 * Data: a seeded dictionary normalised as the paper's (unit random rows → mean over words subtracted, columns
 * divided by their norms over words; float32) and unit random signals. Both sides run as child processes
 * (/usr/bin/time gives each one's wall time and peak RSS); each prints its Gram / correlation / pursuit split.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { normalizeDictionary } from "../../src/text/dictionary";
import { mulberry32 } from "../../src/toyworld/random";
import { readNpy, writeNpy } from "../../src/io/npy";
import { readCsrNpz } from "../../src/io/npz";

const ROOT = path.resolve(__dirname, "..", "..");
const OUT = path.join(ROOT, "bench", "out", "omp");
const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const K = opt("K", 30000),
  d = opt("d", 768),
  m = opt("m", 64),
  N = opt("N", 200),
  withSklearn = opt("sklearn", 1) === 1;
const threads = opt("threads", 2);
const FULL = 147456 + 3072;

function randn(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

function unitRows(rows: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const a = new Float32Array(rows * d);
  for (let i = 0; i < rows; i++) {
    let n = 0;
    for (let j = 0; j < d; j++) n += (a[i * d + j] = randn(r)) ** 2;
    n = Math.sqrt(n);
    for (let j = 0; j < d; j++) a[i * d + j] /= n;
  }
  return a;
}

function timed(cmd: string, argv: string[]): { wall: number; peak: number; stdout: string } {
  const r = spawnSync("/usr/bin/time", ["-f", "__TIME__ %e %M", cmd, ...argv], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(" ")} failed (${r.status}):\n${r.stderr}`);
  const t = /__TIME__ ([\d.]+) (\d+)/.exec(r.stderr)!;
  return { wall: Number(t[1]), peak: Number(t[2]) * 1024, stdout: r.stdout };
}

const gb = (b: number) => `${(b / 2 ** 30).toFixed(2)} GB`;
const hms = (s: number) =>
  s < 120 ? `${s.toFixed(0)} s` : s < 7200 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`;

fs.mkdirSync(OUT, { recursive: true });
const Dfile = path.join(OUT, `D_${K}x${d}.npy`),
  Xfile = path.join(OUT, `X_${N}x${d}.npy`);
if (!fs.existsSync(Dfile)) writeNpy(Dfile, normalizeDictionary(unitRows(K, 1), K, d), [K, d]);
if (!fs.existsSync(Xfile)) writeNpy(Xfile, unitRows(N, 2), [N, d]);
console.log(
  `bench/omp: K = ${K} atoms, d = ${d}, m = ${m}, N = ${N} signals (float32); load ` +
    `${fs.readFileSync("/proc/loadavg", "utf8").trim()}`,
);

const oursOut = path.join(OUT, "ours.npz");
fs.rmSync(`${oursOut}.work`, { recursive: true, force: true });
const ours = timed(process.execPath, [
  path.join(ROOT, "src/cli/bin.cjs"),
  "omp",
  "--dictionary",
  Dfile,
  "--signals",
  Xfile,
  "--nonzero",
  String(m),
  "--out",
  oursOut,
  "--threads",
  String(threads),
  "--quiet",
]);
const split = /Gram ([\d.]+) s, correlations ([\d.]+) s, pursuits ([\d.]+) s/.exec(ours.stdout)!;
const o = { gram: Number(split[1]), corr: Number(split[2]), pursuit: Number(split[3]) };
console.log(
  `clip-nad (${threads} thread${threads > 1 ? "s" : ""}): ${ours.wall.toFixed(1)} s wall (Gram ${o.gram.toFixed(1)} ` +
    `s, correlations ${o.corr.toFixed(2)} s, pursuits ${o.pursuit.toFixed(1)} s = ` +
    `${((1000 * o.pursuit) / N).toFixed(1)} ms/signal), peak RSS ${gb(ours.peak)}`,
);
const oursFull = o.gram + (o.corr / N) * FULL + (o.pursuit / N) * FULL;
console.log(
  `  projected, ${FULL} signals (RN50x16 pairs + neurons): ${hms(oursFull)} on this machine, peak ≈ ` +
    `${gb(ours.peak + FULL * m * 8)} (Gram ${gb(K * K * 4)} + codes ${gb(FULL * m * 8)})`,
);

if (withSklearn) {
  const skOut = path.join(OUT, "sklearn_codes.npy");
  const sk = timed("/usr/bin/python3", [path.join(ROOT, "bench/omp/sklearn_omp.py"), Dfile, Xfile, String(m), skOut]);
  const s = JSON.parse(sk.stdout.trim().split("\n").pop()!);
  const perSignal = (s.transform_s - s.gram_s - s.correlations_s) / N;
  console.log(
    `sklearn:  ${sk.wall.toFixed(1)} s wall (transform ${s.transform_s.toFixed(1)} s: Gram ${s.gram_s.toFixed(1)} ` +
      `s, correlations ${s.correlations_s.toFixed(2)} s, ` +
      `pursuits ≈ ${(1000 * perSignal).toFixed(0)} ms/signal), peak RSS ${gb(sk.peak)}`,
  );
  const oursTransform = o.gram + o.corr + o.pursuit;
  console.log(
    `ratio (sklearn transform / clip-nad Gram + correlations + pursuits, same data, same run): ` +
      `${(s.transform_s / oursTransform).toFixed(1)}×; per signal ${(perSignal / (o.pursuit / N)).toFixed(1)}×`,
  );
  const skFullOnce = s.gram_s + (s.correlations_s / N) * FULL + perSignal * FULL;
  const skFullPaper = Math.ceil(FULL / 16) * (s.gram_s + (s.correlations_s / N) * 16) + perSignal * FULL;
  console.log(
    `  sklearn projected, ${FULL} signals: ${hms(skFullOnce)} in one transform call; ${hms(skFullPaper)} as the ` +
      `paper's code calls it (batches of 16, a Gram per batch)`,
  );
  const A = readCsrNpz(oursOut);
  const B = readNpy(skOut).data;
  let same = 0,
    maxDiff = 0;
  const differing: number[] = [];
  for (let r = 0; r < N; r++) {
    const mine = new Map<number, number>();
    for (let j = A.indptr[r]; j < A.indptr[r + 1]; j++) mine.set(A.indices[j], A.data[j]);
    let ok = true;
    for (let k = 0; k < K; k++) {
      const b = B[r * K + k];
      if ((b !== 0) !== mine.has(k)) {
        ok = false;
        break;
      }
      if (b !== 0) maxDiff = Math.max(maxDiff, Math.abs(b - mine.get(k)!));
    }
    if (ok) same++;
    else differing.push(r);
  }
  const which = differing.length
    ? ` (differ: ${differing.slice(0, 10).join(", ")}${differing.length > 10 ? ", …" : ""})`
    : "";
  console.log(
    `supports identical for ${same} of ${N} signals${which}; max |Δγ| on identical supports ` +
      `${maxDiff.toExponential(2)}`,
  );
}

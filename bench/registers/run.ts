/**
 * bench/registers: the register-neuron search (src/analysis/registers.ts) at a real model's attention-pool shape
 * (default RN50x16: C = 3072, H = 48, K = 144, d = 768) on seeded random weights and features, vs the naive route
 * measured in the same run: for each neuron, zero Z[n, :] and recompute the pooled attention from scratch (the same
 * onnxruntime graph that computes the baseline: tokens, q, keys, softmax). The naive route is timed on --naive
 * neurons and extrapolated to all C; both routes' values are compared on those neurons.
 *
 *   node node_modules/tsx/dist/cli.mjs bench/registers/run.ts [--C 3072] [--H 48] [--K 144] [--B 1] [--images 3] \
 *     [--naive 8]
 *
 * Not a test: prints seconds per image for all C neurons and the ratio naive / rank-1 (> 1: rank-1 is faster).
 */
import { RegisterScorer } from "../../src/analysis/registers";
import { AttentionPoolWeights } from "../../src/decompose";
import { mulberry32 } from "../../src/toyworld/random";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}
const C = arg("C", 3072), H = arg("H", 48), K = arg("K", 144), d = arg("d", 768), B = arg("B", 1);
const images = arg("images", 3), naiveNeurons = arg("naive", 8);
const threads = arg("threads", 2);

const rand = mulberry32(77);
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
const mk = (n: number, sc: number) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = gauss() * sc;
  return a;
};
const apw: AttentionPoolWeights = {
  C, H, d, K, dh: C / H,
  Wv: mk(C * C, 1 / Math.sqrt(C)), bv: mk(C, 0.1), Wo: mk(d * C, 1 / Math.sqrt(C)), bo: mk(d, 0.1),
  pos: mk((K + 1) * C, 0.3),
  query: { Wq: mk(C * C, 2 / Math.sqrt(C)), bq: mk(C, 0.1), Wk: mk(C * C, 2 / Math.sqrt(C)), bk: mk(C, 0.1) },
};
/** Post-ReLU-like features with a few large "register-like" channels. */
function features(): Float32Array {
  const Z = new Float32Array(B * C * K);
  for (let i = 0; i < Z.length; i++) Z[i] = Math.max(0, gauss() + 0.2);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < 16; n++) {
      for (let i = 0; i < K; i++) Z[(b * C + ((n * 97) % C)) * K + i] *= i === K - 1 ? 20 : 1;
    }
  }
  return Z;
}

const sec = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

(async () => {
  console.log(`attention pool C=${C} H=${H} K=${K} (T=${K + 1}), batch ${B}, ${images} batches, `
    + `onnxruntime threads ${threads}`);
  let t0 = process.hrtime.bigint();
  const scorer = await RegisterScorer.create(apw, { threads });
  console.log(`sessions built in ${sec(t0).toFixed(2)} s`);
  const Zs = Array.from({ length: images }, features);
  await scorer.attention(Zs[0], B); // warm-up
  let rank1 = Infinity;
  let last = await scorer.attention(Zs[0], B);
  for (const Z of Zs) {
    t0 = process.hrtime.bigint();
    last = await scorer.attention(Z, B);
    rank1 = Math.min(rank1, sec(t0) / B);
  }
  // Naive: the baseline graph on Z with neuron n zeroed, once per neuron.
  const Z = Zs[Zs.length - 1];
  const picks = Array.from({ length: naiveNeurons }, (_, q) => Math.floor((q * C) / naiveNeurons));
  let naive = 0;
  let maxDiff = 0;
  for (const n of picks) {
    const z = Z.slice();
    for (let b = 0; b < B; b++) z.fill(0, (b * C + n) * K, (b * C + n + 1) * K);
    t0 = process.hrtime.bigint();
    const r = await scorer.attention(z, B, { neurons: false });
    naive += sec(t0);
    for (let b = 0; b < B; b++) maxDiff = Math.max(maxDiff, Math.abs(r.baseline[b] - last.zeroed[b * C + n]));
  }
  const naivePerImage = (naive / picks.length / B) * C;
  console.log(`rank-1 update, all ${C} neurons: ${rank1.toFixed(3)} s per image (best of ${images})`);
  const perNeuron = ((naive / picks.length / B) * 1000).toFixed(1);
  console.log(`naive full recomputation: ${perNeuron} ms per neuron and image → `
    + `${naivePerImage.toFixed(1)} s per image for ${C} neurons (extrapolated from ${picks.length})`);
  console.log(`ratio naive / rank-1: ${(naivePerImage / rank1).toFixed(0)}×; `
    + `max |difference| on the ${picks.length} neurons: ${maxDiff.toExponential(2)}`);
  await scorer.release();
})();

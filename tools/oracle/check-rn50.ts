/**
 * One-shot check of the RN50-shaped fixtures (fixtures-large/rn50/, made by make_fixtures.py --rn50): every
 * checkpoint format is read by the TS reader, compared bit-for-bit with weights.safetensors, its config inferred
 * and validated; io.safetensors is checked for internal consistency (Σ r0 = embedding, s = Σ_i a_i x_i).
 * Run: bash tools/oracle/check_rn50.sh   (not a vitest test: the files are ~1.7 GB and git-ignored)
 */
import * as path from "path";
import { loadClipCheckpoint, readCheckpoint } from "../../src/weights";

const DIR = path.resolve(__dirname, "..", "..", "fixtures-large", "rn50");
const FILES = ["clip_jit_fp16.pt", "clip_jit_fp32.pt", "open_clip_pytorch_model.bin", "state_dict_fp16.pt", "state_dict_fp16_zip64.pt"];
const RN50 = {
  visionLayers: [3, 4, 6, 3], visionWidth: 64, visionHeads: 32, imageResolution: 224, grid: 7, embedDim: 1024,
  contextLength: 77, vocabSize: 49408, transformerWidth: 512, transformerHeads: 8, transformerLayers: 12,
};

let failures = 0;
const check = (ok: boolean, what: string) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures++;
};

async function main() {
  let t0 = Date.now();
  const ref = await loadClipCheckpoint(path.join(DIR, "weights.safetensors"));
  console.log(`weights.safetensors: ${ref.checkpoint.tensors.size} tensors in ${Date.now() - t0} ms`);
  check(JSON.stringify(ref.config) === JSON.stringify(RN50), `config ${JSON.stringify(ref.config)}`);
  for (const f of FILES) {
    t0 = Date.now();
    const { checkpoint, config } = await loadClipCheckpoint(path.join(DIR, f));
    const ms = Date.now() - t0;
    let differing = 0;
    let missing = 0;
    for (const [k, t] of ref.checkpoint.tensors) {
      const u = checkpoint.tensors.get(k);
      if (!u || u.data.length !== t.data.length) { missing++; continue; }
      for (let i = 0; i < t.data.length; i++) if (!Object.is(t.data[i], u.data[i])) differing++;
    }
    const rss = (process.memoryUsage().rss / 2 ** 30).toFixed(2);
    check(missing === 0 && differing === 0 && JSON.stringify(config) === JSON.stringify(RN50),
      `${f} (${checkpoint.format}): ${checkpoint.tensors.size} tensors, missing ${missing}, differing values ${differing}, read in ${ms} ms, rss ${rss} GiB`);
  }

  const io = (await readCheckpoint(path.join(DIR, "io.safetensors"))).tensors;
  const [H, C, d, L] = [32, 2048, 1024, 50];
  const r0 = io.get("r0")!.data, emb = io.get("embedding")!.data;
  let maxErr = 0;
  const sum = new Float64Array(d);
  for (let hn = 0; hn < H * C; hn++) for (let k = 0; k < d; k++) sum[k] += r0[hn * d + k];
  for (let k = 0; k < d; k++) maxErr = Math.max(maxErr, Math.abs(sum[k] - emb[k]));
  check(maxErr < 1e-4, `io: |Σ r0 - embedding[0]| = ${maxErr.toExponential(2)}`);
  const a = io.get("a")!.data, x = io.get("x")!.data, s = io.get("s")!.data;
  maxErr = 0;
  for (let h = 0; h < H; h++) for (let n = 0; n < C; n++) {
    let acc = 0;
    for (let i = 0; i < L; i++) acc += a[h * L + i] * x[i * C + n];
    maxErr = Math.max(maxErr, Math.abs(acc - s[h * C + n]));
  }
  check(maxErr < 1e-5, `io: |Σ_i a_i x_i - s| (image 0) = ${maxErr.toExponential(2)}`);
  console.log(failures ? `${failures} check(s) FAILED` : "all RN50 checks passed");
  process.exit(failures ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

/**
 * RN50-shaped parity check (not a test: the RN50 fixtures are ~1.7 GB, generated, git-ignored):
 * every checkpoint format in fixtures-large/rn50/ (tools/oracle/make_fixtures.py --rn50) through loadModel,
 * compared with the oracle's io.safetensors — max relative error of embedding, Z, a, s and text embeddings.
 *
 *   node node_modules/tsx/dist/cli.mjs bench/forward/oracle_rn50.ts [fixtures-large/rn50]
 *
 * Exits 1 if any error exceeds 1e-4. Prints load time and peak RSS per format (each in its own process).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadModel } from "../../src/clip/model";
import { readSafetensors } from "../../src/weights/safetensors";

const FORMATS = ["weights.safetensors", "clip_jit_fp16.pt", "clip_jit_fp32.pt", "open_clip_pytorch_model.bin", "state_dict_fp16.pt", "state_dict_fp16_zip64.pt"];

function relErr(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) return Infinity;
  let m = 0, e = 0;
  for (let i = 0; i < expected.length; i++) {
    m = Math.max(m, Math.abs(expected[i]));
    e = Math.max(e, Math.abs(actual[i] - expected[i]));
  }
  return e / m;
}

async function checkOne(dir: string, file: string): Promise<boolean> {
  const io = readSafetensors(path.join(dir, "io.safetensors")).tensors;
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-rn50-"));
  try {
    const t0 = Date.now();
    const model = await loadModel(path.join(dir, file), { cacheDir });
    const loadMs = Date.now() - t0;
    const images = io.get("images")!;
    const out = await model.encodeImagePixels(images.data, images.shape[0]);
    const ids = io.get("text_ids")!;
    const text = await model.encodeTokens(Int32Array.from(ids.data), ids.shape[0]);
    await model.dispose();
    const errs: Record<string, number> = {
      embedding: relErr(out.embedding, io.get("embedding")!.data),
      Z: relErr(out.features, io.get("Z")!.data),
      a: relErr(out.attention, io.get("a")!.data),
      s: relErr(out.coefficients, io.get("s")!.data),
      text: relErr(text, io.get("text_embedding")!.data),
    };
    const ok = Object.values(errs).every((e) => e <= 1e-4);
    const rss = process.resourceUsage().maxRSS / 2 ** 20;
    console.log(`| ${file} | ${Object.values(errs).map((e) => e.toExponential(1)).join(" | ")} | ${(loadMs / 1000).toFixed(1)} s | ${rss.toFixed(2)} GB | ${ok ? "ok" : "FAIL"} |`);
    return ok;
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const dir = path.resolve(process.argv[2] ?? "fixtures-large/rn50");
  const one = process.argv[3];
  if (one) {
    process.exit((await checkOne(dir, one)) ? 0 : 1);
  }
  if (!fs.existsSync(path.join(dir, "io.safetensors"))) {
    console.error(`${dir}/io.safetensors not found: run /usr/bin/python3 tools/oracle/make_fixtures.py --rn50`);
    process.exit(2);
  }
  console.log("| file | embedding | Z | a | s | text | load (cold cache) | peak RSS | |\n|---|---|---|---|---|---|---|---|---|");
  let ok = true;
  for (const f of FORMATS) {
    if (!fs.existsSync(path.join(dir, f))) {
      console.log(`| ${f} | missing |`);
      ok = false;
      continue;
    }
    const r = spawnSync(process.execPath, [...process.execArgv, __filename, dir, f], { stdio: "inherit" });
    ok = ok && r.status === 0;
  }
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

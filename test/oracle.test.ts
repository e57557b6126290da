/**
 * Oracle tests: the TS-built ONNX graphs on onnxruntime-node vs the PyTorch oracle (tools/oracle/clipmini.py),
 * for every checkpoint format of the tiny fixture. All weight files hold identical (fp16-exact) values, so
 * io.safetensors is the expected output for each of them (test/fixtures/tiny/README.md).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadModel } from "../src/clip/model";
import { graphPath } from "../src/clip/session";
import { fileSha256 } from "../src/io/hash";
import { ClipModel } from "../src/clip/types";
import { ClipNadError } from "../src/errors";
import { readSafetensors } from "../src/weights/safetensors";
import { DataType, GraphBuilder, readProducerVersion } from "../src/onnx/graph";
import { IMAGE_GRAPH_VERSION } from "../src/clip/imageGraph";
import { TEXT_GRAPH_VERSION } from "../src/clip/textGraph";

const TINY = path.join(__dirname, "fixtures", "tiny");
const io = readSafetensors(path.join(TINY, "io.safetensors")).tensors;
const get = (k: string) => {
  const t = io.get(k);
  if (!t) throw new Error(`io.safetensors lacks ${k}`);
  return t;
};

/** max |actual − expected| / max |expected| */
function relErr(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let m = 0, e = 0;
  for (let i = 0; i < expected.length; i++) {
    m = Math.max(m, Math.abs(expected[i]));
    e = Math.max(e, Math.abs(actual[i] - expected[i]));
  }
  expect(m).toBeGreaterThan(0);
  return Number.isFinite(e) ? e / m : Infinity;
}

const FORMATS: [string, string][] = [
  ["safetensors (F16 values)", "weights.safetensors"],
  ["TorchScript, OpenAI mixed fp16", "clip_jit_fp16.pt"],
  ["torch.save state dict fp32 (open_clip .bin)", "open_clip_pytorch_model.bin"],
  ["torch.save state dict fp16, zip64", "state_dict_fp16_zip64.pt"],
  ["TorchScript fp32", "clip_jit_fp32.pt"],
  ["torch.save state dict fp16", "state_dict_fp16.pt"],
];

let cacheDir: string;
beforeAll(() => {
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-oracle-"));
});
afterAll(() => {
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

describe.each(FORMATS)("oracle parity: %s", (_label, fileName) => {
  let model: ClipModel;
  beforeAll(async () => {
    model = await loadModel(path.join(TINY, fileName), { cacheDir, threads: 1 });
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it("image tower: embedding, Z, a, s within 1e-4 relative", async () => {
    const images = get("images");
    const B = images.shape[0];
    const out = await model.encodeImagePixels(images.data, B);
    expect(out.batch).toBe(B);
    expect(relErr(out.embedding, get("embedding").data)).toBeLessThanOrEqual(1e-4);
    expect(relErr(out.features, get("Z").data)).toBeLessThanOrEqual(1e-4);
    expect(relErr(out.attention, get("a").data)).toBeLessThanOrEqual(1e-4);
    expect(relErr(out.coefficients, get("s").data)).toBeLessThanOrEqual(1e-4);
  });

  it("text tower: embeddings within 1e-4 relative", async () => {
    const ids = get("text_ids");
    const flat = Int32Array.from(ids.data);
    const out = await model.encodeTokens(flat, ids.shape[0]);
    expect(relErr(out, get("text_embedding").data)).toBeLessThanOrEqual(1e-4);
  });

  it("text tower: one caption at a time (batches cut after their EOT) gives the same embeddings", async () => {
    const ids = get("text_ids");
    const [n, T] = ids.shape;
    const d = model.config.embedDim;
    const expected = get("text_embedding").data;
    for (let r = 0; r < n; r++) {
      const row = Int32Array.from(ids.data.subarray(r * T, (r + 1) * T));
      expect(relErr(await model.encodeTokens(row, 1), expected.subarray(r * d, (r + 1) * d))).toBeLessThanOrEqual(1e-4);
    }
  });
});

describe("ClipModel behaviour", () => {
  const file = path.join(TINY, "weights.safetensors");

  it("keys the graph cache by the checkpoint's sha256 and reuses it on the next load", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-cache-"));
    try {
      const m1 = await loadModel(file, { cacheDir: dir, threads: 1 });
      const hash = crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
      expect(m1.hash).toBe(hash);
      const imageGraph = graphPath(dir, hash, "image");
      const textGraph = graphPath(dir, hash, "text");
      expect(imageGraph).toBe(path.join(dir, "graphs", `${hash}-image.onnx`));
      const before = [fs.statSync(imageGraph).mtimeMs, fs.statSync(textGraph).mtimeMs];
      const ids = Int32Array.from(get("text_ids").data);
      const t1 = await m1.encodeTokens(ids);
      await m1.dispose();
      await new Promise((r) => setTimeout(r, 30));
      const m2 = await loadModel(file, { cacheDir: dir, threads: 1 });
      const t2 = await m2.encodeTokens(ids);
      await m2.dispose();
      expect([fs.statSync(imageGraph).mtimeMs, fs.statSync(textGraph).mtimeMs]).toEqual(before);
      expect(Array.from(t2)).toEqual(Array.from(t1));
      // the cache entry: both graphs, the config and the attention pool; no temp files left by the atomic writes
      expect(fs.readdirSync(path.join(dir, "graphs")).sort()).toEqual(
        ["attnpool.safetensors", "image.onnx", "model.json", "text.onnx"].map((f) => `${hash}-${f}`));
      const entry = JSON.parse(fs.readFileSync(path.join(dir, "graphs", `${hash}-model.json`), "utf8"));
      expect(entry.config).toEqual(m1.config);
      expect(m2.config).toEqual(m1.config);
      const ck = readSafetensors(file).tensors;
      const pool = readSafetensors(path.join(dir, "graphs", `${hash}-attnpool.safetensors`)).tensors;
      // every attention-pool tensor (q/k too: what recomputes attention needs them), nothing else
      expect([...pool.keys()].sort()).toEqual([...ck.keys()].filter((k) => k.startsWith("visual.attnpool.")).sort());
      for (const [k, t] of pool) expect(Array.from(t.data)).toEqual(Array.from(ck.get(k)!.data));
      // the second load's attention pool (from the entry) is the checkpoint's
      expect(Array.from(m2.attentionPool.Wv)).toEqual(Array.from(ck.get("visual.attnpool.v_proj.weight")!.data));
      expect(Array.from(m2.attentionPool.pos)).toEqual(Array.from(ck.get("visual.attnpool.positional_embedding")!.data));
      expect(Array.from(m2.attentionPool.query!.Wk)).toEqual(Array.from(ck.get("visual.attnpool.k_proj.weight")!.data));
      // the checkpoint hash is memoised by (path, size, mtime, inode)
      expect(fs.readdirSync(path.join(dir, "hashes")).length).toBe(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("memoised checkpoint hashes follow changes to the file", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-hash-"));
    try {
      const f = path.join(dir, "ckpt.bin");
      const sha = (s: string) => crypto.createHash("sha256").update(s).digest("hex");
      fs.writeFileSync(f, "first version");
      expect(await fileSha256(f, dir)).toBe(sha("first version"));
      expect(await fileSha256(f, dir)).toBe(sha("first version"));
      fs.writeFileSync(f, "other version");
      fs.utimesSync(f, new Date(), new Date(Date.now() + 5000));
      expect(await fileSha256(f, dir)).toBe(sha("other version"));
      await expect(fileSha256(path.join(dir, "absent.pt"), dir)).rejects.toThrow(/absent\.pt/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("replaces a corrupt or foreign cached graph instead of failing", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-stale-"));
    try {
      const hash = crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
      fs.mkdirSync(path.join(dir, "graphs"));
      fs.writeFileSync(graphPath(dir, hash, "image"), "not an onnx graph");
      const foreign = new GraphBuilder("other");
      foreign.input("tokens", DataType.INT64);
      foreign.node("Identity", ["tokens"], {}, "y");
      foreign.output("y", DataType.INT64);
      foreign.writeFile(graphPath(dir, hash, "text"));
      const m = await loadModel(file, { cacheDir: dir, threads: 1 });
      expect(readProducerVersion(graphPath(dir, hash, "image"))).toBe(IMAGE_GRAPH_VERSION);
      expect(readProducerVersion(graphPath(dir, hash, "text"))).toBe(TEXT_GRAPH_VERSION);
      try {
        const images = get("images");
        const out = await m.encodeImagePixels(images.data, images.shape[0]);
        expect(relErr(out.embedding, get("embedding").data)).toBeLessThanOrEqual(1e-4);
        const ids = get("text_ids");
        expect(relErr(await m.encodeTokens(Int32Array.from(ids.data)), get("text_embedding").data)).toBeLessThanOrEqual(1e-4);
      } finally {
        await m.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rejects a badly shaped image batch with an error naming the checkpoint", async () => {
    const m = await loadModel(file, { cacheDir, threads: 1 });
    try {
      const R = m.config.imageResolution;
      const wrong = new Float32Array(3 * R * (R - 1));
      await expect(m.encodeImagePixels(wrong, 1)).rejects.toThrow(ClipNadError);
      await expect(m.encodeImagePixels(wrong, 1)).rejects.toThrow(new RegExp(`weights\\.safetensors.*bad image batch.*3×${R}×${R}`));
      await expect(m.encodeImagePixels(new Float32Array(3 * R * R * 2), 3)).rejects.toThrow(/bad image batch/);
      await expect(m.encodeImagePixels(new Float32Array(0), 0)).rejects.toThrow(/bad image batch/);
    } finally {
      await m.dispose();
    }
  });

  it("rejects out-of-vocabulary token ids and wrong token batch sizes", async () => {
    const m = await loadModel(file, { cacheDir, threads: 1 });
    try {
      const T = m.config.contextLength;
      const ids = new Int32Array(T);
      ids[0] = m.config.vocabSize;
      await expect(m.encodeTokens(ids, 1)).rejects.toThrow(/outside the vocabulary/);
      await expect(m.encodeTokens(new Int32Array(T + 1))).rejects.toThrow(/bad token batch/);
    } finally {
      await m.dispose();
    }
  });

  it("gives the same per-image results at batch 1 as at batch 2, and accepts rows of ids", async () => {
    const m = await loadModel(file, { cacheDir, threads: 1 });
    try {
      const images = get("images");
      const per = images.data.length / images.shape[0];
      const both = await m.encodeImagePixels(images.data, 2);
      const second = await m.encodeImagePixels(images.data.slice(per), 1);
      const d = m.config.embedDim;
      expect(relErr(second.embedding, both.embedding.slice(d))).toBeLessThanOrEqual(1e-5);
      const ids = get("text_ids");
      const T = ids.shape[1];
      const rows = [0, 1, 2].map((r) => Array.from(ids.data.slice(r * T, r * T + T)));
      const fromRows = await m.encodeTokens(rows);
      expect(relErr(fromRows, get("text_embedding").data)).toBeLessThanOrEqual(1e-4);
    } finally {
      await m.dispose();
    }
  });
});

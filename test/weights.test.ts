import * as path from "path";
import { beforeAll, describe, expect, it } from "vitest";
import { inferConfig } from "../src/clip/config";
import { loadClipCheckpoint } from "../src/clip/checkpoint";
import { expectedClipShapes, validateClipWeights } from "../src/clip/keys";
import { readCheckpoint, sniffFormat } from "../src/weights";
import { Checkpoint } from "../src/weights/types";

const DIR = path.join(__dirname, "fixtures", "tiny");
const TINY_CONFIG = {
  visionLayers: [1, 1, 1, 1], visionWidth: 8, visionHeads: 4, imageResolution: 96, grid: 3, embedDim: 64,
  contextLength: 16, vocabSize: 512, transformerWidth: 64, transformerHeads: 1, transformerLayers: 2,
};

// Every weight file holds the same fp16-exact values (tools/oracle/make_fixtures.py), so all must agree bit for bit.
const FORMATS: Array<{ file: string; format: string; convDtype: string; bnDtype: string }> = [
  { file: "clip_jit_fp16.pt", format: "torchscript", convDtype: "float16", bnDtype: "float32" },
  { file: "clip_jit_fp32.pt", format: "torchscript", convDtype: "float32", bnDtype: "float32" },
  { file: "open_clip_pytorch_model.bin", format: "torch-zip", convDtype: "float32", bnDtype: "float32" },
  { file: "state_dict_fp16.pt", format: "torch-zip", convDtype: "float16", bnDtype: "float16" },
  { file: "state_dict_fp16_zip64.pt", format: "torch-zip", convDtype: "float16", bnDtype: "float16" },
];

let ref: Checkpoint;
beforeAll(async () => {
  ref = await readCheckpoint(path.join(DIR, "weights.safetensors"));
});

describe("reference safetensors", () => {
  it("holds exactly the expected CLIP keys with config metadata", () => {
    expect(ref.format).toBe("safetensors");
    const expected = expectedClipShapes(TINY_CONFIG as never);
    expect([...ref.tensors.keys()].sort()).toEqual([...expected.keys()].sort());
    expect(JSON.parse(ref.metadata.config).vision_heads).toBe(4);
    expect(inferConfig(ref.tensors, ref.path, ref.metadata)).toEqual(TINY_CONFIG);
  });
});

describe.each(FORMATS)("$file", ({ file, format, convDtype, bnDtype }) => {
  let ck: Checkpoint;
  beforeAll(async () => {
    ck = await readCheckpoint(path.join(DIR, file));
  });

  it(`is read as ${format} with per-tensor dtypes from the storage class`, () => {
    expect(ck.format).toBe(format);
    expect(ck.tensors.get("visual.layer4.0.conv2.weight")!.storedDtype).toBe(convDtype);
    expect(ck.tensors.get("visual.attnpool.q_proj.weight")!.storedDtype).toBe(convDtype);
    expect(ck.tensors.get("text_projection")!.storedDtype).toBe(convDtype);
    expect(ck.tensors.get("visual.bn1.running_var")!.storedDtype).toBe(bnDtype);
    expect(ck.tensors.get("visual.bn1.num_batches_tracked")!.storedDtype).toBe("int64");
  });

  it("matches the safetensors reference bit for bit, key for key", () => {
    let compared = 0;
    for (const [key, t] of ref.tensors) {
      const u = ck.tensors.get(key);
      expect(u, key).toBeDefined();
      expect(u!.shape, key).toEqual(t.shape);
      let differing = 0;
      for (let i = 0; i < t.data.length; i++) if (!Object.is(t.data[i], u!.data[i])) differing++;
      expect(differing, key).toBe(0);
      compared++;
    }
    expect(compared).toBe(ref.tensors.size);
  });

  it("infers the tiny config and validates (extras such as num_batches_tracked are ignored)", async () => {
    expect(inferConfig(ck.tensors, ck.path, ck.metadata)).toEqual(TINY_CONFIG);
    expect(() => validateClipWeights(ck.tensors, inferConfig(ck.tensors, ck.path), ck.path)).not.toThrow();
    const { config } = await loadClipCheckpoint(path.join(DIR, file));
    expect(config).toEqual(TINY_CONFIG);
  });
});

describe("TorchScript archive extras", () => {
  it("keeps OpenAI's int64 attributes (input_resolution, context_length, vocab_size) as extra tensors", async () => {
    const ck = await readCheckpoint(path.join(DIR, "clip_jit_fp16.pt"));
    expect(Array.from(ck.tensors.get("input_resolution")!.data)).toEqual([96]);
    expect(Array.from(ck.tensors.get("context_length")!.data)).toEqual([16]);
    expect(Array.from(ck.tensors.get("vocab_size")!.data)).toEqual([512]);
    expect(ck.tensors.get("logit_scale")!.shape).toEqual([]);
  });
});

describe("oracle io fixture agrees with the weights", () => {
  it("has the documented shapes", async () => {
    const io = (await readCheckpoint(path.join(DIR, "io.safetensors"))).tensors;
    const shapes = Object.fromEntries([...io].map(([k, t]) => [k, t.shape]));
    expect(shapes).toEqual({
      images: [2, 3, 96, 96], text_ids: [3, 16], embedding: [2, 64], Z: [2, 256, 3, 3], a: [2, 4, 10], s: [2, 4, 256],
      x: [2, 10, 256], text_embedding: [3, 64], r0: [4, 256, 64],
    });
    // EOT (= vocab-1 = the max id) ends every caption.
    const ids = io.get("text_ids")!.data;
    for (let r = 0; r < 3; r++) expect(Math.max(...ids.subarray(r * 16, r * 16 + 16))).toBe(511);
  });

  it("embedding = Σ_h W_O^h (W_V^h s_h + b_V^h) + b_O with weights read from the TorchScript file, and Σ r0 = embedding", async () => {
    const io = (await readCheckpoint(path.join(DIR, "io.safetensors"))).tensors;
    const w = (await readCheckpoint(path.join(DIR, "clip_jit_fp16.pt"))).tensors;
    const [C, H, d] = [256, 4, 64];
    const hd = C / H;
    const Wv = w.get("visual.attnpool.v_proj.weight")!.data, bv = w.get("visual.attnpool.v_proj.bias")!.data;
    const Wo = w.get("visual.attnpool.c_proj.weight")!.data, bo = w.get("visual.attnpool.c_proj.bias")!.data;
    const s = io.get("s")!.data, emb = io.get("embedding")!.data, r0 = io.get("r0")!.data;
    for (let b = 0; b < 2; b++) {
      const o = new Float64Array(C); // concatenated head outputs
      for (let h = 0; h < H; h++) {
        for (let j = h * hd; j < (h + 1) * hd; j++) {
          let acc = bv[j];
          for (let n = 0; n < C; n++) acc += Wv[j * C + n] * s[(b * H + h) * C + n];
          o[j] = acc;
        }
      }
      for (let k = 0; k < d; k++) {
        let acc = bo[k];
        for (let j = 0; j < C; j++) acc += Wo[k * C + j] * o[j];
        expect(Math.abs(acc - emb[b * d + k])).toBeLessThan(1e-5);
      }
    }
    for (let k = 0; k < d; k++) {
      let acc = 0;
      for (let hn = 0; hn < H * C; hn++) acc += r0[hn * d + k];
      expect(Math.abs(acc - emb[k])).toBeLessThan(1e-5);
    }
  });
});

describe("sniffFormat", () => {
  it("recognises zip, safetensors, legacy pickle and rejects the rest", () => {
    expect(sniffFormat(Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0, 0]), 100)).toBe("zip");
    const st = Buffer.alloc(9);
    st.writeBigUInt64LE(10n);
    st[8] = 0x7b;
    expect(sniffFormat(st, 100)).toBe("safetensors");
    expect(sniffFormat(Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0, 0, 0, 0, 0]), 100)).toBe("legacy-torch");
    expect(sniffFormat(Buffer.from("hello world"), 100)).toBe("unknown");
  });
});

describe("torch.save views: storage offsets, strides, shared storages, every storage dtype", () => {
  it("gathers each view row-major with the right values", async () => {
    const ck = await readCheckpoint(path.join(DIR, "pickle", "views.pt"));
    const t = (k: string) => ck.tensors.get(k)!;
    const vals = (k: string) => Array.from(t(k).data);
    // t = arange(12).reshape(3, 4)
    expect(t("t").shape).toEqual([4, 3]);
    expect(vals("t")).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    expect(vals("row")).toEqual([4, 5, 6, 7]);
    expect(vals("col")).toEqual([2, 6, 10]);
    expect(t("block").shape).toEqual([2, 2]);
    expect(vals("block")).toEqual([5, 6, 9, 10]);
    expect(vals("whole")).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(vals("half_t")).toEqual(vals("t"));
    expect(t("half_t").storedDtype).toBe("float16");
    expect(vals("bf16_row")).toEqual([8, 9, 10, 11]);
    expect(t("bf16_row").storedDtype).toBe("bfloat16");
    expect(vals("f64")).toEqual([1, 2, 3]);
    expect(t("f64").storedDtype).toBe("float64");
    expect(vals("long_cols")).toEqual([1, 2, 4, 5]);
    expect(t("long_cols").storedDtype).toBe("int64");
    expect(vals("int32")).toEqual([-5, 6]);
    expect(vals("u8")).toEqual([0, 200]);
    expect(vals("bool")).toEqual([1, 0]);
    expect(t("bool").storedDtype).toBe("bool");
    expect(t("scalar").shape).toEqual([]);
    expect(vals("scalar")).toEqual([3.5]);
    expect(t("empty").shape).toEqual([0, 3]);
    expect(t("empty").data.length).toBe(0);
  });
});

describe("training-checkpoint wrappers", () => {
  it("unwraps {state_dict: ...}, strips a DataParallel 'module.' prefix, keeps tied weights", async () => {
    const ck = await readCheckpoint(path.join(DIR, "pickle", "wrapped.pt"));
    expect([...ck.tensors.keys()].sort()).toEqual(["logit_scale", "tied", "visual.proj_like"]);
    expect(Array.from(ck.tensors.get("visual.proj_like")!.data)).toEqual([1, 2]);
    // A tensor pickled once and referenced twice (tied weights) appears under both names.
    expect(Array.from(ck.tensors.get("tied")!.data)).toEqual([1, 2]);
  });
});

describe("expectedClipShapes matches OpenAI's key counts (model.md §2.1, without num_batches_tracked)", () => {
  const cfg = (visionLayers: number[], visionWidth: number, res: number, embedDim: number, W: number) => ({
    visionLayers, visionWidth, visionHeads: (visionWidth * 32) / 64, imageResolution: res, grid: res / 32, embedDim,
    contextLength: 77, vocabSize: 49408, transformerWidth: W, transformerHeads: W / 64, transformerLayers: 12,
  }) as never;
  // total keys in the doc minus one num_batches_tracked per BN (3 stem + 3 per block + 4 downsample)
  it.each([
    ["RN50", cfg([3, 4, 6, 3], 64, 224, 1024, 512), 489, 16],
    ["RN101", cfg([3, 4, 23, 3], 64, 224, 512, 512), 795, 33],
    ["RN50x4", cfg([4, 6, 10, 6], 80, 288, 640, 640), 669, 26],
    ["RN50x16", cfg([6, 8, 18, 8], 96, 384, 768, 768), 921, 40],
    ["RN50x64", cfg([3, 15, 36, 10], 128, 448, 1024, 1024), 1353, 64],
  ])("%s", (_name, c, total, blocks) => {
    expect(expectedClipShapes(c).size).toBe(total - (3 + 3 * blocks + 4));
  });

  it("RN50 shapes from the table", () => {
    const s = expectedClipShapes(cfg([3, 4, 6, 3], 64, 224, 1024, 512));
    expect(s.get("visual.conv1.weight")).toEqual([32, 3, 3, 3]);
    expect(s.get("visual.conv3.weight")).toEqual([64, 32, 3, 3]);
    expect(s.get("visual.layer1.0.conv1.weight")).toEqual([64, 64, 1, 1]);
    expect(s.get("visual.layer1.0.conv3.weight")).toEqual([256, 64, 1, 1]);
    expect(s.get("visual.layer1.0.downsample.0.weight")).toEqual([256, 64, 1, 1]);
    expect(s.has("visual.layer1.1.downsample.0.weight")).toBe(false);
    expect(s.get("visual.attnpool.positional_embedding")).toEqual([50, 2048]);
    expect(s.get("visual.attnpool.c_proj.weight")).toEqual([1024, 2048]);
    expect(s.get("token_embedding.weight")).toEqual([49408, 512]);
    expect(s.get("transformer.resblocks.11.attn.in_proj_weight")).toEqual([1536, 512]);
    expect(s.get("transformer.resblocks.0.mlp.c_fc.weight")).toEqual([2048, 512]);
    expect(s.get("text_projection")).toEqual([512, 1024]);
    expect(s.get("logit_scale")).toEqual([]);
  });
});

/**
 * Structure of the CLIP graphs: initializers are the state-dict tensors themselves (referenced, never
 * copied: bounded memory for RN50x16/x64), named by their OpenAI keys, and bad weights give errors naming the key.
 */
import { describe, expect, it } from "vitest";
import * as path from "path";
import { buildImageGraph } from "../src/clip/imageGraph";
import { buildTextGraph } from "../src/clip/textGraph";
import { inferConfig } from "../src/clip/config";
import { ClipNadError } from "../src/errors";
import { readSafetensors } from "../src/weights/safetensors";
import { StateDict } from "../src/weights/types";

const FILE = path.join(__dirname, "fixtures", "tiny", "open_clip_pytorch_model.bin");
const ck = readSafetensors(path.join(__dirname, "fixtures", "tiny", "weights.safetensors"));
const cfg = inferConfig(ck.tensors, ck.path, ck.metadata);

function chunkBuffers(chunks: Uint8Array[]): Set<ArrayBufferLike> {
  return new Set(chunks.map((c) => c.buffer));
}

describe("CLIP graph builders", () => {
  it("image graph references the weight arrays (no copies) under their state-dict names", () => {
    const model = buildImageGraph(ck.tensors, cfg).encode();
    const total = model.length;
    const chunks = model.finish();
    const buffers = chunkBuffers(chunks);
    const big = [...ck.tensors].filter(([k, t]) => k.startsWith("visual.") && t.data.byteLength >= 4096);
    expect(big.length).toBeGreaterThan(10);
    for (const [, t] of big) expect(buffers.has(t.data.buffer)).toBe(true);
    const weightBytes = [...ck.tensors].filter(([k]) => k.startsWith("visual.")).reduce((n, [, t]) => n + t.data.byteLength, 0);
    // graph = weights + small overhead (names, nodes, a few constants)
    expect(total).toBeLessThan(weightBytes * 1.05 + 64 * 1024);
    const weightBuffers = new Set(big.map(([, t]) => t.data.buffer));
    const text = Buffer.concat(chunks.filter((c) => !weightBuffers.has(c.buffer))).toString("latin1");
    for (const key of ["visual.conv1.weight", "visual.layer4.0.downsample.1.running_var", "visual.attnpool.positional_embedding", "visual.attnpool.c_proj.weight"]) {
      expect(text).toContain(key);
    }
  });

  it("text graph references the weight arrays under their state-dict names", () => {
    const model = buildTextGraph(ck.tensors, cfg).encode();
    const buffers = chunkBuffers(model.finish());
    for (const key of ["token_embedding.weight", "transformer.resblocks.1.attn.in_proj_weight", "transformer.resblocks.0.mlp.c_fc.weight", "text_projection"]) {
      expect(buffers.has(ck.tensors.get(key)!.data.buffer)).toBe(true);
    }
  });

  it("missing or mis-shaped tensors raise ClipNadError naming the key and file", () => {
    const missing: StateDict = new Map(ck.tensors);
    missing.delete("visual.layer3.0.bn2.running_mean");
    expect(() => buildImageGraph(missing, cfg, FILE)).toThrow(ClipNadError);
    expect(() => buildImageGraph(missing, cfg, FILE)).toThrow(/open_clip_pytorch_model\.bin.*visual\.layer3\.0\.bn2\.running_mean/);
    const bad: StateDict = new Map(ck.tensors);
    const v = ck.tensors.get("visual.attnpool.v_proj.weight")!;
    bad.set("visual.attnpool.v_proj.weight", { ...v, shape: [v.shape[0] / 2, v.shape[1] * 2] });
    expect(() => buildImageGraph(bad, cfg, FILE)).toThrow(/visual\.attnpool\.v_proj\.weight.*expected \[256,256\]/);
    const noText: StateDict = new Map(ck.tensors);
    noText.delete("transformer.resblocks.1.ln_2.bias");
    expect(() => buildTextGraph(noText, cfg, FILE)).toThrow(/transformer\.resblocks\.1\.ln_2\.bias/);
  });
});

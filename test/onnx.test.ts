import { describe, expect, it } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ort from "onnxruntime-node";
import { ProtoWriter } from "../src/onnx/proto";
import { DataType, GraphBuilder, floatAttr, floatTensor, readProducerVersion } from "../src/onnx/graph";

describe("ProtoWriter", () => {
  it("encodes varints, negative int64 as 10 bytes, fixed32 floats and strings", () => {
    const w = new ProtoWriter().int(1, 150).int(2, -1).float(3, 1.5).string(4, "ab");
    expect(Array.from(w.toBytes())).toEqual([
      0x08, 0x96, 0x01,
      0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
      0x1d, 0x00, 0x00, 0xc0, 0x3f,
      0x22, 0x02, 0x61, 0x62,
    ]);
  });

  it("encodes packed int64 (incl. negatives) and nested messages with their lengths", () => {
    const inner = new ProtoWriter().packedInts(1, [1, -2, 300]);
    const w = new ProtoWriter().message(7, inner);
    const bytes = Array.from(w.toBytes());
    // packed body: 01 | fe ff ff ff ff ff ff ff ff 01 | ac 02 = 13 bytes
    expect(bytes).toEqual([0x3a, 15, 0x0a, 13, 0x01, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0xac, 0x02]);
  });

  it("references large payloads instead of copying them", () => {
    const big = new Uint8Array(100_000).fill(7);
    const tensor = new ProtoWriter().bytes(9, big);
    const model = new ProtoWriter().int(1, 8).message(5, tensor);
    const chunks = model.finish();
    expect(chunks.some((c) => c === big)).toBe(true);
    expect(chunks.reduce((n, c) => n + c.byteLength, 0)).toBe(model.length);
  });
});

describe("GraphBuilder on onnxruntime-node", () => {
  it("runs a tiny conv net with negative-axis attributes, transposed initializers and an intermediate output", async () => {
    const g = new GraphBuilder("tiny");
    g.input("x", DataType.FLOAT, ["batch", 1, 4, 4]);
    // Conv 1→2 channels, 1×1: channel 0 = x, channel 1 = 2x; bias (0, -1)
    g.initializer("conv.weight", floatTensor([2, 1, 1, 1], [1, 2]));
    g.initializer("conv.bias", floatTensor([2], [0, -1]));
    const conv = g.node("Conv", ["x", "conv.weight", "conv.bias"], { kernel_shape: [1, 1], pads: [0, 0, 0, 0] });
    const bn = g.node("BatchNormalization", [conv, g.constF("s", [2], [1, 1]), g.constF("b", [2], [0, 0]), g.constF("m", [2], [0, 0]), g.constF("v", [2], [1, 1])], { epsilon: floatAttr(0) });
    g.node("Relu", [bn], {}, "r");
    const pool = g.node("AveragePool", ["r"], { kernel_shape: [4, 4], strides: [4, 4] });
    const flat = g.node("Flatten", [pool], { axis: 1 });
    // Linear weight stored [out, in] as in PyTorch, fed through Transpose
    g.initializer("fc.weight", floatTensor([3, 2], [1, 0, 0, 1, 1, 1]));
    const wt = g.node("Transpose", ["fc.weight"], { perm: [1, 0] });
    const logits = g.node("MatMul", [flat, wt]);
    g.node("Softmax", [logits], { axis: -1 }, "prob");
    g.output("prob");
    g.output("r");
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "onnx-")), "tiny.onnx");
    const bytes = g.writeFile(file);
    expect(fs.statSync(file).size).toBe(bytes);

    const sess = await ort.InferenceSession.create(file);
    const x = new Float32Array(2 * 16);
    for (let i = 0; i < x.length; i++) x[i] = (i % 5) - 1; // values in [-1, 3]
    const out = await sess.run({ x: new ort.Tensor("float32", x, [2, 1, 4, 4]) });
    expect(out.r.dims).toEqual([2, 2, 4, 4]);
    expect(out.prob.dims).toEqual([2, 3]);
    const prob = out.prob.data as Float32Array;
    for (let b = 0; b < 2; b++) {
      let m0 = 0, m1 = 0;
      for (let i = 0; i < 16; i++) {
        const v = x[b * 16 + i];
        m0 += Math.max(0, v) / 16;
        m1 += Math.max(0, 2 * v - 1) / 16;
      }
      const l = [m0, m1, m0 + m1];
      const mx = Math.max(...l);
      const e = l.map((v) => Math.exp(v - mx));
      const z = e.reduce((s, v) => s + v, 0);
      for (let k = 0; k < 3; k++) expect(prob[b * 3 + k]).toBeCloseTo(e[k] / z, 6);
    }
    await sess.release();
  });

  it("stores producer_version in the file head, where readProducerVersion finds it", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "onnx-"));
    const g = new GraphBuilder("g");
    g.producerVersion = "clip-nad-test-7";
    g.input("x", DataType.FLOAT);
    g.initializer("w", floatTensor([3000], new Float32Array(3000)));
    g.node("Add", ["x", "w"], {}, "y");
    g.output("y");
    g.writeFile(path.join(dir, "a.onnx"));
    expect(readProducerVersion(path.join(dir, "a.onnx"))).toBe("clip-nad-test-7");
    g.producerVersion = "";
    g.writeFile(path.join(dir, "b.onnx"));
    expect(readProducerVersion(path.join(dir, "b.onnx"))).toBeUndefined();
    fs.writeFileSync(path.join(dir, "c.onnx"), "garbage");
    expect(readProducerVersion(path.join(dir, "c.onnx"))).toBeUndefined();
    expect(readProducerVersion(path.join(dir, "absent.onnx"))).toBeUndefined();
  });

  it("same bytes from toBytes() and writeFile()", () => {
    const g = new GraphBuilder("g");
    g.input("x", DataType.FLOAT);
    g.initializer("w", floatTensor([2000], new Float32Array(2000).fill(0.5)));
    g.node("Add", ["x", "w"], {}, "y");
    g.output("y");
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "onnx-")), "g.onnx");
    g.writeFile(file);
    expect(Buffer.compare(fs.readFileSync(file), Buffer.from(g.toBytes()))).toBe(0);
  });
});

/**
 * The device switch (`LoadModelOptions.device`, `--device cpu|webgpu|cuda`). On this machine no GPU device is
 * usable: the CUDA provider libraries are absent (setup skips onnxruntime-node's NuGet download) and Dawn finds no
 * WebGPU adapter. Both must be DeviceErrors that say what is missing and how to get it — before any graph is built
 * for cuda, and without rebuilding the cached graph for webgpu. Where a device IS available (a GPU machine), the
 * same tests instead check its outputs against the CPU's (1e-3 relative), so they test something on either machine.
 */
import { describe, it, expect, afterAll } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { loadModel } from "../src/clip/model";
import { graphPath } from "../src/clip/session";
import { fileSha256 } from "../src/io/hash";
import { TOY_MODEL_PATH } from "../src/clip/resolve";
import {
  DeviceError,
  deviceSessionError,
  missingCudaProviderFiles,
  ortBinaryDir,
  parseDevice,
} from "../src/clip/device";
import { ClipNadError } from "../src/errors";
import { Command } from "commander";
import { commands } from "../src/cli/commands";

const root = path.resolve(__dirname, "..");
const cache = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-device-"));
const cudaMissing = missingCudaProviderFiles().length > 0;
afterAll(() => fs.rmSync(cache, { recursive: true, force: true }));

async function loadError(device: "webgpu" | "cuda"): Promise<unknown> {
  try {
    const m = await loadModel("toy", { device, cacheDir: cache });
    return m; // the device exists here
  } catch (e) {
    return e;
  }
}

/** Where the device works: its embeddings of random pixels equal the CPU's within 1e-3 relative (max-abs scale). */
async function expectMatchesCpu(model: Awaited<ReturnType<typeof loadModel>>): Promise<void> {
  const cpu = await loadModel("toy", { cacheDir: cache });
  const R = cpu.config.imageResolution;
  const px = new Float32Array(2 * 3 * R * R).map((_, i) => Math.sin(i * 0.37));
  const [a, b] = [await cpu.encodeImagePixels(px, 2), await model.encodeImagePixels(px, 2)];
  for (const k of ["embedding", "coefficients"] as const) {
    const scale = Math.max(...a[k].map(Math.abs));
    let worst = 0;
    for (let i = 0; i < a[k].length; i++) worst = Math.max(worst, Math.abs(a[k][i] - b[k][i]) / scale);
    expect(worst, k).toBeLessThan(1e-3);
  }
  await cpu.dispose();
  await model.dispose();
}

describe("device switch", () => {
  it("parseDevice: cpu by default, names are case-insensitive, unknown ones are refused", () => {
    expect(parseDevice(undefined)).toBe("cpu");
    expect(parseDevice("WebGPU")).toBe("webgpu");
    expect(() => parseDevice("tpu")).toThrow(ClipNadError);
    expect(() => parseDevice("tpu")).toThrow(/unknown device 'tpu' \(use cpu, webgpu, cuda\)/);
  });

  it("cuda without its provider libraries: DeviceError naming the files, the folder and the install " +
      "command", async () => {
    const e = await loadError("cuda");
    if (!cudaMissing) return expectMatchesCpu(e as Awaited<ReturnType<typeof loadModel>>);
    expect(e).toBeInstanceOf(DeviceError);
    const msg = (e as Error).message;
    expect(msg).toContain("libonnxruntime_providers_cuda.so");
    expect(msg).toContain(ortBinaryDir());
    expect(msg).toContain("ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js");
    expect(msg).toMatch(/Microsoft\.ML\.OnnxRuntime\.Gpu\.Linux\/\d+\.\d+\.\d+/);
    // Refused before anything was written: no graph was built into the fresh cache.
    expect(fs.existsSync(path.join(cache, "graphs"))).toBe(false);
  });

  it("webgpu without an adapter: DeviceError saying what Dawn needs; the cached graph is not rebuilt", async () => {
    // A cache entry built on the CPU first; a failed webgpu load must leave it as it is.
    await (await loadModel("toy", { cacheDir: cache })).dispose();
    const graph = graphPath(cache, await fileSha256(TOY_MODEL_PATH), "image");
    const before = fs.statSync(graph).mtimeMs;
    const e = await loadError("webgpu");
    if (!(e instanceof Error)) return expectMatchesCpu(e as Awaited<ReturnType<typeof loadModel>>);
    expect(e).toBeInstanceOf(DeviceError);
    expect(e.message).toMatch(/no WebGPU adapter.*Failed to get a WebGPU adapter/);
    expect(e.message).toMatch(/Vulkan driver.*libvulkan1/);
    expect(fs.statSync(graph).mtimeMs).toBe(before);
  });

  it("deviceSessionError tells device failures from graph failures", () => {
    // onnxruntime-node 1.30's messages (captured on this machine).
    const noAdapter = new Error(
      "/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 " +
        "onnxruntime::webgpu::WebGpuContext::Initialize(const onnxruntime::webgpu::WebGpuContextConfig&)::<lambda()> " +
          "adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: " +
            "No supported adapters",
    );
    const noCudaLib = new Error("OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library");
    const badGraph = new Error("Load model from x.onnx failed:Protobuf parsing failed.");
    const w = deviceSessionError("webgpu", noAdapter, "m.pt");
    expect(w).toBeInstanceOf(DeviceError);
    expect(w!.message).toContain("(Failed to get a WebGPU adapter: No supported adapters)");
    expect(w!.message.startsWith("m.pt: ")).toBe(true);
    expect(deviceSessionError("cuda", noCudaLib)?.message).toMatch(
      /could not start the CUDA execution provider \(.*Failed to load shared library\).*LD_LIBRARY_PATH/,
    );
    expect(deviceSessionError("webgpu", badGraph)).toBeUndefined();
    expect(deviceSessionError("cpu", noAdapter)).toBeUndefined();
  });

  it("CLI: --device on the model commands (not on info); cuda here exits 1 with the message, no stack", () => {
    const program = new Command();
    for (const register of commands) register(program);
    const find = (name: string) => {
      const [top, sub] = name.split(" ");
      const c = program.commands.find((x) => x.name() === top)!;
      return sub ? c.commands.find((x) => x.name() === sub)! : c;
    };
    const device = (cmd: string) => find(cmd).options.find((o) => o.long === "--device");
    for (const cmd of [
      "demo",
      "embed",
      "embed-text",
      "decompose",
      "collect",
      "analyze reconstruct",
      "analyze ablate",
      "analyze shift",
      "analyze registers",
      "export-browser",
      "text-decompose",
      "segment",
      "segment-eval",
    ]) {
      const opt = device(cmd);
      expect(opt?.argChoices, cmd).toEqual(["cpu", "webgpu", "cuda"]);
      expect(opt?.defaultValue, cmd).toBe("cpu");
      expect(opt?.description, cmd).toContain(
        "ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js",
      );
    }
    expect(device("info")).toBeUndefined();
    const out = path.join(cache, "t.npy");
    const r = spawnSync(
      process.execPath,
      [path.join(root, "src/cli/bin.cjs"), "embed-text", "--text", "red", "--out", out, "--device", "cuda"],
      { encoding: "utf8", env: { ...process.env, CLIP_NAD_CACHE: cache } },
    );
    if (!cudaMissing) return;
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/clip-nad: the CUDA execution provider is not installed/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(out)).toBe(false);
    const bad = spawnSync(
      process.execPath,
      [path.join(root, "src/cli/bin.cjs"), "embed-text", "--text", "red", "--out", out, "--device", "tpu"],
      { encoding: "utf8" },
    );
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("argument 'tpu' is invalid. Allowed choices are cpu, webgpu, cuda.");
  });
});

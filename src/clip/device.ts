/**
 * Where the image and text towers run: onnxruntime-node's CPU, WebGPU or CUDA execution provider.
 *
 *  - cpu     always available (the default).
 *  - webgpu  bundled in onnxruntime-node (Dawn, over Vulkan on Linux); needs a GPU with a Vulkan driver. Without one
 *            (no libvulkan, or only a software renderer) onnxruntime fails to get an adapter.
 *  - cuda    Linux x64 only; needs onnxruntime-node's CUDA provider libraries, which are NOT in the npm package
 *            (its install script downloads them from NuGet, and clip-nad's setup skips that download), plus the
 *            NVIDIA driver, CUDA and cuDNN libraries on the library path. See `cudaInstallHelp()`.
 * A missing provider or adapter is a DeviceError (a ClipNadError) that says what is missing and how to get it.
 */
import * as fs from "fs";
import * as path from "path";
import type { InferenceSession } from "onnxruntime-node";
import { ClipNadError } from "../errors";

export const DEVICES = ["cpu", "webgpu", "cuda"] as const;
export type Device = (typeof DEVICES)[number];

/** A device that cannot be used on this machine (not bad input: the same call works where the device exists). */
export class DeviceError extends ClipNadError {
  constructor(readonly device: Device, message: string, opts: { file?: string; cause?: unknown } = {}) {
    super(message, opts);
    this.name = "DeviceError";
  }
}

export function parseDevice(text: string | undefined): Device {
  if (text === undefined) return "cpu";
  const d = text.trim().toLowerCase();
  if ((DEVICES as readonly string[]).includes(d)) return d as Device;
  throw new ClipNadError(`unknown device '${text}' (use ${DEVICES.join(", ")})`);
}

/** The provider libraries onnxruntime-node loads for CUDA (the install script's cuda12 manifest needs all three). */
const CUDA_PROVIDER_FILES = [
  "libonnxruntime_providers_shared.so",
  "libonnxruntime_providers_cuda.so",
  "libonnxruntime_providers_tensorrt.so",
];

function ortPackageDir(): string {
  return path.dirname(require.resolve("onnxruntime-node/package.json"));
}

/** onnxruntime-node's version (the CUDA provider libraries must be of exactly this version). */
function ortVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(ortPackageDir(), "package.json"), "utf8")) as { version: string })
    .version;
}

/** Where onnxruntime-node's native binding, and the CUDA provider libraries beside it, live. */
export function ortBinaryDir(): string {
  return path.join(ortPackageDir(), "bin", "napi-v6", process.platform, process.arch);
}

/** How to install the CUDA provider libraries (needs internet: NuGet), for error messages and docs. */
export function cudaInstallHelp(): string {
  const v = ortVersion();
  return [
    `install onnxruntime-node ${v}'s CUDA provider libraries (about 200 MB, from NuGet; needs internet):`,
    "  ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js",
    `or by hand: download https://www.nuget.org/api/v2/package/Microsoft.ML.OnnxRuntime.Gpu.Linux/${v} (a zip) and ` +
      `copy its`,
    `  runtimes/linux-x64/native/libonnxruntime_providers_{shared,cuda,tensorrt}.so into ${ortBinaryDir()}`,
    "(the same onnxruntime version as onnxruntime-node; the CUDA and cuDNN libraries that release needs must be on " +
      "LD_LIBRARY_PATH, with the NVIDIA driver)",
  ].join("\n");
}

/** The CUDA provider libraries that are not where onnxruntime-node looks for them. */
export function missingCudaProviderFiles(): string[] {
  const dir = ortBinaryDir();
  return CUDA_PROVIDER_FILES.filter((f) => !fs.existsSync(path.join(dir, f)));
}

/**
 * Checks that can be made before a session exists: CUDA is Linux x64 only and needs its provider libraries.
 * (A WebGPU adapter can only be found by creating a session; see deviceSessionError.)
 */
export function checkDevice(device: Device): void {
  if (device !== "cuda") return;
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new DeviceError(
      "cuda",
      `onnxruntime-node has a CUDA execution provider only on Linux x64 (this is ` +
        `${process.platform}/${process.arch}); use the webgpu or cpu device`,
    );
  }
  const missing = missingCudaProviderFiles();
  if (missing.length > 0) {
    throw new DeviceError("cuda",
      `the CUDA execution provider is not installed: ${missing.join(", ")} missing from ${ortBinaryDir()} ` +
      `(clip-nad's setup skips onnxruntime-node's CUDA download).\nTo use the cuda device, ${cudaInstallHelp()}`);
  }
}

/** Session options for a device: its execution provider (onnxruntime runs what the provider lacks on the CPU). */
export function executionProviders(device: Device): InferenceSession.ExecutionProviderConfig[] {
  return [device];
}

/**
 * A session-creation failure as the DeviceError it is (no adapter, provider library not loadable), or undefined
 * when the failure is not about the device (a bad graph).
 */
export function deviceSessionError(device: Device, e: unknown, file?: string): DeviceError | undefined {
  if (device === "cpu") return undefined;
  const msg = (e as Error)?.message ?? String(e);
  if (device === "webgpu" && /webgpu/i.test(msg) && /adapter|device|vulkan|dawn/i.test(msg)) {
    return new DeviceError(
      "webgpu",
      `no WebGPU adapter: onnxruntime's WebGPU execution provider (Dawn, over Vulkan on Linux) found no usable GPU ` +
        `(${firstLine(msg)}). It needs a GPU with a Vulkan driver: the Vulkan loader (Debian: libvulkan1) and the ` +
          `GPU's ` +
        `driver (NVIDIA's driver with its Vulkan ICD, or mesa-vulkan-drivers for AMD/Intel); \`vulkaninfo ` +
          `--summary\` ` +
        "(vulkan-tools) should list the GPU; Dawn rejects software Vulkan devices such as Mesa's lavapipe. Or use " +
          "the cpu device.",
      { file, cause: e },
    );
  }
  if (device === "cuda" && /cuda|cudnn|cublas|providers_shared|shared library|\.so/i.test(msg)) {
    return new DeviceError(
      "cuda",
      `onnxruntime could not start the CUDA execution provider (${firstLine(msg)}). It needs an NVIDIA GPU and ` +
        `driver, ` +
        `and the CUDA and cuDNN libraries onnxruntime ${ortVersion()} was built for on LD_LIBRARY_PATH ` +
        "(https://onnxruntime.ai/docs/execution-providers/CUDA-ExecutionProvider.html#requirements).",
      { file, cause: e },
    );
  }
  return undefined;
}

function firstLine(msg: string): string {
  // onnxruntime prefixes "/onnxruntime_src/…cc:136 …lambda()> … was false." before the human part.
  const line = msg.split("\n").find((l) => l.trim()) ?? msg;
  const human = /(Failed to[^\n]*|[^.]*(?:not found|No supported adapters)[^\n]*)/.exec(line);
  return (human ? human[1] : line).trim();
}

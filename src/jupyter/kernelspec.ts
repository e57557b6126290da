/**
 * Writes the clip-nad Jupyter kernelspec: DIR/share/jupyter/kernels/<name>/kernel.json (--prefix DIR), or the
 * per-user registry (~/.local/share/jupyter/kernels, or $JUPYTER_DATA_DIR/kernels). Jupyter then starts
 * `node kernel-ext/kernel.cjs --config-path {connection_file}` (tslab + comms). No IPython, no global state.
 */
import * as os from "os";
import * as path from "path";
import { ClipNadError } from "../errors";
import { ensureDir, writeFileAtomic } from "../io/atomic";

export const DEFAULT_KERNEL_NAME = "clip-nad";

export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: "signal";
  metadata: { [key: string]: unknown };
}

/** Absolute path of the launcher. */
export function launcherPath(): string {
  return path.resolve(__dirname, "..", "..", "kernel-ext", "kernel.cjs");
}

export function kernelSpec(name = DEFAULT_KERNEL_NAME): KernelSpec {
  return {
    argv: [process.execPath, launcherPath(), "--config-path", "{connection_file}"],
    display_name: name === DEFAULT_KERNEL_NAME ? "TypeScript (clip-nad)" : `TypeScript (${name})`,
    language: "typescript",
    interrupt_mode: "signal",
    metadata: { debugger: false },
  };
}

/** Where kernelspecs go for --user. */
export function userKernelsDir(): string {
  const data = process.env.JUPYTER_DATA_DIR || path.join(os.homedir(), ".local", "share", "jupyter");
  return path.join(data, "kernels");
}

export interface InstallOptions {
  user?: boolean;
  prefix?: string;
  name?: string;
}

/** Write kernel.json; returns the kernelspec directory. */
export function installKernelSpec(opts: InstallOptions = {}): string {
  const name = opts.name ?? DEFAULT_KERNEL_NAME;
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    throw new ClipNadError(`kernel name '${name}' may only use letters, digits, '.', '_' and '-'`);
  }
  if (opts.user && opts.prefix) throw new ClipNadError("install for the user or into a prefix, not both");
  const base = opts.prefix ? path.join(path.resolve(opts.prefix), "share", "jupyter", "kernels") : userKernelsDir();
  // Atomic, with a temp name per writer: test files install the same spec in parallel while kernels start from it.
  const dir = ensureDir(path.join(base, name));
  writeFileAtomic(path.join(dir, "kernel.json"), JSON.stringify(kernelSpec(name), null, 2) + "\n");
  return dir;
}

/** Shared fixtures for the io/CLI tests: the tiny oracle checkpoint and a text-capable variant of it. */
import * as fs from "fs";
import * as path from "path";
import { Command } from "commander";
import { vi } from "vitest";
import { readSafetensors, writeSafetensors } from "../src/weights/safetensors";
import { readNpy } from "../src/io/npy";

type RegisterFn = (program: Command) => void;

export const TINY_WEIGHTS = path.join(__dirname, "fixtures/tiny/weights.safetensors");
export const E2E_DIR = path.join(__dirname, "fixtures/io/tiny_e2e");
export const IMAGES_DIR = path.join(__dirname, "fixtures/io/preprocess");

export const e2eCases = JSON.parse(fs.readFileSync(path.join(E2E_DIR, "cases.json"), "utf8")) as {
  images: string[];
  texts: string[];
};
export const e2eImagePaths = e2eCases.images.map((f) => path.join(IMAGES_DIR, f));

export function expectedNpy(name: string): { data: Float32Array; shape: number[] } {
  const a = readNpy(path.join(E2E_DIR, name));
  return { data: a.data as Float32Array, shape: a.shape };
}

/**
 * The tiny checkpoint with token_embedding tiled to CLIP's 49 408-token vocabulary (row i = row i % 512), so
 * real BPE ids fit; tools/oracle/make_goldens_io.py builds the same model for text_embeddings.npy.
 */
export function writeTextCapableTiny(file: string): string {
  const ck = readSafetensors(TINY_WEIGHTS);
  const emb = ck.tensors.get("token_embedding.weight")!;
  const [V0, W] = emb.shape;
  const V = 49408;
  const tiled = new Float32Array(V * W);
  for (let i = 0; i < V; i++) tiled.set(emb.data.subarray((i % V0) * W, (i % V0 + 1) * W), i * W);
  const tensors = new Map(ck.tensors);
  tensors.set("token_embedding.weight", { ...emb, shape: [V, W], data: tiled });
  const meta = { ...ck.metadata };
  if (meta.config) meta.config = JSON.stringify({ ...JSON.parse(meta.config), vocab_size: V });
  writeSafetensors(file, tensors, { dtype: "F16", metadata: meta });
  return file;
}

/** max |a-b| / max |b| */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

/** Run subcommands in-process (Commander errors throw instead of exiting); returns what they printed on stdout. */
export async function runCommand(register: RegisterFn | RegisterFn[], args: string[]): Promise<string> {
  const quiet = { writeOut: () => undefined, writeErr: () => undefined };
  const program = new Command().exitOverride().configureOutput(quiet);
  for (const r of Array.isArray(register) ? register : [register]) r(program);
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
  try {
    await program.parseAsync(args, { from: "user" });
  } finally {
    spy.mockRestore();
  }
  return lines.join("\n");
}

/**
 * A `clip-nad` command in this process (no launcher start-up; its stdout silenced): resolves, or rejects with the
 * error the launcher would print.
 */
export async function runCli(...args: string[]): Promise<void> {
  const { main } = await import("../src/cli/main");
  const log = console.log;
  console.log = () => undefined;
  try {
    await main(["node", "clip-nad", ...args]);
  } finally {
    console.log = log;
  }
}

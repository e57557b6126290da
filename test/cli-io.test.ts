import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CommanderError } from "commander";
import { register as registerInfo } from "../src/cli/commands/info";
import { register as registerEmbed } from "../src/cli/commands/embed";
import { register as registerEmbedText } from "../src/cli/commands/embedText";
import { register as registerDecompose } from "../src/cli/commands/decompose";
import { sha256File } from "../src/io/hash";
import { readNpy } from "../src/io/npy";
import { ClipNadError } from "../src/errors";
import {
  TINY_WEIGHTS,
  e2eCases,
  e2eImagePaths,
  expectedNpy,
  relErr,
  runCommand,
  writeTextCapableTiny,
} from "./cli-helpers";

const ROOT = path.join(__dirname, "..");
let tmp = "";
let oldCache: string | undefined;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-cli-"));
  oldCache = process.env.CLIP_NAD_CACHE;
  process.env.CLIP_NAD_CACHE = path.join(tmp, "graph-cache");
});
afterAll(() => {
  if (oldCache === undefined) delete process.env.CLIP_NAD_CACHE;
  else process.env.CLIP_NAD_CACHE = oldCache;
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Run subcommands in-process; returns what they printed on stdout. Commander errors throw instead of exiting. */
const run = (args: string[]) => runCommand([registerInfo, registerEmbed, registerEmbedText, registerDecompose], args);

function rows(data: ArrayLike<number>, d: number, idx: number[]): Float32Array {
  const out = new Float32Array(idx.length * d);
  idx.forEach((r, i) => out.set(Array.from(data).slice(r * d, (r + 1) * d), i * d));
  return out;
}

describe("clip-nad info", () => {
  it("prints config, neurons, heads, grid and parameter counts (same as torch's numel sums)", async () => {
    const text = await run(["info", "--model", path.join(ROOT, "test/fixtures/tiny/clip_jit_fp16.pt"), "--quiet"]);
    expect(text).toContain("format       torchscript");
    expect(text).toMatch(/neurons C\s+256/);
    expect(text).toMatch(/heads H\s+4 \(64 dims each\)/);
    expect(text).toMatch(/grid\s+3×3 \(K = 9 spatial tokens\)/);
    expect(text).toMatch(/embed dim d\s+64/);
    expect(text).toContain("parameters   visual 344,156 | text 137,984 | total 482,141");
    const info = JSON.parse(await run(["info", "--model", TINY_WEIGHTS, "--json"]));
    expect(info.format).toBe("safetensors");
    expect(info.sha256).toBe(await sha256File(TINY_WEIGHTS));
    expect(info.config.visionLayers).toEqual([1, 1, 1, 1]);
    expect(info.parameters).toEqual({ visual: 344156, text: 137984, total: 482141 });
  });

  it("names the file for a broken checkpoint and lists known names for an unknown model", async () => {
    const bad = path.join(ROOT, "test/fixtures/tiny/bad/truncated.safetensors");
    await expect(run(["info", "--model", bad, "--quiet"])).rejects.toThrow(bad);
    await expect(run(["info", "--model", "RN49", "--quiet"])).rejects.toThrow(/RN49: .*known: toy, RN50, RN101, RN50x4, RN50x16, RN50x64/);
  });
});

describe("clip-nad decompose", () => {
  it("writes embedding, Z (C×K), a (H×(K+1)), s (H×C) and a manifest, matching the torch oracle", async () => {
    const out = path.join(tmp, "dec");
    const printed = await run(["decompose", "--model", TINY_WEIGHTS, "--image", e2eImagePaths[0], "--out", out, "--quiet"]);
    expect(printed).toContain("coefficients (4×256)");
    const emb = readNpy(path.join(out, "embedding.npy"));
    const Z = readNpy(path.join(out, "features.npy"));
    const a = readNpy(path.join(out, "attention.npy"));
    const s = readNpy(path.join(out, "coefficients.npy"));
    expect([emb.shape, Z.shape, a.shape, s.shape]).toEqual([[64], [256, 9], [4, 10], [4, 256]]);
    expect([emb.dtype, Z.dtype, a.dtype, s.dtype]).toEqual(["<f4", "<f4", "<f4", "<f4"]);
    expect(relErr(emb.data, rows(expectedNpy("image_embeddings.npy").data, 64, [0]))).toBeLessThanOrEqual(1e-4);
    expect(relErr(Z.data, expectedNpy("features0.npy").data)).toBeLessThanOrEqual(1e-4);
    expect(relErr(a.data, expectedNpy("attention0.npy").data)).toBeLessThanOrEqual(1e-4);
    expect(relErr(s.data, expectedNpy("coefficients0.npy").data)).toBeLessThanOrEqual(1e-4);
    const m = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"));
    expect(m.model).toBe(TINY_WEIGHTS);
    expect(m.sha256).toBe(await sha256File(TINY_WEIGHTS));
    expect(m.config.visionHeads).toBe(4);
    expect(m.image).toBe(path.resolve(e2eImagePaths[0]));
    expect(m.shapes).toEqual({ embedding: [64], features: [256, 9], attention: [4, 10], coefficients: [4, 256] });
    expect(m.clipNadVersion).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version);
  });

  it("rejects a missing image and an --out that is a file", async () => {
    const missing = path.join(tmp, "missing.png");
    await expect(run(["decompose", "--model", TINY_WEIGHTS, "--image", missing, "--out", path.join(tmp, "x"), "--quiet"])).rejects.toThrow(
      `${missing}: image file not found`,
    );
    const file = path.join(tmp, "a-file");
    fs.writeFileSync(file, "");
    await expect(run(["decompose", "--model", TINY_WEIGHTS, "--image", e2eImagePaths[0], "--out", file, "--quiet"])).rejects.toThrow(/must be a folder/);
    await expect(run(["decompose", "--model", TINY_WEIGHTS, "--out", file])).rejects.toThrow(CommanderError);
  });
});

describe("clip-nad embed", () => {
  it("embeds a folder in sorted file order (plus files) and writes the sidecar", async () => {
    const dir = path.join(tmp, "imgs");
    fs.mkdirSync(dir);
    // names chosen so sorted order is image 2, 0, 1
    fs.copyFileSync(e2eImagePaths[0], path.join(dir, "b.png"));
    fs.copyFileSync(e2eImagePaths[1], path.join(dir, "c.png"));
    fs.copyFileSync(e2eImagePaths[2], path.join(dir, "a.png"));
    fs.writeFileSync(path.join(dir, "notes.txt"), "not an image");
    const out = path.join(tmp, "out", "emb.npy");
    await run(["embed", "--model", TINY_WEIGHTS, "--images", dir, e2eImagePaths[1], "--out", out, "--batch-size", "2", "--quiet"]);
    const emb = readNpy(out);
    expect(emb.shape).toEqual([4, 64]);
    const expected = expectedNpy("image_embeddings.npy").data;
    expect(relErr(emb.data, rows(expected, 64, [2, 0, 1, 1]))).toBeLessThanOrEqual(1e-4);
    const side = JSON.parse(fs.readFileSync(path.join(tmp, "out", "emb.json"), "utf8"));
    expect(side.images).toEqual([path.join(dir, "a.png"), path.join(dir, "b.png"), path.join(dir, "c.png"), path.resolve(e2eImagePaths[1])]);
    expect(side.shape).toEqual([4, 64]);
    expect(side.normalized).toBe(false);
  });

  it("--normalize gives unit rows", async () => {
    const out = path.join(tmp, "norm.npy");
    await run(["embed", "--model", TINY_WEIGHTS, "--images", ...e2eImagePaths, "--out", out, "--normalize", "--quiet"]);
    const emb = readNpy(out);
    for (let r = 0; r < 3; r++) {
      let s = 0;
      for (let j = 0; j < 64; j++) s += emb.data[r * 64 + j] ** 2;
      expect(Math.abs(Math.sqrt(s) - 1)).toBeLessThan(1e-5);
    }
  });

  it("gives clear errors for bad arguments", async () => {
    const empty = path.join(tmp, "empty");
    fs.mkdirSync(empty);
    await expect(run(["embed", "--model", TINY_WEIGHTS, "--images", empty, "--out", path.join(tmp, "e.npy"), "--quiet"])).rejects.toThrow(
      `${empty}: no images found in this folder`,
    );
    await expect(run(["embed", "--model", TINY_WEIGHTS, "--images", e2eImagePaths[0], "--out", path.join(tmp, "e.txt")])).rejects.toThrow(
      "--out must name a .npy file",
    );
    await expect(run(["embed", "--model", TINY_WEIGHTS, "--images", e2eImagePaths[0], "--out", path.join(tmp, "e.npy"), "--batch-size", "0"])).rejects.toThrow(
      "--batch-size must be a positive integer, got '0'",
    );
    await expect(run(["embed", "--images", path.join(tmp, "nope.jpg"), "--out", path.join(tmp, "e.npy")])).rejects.toThrow(ClipNadError);
    await expect(run(["embed", "--model", TINY_WEIGHTS, "--out", path.join(tmp, "e.npy")])).rejects.toThrow(/required option '--images/);
  });
});

describe("clip-nad embed-text", () => {
  it("embeds --text (repeatable) and --file lines like the torch oracle", async () => {
    const model = writeTextCapableTiny(path.join(tmp, "tiny49k.safetensors"));
    const list = path.join(tmp, "texts.txt");
    fs.writeFileSync(list, `${e2eCases.texts[1]}\n${e2eCases.texts[3]}\n\n`); // trailing blank lines end the list
    const out = path.join(tmp, "text.npy");
    await run(["embed-text", "--model", model, "--text", e2eCases.texts[0], "--text", e2eCases.texts[2], "--file", list, "--out", out, "--quiet"]);
    const emb = readNpy(out);
    expect(emb.shape).toEqual([4, 64]);
    expect(relErr(emb.data, rows(expectedNpy("text_embeddings.npy").data, 64, [0, 2, 1, 3]))).toBeLessThanOrEqual(1e-4);
    const side = JSON.parse(fs.readFileSync(path.join(tmp, "text.json"), "utf8"));
    expect(side.texts).toEqual([e2eCases.texts[0], e2eCases.texts[2], e2eCases.texts[1], e2eCases.texts[3]]);
    expect(side.contextLength).toBe(16);
  });

  it("gives clear errors for no texts, an unreadable file and a model without CLIP's vocabulary", async () => {
    const out = path.join(tmp, "t.npy");
    await expect(run(["embed-text", "--model", TINY_WEIGHTS, "--out", out])).rejects.toThrow(/no texts: give --text/);
    const missing = path.join(tmp, "no-such-texts.txt");
    await expect(run(["embed-text", "--model", TINY_WEIGHTS, "--file", missing, "--out", out])).rejects.toThrow(`${missing}: cannot read text file`);
    await expect(run(["embed-text", "--model", TINY_WEIGHTS, "--text", "a cat", "--out", out, "--quiet"])).rejects.toThrow(/vocabulary has 512 tokens/);
  });

  it("keeps row i = line i of --file: a blank line inside the file is an error naming it, nothing is written", async () => {
    const list = path.join(tmp, "gap.txt");
    fs.writeFileSync(list, "a red circle\n\na blue square\n");
    const out = path.join(tmp, "gap.npy");
    await expect(run(["embed-text", "--model", TINY_WEIGHTS, "--file", list, "--out", out, "--quiet"])).rejects.toThrow(`${list}: line 2 is blank`);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe("clip-nad launcher", () => {
  it("runs through bin.cjs: output on stdout, errors as 'clip-nad: <file>: …' with exit code 1", async () => {
    const bin = path.join(ROOT, "src/cli/bin.cjs");
    const env = { ...process.env, CLIP_NAD_CACHE: path.join(tmp, "graph-cache") };
    const ok = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, [bin, "info", "--model", TINY_WEIGHTS], { env }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr })),
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/neurons C\s+256/);
    expect(ok.stderr).toMatch(/^read .* in \d+\.\d s\n$/); // not a TTY: only the final line
    const missing = path.join(tmp, "missing.png");
    const bad = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [bin, "decompose", "--model", TINY_WEIGHTS, "--image", missing, "--out", tmp], { env }, (err, _o, stderr) =>
        resolve({ code: err ? Number(err.code) : 0, stderr }),
      ),
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`clip-nad: ${missing}: image file not found`);
  });
});

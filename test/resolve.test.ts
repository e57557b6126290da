import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { AddressInfo } from "net";
import { CLIP_MODELS, KnownModel, TOY_MODEL_PATH, resolveModel } from "../src/clip/resolve";
import { fileSha256, sha256File } from "../src/io/hash";
import { ClipNadError } from "../src/errors";

const payload = crypto.randomBytes(3 * (1 << 20) + 123); // > 1 MiB so progress reports more than once
const sha = crypto.createHash("sha256").update(payload).digest("hex");
let server: http.Server;
let base = "";
let hits = 0;
let tmp = "";
const savedCache = process.env.CLIP_NAD_CACHE;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-resolve-"));
  // memoised hashes go to clip-nad's cache (src/io/hash): a private one, not the user's
  process.env.CLIP_NAD_CACHE = path.join(tmp, "clip-nad-cache");
  server = http.createServer((req, res) => {
    hits++;
    if (req.url === "/model.pt") {
      res.writeHead(200, { "content-length": String(payload.length) });
      res.end(payload);
    } else {
      res.writeHead(404);
      res.end("not found");
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (savedCache === undefined) delete process.env.CLIP_NAD_CACHE;
  else process.env.CLIP_NAD_CACHE = savedCache;
  await new Promise<void>((r) => server.close(() => r()));
  fs.rmSync(tmp, { recursive: true, force: true });
});

function table(url: string, hash = sha): Record<string, KnownModel> {
  return { RN50: { url, sha256: hash } };
}

describe("resolveModel", () => {
  it("knows OpenAI's five CLIP-ResNet checkpoints with their published sha256", () => {
    expect(Object.keys(CLIP_MODELS)).toEqual(["RN50", "RN101", "RN50x4", "RN50x16", "RN50x64"]);
    for (const [name, m] of Object.entries(CLIP_MODELS)) {
      expect(m.url).toBe(`https://openaipublic.azureedge.net/clip/models/${m.sha256}/${name}.pt`);
      expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it("downloads a named model into the cache with a SHA256 check, then reuses it", async () => {
    const cacheDir = path.join(tmp, "cache1");
    const msgs: [string, number | undefined][] = [];
    const before = hits;
    const file = await resolveModel("RN50", { cacheDir, models: table(`${base}/model.pt`), onProgress: (m, f) => msgs.push([m, f]) });
    expect(file).toBe(path.join(cacheDir, "RN50.pt"));
    expect(fs.readFileSync(file).equals(payload)).toBe(true);
    expect(hits).toBe(before + 1);
    expect(msgs.some(([m]) => m.startsWith("downloading RN50.pt"))).toBe(true);
    expect(msgs[msgs.length - 1][1]).toBe(1);
    expect(fs.readdirSync(cacheDir).filter((f) => f.includes(".part"))).toEqual([]);
    // second call: verified from the cache, no request; lower-case names work too
    expect(await resolveModel("rn50", { cacheDir, models: table(`${base}/model.pt`) })).toBe(file);
    expect(hits).toBe(before + 1);
  });

  it("re-downloads an existing file whose hash does not match (like clip.load)", async () => {
    const cacheDir = path.join(tmp, "cache2");
    fs.mkdirSync(cacheDir);
    fs.writeFileSync(path.join(cacheDir, "RN50.pt"), "truncated garbage");
    const before = hits;
    const msgs: string[] = [];
    const file = await resolveModel("RN50", { cacheDir, models: table(`${base}/model.pt`), onProgress: (m) => msgs.push(m) });
    expect(hits).toBe(before + 1);
    expect(await sha256File(file)).toBe(sha);
    // the download remembered its hash, so the next verification need not read the file
    expect(fs.readdirSync(path.join(tmp, "clip-nad-cache", "hashes")).length).toBeGreaterThanOrEqual(1);
    expect(await fileSha256(file)).toBe(sha);
    expect(msgs.some((m) => m.includes("checksum does not match"))).toBe(true);
  });

  it("deletes the download and names the hashes when the SHA256 does not match", async () => {
    const cacheDir = path.join(tmp, "cache3");
    const wrong = "0".repeat(64);
    const p = resolveModel("RN50", { cacheDir, models: table(`${base}/model.pt`, wrong) });
    await expect(p).rejects.toThrow(ClipNadError);
    await expect(resolveModel("RN50", { cacheDir, models: table(`${base}/model.pt`, wrong) })).rejects.toThrow(
      `has SHA256 ${sha}, expected ${wrong}; the file was deleted`,
    );
    expect(fs.readdirSync(cacheDir)).toEqual([]);
  });

  it("says where to put the file when offline or the server refuses", async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const cacheDir = path.join(tmp, "cache4");
    const target = path.join(cacheDir, "RN50.pt");
    await expect(resolveModel("RN50", { cacheDir, models: table(`http://127.0.0.1:${port}/model.pt`) })).rejects.toThrow(
      `put it at ${target}`,
    );
    await expect(resolveModel("RN50", { cacheDir, models: table(`${base}/missing.pt`) })).rejects.toThrow(/HTTP 404.*put it at/);
    expect(fs.existsSync(target)).toBe(false);
  });

  it("uses $CLIP_CACHE_DIR when no cacheDir is given", async () => {
    const dir = path.join(tmp, "envcache");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "RN50.pt"), payload);
    const old = process.env.CLIP_CACHE_DIR;
    process.env.CLIP_CACHE_DIR = dir;
    try {
      const before = hits;
      expect(await resolveModel("RN50", { models: table(`${base}/model.pt`) })).toBe(path.join(dir, "RN50.pt"));
      expect(hits).toBe(before);
    } finally {
      if (old === undefined) delete process.env.CLIP_CACHE_DIR;
      else process.env.CLIP_CACHE_DIR = old;
    }
  });

  it("accepts any existing checkpoint path and rejects unknown names and directories", async () => {
    const file = path.join(tmp, "my-checkpoint.safetensors");
    fs.writeFileSync(file, "x");
    expect(await resolveModel(path.relative(process.cwd(), file))).toBe(file);
    await expect(resolveModel("RN51")).rejects.toThrow("RN51: no such checkpoint file, and not a known model name (known: toy, RN50, RN101, RN50x4, RN50x16, RN50x64)");
    await expect(resolveModel(tmp)).rejects.toThrow(`${tmp}: expected a checkpoint file, got a directory`);
    await expect(resolveModel("")).rejects.toThrow(/no model given/);
  });

  it("resolves 'toy' to the embedded model, or names where it should be", async () => {
    if (fs.existsSync(TOY_MODEL_PATH)) expect(await resolveModel("toy")).toBe(TOY_MODEL_PATH);
    else await expect(resolveModel("toy")).rejects.toThrow(`${TOY_MODEL_PATH}: the embedded toy model is missing`);
    expect(TOY_MODEL_PATH).toBe(path.resolve(__dirname, "..", "assets", "toy", "toyclip.safetensors"));
  });
});

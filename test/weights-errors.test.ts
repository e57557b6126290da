import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { ClipNadError } from "../src/errors";
import { loadClipCheckpoint } from "../src/clip/checkpoint";
import { readCheckpoint } from "../src/weights";

const BAD = path.join(__dirname, "fixtures", "tiny", "bad");
const expected: Record<string, string> = JSON.parse(fs.readFileSync(path.join(BAD, "expected_errors.json"), "utf8"));

async function errorOf(p: string): Promise<ClipNadError> {
  try {
    await loadClipCheckpoint(p);
  } catch (e) {
    expect(e).toBeInstanceOf(ClipNadError);
    return e as ClipNadError;
  }
  throw new Error(`${p} loaded without an error`);
}

describe("deliberately bad checkpoints", () => {
  const bad = Object.entries(expected).filter(([, msg]) => msg !== "ok");

  it("covers every problem the issue lists", () => {
    expect(bad.map(([f]) => f).sort()).toEqual([
      "bad_opcode.pt", "misshaped.safetensors", "missing_tensor.pt", "not_a_checkpoint.bin", "not_clip.pt",
      "truncated.pt", "truncated.safetensors", "vit_like.pt",
    ]);
  });

  it.each(bad)("%s: error names the file and the problem", async (file, fragment) => {
    const p = path.join(BAD, file);
    const err = await errorOf(p);
    expect(err.message.startsWith(p)).toBe(true);
    expect(err.file).toBe(p);
    expect(err.message).toContain(fragment);
  });

  it("the valid micro checkpoint next to them loads", async () => {
    const { config } = await loadClipCheckpoint(path.join(BAD, "micro_ok.safetensors"));
    expect(config.visionWidth).toBe(2);
    expect(config.grid).toBe(1);
  });

  it("exact messages for the key-level problems", async () => {
    const mis = await errorOf(path.join(BAD, "misshaped.safetensors"));
    expect(mis.message).toBe(`${path.join(BAD, "misshaped.safetensors")}, key 'visual.attnpool.c_proj.weight': mis-shaped tensor: expected [8,64], got [64,8]`);
    expect(mis.key).toBe("visual.attnpool.c_proj.weight");
    const miss = await errorOf(path.join(BAD, "missing_tensor.pt"));
    expect(miss.key).toBe("visual.attnpool.v_proj.weight");
    const vit = await errorOf(path.join(BAD, "vit_like.pt"));
    expect(vit.message).toContain("CLIP ViT checkpoint");
    expect(vit.message).toContain("CLIP-ResNet");
    const op = await errorOf(path.join(BAD, "bad_opcode.pt"));
    expect(op.message).toMatch(/unknown pickle opcode 0xf0 at byte \d+ of data\.pkl/);
  });
});

describe("files that are not checkpoints at all", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clipnad-weights-"));

  it("missing path", async () => {
    const p = path.join(tmp, "nope.pt");
    await expect(readCheckpoint(p)).rejects.toThrow(`${p}: cannot read checkpoint file`);
  });

  it("a directory", async () => {
    await expect(readCheckpoint(tmp)).rejects.toThrow(`${tmp}: cannot read checkpoint file (is a directory)`);
  });

  it("an empty file", async () => {
    const p = path.join(tmp, "empty.pt");
    fs.writeFileSync(p, "");
    await expect(readCheckpoint(p)).rejects.toThrow(`${p}: empty file: not a checkpoint`);
  });

  it("a legacy (pre-zip) torch.save pickle", async () => {
    const p = path.join(tmp, "legacy.pt");
    fs.writeFileSync(p, Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));
    await expect(readCheckpoint(p)).rejects.toThrow(/legacy \(pre-1\.6, non-zip\) torch\.save format is not supported/);
  });

  it("a zip without data.pkl", async () => {
    // Minimal valid empty zip: just an end-of-central-directory record.
    const p = path.join(tmp, "empty.zip");
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    fs.writeFileSync(p, eocd);
    await expect(readCheckpoint(p)).rejects.toThrow(`${p}: not a torch checkpoint: the zip has no '<archive>/data.pkl'`);
  });

  it("a torch zip whose storage entry was cut short", async () => {
    // Keep the central directory but drop the payload bytes of the tensors: reading a storage must fail cleanly.
    const src = fs.readFileSync(path.join(__dirname, "fixtures", "tiny", "bad", "missing_tensor.pt"));
    const p = path.join(tmp, "hollow.pt");
    const hollow = Buffer.from(src);
    // Overwrite every local header signature after the first entry (data.pkl) with zeros.
    let count = 0;
    for (let i = 4; i + 4 <= hollow.length; i++) {
      if (hollow.readUInt32LE(i) === 0x04034b50) { hollow.writeUInt32LE(0, i); count++; }
    }
    expect(count).toBeGreaterThan(0);
    fs.writeFileSync(p, hollow);
    await expect(readCheckpoint(p)).rejects.toThrow(/corrupt zip archive: bad local header signature for '.*data\/\d+'/);
  });
});

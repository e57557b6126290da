import { describe, expect, it } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import sharp from "sharp";
import { loadImage, loadImageRGB, preprocessImages, preprocessRGB, resizeCropRGB, resizedSize, roundHalfEven, CLIP_MEAN, CLIP_STD } from "../src/clip/preprocess";
import { clipPixelLoader } from "../src/clip/imageBatch";
import { ClipNadError } from "../src/errors";

const dir = path.join(__dirname, "fixtures/io/preprocess");
const cases = JSON.parse(fs.readFileSync(path.join(dir, "cases.json"), "utf8")).cases as {
  name: string; input: string; expected: string; width: number; height: number; pilMode: string; resolution: number;
}[];

async function decodePng(file: string): Promise<Uint8Array> {
  const { data } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return new Uint8Array(data);
}

/** Minimal .npy reader for the float32 golden (little-endian '<f4'). */
function readF32Npy(file: string): Float32Array {
  const buf = fs.readFileSync(file);
  const headerLen = buf.readUInt16LE(8);
  const start = 10 + headerLen;
  return new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe("CLIP preprocessing (PIL-exact)", () => {
  it("computes torchvision's resize size and Python's half-to-even rounding", () => {
    expect(resizedSize(640, 480, 224)).toEqual([298, 224]);
    expect(resizedSize(333, 500, 64)).toEqual([64, 96]);
    expect(roundHalfEven(0.5)).toBe(0);
    expect(roundHalfEven(1.5)).toBe(2);
    expect(roundHalfEven(2.5)).toBe(2);
    expect(roundHalfEven(3.4)).toBe(3);
  });

  for (const c of cases) {
    it(`matches PIL 8-bit output and normalisation: ${c.name} (${c.pilMode} ${c.width}×${c.height} → ${c.resolution})`, async () => {
      const img = await loadImage(path.join(dir, c.input));
      expect([img.width, img.height]).toEqual([c.width, c.height]);
      expect(img.nearestOnly).toBe(c.pilMode === "P" || c.pilMode === "1");
      expect(Boolean(img.cmyk)).toBe(c.pilMode === "CMYK");
      expect(img.int32 !== undefined).toBe(c.pilMode === "I");
      const u8 = resizeCropRGB(img, c.resolution);
      const expected = await decodePng(path.join(dir, c.expected));
      expect(maxAbsDiff(u8.data, expected)).toBe(0);
      // normalised output against the same 8-bit reference, ≤ 1e-6
      const pix = (await preprocessImages([path.join(dir, c.input)], c.resolution));
      const plane = c.resolution * c.resolution;
      let worst = 0;
      for (let ch = 0; ch < 3; ch++)
        for (let p = 0; p < plane; p++)
          worst = Math.max(worst, Math.abs(pix[ch * plane + p] - (expected[p * 3 + ch] / 255 - CLIP_MEAN[ch]) / CLIP_STD[ch]));
      expect(worst).toBeLessThanOrEqual(1e-6);
      // collect's and embed's default loader is the same transform (alpha, palette, CMYK, 16-bit included)
      expect(maxAbsDiff(await clipPixelLoader(path.join(dir, c.input), c.resolution), pix)).toBe(0);
    });
  }

  it("reproduces torch's float32 ToTensor + Normalize exactly", async () => {
    const ref = readF32Npy(path.join(dir, "odd_scale.normalised.npy"));
    const rgb = await loadImageRGB(path.join(dir, "odd_scale.png"));
    const out = preprocessRGB(rgb, 48);
    expect(out.length).toBe(3 * 48 * 48);
    expect(maxAbsDiff(out, ref)).toBe(0);
  });

  it("does not resample an image already at the model resolution", async () => {
    const file = path.join(dir, "exact_square.png");
    const rgb = await loadImageRGB(file);
    expect(Array.from(resizeCropRGB({ ...rgb, channels: 3 }, 224).data)).toEqual(Array.from(rgb.data));
  });

  it("batches images B×3×R×R in order", async () => {
    const a = path.join(dir, "gray.png");
    const b = path.join(dir, "rgba.png");
    const batch = await preprocessImages([a, b], 64);
    const one = await preprocessImages([b], 64);
    expect(batch.length).toBe(2 * 3 * 64 * 64);
    expect(maxAbsDiff(batch.subarray(3 * 64 * 64), one)).toBe(0);
  });

  for (const f of ["photo.jpg", "photo.webp", "photo_lossless.webp", "photo_exif_rotated.jpg"]) {
    it(`decodes ${f} like PIL (±2 levels for lossy codecs; EXIF orientation ignored)`, async () => {
      const rgb = await loadImageRGB(path.join(dir, f));
      expect([rgb.width, rgb.height]).toEqual([96, 64]);
      const ref = await decodePng(path.join(dir, f + ".pil.png"));
      const d = maxAbsDiff(rgb.data, ref);
      if (f.includes("lossless")) expect(d).toBe(0);
      else expect(d).toBeLessThanOrEqual(2);
      expect(preprocessRGB(rgb, 32).length).toBe(3 * 32 * 32);
    });
  }

  it("names the file when an image is corrupt, missing or a directory", async () => {
    const corrupt = path.join(dir, "corrupt.png");
    await expect(loadImage(corrupt)).rejects.toThrow(ClipNadError);
    await expect(loadImage(corrupt)).rejects.toThrow(corrupt);
    const missing = path.join(os.tmpdir(), "clip-nad-no-such-image.png");
    await expect(preprocessImages([missing], 32)).rejects.toThrow(`${missing}: image file not found`);
    await expect(loadImage(dir)).rejects.toThrow(/directory/);
    const text = path.join(os.tmpdir(), `clip-nad-not-an-image-${process.pid}.jpg`);
    fs.writeFileSync(text, "hello, I am not a JPEG");
    try {
      await expect(loadImage(text)).rejects.toThrow(text);
    } finally {
      fs.unlinkSync(text);
    }
  });
});

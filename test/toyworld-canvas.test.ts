// Toy-world canvases (segmentation benchmarks): scenes drawn on W×H canvases at the scale of `size` scenes.
import { afterAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import sharp from "sharp";
import { generateScene, renderScene, writeToyDataset, ToyObject } from "../src/toyworld";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-canvas-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const obj = (over: Partial<ToyObject> = {}): ToyObject => ({
  shape: "square",
  colour: "red",
  pattern: "solid",
  size: "large",
  x: 0.5,
  y: 0.5,
  radius: 0.2,
  rotation: 0,
  phase: 0,
  ...over,
});
const spec = (objects: ToyObject[]) => ({
  objects,
  background: { colour: "blue" as const, texture: "plain" as const },
  textureSeed: 3,
});
const area = (mask: Uint8Array) => mask.reduce((s, v) => s + (v > 0 ? 1 : 0), 0);

describe("toy-world canvases", () => {
  it("an object on a 256×192 canvas at scale 128 covers as many pixels as in a 128-px scene", () => {
    const plain = renderScene(spec([obj()]), { size: 128 });
    const canvas = renderScene(spec([obj({ x: 0.3, y: 0.6 })]), { size: 128, canvas: { width: 256, height: 192 } });
    expect([canvas.width, canvas.height]).toEqual([256, 192]);
    expect(canvas.rgb.length).toBe(256 * 192 * 3);
    expect(Math.abs(area(canvas.colourMask) - area(plain.colourMask))).toBeLessThanOrEqual(
      area(plain.colourMask) * 0.02,
    );
    // the square's centre sits at (0.3·256, 0.6·192)
    const cx = Math.round(0.3 * 256),
      cy = Math.round(0.6 * 192);
    expect(canvas.colourMask[cy * 256 + cx]).toBe(1); // red = colour id 1
    expect(canvas.colourMask[10 * 256 + 250]).toBe(0);
  });

  it("object counts scale with the canvas area (per scale² of area: 1..4 objects by default)", () => {
    const counts = Array.from(
      { length: 40 },
      (_, i) => generateScene(9, i, { size: 64, canvas: { width: 128, height: 128 } }).objects.length,
    );
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(4);
    expect(Math.max(...counts)).toBeLessThanOrEqual(16);
    expect(Math.max(...counts)).toBeGreaterThan(8);
    for (const i of [0, 1, 2]) {
      const s = generateScene(9, i, { size: 64, canvas: { width: 128, height: 128 } });
      for (const o of s.objects) {
        // whole objects stay on the canvas (margin = 1.05 radius, in scale units: radius·64 px)
        expect(o.x * 128).toBeGreaterThanOrEqual(o.radius * 64 * 1.05 - 1e-9);
        expect(o.x * 128).toBeLessThanOrEqual(128 - o.radius * 64 * 1.05 + 1e-9);
      }
    }
  });

  it("writes W×H images and masks and records the canvas; a bad canvas is refused before anything is " +
      "written", async () => {
    const out = path.join(tmp, "ds");
    await writeToyDataset(out, { n: 2, seed: 1, size: 64, canvas: { width: 160, height: 96 } });
    const meta = JSON.parse(fs.readFileSync(path.join(out, "dataset.json"), "utf8"));
    expect(meta.canvas).toEqual({ width: 160, height: 96 });
    expect(meta.size).toBe(64);
    for (const dir of ["images", "masks", "colour_masks"]) {
      const m = await sharp(path.join(out, dir, "000001.png")).metadata();
      expect([m.width, m.height]).toEqual([160, 96]);
    }
    const rec = JSON.parse(fs.readFileSync(path.join(out, "index.jsonl"), "utf8").split("\n")[0]);
    expect([rec.width, rec.height]).toEqual([160, 96]);
    const bad = path.join(tmp, "bad");
    await expect(writeToyDataset(bad, { n: 1, seed: 1, canvas: { width: 8, height: 96 } })).rejects.toThrow(
      /canvas width must be an integer in 16\.\.4096, got 8/,
    );
    expect(fs.existsSync(path.join(bad, "images"))).toBe(false);
  });

  it("plain scenes are unchanged by the canvas option's existence (same as rendering with a canvas equal to the " +
      "scene)", () => {
    const a = generateScene(5, 3, { size: 96 });
    const b = generateScene(5, 3, { size: 96, canvas: { width: 96, height: 96 } });
    expect(Buffer.from(b.rgb).equals(Buffer.from(a.rgb))).toBe(true);
    expect(b.objects).toEqual(a.objects);
  });
});

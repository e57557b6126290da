import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import {
  COLOUR_RGB, COLOURS, PATTERNS, SHAPES, SceneSpec, ToyObject, attributeDistribution, backgroundRGB, canonicalCaption,
  generateScene, parseDrift, probabilitiesAt, renderScene, yearOf,
} from "../src/toyworld";
import { ClipNadError } from "../src/errors";

function obj(over: Partial<ToyObject>): ToyObject {
  return { shape: "circle", colour: "red", pattern: "solid", size: "large", x: 0.5, y: 0.5, radius: 0.3, rotation: 0, phase: 0, ...over };
}
function spec(objects: ToyObject[], bg: SceneSpec["background"] = { colour: "green", texture: "plain" }): SceneSpec {
  return { objects, background: bg, textureSeed: 1 };
}
function pixel(rgb: Uint8Array, size: number, x: number, y: number): number[] {
  const o = 3 * (y * size + x);
  return [rgb[o], rgb[o + 1], rgb[o + 2]];
}

describe("toy world scenes", () => {
  it("is deterministic per (seed, index) and differs across indices", () => {
    const a = generateScene(7, 3, { size: 64 });
    const b = generateScene(7, 3, { size: 64 });
    const c = generateScene(7, 4, { size: 64 });
    expect(Buffer.from(a.rgb).equals(Buffer.from(b.rgb))).toBe(true);
    expect(a.captions).toEqual(b.captions);
    expect(Buffer.from(a.rgb).equals(Buffer.from(c.rgb))).toBe(false);
  });

  it("samples 1–4 objects, dominant first, labels and captions that describe them", () => {
    const counts = new Set<number>();
    for (let i = 0; i < 60; i++) {
      const s = generateScene(11, i, { size: 48 });
      counts.add(s.objects.length);
      expect(s.objects.length).toBeGreaterThanOrEqual(1);
      expect(s.objects.length).toBeLessThanOrEqual(4);
      for (const o of s.objects) {
        expect(o.radius).toBeLessThanOrEqual(s.objects[0].radius);
        expect(o.colour).not.toBe(s.background.colour);
      }
      expect(s.labels).toMatchObject({ shape: s.objects[0].shape, colour: s.objects[0].colour, pattern: s.objects[0].pattern, count: s.objects.length });
      expect(s.captions.length).toBe(5);
      expect(s.captions[0]).toBe(canonicalCaption(s));
      for (const o of s.objects) expect(s.captions[0]).toContain(`${o.size} ${o.colour} ${o.pattern} ${o.shape}`);
      expect(s.captions[0]).toContain(`${s.background.colour} ${s.background.texture} background`);
      expect(new Set(s.captions).size).toBeGreaterThan(2);
    }
    expect([...counts].sort()).toEqual([1, 2, 3, 4]);
  });

  it("rasterises colour, background and the per-pixel shape / colour masks", () => {
    const s = renderScene(spec([obj({ shape: "circle", colour: "blue" })]), { size: 64 });
    expect(pixel(s.rgb, 64, 32, 32)).toEqual(COLOUR_RGB.blue);
    expect(pixel(s.rgb, 64, 1, 1)).toEqual(backgroundRGB("green").map(Math.round));
    expect(s.mask[32 * 64 + 32]).toBe(1 + SHAPES.indexOf("circle"));
    expect(s.colourMask[32 * 64 + 32]).toBe(1 + COLOURS.indexOf("blue"));
    expect(s.mask[64 + 1]).toBe(0);
    // Anti-aliased edge: some pixel on the boundary is a blend, neither pure blue nor background.
    const pure = new Set([COLOUR_RGB.blue.join(), backgroundRGB("green").map(Math.round).join()]);
    let blends = 0;
    for (let i = 0; i < 64 * 64; i++) if (!pure.has(pixel(s.rgb, 64, i % 64, Math.floor(i / 64)).join())) blends++;
    expect(blends).toBeGreaterThan(20);
  });

  it("draws every shape kind as a distinct, reasonably sized region", () => {
    const masks = SHAPES.map((shape) => renderScene(spec([obj({ shape })]), { size: 64 }).mask);
    masks.forEach((m, i) => {
      const area = m.reduce((acc, v) => acc + (v === i + 1 ? 1 : 0), 0);
      const disc = Math.PI * (0.3 * 64) ** 2;
      expect(area / disc).toBeGreaterThan(0.3);
      expect(area / disc).toBeLessThan(1.4);
    });
    for (let i = 0; i < masks.length; i++) {
      for (let j = i + 1; j < masks.length; j++) {
        let inter = 0, union = 0;
        for (let k = 0; k < masks[i].length; k++) {
          const a = masks[i][k] > 0, b = masks[j][k] > 0;
          inter += a && b ? 1 : 0;
          union += a || b ? 1 : 0;
        }
        expect(inter / union, `${SHAPES[i]} vs ${SHAPES[j]}`).toBeLessThan(0.9);
      }
    }
  });

  it("fills patterns with two tones (solid with one)", () => {
    for (const pattern of PATTERNS) {
      const s = renderScene(spec([obj({ pattern, radius: 0.4 })]), { size: 96, supersample: 1 });
      const tones = new Set<string>();
      for (let y = 30; y < 66; y++) for (let x = 30; x < 66; x++) tones.add(pixel(s.rgb, 96, x, y).join());
      expect(tones.size, pattern).toBe(pattern === "solid" ? 1 : 2);
    }
  });

  it("builds minimal-pair groups that differ only in the dominant object's shape", () => {
    const group = SHAPES.map((_, i) => generateScene(13, 16 + i, { size: 48, shapeGroups: true }));
    expect(group.map((s) => s.objects[0].shape)).toEqual([...SHAPES]);
    for (const s of group) {
      expect({ ...s.objects[0], shape: "x" }).toEqual({ ...group[0].objects[0], shape: "x" });
      expect(s.objects.slice(1)).toEqual(group[0].objects.slice(1));
      expect(s.background).toEqual(group[0].background);
      expect(s.captions[0]).toContain(s.objects[0].shape);
    }
    expect(Buffer.from(group[0].rgb).equals(Buffer.from(group[1].rgb))).toBe(false);
  });

  it("follows attribute probabilities", () => {
    let yellow = 0, objects = 0;
    for (let i = 0; i < 300; i++) {
      const s = generateScene(3, i, { size: 16, supersample: 1, probabilities: { colour: { yellow: 0.6 }, background: { yellow: 0 } } });
      for (const o of s.objects) {
        objects++;
        yellow += o.colour === "yellow" ? 1 : 0;
      }
    }
    expect(yellow / objects).toBeGreaterThan(0.5);
    expect(yellow / objects).toBeLessThan(0.7);
  });

  it("completes partial probability tables and rejects bad ones", () => {
    const p = attributeDistribution("colour", { yellow: 0.4 });
    expect(p[COLOURS.indexOf("yellow")]).toBeCloseTo(0.4);
    expect(p[0]).toBeCloseTo(0.6 / 9);
    expect(p.reduce((a, b) => a + b)).toBeCloseTo(1);
    expect(() => attributeDistribution("colour", { mauve: 0.1 })).toThrow(ClipNadError);
    expect(() => attributeDistribution("shape", { star: 0.7, heart: 0.5 })).toThrow(/sum to 1\.2/);
  });
});

describe("drift", () => {
  it("parses the drift syntax and interpolates over years", () => {
    const d = parseDrift("yellow:0.05->0.4, background.blue:0.5, years:2000-2010");
    expect(d.terms).toEqual([
      { attribute: "colour", value: "yellow", from: 0.05, to: 0.4 },
      { attribute: "background", value: "blue", from: 0.5, to: 0.5 },
    ]);
    expect(probabilitiesAt(d, 2005).colour!.yellow).toBeCloseTo(0.225);
    expect(probabilitiesAt(d, 2010).colour!.yellow).toBeCloseTo(0.4);
    expect(yearOf(d, 0, 110)).toBe(2000);
    expect(yearOf(d, 109, 110)).toBe(2010);
    expect(parseDrift("shape.star:0->1,years:1-2").terms[0]).toMatchObject({ attribute: "shape", value: "star" });
  });

  it("names what is wrong in a bad drift", () => {
    expect(() => parseDrift("yellow:0.05->0.4")).toThrow(/years/);
    expect(() => parseDrift("yellow:1.5,years:1-2")).toThrow(/'1\.5'/);
    expect(() => parseDrift("mauve:0.1,years:1-2")).toThrow(/mauve/);
    expect(() => parseDrift("years:2010-2000,red:0.1")).toThrow(/Y0 ≤ Y1/);
    expect(() => parseDrift("shade.red:0.1,years:1-2")).toThrow(/unknown attribute 'shade'/);
  });
});

describe("writeToyDataset + CLI", () => {
  it("writes PNGs, masks, index.jsonl and per-year drift statistics through `clip-nad toyworld`", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "toyworld-"));
    // Only this subcommand is registered, so the test does not depend on other commands' modules.
    const { Command } = await import("commander");
    const { register } = await import("../src/cli/commands/toyworld");
    const program = new Command();
    register(program);
    const logs: string[] = [];
    const orig = console.log;
    console.log = (...a: unknown[]) => void logs.push(a.join(" "));
    try {
      await program.parseAsync(["node", "clip-nad", "toyworld", "--out", out, "--n", "90", "--seed", "5", "--size", "32", "--quiet",
        "--drift", "yellow:0.02->0.7,years:2000-2002"]);
    } finally {
      console.log = orig;
    }
    expect(logs[0]).toMatch(/wrote 90 scenes/);
    const lines = fs.readFileSync(path.join(out, "index.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.length).toBe(90);
    expect(lines[0].year).toBe(2000);
    expect(lines[89].year).toBe(2002);
    const png = await sharp(path.join(out, lines[0].image)).raw().toBuffer({ resolveWithObject: true });
    expect([png.info.width, png.info.height, png.info.channels]).toEqual([32, 32, 3]);
    const mask = await sharp(path.join(out, lines[0].mask)).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    expect(mask.info.channels).toBe(1);
    const allowed = new Set([0, ...lines[0].objects.map((o: ToyObject) => 1 + SHAPES.indexOf(o.shape))]);
    expect([...new Set(mask.data)].every((v) => allowed.has(v))).toBe(true);
    expect(mask.data.some((v: number) => v > 0)).toBe(true);
    const meta = JSON.parse(fs.readFileSync(path.join(out, "dataset.json"), "utf8"));
    expect(meta.years.map((y: { year: number }) => y.year)).toEqual([2000, 2001, 2002]);
    const share = meta.years.map((y: { realised: Record<string, number> }) => y.realised["colour.yellow"]);
    expect(share[0]).toBeLessThan(0.15);
    expect(share[2]).toBeGreaterThan(0.45);
    expect(meta.years[1].target["colour.yellow"]).toBeCloseTo(0.36);
    fs.rmSync(out, { recursive: true, force: true });
  });

  it("writes pixels and masks identical to generateScene", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "toyworld-"));
    const { writeToyDataset } = await import("../src/toyworld");
    await writeToyDataset(out, { n: 3, seed: 9, size: 40 });
    for (let i = 0; i < 3; i++) {
      const s = generateScene(9, i, { size: 40 });
      const img = await sharp(path.join(out, "images", `00000${i}.png`)).raw().toBuffer();
      const mask = await sharp(path.join(out, "masks", `00000${i}.png`)).extractChannel(0).raw().toBuffer();
      const cmask = await sharp(path.join(out, "colour_masks", `00000${i}.png`)).extractChannel(0).raw().toBuffer();
      expect(Buffer.from(s.rgb).equals(img)).toBe(true);
      expect(Buffer.from(s.mask).equals(mask)).toBe(true);
      expect(Buffer.from(s.colourMask).equals(cmask)).toBe(true);
    }
    fs.rmSync(out, { recursive: true, force: true });
  });

  it("rejects a bad scene count", async () => {
    const { writeToyDataset } = await import("../src/toyworld");
    await expect(writeToyDataset(os.tmpdir(), { n: 0, seed: 1 })).rejects.toThrow(ClipNadError);
  });
});

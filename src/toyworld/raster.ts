/**
 * Rasterises a scene description straight into an RGB Uint8Array (HWC) plus per-pixel class masks.
 * Objects are anti-aliased by supersampling (ss × ss samples per pixel inside each object's box);
 * a mask pixel belongs to the topmost object covering at least half of it.
 */
import { Rng } from "./random";
import { insideShape } from "./shapes";
import { COLOUR_RGB, COLOURS, SHAPES, ColourName, PatternName } from "./vocab";
import { SceneSpec, ToyObject } from "./types";

export interface Raster {
  width: number;
  height: number;
  /** HWC RGB, 8 bit. */
  rgb: Uint8Array;
  /** Per pixel: 0 = background, 1 + shape index. */
  mask: Uint8Array;
  /** Per pixel: 0 = background, 1 + colour index. */
  colourMask: Uint8Array;
}

type RGB = [number, number, number];

function lerp(a: RGB, b: RGB, t: number): RGB {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

function luminance(c: RGB): number {
  return (0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]) / 255;
}

/** The second colour of a pattern: the object colour pushed towards white (dark colours) or black. */
function patternSecond(c: RGB): RGB {
  return lerp(c, luminance(c) > 0.55 ? [0, 0, 0] : [255, 255, 255], 0.6);
}

/** Background colours are muted a little so objects stand out. */
export function backgroundRGB(colour: ColourName): RGB {
  return lerp(COLOUR_RGB[colour], [128, 128, 128], 0.25);
}

/**
 * Where a scene is drawn: a `width` × `height` canvas whose objects, fill patterns and texture cells have the sizes
 * they have in a `unit` × `unit` scene (a plain scene: all three equal).
 */
export interface CanvasGeometry {
  width: number;
  height: number;
  unit: number;
}

function paintBackground(spec: SceneSpec, g: CanvasGeometry, rgb: Uint8Array): void {
  const { width, height, unit } = g;
  const base = backgroundRGB(spec.background.colour);
  const rng = new Rng(spec.textureSeed);
  const texture = spec.background.texture;
  const angle = rng.uniform(0, 2 * Math.PI);
  // The gradient spans the canvas (its brightness range stays that of a plain scene); cells and lines keep the unit's.
  const span = Math.max(width, height);
  const gx = Math.cos(angle) / span, gy = Math.sin(angle) / span;
  const cell = unit / 8;
  const line = Math.max(1, Math.round(unit / 96));
  const lineColour = patternSecond(base);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let c: RGB = base;
      if (texture === "gradient") {
        const f = 0.72 + 0.5 * ((x - width / 2) * gx + (y - height / 2) * gy + 0.71) / 1.42;
        c = [base[0] * f, base[1] * f, base[2] * f];
      } else if (texture === "grid") {
        if (x % cell < line || y % cell < line) c = lerp(base, lineColour, 0.55);
      } else if (texture === "grainy") {
        const n = (rng.next() - 0.5) * 56;
        c = [base[0] + n, base[1] + n, base[2] + n];
      }
      const o = 3 * (y * width + x);
      rgb[o] = clamp255(c[0]);
      rgb[o + 1] = clamp255(c[1]);
      rgb[o + 2] = clamp255(c[2]);
    }
  }
}

function clamp255(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/** Colour of a fill pattern at pixel position (px, py); the period scales with the image size. */
function patternAt(pattern: PatternName, c: RGB, c2: RGB, px: number, py: number, period: number): RGB {
  switch (pattern) {
    case "solid":
      return c;
    case "striped": {
      const s = (px + py) / period;
      return s - Math.floor(s) < 0.58 ? c : c2;
    }
    case "dotted": {
      const dx = px / period - Math.floor(px / period) - 0.5;
      const dy = py / period - Math.floor(py / period) - 0.5;
      return dx * dx + dy * dy < 0.09 ? c2 : c;
    }
    case "checkered":
      return (Math.floor(px / period) + Math.floor(py / period)) % 2 === 0 ? c : c2;
  }
}

function paintObject(o: ToyObject, g: CanvasGeometry, ss: number, r: Raster): void {
  const { width, height, unit } = g;
  const rgb = r.rgb;
  const c = COLOUR_RGB[o.colour] as RGB;
  const c2 = patternSecond(c);
  const shapeId = 1 + SHAPES.indexOf(o.shape);
  const colourId = 1 + COLOURS.indexOf(o.colour);
  const cx = o.x * width, cy = o.y * height, rad = o.radius * unit;
  const cos = Math.cos(o.rotation), sin = Math.sin(o.rotation);
  const period = Math.max(3, unit / 16);
  // Pattern phase is random per object so fills do not line up across objects.
  const ox = o.phase * period, oy = o.phase * period * 0.61;
  const reach = rad * 1.5; // rotated shapes stay inside 1.5·radius
  const x0 = Math.max(0, Math.floor(cx - reach)), x1 = Math.min(width - 1, Math.ceil(cx + reach));
  const y0 = Math.max(0, Math.floor(cy - reach)), y1 = Math.min(height - 1, Math.ceil(cy + reach));
  const n = ss * ss;
  const inv = 1 / rad;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      let covered = 0, sr = 0, sg = 0, sb = 0;
      for (let j = 0; j < ss; j++) {
        const py = y + (j + 0.5) / ss;
        for (let i = 0; i < ss; i++) {
          const px = x + (i + 0.5) / ss;
          const dx = (px - cx) * inv, dy = (py - cy) * inv;
          // Rotate into object coordinates; flip y so shapes are defined y-up.
          const ux = cos * dx + sin * dy, uy = -(-sin * dx + cos * dy);
          if (!insideShape(o.shape, ux, uy)) continue;
          covered++;
          const col = patternAt(o.pattern, c, c2, px + ox, py + oy, period);
          sr += col[0];
          sg += col[1];
          sb += col[2];
        }
      }
      if (covered === 0) continue;
      const k = 3 * (y * width + x);
      const a = covered / n;
      rgb[k] = clamp255(rgb[k] * (1 - a) + sr / n);
      rgb[k + 1] = clamp255(rgb[k + 1] * (1 - a) + sg / n);
      rgb[k + 2] = clamp255(rgb[k + 2] * (1 - a) + sb / n);
      if (2 * covered >= n) {
        r.mask[y * width + x] = shapeId;
        r.colourMask[y * width + x] = colourId;
      }
    }
  }
}

/** Draw a scene at `size` × `size` pixels with ss × ss supersampling of object edges and fills. */
export function rasterise(spec: SceneSpec, size: number, ss = 2): Raster {
  return rasteriseCanvas(spec, { width: size, height: size, unit: size }, ss);
}

/**
 * Draw a scene on a canvas: x, y are fractions of the canvas width and height, radii fractions of `unit`, and fill
 * patterns and texture cells have their `unit`-scene sizes.
 */
export function rasteriseCanvas(spec: SceneSpec, g: CanvasGeometry, ss = 2): Raster {
  const n = g.width * g.height;
  const r: Raster = {
    width: g.width,
    height: g.height,
    rgb: new Uint8Array(n * 3),
    mask: new Uint8Array(n),
    colourMask: new Uint8Array(n),
  };
  paintBackground(spec, g, r.rgb);
  for (const o of spec.objects) paintObject(o, g, Math.max(1, Math.floor(ss)), r);
  return r;
}

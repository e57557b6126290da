/**
 * Scene sampling: draws objects and a background from (possibly drifting) attribute distributions,
 * then renders pixels, masks, captions and labels.
 */
import { ClipNadError } from "../errors";
import { makeCaptions } from "./captions";
import { rasteriseCanvas } from "./raster";
import { Rng, sceneSeed } from "./random";
import { AttributeProbabilities, Scene, SceneLabels, SceneSpec, ToyObject, ToyWorldOptions } from "./types";
import { ATTRIBUTES, AttributeName, ColourName, SHAPES } from "./vocab";

/** Probability of every value of an attribute, in vocabulary order, from partial probabilities. */
export function attributeDistribution(attr: AttributeName, probs?: Record<string, number>): number[] {
  const values = ATTRIBUTES[attr] as readonly string[];
  const p = new Array<number>(values.length).fill(NaN);
  let fixed = 0;
  for (const [value, prob] of Object.entries(probs ?? {})) {
    const i = values.indexOf(value);
    if (i < 0) throw new ClipNadError(`unknown ${attr} '${value}' (known: ${values.join(", ")})`);
    if (!(prob >= 0 && prob <= 1)) throw new ClipNadError(`probability of ${attr} '${value}' must be in [0, 1], got ${prob}`);
    p[i] = prob;
    fixed += prob;
  }
  const free = p.filter((x) => Number.isNaN(x)).length;
  if (fixed > 1 + 1e-9 || (free === 0 && Math.abs(fixed - 1) > 1e-6)) {
    throw new ClipNadError(`probabilities of ${attr} sum to ${fixed.toFixed(4)}; they must sum to 1 (or less, with values left free)`);
  }
  const share = free > 0 ? Math.max(0, 1 - fixed) / free : 0;
  return p.map((x) => (Number.isNaN(x) ? share : x));
}

export type Distributions = Record<AttributeName, number[]>;

export function resolveDistributions(probs: AttributeProbabilities = {}): Distributions {
  const out = {} as Distributions;
  for (const attr of Object.keys(ATTRIBUTES) as AttributeName[]) out[attr] = attributeDistribution(attr, probs[attr]);
  return out;
}

function draw<A extends AttributeName>(rng: Rng, d: Distributions, attr: A): (typeof ATTRIBUTES)[A][number] {
  return ATTRIBUTES[attr][rng.weighted(d[attr])] as (typeof ATTRIBUTES)[A][number];
}

/** Canvas width and height in scene-scale units (1 × 1 for a plain scene), checked. */
export function canvasScale(opts: ToyWorldOptions): { sx: number; sy: number } {
  if (!opts.canvas) return { sx: 1, sy: 1 };
  const size = opts.size ?? 128;
  const { width, height } = opts.canvas;
  for (const [name, v] of [["width", width], ["height", height]] as const) {
    if (!(Number.isInteger(v) && v >= 16 && v <= 4096))
      throw new ClipNadError(`canvas ${name} must be an integer in 16..4096, got ${v}`);
  }
  return { sx: width / size, sy: height / size };
}

/**
 * Sample a scene description (no pixels). objects[0] is the largest object. On a canvas (`opts.canvas`) the object
 * count range is per scene-sized area of canvas and positions spread over the whole canvas.
 */
export function sampleSceneSpec(rng: Rng, opts: ToyWorldOptions = {}, dists?: Distributions): SceneSpec {
  const d = dists ?? resolveDistributions(opts.probabilities);
  const minN = opts.minObjects ?? 1, maxN = opts.maxObjects ?? 4;
  if (!(minN >= 1 && maxN >= minN && maxN <= 8)) throw new ClipNadError(`object count range ${minN}..${maxN} must satisfy 1 ≤ min ≤ max ≤ 8`);
  const { sx, sy } = canvasScale(opts);
  const area = sx * sy;
  const background = { colour: draw(rng, d, "background") as ColourName, texture: draw(rng, d, "texture") };
  const count =
    area === 1
      ? rng.int(minN, maxN)
      : rng.int(Math.max(1, Math.round(minN * area)), Math.max(1, Math.round(maxN * area)));
  const drafts: ToyObject[] = [];
  for (let i = 0; i < count; i++) {
    const size = draw(rng, d, "size");
    // Object colours avoid the background colour (redrawn a few times, then the nearest other value).
    let colour = draw(rng, d, "colour") as ColourName;
    for (let t = 0; t < 8 && colour === background.colour; t++) colour = draw(rng, d, "colour") as ColourName;
    if (colour === background.colour) colour = ATTRIBUTES.colour[(ATTRIBUTES.colour.indexOf(colour) + 1) % ATTRIBUTES.colour.length];
    // Sizes shrink a little in crowded scenes so objects still fit.
    const crowd = count >= 3 * area ? 0.85 : 1;
    const radius = (size === "large" ? rng.uniform(0.19, 0.25) : rng.uniform(0.09, 0.12)) * crowd;
    drafts.push({
      shape: draw(rng, d, "shape"), colour, pattern: draw(rng, d, "pattern"), size,
      x: 0, y: 0, radius, rotation: rng.uniform(-0.26, 0.26), phase: rng.next(),
    });
  }
  drafts.sort((a, b) => b.radius - a.radius);
  const placed: ToyObject[] = [];
  for (const o of drafts) {
    let best = { x: 0.5, y: 0.5, score: -Infinity };
    for (let t = 0; t < 24; t++) {
      // Margins and gaps in scene units (x, y are fractions of the canvas sides).
      const m = o.radius * 1.05;
      const x = rng.uniform(m / sx, 1 - m / sx), y = rng.uniform(m / sy, 1 - m / sy);
      // Score = smallest gap to already placed objects; stop at the first non-overlapping spot.
      let score = Infinity;
      for (const p of placed)
        score = Math.min(score, Math.hypot((x - p.x) * sx, (y - p.y) * sy) - 0.9 * (o.radius + p.radius));
      if (score > best.score) best = { x, y, score };
      if (score >= 0) break;
    }
    placed.push({ ...o, x: best.x, y: best.y });
  }
  return { objects: placed, background, textureSeed: Math.floor(rng.next() * 4294967296) };
}

export function sceneLabels(spec: SceneSpec): SceneLabels {
  const o = spec.objects[0];
  return {
    shape: o.shape, colour: o.colour, pattern: o.pattern, size: o.size,
    background: spec.background.colour, texture: spec.background.texture, count: spec.objects.length,
  };
}

/** Scene `index` of the dataset with seed `seed`: deterministic, independent of other scenes. */
export function generateScene(seed: number, index: number, opts: ToyWorldOptions = {}, dists?: Distributions): Scene {
  const s = sceneSeed(seed, index);
  if (opts.shapeGroups) {
    const k = SHAPES.length;
    const base = sampleSceneSpec(new Rng(sceneSeed(seed, Math.floor(index / k))), opts, dists);
    const objects = base.objects.map((o, i) => (i === 0 ? { ...o, shape: SHAPES[index % k] } : o));
    return renderScene({ ...base, objects }, { ...opts, seed: s, index, rng: new Rng(s) });
  }
  const rng = new Rng(s);
  const spec = sampleSceneSpec(rng, opts, dists);
  return renderScene(spec, { ...opts, seed: s, index, rng });
}

/** Render a given description (e.g. a hand-written test scene). */
export function renderScene(spec: SceneSpec, opts: ToyWorldOptions & { seed?: number; index?: number; rng?: Rng } = {}): Scene {
  const size = opts.size ?? 128;
  if (!(Number.isInteger(size) && size >= 16 && size <= 2048)) throw new ClipNadError(`image size must be an integer in 16..2048, got ${size}`);
  canvasScale(opts);
  const geometry = opts.canvas ? { ...opts.canvas, unit: size } : { width: size, height: size, unit: size };
  const raster = rasteriseCanvas(spec, geometry, opts.supersample ?? 2);
  const captions = makeCaptions(spec, opts.rng ?? new Rng(spec.textureSeed ^ 0x5bd1e995));
  const scene: Scene = {
    ...spec, index: opts.index ?? 0, seed: opts.seed ?? 0, width: geometry.width, height: geometry.height,
    rgb: raster.rgb, mask: raster.mask, colourMask: raster.colourMask, captions, labels: sceneLabels(spec),
  };
  if (opts.year !== undefined) scene.year = opts.year;
  return scene;
}

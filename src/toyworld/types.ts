import { AttributeName, ColourName, PatternName, ShapeName, SizeName, TextureName } from "./vocab";

/**
 * One object in a scene. Positions and radius are fractions of the image side, so specs are resolution-free (on a
 * canvas, x and y are fractions of its width and height and the radius a fraction of the scene scale).
 */
export interface ToyObject {
  shape: ShapeName;
  colour: ColourName;
  pattern: PatternName;
  size: SizeName;
  /** Centre, as a fraction of the image width / height (0 = left / top). */
  x: number;
  y: number;
  /** Radius as a fraction of the image side. */
  radius: number;
  /** Rotation in radians (small, so a diamond never looks like a square). */
  rotation: number;
  /** Phase of the fill pattern in [0, 1). */
  phase: number;
}

export interface ToyBackground {
  colour: ColourName;
  texture: TextureName;
}

/** A scene without pixels: enough to render it at any resolution. objects[0] is the dominant (largest) one. */
export interface SceneSpec {
  objects: ToyObject[];
  background: ToyBackground;
  /** Seed of the background texture noise. */
  textureSeed: number;
}

/** Class labels for zero-shot evaluation: attributes of the dominant object and of the background. */
export interface SceneLabels {
  shape: ShapeName;
  colour: ColourName;
  pattern: PatternName;
  size: SizeName;
  background: ColourName;
  texture: TextureName;
  count: number;
}

export interface Scene extends SceneSpec {
  index: number;
  seed: number;
  year?: number;
  width: number;
  height: number;
  /** HWC RGB. */
  rgb: Uint8Array;
  /** Per pixel: 0 = background, 1 + index in SHAPES. */
  mask: Uint8Array;
  /** Per pixel: 0 = background, 1 + index in COLOURS. */
  colourMask: Uint8Array;
  captions: string[];
  labels: SceneLabels;
}

/**
 * Probabilities for some values of an attribute, e.g. {yellow: 0.3}. Values not listed share the rest
 * of the probability mass equally. A full table (summing to 1) fixes the distribution completely.
 */
export type AttributeProbabilities = Partial<Record<AttributeName, Record<string, number>>>;

export interface ToyWorldOptions {
  /** Image side in pixels (default 128). */
  size?: number;
  /** Supersampling factor per axis for anti-aliasing (default 2). */
  supersample?: number;
  /** Number of objects per scene, inclusive range (default 1..4). */
  minObjects?: number;
  maxObjects?: number;
  /** Attribute probabilities (default uniform over every value). */
  probabilities?: AttributeProbabilities;
  /** Year stamped on the scene (drifting datasets). */
  year?: number;
  /**
   * Minimal-pair groups: every run of SHAPES.length consecutive scenes shares one sampled scene and differs only in
   * the dominant object's shape, which runs through all shapes in vocabulary order (training data that makes shape
   * the only cue inside a group).
   */
  shapeGroups?: boolean;
  /**
   * Draw each scene on a larger canvas (segmentation benchmarks): `size` then sets the scale — objects, fill
   * patterns and texture cells are as large as in a `size` × `size` scene — and the object count range is per
   * `size` × `size` of canvas area, so any `size` window of the canvas looks like a training scene.
   */
  canvas?: { width: number; height: number };
}

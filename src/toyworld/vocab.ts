/**
 * The toy world's vocabulary: shapes, colours, fill patterns, sizes and background textures.
 * Index order is part of the data format: mask class ids are 1 + shape index (0 = background),
 * colour-mask ids are 1 + colour index.
 */

export const SHAPES = ["circle", "square", "triangle", "star", "heart", "cross", "diamond", "hexagon"] as const;
export type ShapeName = (typeof SHAPES)[number];

export const COLOURS = ["red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "white", "black"] as const;
export type ColourName = (typeof COLOURS)[number];

/** sRGB of each colour, chosen to be clearly distinct from each other. */
export const COLOUR_RGB: Record<ColourName, [number, number, number]> = {
  red: [215, 35, 35],
  orange: [245, 140, 20],
  yellow: [245, 220, 30],
  green: [40, 160, 60],
  blue: [35, 80, 215],
  purple: [130, 50, 170],
  pink: [245, 130, 190],
  brown: [120, 70, 30],
  white: [245, 245, 245],
  black: [20, 20, 20],
};

export const PATTERNS = ["solid", "striped", "dotted", "checkered"] as const;
export type PatternName = (typeof PATTERNS)[number];

export const SIZES = ["small", "large"] as const;
export type SizeName = (typeof SIZES)[number];

/** Background textures use words distinct from object fill patterns so captions stay unambiguous. */
export const TEXTURES = ["plain", "grainy", "gradient", "grid"] as const;
export type TextureName = (typeof TEXTURES)[number];

/** Mask class names, index = class id (0 = background). */
export const SHAPE_CLASSES: readonly string[] = ["background", ...SHAPES];
/** Colour-mask class names, index = class id (0 = background). */
export const COLOUR_CLASSES: readonly string[] = ["background", ...COLOURS];

/** The attributes a distribution can be set for, and their values. */
export const ATTRIBUTES = {
  shape: SHAPES,
  colour: COLOURS,
  pattern: PATTERNS,
  size: SIZES,
  background: COLOURS,
  texture: TEXTURES,
} as const;
export type AttributeName = keyof typeof ATTRIBUTES;
export const ATTRIBUTE_NAMES = Object.keys(ATTRIBUTES) as AttributeName[];

/** The words the toy captions describe scenes with (colours, shapes, patterns, sizes, textures): the toy model's vocabulary. */
export const CAPTION_WORDS: readonly string[] = [...COLOURS, ...SHAPES, ...PATTERNS, ...SIZES, ...TEXTURES];

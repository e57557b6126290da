/**
 * Varied captions for a scene. Caption 0 is the complete, canonical description (every object with size,
 * colour, pattern and shape, plus the background); the others omit or reorder attributes the way
 * real alt-texts do. All stay within ~30 BPE tokens so a 32-token text context holds them.
 */
import { Rng } from "./random";
import { SceneSpec, ToyObject } from "./types";

const COUNT_WORDS = ["zero", "one", "two", "three", "four", "five", "six"];

export function article(word: string): string {
  return /^[aeiou]/.test(word) ? "an" : "a";
}

export function plural(shape: string): string {
  return shape === "cross" ? "crosses" : `${shape}s`;
}

function phrase(words: string[]): string {
  const w = words.filter(Boolean);
  return `${article(w[0])} ${w.join(" ")}`;
}

/** "a large red striped star" (full) or "a red star" style phrases. */
export function describeObject(o: ToyObject, opts: { size?: boolean; pattern?: "always" | "unlessSolid" | "never" } = {}): string {
  const pat = opts.pattern ?? "always";
  const pattern = pat === "always" || (pat === "unlessSolid" && o.pattern !== "solid") ? o.pattern : "";
  return phrase([opts.size === false ? "" : o.size, o.colour, pattern, o.shape]);
}

function joinList(items: string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/** The canonical caption: every attribute of every object, dominant object first, then the background. */
export function canonicalCaption(spec: SceneSpec): string {
  const objs = joinList(spec.objects.map((o) => describeObject(o)));
  return `${objs} on ${phrase([spec.background.colour, spec.background.texture])} background`;
}

export function makeCaptions(spec: SceneSpec, rng: Rng): string[] {
  const objs = spec.objects;
  const main = objs[0];
  const bg = spec.background;
  const captions = [canonicalCaption(spec)];

  // Shuffled, solid omitted, sometimes no background.
  const shuffled = rng.shuffled(objs).map((o) => describeObject(o, { size: rng.chance(0.5), pattern: "unlessSolid" }));
  captions.push(joinList(shuffled) + (rng.chance(0.6) ? ` on ${phrase([bg.colour])} background` : ""));

  // The dominant object only.
  const lead = rng.pick(["a photo of", "a picture of", "an image of", "a drawing of"]);
  captions.push(`${lead} ${describeObject(main)}`);

  // Attribute sentence about the dominant object, plus a neighbour.
  let sentence = `${phrase([main.shape])} that is ${main.colour} and ${main.pattern}`;
  if (objs.length > 1) sentence += ` next to ${describeObject(objs[1], { size: false, pattern: "never" })}`;
  captions.push(sentence);

  // Counting and the background.
  const n = objs.length;
  const sameShape = objs.every((o) => o.shape === main.shape);
  const noun = sameShape ? (n === 1 ? main.shape : plural(main.shape)) : n === 1 ? "shape" : "shapes";
  captions.push(`${COUNT_WORDS[n] ?? String(n)} ${noun} on ${phrase([bg.colour, bg.texture])} background`);
  return captions;
}

/**
 * Drift over "years": attribute probabilities that change linearly from a start to an end value.
 *
 * Syntax (comma-separated items):
 *   [attribute.]value:P0->P1   probability of `value` goes from P0 (first year) to P1 (last year)
 *   [attribute.]value:P        constant probability
 *   years:Y0-Y1                the years spanned (inclusive); scenes are spread evenly over them
 * A bare value is looked up in shape, colour, pattern, size, texture (in that order); background colours
 * need the prefix, e.g. "background.blue:0.5->0.1". Example: "yellow:0.05->0.4,star:0.1->0.3,years:2000-2010".
 */
import { ClipNadError } from "../errors";
import { AttributeProbabilities } from "./types";
import { ATTRIBUTES, AttributeName } from "./vocab";

export interface DriftTerm {
  attribute: AttributeName;
  value: string;
  from: number;
  to: number;
}

export interface DriftSpec {
  terms: DriftTerm[];
  firstYear: number;
  lastYear: number;
}

const LOOKUP_ORDER: AttributeName[] = ["shape", "colour", "pattern", "size", "texture"];

function parseProb(text: string, item: string): number {
  const p = Number(text);
  if (text.trim() === "" || !Number.isFinite(p) || p < 0 || p > 1) {
    throw new ClipNadError(`drift item '${item}': probability '${text}' must be a number in [0, 1]`);
  }
  return p;
}

export interface AttributeValue {
  attribute: AttributeName;
  value: string;
}

/**
 * "attribute.value" or a bare value (looked up in shape, colour, pattern, size, texture, in that order) → the
 * attribute and value; `what` prefixes the error messages.
 */
export function resolveAttributeValue(key: string, what = "toy-world concept"): AttributeValue {
  const k = key.trim().toLowerCase();
  if (!k) throw new ClipNadError(`${what}: empty attribute value`);
  if (k.includes(".")) {
    const [a, value] = k.split(".", 2);
    const canonical = a === "color" ? "colour" : a;
    if (!(canonical in ATTRIBUTES)) {
      throw new ClipNadError(`${what}: unknown attribute '${a}' (known: ${Object.keys(ATTRIBUTES).join(", ")})`);
    }
    const attribute = canonical as AttributeName;
    if (!(ATTRIBUTES[attribute] as readonly string[]).includes(value)) {
      throw new ClipNadError(`${what}: unknown ${attribute} '${value}' (known: ${ATTRIBUTES[attribute].join(", ")})`);
    }
    return { attribute, value };
  }
  const attribute = LOOKUP_ORDER.find((a) => (ATTRIBUTES[a] as readonly string[]).includes(k));
  if (!attribute) throw new ClipNadError(`${what}: '${k}' is not a shape, colour, pattern, size or texture`);
  return { attribute, value: k };
}

export function parseDrift(text: string): DriftSpec {
  const terms: DriftTerm[] = [];
  let years: [number, number] | undefined;
  for (const raw of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const colon = raw.indexOf(":");
    if (colon < 0) throw new ClipNadError(`drift item '${raw}': expected 'value:P0->P1' or 'years:Y0-Y1'`);
    const key = raw.slice(0, colon).trim().toLowerCase();
    const rhs = raw.slice(colon + 1).trim();
    if (key === "years") {
      const m = /^(-?\d+)\s*-\s*(-?\d+)$/.exec(rhs);
      if (!m || Number(m[2]) < Number(m[1])) throw new ClipNadError(`drift item '${raw}': expected years:Y0-Y1 with Y0 ≤ Y1`);
      years = [Number(m[1]), Number(m[2])];
      continue;
    }
    const { attribute, value } = resolveAttributeValue(key, `drift item '${raw}'`);
    const parts = rhs.split("->");
    if (parts.length > 2) throw new ClipNadError(`drift item '${raw}': expected P0->P1`);
    const from = parseProb(parts[0], raw);
    const to = parts.length === 2 ? parseProb(parts[1], raw) : from;
    if (terms.some((t) => t.attribute === attribute && t.value === value)) throw new ClipNadError(`drift item '${raw}': ${attribute} '${value}' given twice`);
    terms.push({ attribute, value, from, to });
  }
  if (terms.length === 0) throw new ClipNadError(`drift '${text}' has no value:P0->P1 item`);
  if (!years) throw new ClipNadError(`drift '${text}' needs a years:Y0-Y1 item`);
  return { terms, firstYear: years[0], lastYear: years[1] };
}

/** Year of scene `index` out of `n`: the years are spread evenly, earliest first. */
export function yearOf(drift: DriftSpec, index: number, n: number): number {
  const span = drift.lastYear - drift.firstYear + 1;
  return drift.firstYear + Math.min(span - 1, Math.floor((index * span) / Math.max(1, n)));
}

/** Target probabilities in a given year (linear interpolation between the first and last year). */
export function probabilitiesAt(drift: DriftSpec, year: number): AttributeProbabilities {
  const span = drift.lastYear - drift.firstYear;
  const t = span === 0 ? 0 : Math.min(1, Math.max(0, (year - drift.firstYear) / span));
  const out: AttributeProbabilities = {};
  for (const term of drift.terms) {
    const table = (out[term.attribute] ??= {});
    table[term.value] = term.from + (term.to - term.from) * t;
  }
  return out;
}

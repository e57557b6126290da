import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { normalizeRows } from "../util/rows";

/**
 * Prompt templates (paper.md §A.8): a name is embedded with every template ("a bad photo of a {}.", …), each
 * template embedding is L2-normalised, the mean is taken and normalised again. Used for class names (zero-shot),
 * concepts (distribution shift), dictionary words (sparse text decomposition) and queries.
 */

/** Embeds texts; returns texts.length × d un-normalised embeddings (e.g. `(t) => model.encodeTexts(t)`). */
export type TextEncoder = (texts: string[]) => Promise<Float32Array>;

export const DEFAULT_TEMPLATES_PATH = path.join(__dirname, "..", "..", "assets", "text", "text_templates.json");

/** The 80 OpenAI ImageNet templates from assets/text/text_templates.json (or another file of that shape). */
export function loadTemplates(file = DEFAULT_TEMPLATES_PATH): string[] {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new ClipNadError(`cannot read templates: ${(e as Error).message}`, { file });
  }
  const list = Array.isArray(raw) ? raw : (raw as Record<string, unknown>)?.OPENAI_IMAGENET_TEMPLATES;
  if (!Array.isArray(list) || list.length === 0 || !list.every((t) => typeof t === "string" && t.includes("{}"))) {
    throw new ClipNadError("expected a list of templates containing '{}'", { file, key: "OPENAI_IMAGENET_TEMPLATES" });
  }
  return list as string[];
}

export function fillTemplate(template: string, name: string): string {
  return template.split("{}").join(name);
}

export interface TemplateOptions {
  /** Default: the 80 OpenAI ImageNet templates. */
  templates?: string[];
  /** Called after each name with (names done, names). */
  onProgress?: (done: number, total: number) => void;
}

/** One unit row per name (names × d): normalise each template embedding, average, normalise. */
export async function templateEmbeddings(names: string[], encode: TextEncoder, opts: TemplateOptions = {}): Promise<Float32Array> {
  const templates = opts.templates ?? loadTemplates();
  if (names.length === 0) throw new ClipNadError("no names to embed");
  if (templates.length === 0 || !templates.every((t) => t.includes("{}"))) throw new ClipNadError("templates must each contain '{}'");
  let out: Float32Array | undefined;
  let d = 0;
  for (let c = 0; c < names.length; c++) {
    const texts = templates.map((t) => fillTemplate(t, names[c]));
    const emb = await encode(texts);
    if (!d) {
      d = emb.length / texts.length;
      if (!Number.isInteger(d) || d < 1) throw new ClipNadError(`text encoder returned ${emb.length} values for ${texts.length} texts`);
      out = new Float32Array(names.length * d);
    }
    if (emb.length !== texts.length * d) throw new ClipNadError(`text encoder returned ${emb.length} values for ${texts.length} texts (d=${d})`);
    normalizeRows(emb, d);
    const mean = new Float64Array(d);
    for (let t = 0; t < texts.length; t++) for (let j = 0; j < d; j++) mean[j] += emb[t * d + j] / texts.length;
    for (let j = 0; j < d; j++) out![c * d + j] = mean[j];
    opts.onProgress?.(c + 1, names.length);
  }
  return normalizeRows(out!, d);
}

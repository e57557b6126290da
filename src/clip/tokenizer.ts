import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { ClipNadError } from "../errors";
import { fixText } from "./ftfy";
import { htmlUnescape } from "./htmlEntities";

/**
 * Exact port of OpenAI CLIP's byte-level BPE tokenizer (clip/simple_tokenizer.py); ids agree with
 * tools/oracle/simple_tokenizer.py on the committed goldens (test/fixtures/io/tokenizer_goldens.json).
 * ftfy.fix_text is ported without its mojibake repair (see ftfy.ts), exactly as in the Python port.
 */

export const SOT_TOKEN = 49406;
export const EOT_TOKEN = 49407;
const SOT = "<|startoftext|>";
const EOT = "<|endoftext|>";

export const DEFAULT_BPE_PATH = path.resolve(__dirname, "..", "..", "assets", "text", "bpe_simple_vocab_16e6.txt.gz");

// Python regex `\s` (Unicode White_Space: JS `\s` plus U+0085, minus U+FEFF) and `str.strip()` (also U+001C–U+001F).
const WS = "\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const WS_RUN = new RegExp(`[${WS}]+`, "gu");
const STRIP = new RegExp(`^[${WS}\\u001c-\\u001f]+|[${WS}\\u001c-\\u001f]+$`, "gu");
const SPLIT = new RegExp(
  `<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^${WS}\\p{L}\\p{N}]+`,
  "giu",
);

/** Byte value → printable char, in OpenAI's insertion order (printable bytes first, then 256+n). */
export function bytesToUnicode(): Map<number, string> {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  const printable = new Set(bs);
  for (let b = 0; b < 256; b++) {
    if (!printable.has(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const map = new Map<number, string>();
  bs.forEach((b, i) => map.set(b, String.fromCodePoint(cs[i])));
  return map;
}

function pythonStrip(s: string): string {
  return s.replace(STRIP, "");
}

/** basic_clean + whitespace_clean + lower, in CLIP's order. */
export function cleanText(text: string): string {
  let t = fixText(text);
  t = pythonStrip(htmlUnescape(htmlUnescape(t)));
  t = pythonStrip(t.replace(WS_RUN, " "));
  return t.toLowerCase();
}

export class ClipTokenizer {
  readonly encoder = new Map<string, number>();
  readonly decoder = new Map<number, string>();
  private readonly byteEncoder = bytesToUnicode();
  private readonly byteDecoder = new Map<string, number>();
  private readonly ranks = new Map<string, number>(); // "a b" → merge rank (symbols never contain a space)
  private readonly cache = new Map<string, string[]>([[SOT, [SOT]], [EOT, [EOT]]]);

  constructor(bpePath: string = DEFAULT_BPE_PATH) {
    let text: string;
    try {
      text = zlib.gunzipSync(fs.readFileSync(bpePath)).toString("utf8");
    } catch (e) {
      throw new ClipNadError(`cannot read the BPE vocabulary (${(e as Error).message})`, { file: bpePath, cause: e });
    }
    const merges = text.split("\n").slice(1, 49152 - 256 - 2 + 1).map((m) => m.split(/\s+/).filter(Boolean));
    for (const [b, c] of this.byteEncoder) this.byteDecoder.set(c, b);
    const vocab: string[] = [...this.byteEncoder.values()];
    for (const v of [...vocab]) vocab.push(v + "</w>");
    for (const m of merges) vocab.push(m.join(""));
    vocab.push(SOT, EOT);
    vocab.forEach((v, i) => this.encoder.set(v, i)); // later duplicates win, like dict(zip(...))
    for (const [k, v] of this.encoder) this.decoder.set(v, k);
    merges.forEach((m, i) => this.ranks.set(`${m[0]} ${m[1]}`, i));
  }

  /** BPE of one pre-token (already mapped to byte-chars): repeatedly merge the lowest-rank adjacent pair. */
  bpe(token: string): string[] {
    const cached = this.cache.get(token);
    if (cached) return cached;
    const chars = Array.from(token);
    let word = chars.slice(0, -1).concat(chars[chars.length - 1] + "</w>");
    if (word.length === 1) return word;
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const first = word[best];
      const second = word[best + 1];
      const merged: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (i < word.length - 1 && word[i] === first && word[i + 1] === second) {
          merged.push(first + second);
          i += 2;
        } else {
          merged.push(word[i]);
          i += 1;
        }
      }
      word = merged;
      if (word.length === 1) break;
    }
    this.cache.set(token, word);
    return word;
  }

  /** Token ids of a text, without SOT/EOT framing. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const m of cleanText(text).matchAll(SPLIT)) {
      let chars = "";
      for (const b of Buffer.from(m[0], "utf8")) chars += this.byteEncoder.get(b)!;
      for (const piece of this.bpe(chars)) ids.push(this.encoder.get(piece)!);
    }
    return ids;
  }

  decode(ids: ArrayLike<number>): string {
    let chars = "";
    for (let i = 0; i < ids.length; i++) chars += this.decoder.get(ids[i]) ?? "";
    const bytes = Array.from(chars, (c) => this.byteDecoder.get(c) ?? 63);
    return Buffer.from(bytes).toString("utf8").replace(/<\/w>/g, " ");
  }
}

let shared: ClipTokenizer | undefined;

/** The tokenizer over the bundled vocabulary, built once (≈0.3 s). */
export function getTokenizer(): ClipTokenizer {
  if (!shared) shared = new ClipTokenizer();
  return shared;
}

/**
 * CLIP `tokenize`: one Int32Array per text, `[49406] + ids + [49407]` zero-padded to contextLength.
 * truncate (default true, like open_clip) cuts and forces EOT last; truncate=false throws like OpenAI's clip.tokenize.
 */
export function tokenize(texts: string | string[], contextLength = 77, opts: { truncate?: boolean } = {}): Int32Array[] {
  const truncate = opts.truncate ?? true;
  const list = typeof texts === "string" ? [texts] : texts;
  const tok = getTokenizer();
  return list.map((text) => {
    let ids = [SOT_TOKEN, ...tok.encode(text), EOT_TOKEN];
    if (ids.length > contextLength) {
      if (!truncate) {
        throw new ClipNadError(`text is too long for context length ${contextLength} (${ids.length} tokens): ${JSON.stringify(text.slice(0, 80))}`);
      }
      ids = ids.slice(0, contextLength);
      ids[contextLength - 1] = EOT_TOKEN;
    }
    const row = new Int32Array(contextLength);
    row.set(ids);
    return row;
  });
}

/** tokenize() packed into one B×contextLength array, the layout the text graph takes. */
export function tokenizeBatch(texts: string[], contextLength = 77, opts: { truncate?: boolean } = {}): Int32Array {
  const rows = tokenize(texts, contextLength, opts);
  const out = new Int32Array(rows.length * contextLength);
  rows.forEach((r, i) => out.set(r, i * contextLength));
  return out;
}

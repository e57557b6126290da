import * as fs from "fs";
import * as path from "path";
import { htmlUnescape } from "./htmlEntities";

/**
 * `ftfy.fix_text` (ftfy 6.3, default config) as CLIP's tokenizer applies it, minus the mojibake repair
 * (fix_encoding), which is heuristic and not ported: text that already is mojibake stays as it is.
 * Steps per line segment, repeated until nothing changes: HTML entities (off from the first segment with '<'),
 * C1 controls as Windows-1252, Latin ligatures, half/full width, curly quotes, line breaks, lone surrogates,
 * ANSI escapes, control characters, NFC. Tables come from ftfy itself (ftfyTables.json, written by
 * tools/oracle/make_goldens_io.py); the Python port tools/oracle/simple_tokenizer.py does the same.
 */

interface FtfyTables {
  htmlEntities: Record<string, string>;
  controlChars: number[];
  c1: Record<string, string>;
  ligatures: Record<string, string>;
  widthMap: Record<string, string>;
  singleQuotes: string;
  doubleQuotes: string;
}

interface Tables {
  entities: Map<string, string>;
  translate: Map<number, string>; // ligatures, then width, applied as two passes
  width: Map<number, string>;
  control: Set<number>;
  c1: Map<number, string>;
  single: RegExp;
  double: RegExp;
}

let tables: Tables | undefined;

function load(): Tables {
  if (!tables) {
    const t = JSON.parse(fs.readFileSync(path.join(__dirname, "ftfyTables.json"), "utf8")) as FtfyTables;
    const numeric = (o: Record<string, string>) => new Map(Object.entries(o).map(([k, v]) => [Number(k), v] as [number, string]));
    tables = {
      entities: new Map(Object.entries(t.htmlEntities)),
      translate: numeric(t.ligatures),
      width: numeric(t.widthMap),
      control: new Set(t.controlChars),
      c1: numeric(t.c1),
      single: new RegExp(t.singleQuotes, "gu"),
      double: new RegExp(t.doubleQuotes, "gu"),
    };
  }
  return tables;
}

const ENTITY = /&#?[0-9A-Za-z]{1,24};/g;
const C1 = /[\x80-\x9f]/g;
// Python's re `\d` is any Unicode decimal digit.
const ANSI = /\x1b\[((?:\p{Nd}|;)*)([a-zA-Z])/gu;
const LONE_SURROGATE = /[\ud800-\udfff]/gu; // with `u`, only unpaired surrogates match

/** str.translate: map or (null → delete) per code point. */
function translate(text: string, map: Map<number, string>): string {
  let out = "";
  for (const ch of text) {
    const r = map.get(ch.codePointAt(0)!);
    out += r === undefined ? ch : r;
  }
  return out;
}

function removeControl(text: string, control: Set<number>): string {
  let out = "";
  for (const ch of text) if (!control.has(ch.codePointAt(0)!)) out += ch;
  return out;
}

function unescapeEntity(match: string, entities: Map<string, string>): string {
  const hit = entities.get(match);
  if (hit !== undefined) return hit;
  if (match.startsWith("&#")) {
    const u = htmlUnescape(match);
    return u.includes(";") ? match : u;
  }
  return match;
}

function fixSegment(text: string, unescape: boolean): string {
  const t = load();
  for (;;) {
    const orig = text;
    if (unescape) text = text.replace(ENTITY, (m) => unescapeEntity(m, t.entities));
    text = text.replace(C1, (m) => t.c1.get(m.charCodeAt(0)) ?? m);
    text = translate(text, t.translate);
    text = translate(text, t.width);
    text = text.replace(t.double, '"').replace(t.single, "'");
    text = text.replace(/\r\n/g, "\n").replace(/\r/g, "\n").replace(/\u2028/g, "\n").replace(/\u2029/g, "\n").replace(/\u0085/g, "\n");
    text = text.replace(LONE_SURROGATE, "\ufffd");
    text = text.replace(ANSI, "");
    text = removeControl(text, t.control);
    text = text.normalize("NFC");
    if (text === orig) return text;
  }
}

// Printable ASCII plus tab/newline/form feed, without '&': every step above leaves such text unchanged.
const UNCHANGED_ASCII = /^[\x20-\x25\x27-\x7e\t\n\f]*$/;

/** ftfy.fix_text without fix_encoding (see module doc). */
export function fixText(text: string): string {
  if (UNCHANGED_ASCII.test(text)) return text;
  const out: string[] = [];
  let pos = 0;
  let unescape = true;
  while (pos < text.length) {
    let brk = text.indexOf("\n", pos) + 1;
    if (brk === 0) brk = text.length;
    if (brk - pos > 1_000_000) brk = pos + 1_000_000;
    const segment = text.slice(pos, brk);
    if (unescape && segment.includes("<")) unescape = false;
    out.push(fixSegment(segment, unescape));
    pos = brk;
  }
  return out.join("");
}

import * as fs from "fs";
import * as path from "path";

/**
 * Port of Python's `html.unescape` (CPython 3.11 Lib/html/__init__.py), which CLIP's tokenizer applies twice.
 * The HTML5 entity table and the invalid-charref tables are dumped from CPython into htmlEntities.json
 * (tools/oracle/make_goldens_io.py) so named references, prefix matches without ';' and numeric edge cases agree.
 */
interface EntityTables {
  html5: Record<string, string>;
  invalidCharrefs: Record<string, string>;
  invalidCodepoints: number[];
}

let tables: { html5: Map<string, string>; invalidCharrefs: Map<number, string>; invalidCodepoints: Set<number> } | undefined;

function loadTables() {
  if (!tables) {
    const raw = JSON.parse(fs.readFileSync(path.join(__dirname, "htmlEntities.json"), "utf8")) as EntityTables;
    tables = {
      html5: new Map(Object.entries(raw.html5)),
      invalidCharrefs: new Map(Object.entries(raw.invalidCharrefs).map(([k, v]) => [Number(k), v] as [number, string])),
      invalidCodepoints: new Set(raw.invalidCodepoints),
    };
  }
  return tables;
}

// Same pattern as CPython's html._charref; `u` so {1,32} counts code points like Python.
const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

function replaceCharref(s: string): string {
  const t = loadTables();
  if (s[0] === "#") {
    const hex = s[1] === "x" || s[1] === "X";
    const digits = (hex ? s.slice(2) : s.slice(1)).replace(/;+$/, "");
    const num = parseInt(digits, hex ? 16 : 10); // huge values become large floats / Infinity: still > 0x10FFFF
    const invalid = t.invalidCharrefs.get(num);
    if (invalid !== undefined) return invalid;
    if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return "\ufffd";
    if (t.invalidCodepoints.has(num)) return "";
    return String.fromCodePoint(num);
  }
  const direct = t.html5.get(s);
  if (direct !== undefined) return direct;
  // Longest prefix that is a known entity (the standard's rule for references without ';').
  const cps = Array.from(s);
  for (let x = cps.length - 1; x > 1; x--) {
    const prefix = cps.slice(0, x).join("");
    const hit = t.html5.get(prefix);
    if (hit !== undefined) return hit + cps.slice(x).join("");
  }
  return "&" + s;
}

/** Python `html.unescape(s)`. */
export function htmlUnescape(s: string): string {
  if (!s.includes("&")) return s;
  return s.replace(CHARREF, (_m, g1: string) => replaceCharref(g1));
}

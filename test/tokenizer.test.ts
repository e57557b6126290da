import { describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { tokenize, tokenizeBatch, getTokenizer, cleanText, bytesToUnicode, EOT_TOKEN, SOT_TOKEN } from "../src/clip/tokenizer";
import { htmlUnescape } from "../src/clip/htmlEntities";
import { fixText } from "../src/clip/ftfy";
import { ClipNadError } from "../src/errors";

const goldens = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures/io/tokenizer_goldens.json"), "utf8")) as {
  rows: { text: string; ids: number[] }[];
  context16: { text: string; ids: number[]; fits: boolean }[];
};

function trimmed(row: Int32Array): number[] {
  let n = row.length;
  while (n > 0 && row[n - 1] === 0) n--;
  return Array.from(row.subarray(0, n));
}

describe("CLIP tokenizer", () => {
  it("reproduces the known CLIP ids (model.md §2.5)", () => {
    expect(trimmed(tokenize("a photo of a cat")[0])).toEqual([49406, 320, 1125, 539, 320, 2368, 49407]);
    expect(trimmed(tokenize("A small RED circle on a striped background.")[0])).toEqual([
      49406, 320, 2442, 736, 7117, 525, 320, 22192, 5994, 269, 49407,
    ]);
    expect(trimmed(tokenize("Hello,  world!! 123 don't")[0])).toEqual([49406, 3306, 267, 1002, 748, 272, 273, 274, 847, 713, 49407]);
    expect(trimmed(tokenize("naïve café 東京")[0])).toEqual([49406, 1097, 35689, 563, 15304, 48338, 21078, 361, 49407]);
  });

  it("builds the 49 408-entry vocabulary in OpenAI's order", () => {
    const tok = getTokenizer();
    expect(tok.encoder.size).toBe(49408);
    expect(tok.encoder.get("<|startoftext|>")).toBe(SOT_TOKEN);
    expect(tok.encoder.get("<|endoftext|>")).toBe(EOT_TOKEN);
    expect(tok.encoder.get("!")).toBe(0); // byte 33 first (insertion order, not byte order)
    expect(tok.encoder.get("Ā")).toBe(188); // byte 0 → U+0100 comes after the 188 printable bytes
    expect(tok.encoder.get("!</w>")).toBe(256);
    expect(bytesToUnicode().get(32)).toBe("Ġ");
  });

  it("frames with SOT/EOT, zero-pads to the context length, lower-cases and collapses whitespace", () => {
    const [a, b] = tokenize(["  A   PHOTO\tof\n a CAT ", "a photo of a cat"]);
    expect(a.length).toBe(77);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(a[0]).toBe(SOT_TOKEN);
    expect(a.subarray(7).every((v) => v === 0)).toBe(true);
    expect(trimmed(tokenize("")[0])).toEqual([SOT_TOKEN, EOT_TOKEN]);
    expect(cleanText("  Foo\u00a0\u3000BAR &amp;amp; ")).toBe("foo bar &");
  });

  it("truncates to 77 with EOT last, or throws when truncate=false", () => {
    const long = Array(100).fill("photo").join(" ");
    const row = tokenize(long)[0];
    expect(row.length).toBe(77);
    expect(row[76]).toBe(EOT_TOKEN);
    expect(row[75]).toBe(1125); // "photo</w>"
    expect(() => tokenize(long, 77, { truncate: false })).toThrow(ClipNadError);
    expect(() => tokenize(long, 77, { truncate: false })).toThrow(/too long for context length 77/);
  });

  it("matches the Python port on the golden strings (77 tokens)", () => {
    expect(goldens.rows.length).toBeGreaterThan(200);
    const rows = tokenize(goldens.rows.map((r) => r.text));
    const mismatches = goldens.rows.filter((g, i) => JSON.stringify(trimmed(rows[i])) !== JSON.stringify(g.ids)).map((g) => g.text);
    expect(mismatches).toEqual([]);
  });

  it("matches the Python port with context length 16, both truncation modes", () => {
    for (const g of goldens.context16) {
      expect(trimmed(tokenize(g.text, 16)[0]), g.text).toEqual(g.ids);
      if (g.fits) expect(trimmed(tokenize(g.text, 16, { truncate: false })[0])).toEqual(g.ids);
      else expect(() => tokenize(g.text, 16, { truncate: false })).toThrow(ClipNadError);
    }
  });

  it("packs a batch row-major and decodes back to text", () => {
    const batch = tokenizeBatch(["a photo of a cat", "dog"], 8);
    expect(Array.from(batch)).toEqual([49406, 320, 1125, 539, 320, 2368, 49407, 0, 49406, 1929, 49407, 0, 0, 0, 0, 0]);
    expect(getTokenizer().decode([320, 1125, 539, 320, 2368]).trim()).toBe("a photo of a cat");
  });

  it("applies ftfy's text fixes (checked against ftfy 6.3.1 when the goldens were made)", () => {
    expect(fixText("don\u2019t \u201cquote\u201d \ufb01ne \uff21\uff22\uff23\u3000x")).toBe("don't \"quote\" fine ABC x");
    expect(fixText("\x1b[36;44mblue\x1b[0m \u0092s \u0085")).toBe("blue 's \u2026");
    expect(fixText("&amp;amp;amp; P&EACUTE;REZ")).toBe("& PÉREZ");
    expect(fixText("<b>&amp;</b>\n&amp;")).toBe("<b>&amp;</b>\n&amp;"); // no unescaping once a segment has '<'
    expect(fixText("a\r\nb\x00\ufeffc")).toBe("a\nbc");
    expect(fixText("lone \ud800 surrogate")).toBe("lone \ufffd surrogate");
    expect(fixText("caf\u00c3\u00a9")).toBe("caf\u00c3\u00a9"); // mojibake repair is not ported
    expect(trimmed(tokenize("don\u2019t")[0])).toEqual(trimmed(tokenize("don't")[0]));
  });

  it("unescapes HTML like Python's html.unescape", () => {
    expect(htmlUnescape("&amp;amp;")).toBe("&amp;");
    expect(htmlUnescape("&ampx &notit; &#128; &#xD800; &#0; &#65;")).toBe("&x ¬it; \u20ac \ufffd \ufffd A");
    expect(htmlUnescape("AT&T &unknown;")).toBe("AT&T &unknown;");
  });
});

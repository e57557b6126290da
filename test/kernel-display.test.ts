// Display helpers build one multi-mime bundle each; progress updates one display in place.
import { afterEach, describe, expect, it } from "vitest";
import { DisplayBundle } from "../kernel-ext/comm";
import { PLOTLY_MIME, figureText, progress, setDisplayWriter, showFigure, showPNG, showTable, tableMime } from "../kernel-ext/display";
import { mergeBuffers, splitBuffers } from "../kernel-ext/widget";
import { reconstructionFigure } from "../src/figures";

const fig = reconstructionFigure({ images: 10, unmodified: 0.5, pairs: 0.5, neurons: [{ pcs: 1, accuracy: 0.3 }] });

function capture(): { bundle: DisplayBundle; update: boolean }[] {
  const out: { bundle: DisplayBundle; update: boolean }[] = [];
  setDisplayWriter((bundle, update) => out.push({ bundle, update }));
  return out;
}

afterEach(() => setDisplayWriter(undefined));

describe("showFigure", () => {
  it("emits ONE bundle: plotly JSON + offline HTML (plotly.js inlined the first time only) + text", () => {
    const out = capture();
    showFigure(fig);
    showFigure(fig);
    expect(out).toHaveLength(2);
    const [first, second] = out.map((o) => o.bundle.data);
    expect(Object.keys(first).sort()).toEqual([PLOTLY_MIME, "text/html", "text/plain"].sort());
    expect(first[PLOTLY_MIME]).toEqual(fig);
    const html1 = first["text/html"] as string;
    const html2 = second["text/html"] as string;
    expect(html1.length).toBeGreaterThan(1_000_000); // plotly.min.js inside
    expect(html1).toContain("window.Plotly = Plotly");
    expect(html2.length).toBeLessThan(20_000); // later figures reuse it
    expect(html2).toContain("Plotly.newPlot");
    expect(html2).not.toContain("</script><script"); // figure JSON is script-safe
    expect(first["text/plain"]).toBe(figureText(fig));
    expect(first["text/plain"]).toContain("3 trace(s): neurons, neuron-head pairs, unmodified model");
  });
});

describe("showPNG / showTable", () => {
  it("base64-encodes a PNG and refuses non-PNG bytes", () => {
    const out = capture();
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    showPNG(png);
    expect(out[0].bundle.data["image/png"]).toBe(Buffer.from(png).toString("base64"));
    expect(() => showPNG(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]))).toThrow(/not a PNG/);
  });

  it("renders rows (arrays or objects) as escaped HTML and aligned text", () => {
    const m = tableMime([["<b>x</b>", 0.12345], { name: "y & z", acc: 70 }], ["name", "acc"]);
    expect(m["text/html"]).toContain("<td>&lt;b&gt;x&lt;/b&gt;</td><td>0.1235</td>");
    expect(m["text/html"]).toContain("<td>y &amp; z</td><td>70</td>");
    expect(m["text/plain"]).toBe("name      acc\n--------  ------\n<b>x</b>  0.1235\ny & z     70");
    const out = capture();
    showTable([[1, 2]], ["a", "b"]);
    expect(out).toHaveLength(1);
  });
});

describe("progress", () => {
  it("shows one display and updates it in place with the same display_id", () => {
    const out = capture();
    const p = progress(4, "images");
    p.update(2);
    p.update(9);
    p.finish();
    expect(out.map((o) => o.update)).toEqual([false, true, true, true]);
    const ids = new Set(out.map((o) => o.bundle.transient.display_id));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^clip-nad-progress-/);
    expect(out[1].bundle.data["text/plain"]).toContain("2/4 (50%)");
    expect(out[2].bundle.data["text/plain"]).toContain("4/4 (100%)");
    expect(out[3].bundle.data["text/plain"]).toContain("done");
  });

  it("redraws only when the whole percentage changes (tight loops do not flood the front end)", () => {
    const out = capture();
    const p = progress(10_000, "pairs");
    for (let i = 1; i <= 10_000; i++) p.update(i);
    expect(out).toHaveLength(1 + 100); // the initial display + one update per percent
    expect(out[out.length - 1].bundle.data["text/plain"]).toContain("10000/10000 (100%)");
  });
});

describe("widget state buffers", () => {
  it("splits binary values out with their paths and merges them back", () => {
    const f = new Float32Array([1, 2]);
    const split = splitBuffers({ a: 1, img: f, nested: { list: [0, new Uint8Array([7])] } });
    expect(split.state).toEqual({ a: 1, img: null, nested: { list: [0, null] } });
    expect(split.bufferPaths).toEqual([["img"], ["nested", "list", 1]]);
    const bufs = split.buffers.map((b) => new Uint8Array((b as ArrayBufferView).buffer));
    const merged = mergeBuffers(split.state, split.bufferPaths, bufs);
    expect(new Float32Array((merged.img as Uint8Array).buffer)).toEqual(f);
    expect(((merged.nested as { list: unknown[] }).list[1] as Uint8Array)[0]).toBe(7);
  });
});

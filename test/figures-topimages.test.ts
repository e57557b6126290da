// The image-grid figure (Figure 4, sub-concepts) and the polysemanticity histograms: pure plotly specs, snapshotted,
// plus the layout facts a reader relies on.
import { describe, expect, it } from "vitest";
import { ImageTile, TopImagesRow, polysemanticityFigure, topImagesFigure } from "../src/figures";

// A 1×1 PNG (red pixel), so the snapshot stays small.
const PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
const tile = (id: string, score: number): ImageTile => ({ src: PNG, width: 1, height: 1, id, score });
const rows: TopImagesRow[] = [
  { section: "heads", title: "head 0", words: ["yellow", "circle"], tiles: [tile("a.png", 52.4), tile("b.png", 41.9)] },
  { section: "neurons", title: "neuron 132", words: ["orange"], tiles: [tile("c.png", 13.4), tile("a.png", 11.5), tile("d.png", 9.8)] },
  { section: "neurons", title: "neuron 7", note: "strength 1.2", tiles: [tile("e.png", 0.5)] },
];

describe("topImagesFigure", () => {
  it("matches the snapshot", () => {
    expect(topImagesFigure(rows, { subtitle: "toy, 100 images, raw norm", tileSize: 60 })).toMatchSnapshot();
  });

  it("one image trace per tile on its own axes, laid out row by row; names, words and scores as text", () => {
    const fig = topImagesFigure(rows, { tileSize: 60, labelWidth: 100 });
    expect(fig.data).toHaveLength(6);
    expect(fig.data.every((t) => t.type === "image" && t.source === PNG)).toBe(true);
    expect(fig.data.map((t) => t.name)).toEqual(["a.png", "b.png", "c.png", "a.png", "d.png", "e.png"]);
    expect(fig.data.map((t) => t.xaxis)).toEqual(["x", "x2", "x3", "x4", "x5", "x6"]);
    const L = fig.layout as Record<string, any>;
    expect(L.width).toBe(100 + 3 * 64 + 12); // label column + widest row of tiles + right margin
    // Tiles of a row share a vertical domain; rows go down the page; columns go right.
    expect(L.yaxis.domain).toEqual(L.yaxis2.domain);
    expect(L.yaxis3.domain[1]).toBeLessThan(L.yaxis.domain[0]);
    expect(L.xaxis4.domain[0]).toBeGreaterThan(L.xaxis3.domain[1]);
    expect(L.xaxis.range).toEqual([-0.5, 0.5]);
    expect(L.yaxis.range).toEqual([0.5, -0.5]); // image rows top-down
    const texts = L.annotations.map((a: { text: string }) => a.text);
    expect(texts).toContain("<b>head 0</b><br><i>yellow, circle</i>");
    expect(texts).toContain("<b>neuron 7</b><br>strength 1.2");
    expect(texts).toContain("52.4");
    expect(texts).toContain("0.50");
    expect(texts.filter((t: string) => t === "<b>neurons</b>")).toHaveLength(1);
    expect(JSON.parse(JSON.stringify(fig))).toEqual(fig);
  });

  it("refuses tiles without a data-URI image", () => {
    expect(() => topImagesFigure([{ title: "x", tiles: [{ ...tile("a", 1), src: "a.png" }] }])).toThrow(/row 0 \(x\), image 0 needs a data:image/);
    expect(() => topImagesFigure([])).toThrow(/no rows/);
  });
});

describe("polysemanticityFigure", () => {
  const inertia = { edges: [0, 1, 2, 3], neurons: [1, 2, 1], pairs: [6, 1, 1] };
  const counts = { edges: [-0.5, 0.5, 1.5, 2.5], neurons: [0, 1, 3], pairs: [0, 6, 2] };

  it("matches the snapshots (continuous and integer bins)", () => {
    expect(polysemanticityFigure(inertia, { measure: "inertia of the top-10 image embeddings", label: "toy" })).toMatchSnapshot();
    expect(polysemanticityFigure(counts, { measure: "distinct colours among the top-10" })).toMatchSnapshot();
  });

  it("bars at bin centres in percent of each kind's units, counts kept for hover", () => {
    const fig = polysemanticityFigure(inertia, { measure: "inertia" });
    expect(fig.data.map((t) => t.name)).toEqual(["neurons (4)", "neuron-head pairs (8)"]);
    expect(fig.data[0].x).toEqual([0.5, 1.5, 2.5]);
    expect(fig.data[0].y).toEqual([25, 50, 25]);
    expect(fig.data[1].y).toEqual([75, 12.5, 12.5]);
    expect(fig.data[1].customdata).toEqual([6, 1, 1]);
    expect(fig.layout.barmode).toBe("overlay");
    const d = polysemanticityFigure(counts, { measure: "c" });
    expect(d.data[0].x).toEqual([0, 1, 2]);
    expect(d.layout.barmode).toBe("group");
    expect(() => polysemanticityFigure({ edges: [0, 1], neurons: [1, 2], pairs: [1] }, { measure: "x" })).toThrow(/counts per unit kind/);
  });
});

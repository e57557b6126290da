// Figure 3 specs (src/figures/segmentation.ts): the mIoU bars beside the paper's, the ablation rows, the grid.
import { describe, expect, it } from "vitest";
import {
  PAPER_SEGMENTATION_CONTEXT59,
  SEGMENTATION_ABLATION_COLUMNS,
  segmentationAblationRows,
  segmentationBarFigure,
  segmentationGridFigure,
} from "../src/figures";

const measured = { pairs: 39.76, heads: 33.37, neurons: 11.85, maskclip: 38.95, "maskclip+pos": 42.43, selfself: 20.5 };

describe("segmentationBarFigure", () => {
  it("matches the snapshot", () => {
    expect(segmentationBarFigure(measured, { label: "toy, 200 canvases" })).toMatchSnapshot();
  });

  it("puts this run's bars beside the paper's, method by method, with no paper bar where the paper has no " +
      "number", () => {
    const fig = segmentationBarFigure(measured, { label: "toy" });
    expect(fig.data.map((t) => t.name)).toEqual(["this run (toy)", "paper (RN50x16, PASCAL Context-59)"]);
    const [run, paper] = fig.data;
    expect(run.x).toEqual([
      "neuron-head<br>pairs (ours)",
      "heads only",
      "neurons only",
      "MaskCLIP",
      "MaskCLIP<br>+ pos. emb.",
      "self-self<br>attention",
    ]);
    expect(run.y).toEqual([39.76, 33.37, 11.85, 38.95, 42.43, 20.5]);
    expect(paper.y).toEqual([26.2, 24.7, 16.5, 22.8, null, 22.2]);
    expect(fig.layout.barmode).toBe("group");
    expect(JSON.parse(JSON.stringify(fig))).toEqual(fig);
  });

  it("refuses numbers that are not percentages", () => {
    expect(() => segmentationBarFigure({ pairs: 0.4, maskclip: 140 })).toThrow(/mIoU of maskclip must be a percentage/);
    expect(() => segmentationBarFigure({ fancy: 3 } as never)).toThrow(/unknown method 'fancy'/);
  });
});

describe("segmentationAblationRows", () => {
  it("product vs each factor, paper beside the run, and the difference to the product", () => {
    const rows = segmentationAblationRows(measured);
    expect(rows.map((r) => r.slice(1))).toEqual([
      ["26.2", "39.8", "0.0"],
      ["24.7", "33.4", "-6.4"],
      ["16.5", "11.8", "-27.9"],
    ]);
    expect(rows[0].length).toBe(SEGMENTATION_ABLATION_COLUMNS.length);
    expect(PAPER_SEGMENTATION_CONTEXT59.pairs).toBe(26.2);
  });
});

describe("segmentationGridFigure", () => {
  const png = "data:image/png;base64,iVBORw0KGgo=";
  it("one image trace per cell (image, ground truth, each method) on its own axes, a legend of class colours", () => {
    const rows = [0, 1].map((i) => ({
      id: `s${i}`,
      image: png,
      groundTruth: png,
      predictions: { pairs: png, maskclip: png },
    }));
    const fig = segmentationGridFigure(rows, ["pairs", "maskclip"], {
      classes: {
        names: ["background", "red"],
        colours: [
          [200, 200, 200],
          [215, 35, 35],
        ],
      },
    });
    const images = fig.data.filter((t) => t.type === "image");
    expect(images).toHaveLength(2 * 4);
    expect(new Set(images.map((t) => t.xaxis)).size).toBe(8);
    expect((fig.layout.annotations as { text: string }[]).map((a) => a.text)).toEqual([
      "image",
      "ground truth",
      "neuron-head<br>pairs (ours)",
      "MaskCLIP",
    ]);
    expect(fig.data.filter((t) => t.type === "scatter").map((t) => t.name)).toEqual(["background", "red"]);
    const rowsMissing = [{ id: "x", image: png, groundTruth: png, predictions: { pairs: png } }];
    expect(() => segmentationGridFigure(rowsMissing, ["pairs", "maskclip"])).toThrow(
      /row x lacks a PNG for 'MaskCLIP'/,
    );
  });
});

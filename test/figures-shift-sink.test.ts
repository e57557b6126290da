// Figure specs of the distribution-shift and attention-sink analyses: snapshots and the parts a reader relies on.
import { describe, expect, it } from "vitest";
import { ClipNadError } from "../src/errors";
import { attentionSinkFigure, distributionShiftFigure, registerNeuronsFigure } from "../src/figures";

const shift = {
  concept: "yellow",
  groups: ["2000", "2001", "2002"],
  share: [0.05, 0.2, 0.4],
  scores: [{ name: "mean ρ", values: [0.01, 0.012, 0.02], r: 0.97 }, { name: "check", values: [0.02, 0.02, 0.021] }],
};

describe("distributionShiftFigure", () => {
  it("matches the snapshot", () => {
    expect(distributionShiftFigure(shift, { label: "toy" })).toMatchSnapshot();
  });

  it("draws the share in percent on the left axis and each score series on the right axis", () => {
    const fig = distributionShiftFigure(shift);
    expect(fig.data).toHaveLength(3);
    expect(fig.data[0].y).toEqual([5, 20, 40]);
    expect(fig.data[0].yaxis).toBe("y");
    expect(fig.data[0].x).toEqual(["2000", "2001", "2002"]);
    expect(fig.data[1].yaxis).toBe("y2");
    expect(fig.data[1].y).toEqual([0.01, 0.012, 0.02]);
    expect(fig.data[1].name).toBe("mean ρ (r over groups = 0.97)");
    expect(fig.data[2].name).toBe("check");
    expect((fig.layout.yaxis2 as { overlaying: string }).overlaying).toBe("y");
    expect(JSON.parse(JSON.stringify(fig))).toEqual(fig);
  });

  it("rejects series that do not match the groups, and shares outside [0, 1]", () => {
    expect(() => distributionShiftFigure({ ...shift, share: [5, 20, 40] })).toThrow(/fractions/);
    expect(
      () => distributionShiftFigure({ ...shift, scores: [{ name: "x", values: [1, 2] }] })
    ).toThrow(/'x' has 2 values for 3 groups/);
    expect(() => distributionShiftFigure({ ...shift, groups: [] })).toThrow(ClipNadError);
  });
});

describe("attentionSinkFigure", () => {
  it("matches the snapshot", () => {
    const mean = [0.02, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.58]; // 3×3 grid + the pooled token
    expect(attentionSinkFigure({ grid: 3, meanAttention: mean }, { label: "toy", images: 10 })).toMatchSnapshot();
  });

  it("lays the spatial tokens out row-major on the grid, in percent, and outlines the last cell", () => {
    const g = 2;
    const m = [0.1, 0.1, 0.2, 0.15, 0.45];
    const fig = attentionSinkFigure({ grid: g, meanAttention: m });
    expect(fig.data[0].z).toEqual([[10, 20], [15, 45]]);
    const shape = (fig.layout.shapes as { x0: number; x1: number; y0: number; y1: number }[])[0];
    expect([shape.x0, shape.x1, shape.y0, shape.y1]).toEqual([0.5, 1.5, 0.5, 1.5]);
    expect((fig.layout.yaxis as { autorange: string }).autorange).toBe("reversed"); // row 0 on top
    expect((fig.layout.title as { text: string }).text).toContain("pooled token itself 10.0%");
  });

  it("rejects a map of the wrong size or values that are not attention", () => {
    expect(() => attentionSinkFigure({ grid: 2, meanAttention: [0.5, 0.5] })).toThrow(/grid² \+ 1 = 5/);
    expect(() => attentionSinkFigure({ grid: 1, meanAttention: [0.5, 1.5] })).toThrow(ClipNadError);
  });
});

describe("registerNeuronsFigure", () => {
  const reg = { drop: [0.001, 0.004, 0.002], signedDrop: [-0.001, 0.003, 0.0], ranking: [1, 2, 0] };
  it("matches the snapshot", () => {
    expect(registerNeuronsFigure(reg, { label: "toy", images: 5 })).toMatchSnapshot();
  });

  it("shows the top neurons in ranking order, in percentage points", () => {
    const fig = registerNeuronsFigure(reg, { top: 2 });
    expect(fig.data[0].x).toEqual(["#1", "#2"]);
    expect(fig.data[0].y).toEqual([0.4, 0.2]);
    expect(fig.data[1].y).toEqual([0.3, 0]);
    expect(() => registerNeuronsFigure({ ...reg, ranking: [7] })).toThrow(/out of range/);
  });
});

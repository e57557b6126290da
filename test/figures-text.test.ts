import { describe, expect, it } from "vitest";
import { ClipNadError } from "../src/errors";
import { PAPER_TEXT_RECONSTRUCTION_CLAIM, textReconstructionFigure } from "../src/figures";

const summary = {
  images: 1000,
  unmodified: 0.667,
  neuronsPC: 0.644,
  points: [
    { words: 100, nonzero: 8, pairs: 0.711, neurons: 0.679 },
    { words: 100, nonzero: 64, pairs: 0.671, neurons: 0.649 },
    { words: 1000, nonzero: 8, pairs: 0.709, neurons: 0.668 },
    { words: 1000, nonzero: 64, pairs: 0.67, neurons: 0.646 },
  ],
};

describe("textReconstructionFigure (Figure 2)", () => {
  it("matches the snapshot", () => {
    expect(textReconstructionFigure(summary, { label: "toy" })).toMatchSnapshot();
  });

  it("one line per unit and dictionary size over m, in percent, plus the two reference lines", () => {
    const fig = textReconstructionFigure(summary);
    const names = fig.data.map((t) => t.name);
    expect(names).toEqual([
      "neuron-head pairs, 100 words",
      "neuron-head pairs, 1,000 words",
      "neurons, 100 words",
      "neurons, 1,000 words",
      "unmodified model (66.7%)",
      "neurons, their own 1st PC (64.4%)",
    ]);
    expect(fig.data[0].x).toEqual(["8", "64"]);
    expect(fig.data[1].y).toEqual([70.9, 67]);
    expect(fig.data[3].y).toEqual([66.8, 64.6]);
    const missing = textReconstructionFigure({ ...summary, points: summary.points.slice(0, 3) });
    expect(missing.data[1].y).toEqual([70.9, null]);
    expect(PAPER_TEXT_RECONSTRUCTION_CLAIM).toMatch(/64 text descriptors/);
  });

  it("bad input: a clear error", () => {
    expect(() => textReconstructionFigure({ ...summary, unmodified: 66.7 })).toThrow(ClipNadError);
    expect(() => textReconstructionFigure({ ...summary, points: [] })).toThrow(/points/);
    expect(() =>
      textReconstructionFigure({ ...summary, points: [{ words: 0, nonzero: 8, pairs: 0.5, neurons: 0.5 }] }),
    ).toThrow(/integer words/);
  });
});

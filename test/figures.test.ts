// Paper figure specs are pure plotly JSON: snapshot them, and check the parts a reader relies on.
import { describe, expect, it } from "vitest";
import { ClipNadError } from "../src/errors";
import {
  PAPER_RECONSTRUCTION_RN50X16,
  ReconstructionSummary,
  reconstructionFigure,
  sparsityFigure,
  sparsityHistogramFigure,
  SparsityCurve,
} from "../src/figures";
import { percentile, scoreHistogram } from "../src/analysis/sparsity";

const result: ReconstructionSummary = {
  images: 400,
  unmodified: 0.6225,
  pairs: 0.62,
  neurons: [
    { pcs: 4, accuracy: 0.6 },
    { pcs: 1, accuracy: 0.5125 },
    { pcs: 2, accuracy: 0.57 },
  ],
};

describe("reconstructionFigure", () => {
  it("matches the snapshot", () => {
    expect(reconstructionFigure(result, { label: "toy" })).toMatchSnapshot();
  });

  it("has neuron bars for 1/2/4 PCs, a pair bar for 1 PC and the unmodified baseline, in percent", () => {
    const fig = reconstructionFigure(result);
    expect(fig.data.map((t) => t.name)).toEqual(["neurons", "neuron-head pairs", "unmodified model (62.3%)"]);
    const [neurons, pairs, base] = fig.data;
    expect(neurons.type).toBe("bar");
    expect(neurons.x).toEqual(["neurons<br>1 PC", "neurons<br>2 PCs", "neurons<br>4 PCs"]);
    expect(neurons.y).toEqual([51.25, 57, 60]);
    expect(pairs.x).toEqual(["neuron-head pairs<br>1 PC"]);
    expect(pairs.y).toEqual([62]);
    expect(base.y).toEqual([62.25, 62.25, 62.25, 62.25]);
    expect((base.line as { dash: string }).dash).toBe("dash");
    expect(JSON.parse(JSON.stringify(fig))).toEqual(fig); // pure JSON, no functions / DOM
    expect((fig.layout.title as { text: string }).text).toContain("400 images");
  });

  it("overlays the paper's RN50x16 numbers as reference markers", () => {
    const fig = reconstructionFigure(result, { reference: { name: "paper RN50x16", result: PAPER_RECONSTRUCTION_RN50X16 } });
    const ref = fig.data[3];
    expect(ref.name).toBe("paper RN50x16 (unmodified 70.7%)");
    expect(ref.y).toEqual([66.9, 69, 70, 70.7]);
    expect(ref.x).toEqual([...(fig.data[0].x as string[]), ...(fig.data[1].x as string[])]);
  });

  it("rejects results that are not accuracies, naming the key", () => {
    expect(() => reconstructionFigure({ ...result, pairs: 62 })).toThrow(ClipNadError);
    expect(() => reconstructionFigure({ ...result, pairs: 62 })).toThrow(/'pairs'/);
    expect(() => reconstructionFigure({ ...result, neurons: [] })).toThrow(/neurons/);
    expect(() => reconstructionFigure({ ...result, neurons: [{ pcs: 0, accuracy: 0.5 }] })).toThrow(/pcs/);
  });
});

const curve = (unit: "pair" | "neuron", units: number, accs: number[]): SparsityCurve => ({
  unit,
  units,
  images: 400,
  points: [0, 10, 50, 100].map((p, i) => ({ percentKept: p, kept: Math.round((p / 100) * units), accuracy: accs[i] })),
});

describe("sparsityFigure", () => {
  const pairs = curve("pair", 4096, [0.1, 0.55, 0.61, 0.6225]);
  const neurons = curve("neuron", 512, [0.1, 0.3, 0.5, 0.6225]);

  it("matches the snapshot", () => {
    expect(sparsityFigure(pairs, neurons, { unmodified: 0.6225, label: "toy" })).toMatchSnapshot();
  });

  it("draws accuracy vs % kept for neurons and pairs: a 0–10 % zoom panel and the full range", () => {
    const fig = sparsityFigure(pairs, neurons, { unmodified: 0.6225 });
    const legend = fig.data.filter((t) => t.showlegend).map((t) => t.name);
    expect(legend).toEqual(["neurons (512)", "neuron-head pairs (4096)", "unmodified model (62.3%)"]);
    const full = fig.data.filter((t) => t.xaxis === "x2");
    const zoom = fig.data.filter((t) => t.xaxis === "x");
    expect(full[1].x).toEqual([0, 10, 50, 100]);
    expect(full[1].y).toEqual([10, 55, 61, 62.25]);
    expect(full[0].customdata).toEqual([0, 51, 256, 512]);
    expect(zoom[1].x).toEqual([0, 10]); // only the points in 0–10 %
    expect(zoom[1].y).toEqual([10, 55]);
    const layout = fig.layout as { xaxis: { range: number[] }; xaxis2: { range: number[] } };
    expect(layout.xaxis.range[1]).toBeLessThanOrEqual(11);
    expect(layout.xaxis2.range).toEqual([0, 100]);
  });

  it("rejects swapped curves", () => {
    expect(() => sparsityFigure(neurons, pairs)).toThrow(/expected a 'pair' curve/);
  });
});

describe("sparsityHistogramFigure", () => {
  const scores = Float32Array.from({ length: 200 }, (_, i) => 0.01 * Math.exp(i / 40));
  const hist = scoreHistogram(scores, 20, true);

  it("matches the snapshot", () => {
    expect(
      sparsityHistogramFigure(hist, {
        unit: "neuron-head pairs",
        label: "toy",
        thresholds: [{ percentKept: 10, score: percentile(scores, 90) }],
      }),
    ).toMatchSnapshot();
  });

  it("bars are the histogram's counts at its bin centres; a threshold is drawn at log10(score) on a log " +
      "histogram", () => {
    const thr = percentile(scores, 90); // numpy.percentile(scores, 90) with linear interpolation
    const fig = sparsityHistogramFigure(hist, { unit: "neurons", thresholds: [{ percentKept: 10, score: thr }] });
    const bars = fig.data[0] as { x: number[]; y: number[] };
    expect(bars.y.reduce((a, b) => a + b, 0)).toBe(200);
    expect(bars.x[0]).toBeCloseTo((hist.edges[0] + hist.edges[1]) / 2);
    const line = fig.data[1] as { x: number[] };
    expect(line.x[0]).toBeCloseTo(Math.log10(thr));
    // ~10 % of the scores lie right of the line
    const right = Array.from(scores).filter((s) => Math.log10(s) >= line.x[0]).length;
    expect(right).toBe(20);
    expect(() => sparsityHistogramFigure({ edges: [0, 1], counts: [1, 2], log: false })).toThrow(/bins\+1 edges/);
  });
});

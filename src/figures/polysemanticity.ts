import { ClipNadError } from "../errors";
import { BASE_LAYOUT, COLORS, PlotlyFigure, titleText } from "./types";

/**
 * Figure "polysemanticity" (paper.md §A.12): how alike each unit's top images are, neurons vs neuron-head pairs,
 * as two histograms on one axis in percent of units (pairs outnumber neurons H to 1). Input = one histogram of
 * src/analysis/polysemanticity.ts (edges + counts per unit kind): the inertia of the top images' normalised
 * embeddings (v2; continuous bins) or a count of distinct labels (v1 super-classes, toy attributes; integer bins).
 */
export interface PolysemanticityHistogram {
  edges: number[];
  neurons: number[];
  pairs: number[];
}

export interface PolysemanticityFigureOptions {
  /** x-axis title, e.g. "inertia of the top-10 image embeddings". */
  measure: string;
  title?: string;
  /** Model / data / norm label for the subtitle. */
  label?: string;
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;

export function polysemanticityFigure(
  hist: PolysemanticityHistogram, opts: PolysemanticityFigureOptions,
): PlotlyFigure {
  const bins = hist?.edges?.length - 1;
  if (!(bins >= 1) || hist.neurons?.length !== bins || hist.pairs?.length !== bins) {
    const what = `a histogram needs edges (bins + 1) and ${bins} counts per unit kind`;
    throw new ClipNadError(`polysemanticityFigure: ${what}`, { key: "edges" });
  }
  const discrete = hist.edges.every((e) => Number.isInteger(e + 0.5));
  const centres = hist.edges.slice(0, -1).map((e, i) => round((e + hist.edges[i + 1]) / 2));
  const width = hist.edges.slice(0, -1).map((e, i) => round(hist.edges[i + 1] - e));
  const trace = (name: string, counts: number[], color: string) => {
    const total = counts.reduce((a, b) => a + b, 0);
    return {
      type: "bar", name: `${name} (${total})`, x: centres, customdata: counts,
      y: counts.map((c) => round((100 * c) / Math.max(1, total))),
      width: discrete ? undefined : width, marker: { color, opacity: discrete ? 1 : 0.6, line: { width: 0 } },
      hovertemplate: `${name}: %{x} → %{y:.1f}% (%{customdata} units)<extra></extra>`,
    };
  };
  return {
    data: [trace("neurons", hist.neurons, COLORS.neurons), trace("neuron-head pairs", hist.pairs, COLORS.pairs)],
    layout: {
      ...BASE_LAYOUT,
      barmode: discrete ? "group" : "overlay",
      bargap: discrete ? 0.15 : 0,
      title: { text: opts.title ?? titleText("Polysemanticity: how alike are a unit's top images?", opts.label) },
      xaxis: { title: { text: opts.measure }, gridcolor: "#e5e5e5", ...(discrete ? { dtick: 1 } : {}) },
      yaxis: { title: { text: "units (%)" }, rangemode: "tozero", gridcolor: "#e5e5e5" },
    },
  };
}

import { ClipNadError } from "../errors";
import { BASE_LAYOUT, COLORS, PlotlyFigure, PlotlyTrace, pct, titleText } from "./types";

/**
 * Figure "sparsity" (paper.md §A.6): zero-shot accuracy vs the percentage of units kept (the rest mean-ablated),
 * neuron-head pairs vs neurons. Input = src/analysis/sparsity.ts's AblationCurve per unit kind.
 */
export interface SparsityCurve {
  unit: "pair" | "neuron";
  units: number;
  images: number;
  points: { percentKept: number; kept: number; accuracy: number }[];
}

export interface SparsityFigureOptions {
  title?: string;
  label?: string;
  /** Accuracy of the unmodified model (fraction), drawn as a dashed line. */
  unmodified?: number;
}

function checkCurve(c: SparsityCurve, unit: "pair" | "neuron"): void {
  if (c === null || typeof c !== "object" || !Array.isArray(c.points) || c.points.length === 0) {
    throw new ClipNadError(`sparsityFigure: the ${unit} curve has no points`, { key: unit });
  }
  if (c.unit !== unit) throw new ClipNadError(`sparsityFigure: expected a '${unit}' curve, got '${c.unit}'`, { key: unit });
  for (const p of c.points) {
    if (!(p.percentKept >= 0 && p.percentKept <= 100) || !(p.accuracy >= 0 && p.accuracy <= 1)) {
      throw new ClipNadError(`sparsityFigure: bad ${unit} point ${JSON.stringify(p)}`, { key: unit });
    }
  }
}

/** Left panel: the 0–10 % range, where the curves differ most; right panel: all of 0–100 %. */
export const SPARSITY_ZOOM_PERCENT = 10;

function curveTrace(c: SparsityCurve, name: string, color: string, symbol: string, panel: "x" | "x2"): PlotlyTrace {
  const pts = [...c.points].sort((a, b) => a.percentKept - b.percentKept).filter((p) => panel === "x2" || p.percentKept <= SPARSITY_ZOOM_PERCENT);
  return {
    type: "scatter",
    mode: "lines+markers",
    xaxis: panel,
    yaxis: "y",
    showlegend: panel === "x2",
    legendgroup: name,
    name: `${name} (${c.units})`,
    x: pts.map((p) => p.percentKept),
    y: pts.map((p) => pct(p.accuracy)),
    customdata: pts.map((p) => p.kept),
    line: { color, width: 2 },
    marker: { color, symbol, size: 7 },
    hovertemplate: `${name}: %{x}% kept (%{customdata} units) → %{y:.2f}%<extra></extra>`,
  };
}

export function sparsityFigure(pairs: SparsityCurve, neurons: SparsityCurve, opts: SparsityFigureOptions = {}): PlotlyFigure {
  checkCurve(pairs, "pair");
  checkCurve(neurons, "neuron");
  const data: PlotlyTrace[] = [];
  for (const panel of ["x", "x2"] as const) {
    data.push(curveTrace(neurons, "neurons", COLORS.neurons, "circle", panel), curveTrace(pairs, "neuron-head pairs", COLORS.pairs, "square", panel));
  }
  if (opts.unmodified !== undefined) {
    if (!(opts.unmodified >= 0 && opts.unmodified <= 1)) throw new ClipNadError("sparsityFigure: unmodified must be in [0, 1]", { key: "unmodified" });
    for (const panel of ["x", "x2"] as const) {
      data.push({
        type: "scatter",
        mode: "lines",
        xaxis: panel,
        yaxis: "y",
        showlegend: panel === "x2",
        name: `unmodified model (${pct(opts.unmodified).toFixed(1)}%)`,
        x: panel === "x" ? [0, SPARSITY_ZOOM_PERCENT] : [0, 100],
        y: [pct(opts.unmodified), pct(opts.unmodified)],
        line: { color: COLORS.baseline, dash: "dash", width: 2 },
        hoverinfo: "skip",
      });
    }
  }
  const title = opts.title ?? titleText("Mean-ablation sparsity", `${opts.label ? `${opts.label}, ` : ""}${pairs.images} images`);
  return {
    data,
    layout: {
      ...BASE_LAYOUT,
      width: 900,
      title: { text: title },
      xaxis: { domain: [0, 0.42], title: { text: `0–${SPARSITY_ZOOM_PERCENT} % kept (zoom)` }, range: [-0.3, SPARSITY_ZOOM_PERCENT + 0.3], dtick: 1, gridcolor: "#e5e5e5" },
      xaxis2: { domain: [0.5, 1], title: { text: "units kept (%), rest mean-ablated" }, range: [0, 100], gridcolor: "#e5e5e5" },
      yaxis: { title: { text: "zero-shot top-1 accuracy (%)" }, rangemode: "tozero", gridcolor: "#e5e5e5" },
    },
  };
}

/** A histogram as src/analysis/sparsity.ts scoreHistogram returns it (bins+1 edges, counts; log10 scores if `log`). */
export interface ScoreHistogram {
  edges: number[];
  counts: number[];
  log: boolean;
}

export interface SparsityHistogramOptions {
  title?: string;
  label?: string;
  /** Kept-set thresholds to draw (scores, not log10), e.g. the official rule's at keep 10 % and 20 %. */
  thresholds?: { percentKept: number; score: number }[];
  /** Name of the units ("neuron-head pairs", "neurons"). */
  unit?: string;
}

/**
 * The official `get_masks --show_hist` plot: the histogram of the sparsity score (mean of each unit's top-50
 * centred norms; x "Mean value", y "Frequency") with the kept-set threshold as a red dashed line. On a log10 score
 * histogram the thresholds are drawn at log10(score).
 */
export function sparsityHistogramFigure(hist: ScoreHistogram, opts: SparsityHistogramOptions = {}): PlotlyFigure {
  if (
    !hist ||
    !Array.isArray(hist.edges) ||
    !Array.isArray(hist.counts) ||
    hist.edges.length !== hist.counts.length + 1
  ) {
    throw new ClipNadError("sparsityHistogramFigure: a histogram needs bins+1 edges and bins counts", { key: "edges" });
  }
  const centres = hist.counts.map((_, b) => (hist.edges[b] + hist.edges[b + 1]) / 2);
  const width = hist.counts.map((_, b) => hist.edges[b + 1] - hist.edges[b]);
  const unit = opts.unit ?? "units";
  const data: PlotlyTrace[] = [{
    type: "bar", name: `${unit} (${hist.counts.reduce((a, b) => a + b, 0)})`, x: centres, y: hist.counts, width,
    marker: { color: unit.includes("pair") ? COLORS.pairs : COLORS.neurons, opacity: 0.45, line: { width: 0 } },
    hovertemplate: `score %{x:.3g}: %{y} ${unit}<extra></extra>`,
  }];
  const top = Math.max(1, ...hist.counts);
  const dashes = ["dash", "dot", "dashdot"];
  (opts.thresholds ?? []).forEach((t, i) => {
    if (!(t.score > 0) || !Number.isFinite(t.score)) return;
    const x = hist.log ? Math.log10(t.score) : t.score;
    data.push({
      type: "scatter", mode: "lines", name: `threshold, keep ${t.percentKept} %`, x: [x, x], y: [0, top * 1.05],
      line: { color: "#b2182b", dash: dashes[i % dashes.length], width: 2.5 }, hoverinfo: "skip",
    });
  });
  const title = opts.title ?? titleText(`Sparsity score of ${unit}`, opts.label);
  return {
    data,
    layout: {
      ...BASE_LAYOUT,
      title: { text: title },
      bargap: 0,
      xaxis: {
        title: {
          text: hist.log
            ? "Mean value (log10 of the mean top-50 centred norm)"
            : "Mean value (mean top-50 centred norm)",
        },
        gridcolor: "#e5e5e5",
      },
      yaxis: { title: { text: "Frequency" }, gridcolor: "#e5e5e5" },
    },
  };
}

/** What the paper reports for keeping 20 % of the units (RN50x16, ImageNet val; paper.md §B.1 rows 6–7): drops. */
export const PAPER_SPARSITY_RN50X16 = { percentKept: 20, pairDrop: 0.05, neuronDrop: 0.25, unmodified: 0.707 } as const;

import { ClipNadError } from "../errors";
import { BASE_LAYOUT, COLORS, PlotlyFigure, PlotlyTrace, pct, titleText } from "./types";

/**
 * Figure "reconstruction from sparse text representations" (paper.md §A.7, the text analogue of §A.5): zero-shot
 * accuracy when every unit's PC is replaced by normalize(γD), γ = its m-sparse OMP code over a dictionary of text
 * embeddings — pairs vs neurons, one line per dictionary size, against m; beside the unmodified model and the
 * neurons' own 1-PC reconstruction. Input: src/analysis/textDecomposition TextReconstructReport (fractions).
 */
export interface TextReconstructionSummary {
  images: number;
  unmodified: number;
  /** Neurons with their own first PC (what the text approximates). */
  neuronsPC: number;
  points: { words: number; nonzero: number; pairs: number; neurons: number }[];
}

/** The paper's statement (no number was published): "Using 64 text descriptors, neuron-head pairs achieve higher
 * reconstruction accuracy than the neuron-only baseline" (RN50x16, 30k words, ImageNet val). */
export const PAPER_TEXT_RECONSTRUCTION_CLAIM =
  "Using 64 text descriptors, neuron-head pairs achieve higher reconstruction accuracy than the neuron-only " +
  "baseline (RN50x16, 30,000 words, ImageNet val; no number published).";

export interface TextReconstructionFigureOptions {
  title?: string;
  /** Model / data label for the subtitle. */
  label?: string;
}

const SYMBOLS = ["circle", "square", "diamond", "triangle-up", "star", "cross"];

function checkSummary(s: TextReconstructionSummary): void {
  const bad = (v: unknown) => typeof v !== "number" || !(v >= 0 && v <= 1);
  if (!s || typeof s !== "object") throw new ClipNadError("textReconstructionFigure: the summary is not an object");
  for (const k of ["unmodified", "neuronsPC"] as const)
    if (bad(s[k])) throw new ClipNadError(`textReconstructionFigure: '${k}' must be an accuracy in [0, 1]`, { key: k });
  if (!Array.isArray(s.points) || s.points.length === 0)
    throw new ClipNadError("textReconstructionFigure: 'points' must list {words, nonzero, pairs, neurons}", {
      key: "points",
    });
  for (const p of s.points) {
    if (
      !Number.isInteger(p.words) ||
      p.words < 1 ||
      !Number.isInteger(p.nonzero) ||
      p.nonzero < 1 ||
      bad(p.pairs) ||
      bad(p.neurons)
    ) {
      throw new ClipNadError(
        `textReconstructionFigure: point ${JSON.stringify(p)} needs integer words, nonzero >= 1 and accuracies in ` +
          `[0, 1]`,
        { key: "points" },
      );
    }
  }
}

export function textReconstructionFigure(
  summary: TextReconstructionSummary,
  opts: TextReconstructionFigureOptions = {},
): PlotlyFigure {
  checkSummary(summary);
  const sizes = [...new Set(summary.points.map((p) => p.words))].sort((a, b) => a - b);
  const ms = [...new Set(summary.points.map((p) => p.nonzero))].sort((a, b) => a - b);
  const x = ms.map(String);
  const data: PlotlyTrace[] = [];
  const words = (n: number) => `${n.toLocaleString("en-US")} words`;
  for (const unit of ["pairs", "neurons"] as const) {
    sizes.forEach((size, i) => {
      const pts = ms.map((m) => summary.points.find((p) => p.words === size && p.nonzero === m));
      data.push({
        type: "scatter",
        mode: "lines+markers",
        name: `${unit === "pairs" ? "neuron-head pairs" : "neurons"}, ${words(size)}`,
        legendgroup: unit,
        x,
        y: pts.map((p) => (p ? pct(p[unit]) : null)),
        line: {
          color: unit === "pairs" ? COLORS.pairs : COLORS.neurons,
          width: 2,
          dash: unit === "pairs" ? "solid" : "dot",
        },
        marker: { symbol: SYMBOLS[i % SYMBOLS.length], size: 8 },
        opacity: sizes.length === 1 ? 1 : 0.45 + (0.55 * i) / (sizes.length - 1),
        hovertemplate: `${unit}, ${words(size)}, m = %{x}: %{y:.2f}%<extra></extra>`,
      });
    });
  }
  const line = (name: string, value: number, color: string, dash: string): PlotlyTrace => ({
    type: "scatter",
    mode: "lines",
    name: `${name} (${pct(value).toFixed(1)}%)`,
    x,
    y: x.map(() => pct(value)),
    line: { color, dash, width: 1.5 },
    hovertemplate: `${name}: %{y:.2f}%<extra></extra>`,
  });
  data.push(line("unmodified model", summary.unmodified, COLORS.baseline, "dash"));
  data.push(line("neurons, their own 1st PC", summary.neuronsPC, COLORS.neurons, "dashdot"));
  const all = [summary.unmodified, summary.neuronsPC, ...summary.points.flatMap((p) => [p.pairs, p.neurons])];
  const lo = Math.max(0, Math.floor((pct(Math.min(...all)) - 5) / 5) * 5);
  const hi = Math.min(100, Math.ceil((pct(Math.max(...all)) + 3) / 5) * 5);
  const title =
    opts.title ??
    titleText(
      "Reconstruction from sparse text representations",
      `${opts.label ? `${opts.label}, ` : ""}${summary.images} images`,
    );
  return {
    data,
    layout: {
      ...BASE_LAYOUT,
      height: 560,
      margin: { ...(BASE_LAYOUT.margin as object), b: 190 },
      title: { text: title },
      xaxis: {
        title: { text: "m: text atoms per unit (each PC replaced by normalize(γD))" },
        type: "category",
        categoryorder: "array",
        categoryarray: x,
      },
      yaxis: { title: { text: "zero-shot top-1 accuracy (%)" }, range: [lo, hi], gridcolor: "#e5e5e5" },
    },
  };
}

import { ClipNadError } from "../errors";
import { BASE_LAYOUT, COLORS, PlotlyFigure, PlotlyTrace, pct, titleText } from "./types";

/**
 * Figure "reconstruction from PCs" (paper.md §A.5, table rows 1–5): zero-shot accuracy when every unit is
 * replaced by its mean plus its projections on its top PCs — neurons with 1/2/4 PCs vs neuron-head pairs with
 * 1 PC — against the unmodified model (dashed line). Input = src/analysis/reconstruct.ts's ReconstructionResult
 * (accuracies as fractions); the `predictions` it also carries are ignored.
 */
export interface ReconstructionSummary {
  images: number;
  /** Accuracy of the unmodified model (fraction). */
  unmodified: number;
  /** Pairs, 1 PC each (measured the paper's way: each pair's empirical PC1 from its top-k SVD). */
  pairs: number;
  /** Pairs with the analytic PC1 ±w/|w| (the check: equal to `pairs` up to float error). */
  pairsAnalytic?: number;
  /** Neurons with k PCs. */
  neurons: { pcs: number; accuracy: number }[];
}

/** What the paper reports for RN50x16 on ImageNet val (paper.md table rows 1–5). */
export const PAPER_RECONSTRUCTION_RN50X16: ReconstructionSummary = {
  images: 50000,
  unmodified: 0.707,
  pairs: 0.707,
  neurons: [
    { pcs: 1, accuracy: 0.669 },
    { pcs: 2, accuracy: 0.69 },
    { pcs: 4, accuracy: 0.7 },
  ],
};

export interface ReconstructionFigureOptions {
  /** Title (default names the image count). */
  title?: string;
  /** Model / data label shown in the title, e.g. "toy, toy-world test". */
  label?: string;
  /** Overlay another result (e.g. PAPER_RECONSTRUCTION_RN50X16) as open markers. */
  reference?: { name: string; result: ReconstructionSummary };
}

function pcLabel(k: number): string {
  return k === 1 ? "1 PC" : `${k} PCs`;
}

/** One x category per bar, so bars, reference markers and the baseline line up. */
function category(unit: "neurons" | "pairs", k: number): string {
  return `${unit === "neurons" ? "neurons" : "neuron-head pairs"}<br>${pcLabel(k)}`;
}

function check(r: ReconstructionSummary, what: string): void {
  const bad = (v: unknown) => typeof v !== "number" || !(v >= 0 && v <= 1);
  if (r === null || typeof r !== "object") throw new ClipNadError(`${what}: reconstruction result is not an object`);
  if (bad(r.unmodified)) throw new ClipNadError(`${what}: 'unmodified' must be an accuracy in [0, 1]`, { key: "unmodified" });
  if (bad(r.pairs)) throw new ClipNadError(`${what}: 'pairs' must be an accuracy in [0, 1]`, { key: "pairs" });
  if (!Array.isArray(r.neurons) || r.neurons.length === 0) throw new ClipNadError(`${what}: 'neurons' must list {pcs, accuracy}`, { key: "neurons" });
  for (const n of r.neurons) {
    if (!Number.isInteger(n.pcs) || n.pcs < 1 || bad(n.accuracy)) {
      throw new ClipNadError(`${what}: neurons entry ${JSON.stringify(n)} needs integer pcs >= 1 and accuracy in [0, 1]`, { key: "neurons" });
    }
  }
}

/** Bars of zero-shot accuracy (%), labelled inside: outside labels collide with the paper's reference markers. */
function accuracyBars(name: string, x: string[], accuracies: number[], color: string): PlotlyTrace {
  return {
    type: "bar",
    name,
    x,
    y: accuracies.map(pct),
    text: accuracies.map((a) => pct(a).toFixed(1)),
    textposition: "inside",
    insidetextanchor: "end",
    textfont: { color: "white" },
    marker: { color },
    hovertemplate: "%{x}: %{y:.2f}%<extra></extra>",
  };
}

export function reconstructionFigure(result: ReconstructionSummary, opts: ReconstructionFigureOptions = {}): PlotlyFigure {
  check(result, "reconstructionFigure");
  const neurons = [...result.neurons].sort((a, b) => a.pcs - b.pcs);
  const categories = [...neurons.map((n) => category("neurons", n.pcs)), category("pairs", 1)];
  const data: PlotlyTrace[] = [
    accuracyBars("neurons", neurons.map((n) => category("neurons", n.pcs)), neurons.map((n) => n.accuracy), COLORS.neurons),
    accuracyBars("neuron-head pairs", [category("pairs", 1)], [result.pairs], COLORS.pairs),
    {
      type: "scatter",
      mode: "lines",
      name: `unmodified model (${pct(result.unmodified).toFixed(1)}%)`,
      x: categories,
      y: categories.map(() => pct(result.unmodified)),
      line: { color: COLORS.baseline, dash: "dash", width: 2 },
      hovertemplate: "unmodified: %{y:.2f}%<extra></extra>",
    },
  ];
  if (result.pairsAnalytic !== undefined) {
    data.push({
      type: "scatter",
      mode: "markers",
      name: `check: pairs with the analytic PC ±w/|w| (${pct(result.pairsAnalytic).toFixed(1)}%)`,
      x: [category("pairs", 1)],
      y: [pct(result.pairsAnalytic)],
      marker: { symbol: "x-thin-open", size: 14, color: "#000000", line: { width: 2 } },
      hovertemplate: "analytic PC: %{y:.2f}%<extra></extra>",
    });
  }
  if (opts.reference) {
    const ref = opts.reference.result;
    check(ref, "reconstructionFigure reference");
    data.push({
      type: "scatter",
      mode: "markers",
      name: `${opts.reference.name} (unmodified ${pct(ref.unmodified).toFixed(1)}%)`,
      x: [...ref.neurons.map((n) => category("neurons", n.pcs)), category("pairs", 1)],
      y: [...ref.neurons.map((n) => pct(n.accuracy)), pct(ref.pairs)],
      marker: { symbol: "diamond-open", size: 11, color: COLORS.paper, line: { width: 2 } },
      hovertemplate: `${opts.reference.name}: %{y:.1f}%<extra></extra>`,
    });
  }
  const all = [result.unmodified, result.pairs, ...neurons.map((n) => n.accuracy)];
  if (opts.reference) all.push(opts.reference.result.unmodified, opts.reference.result.pairs, ...opts.reference.result.neurons.map((n) => n.accuracy));
  const top = Math.min(100, Math.ceil((pct(Math.max(...all)) + 8) / 5) * 5);
  const title = opts.title ?? titleText("Reconstruction from PCs", `${opts.label ? `${opts.label}, ` : ""}${result.images} images`);
  return {
    data,
    layout: {
      ...BASE_LAYOUT,
      title: { text: title },
      barmode: "overlay",
      bargap: 0.35,
      xaxis: { title: { text: "each unit replaced by its mean + projection on its top PCs" }, type: "category", categoryorder: "array", categoryarray: categories },
      yaxis: { title: { text: "zero-shot top-1 accuracy (%)" }, range: [0, top], gridcolor: "#e5e5e5" },
    },
  };
}

import { ClipNadError } from "../errors";
import { BASE_LAYOUT, COLORS, PlotlyFigure, PlotlyTrace, titleText } from "./types";

/**
 * Attention-sink figures (paper.md §A.13): the pooled query's mean attention per spatial token as a heat map on the
 * grid (src/analysis/sink.ts AttentionSinkReport), and the register neurons' mean attention change
 * (src/analysis/registers.ts RegisterReport).
 */
export interface SinkMapInput {
  grid: number;
  /** Mean attention per token, K + 1 values (index 0 = the pooled token, then the grid row-major). */
  meanAttention: number[];
}

export interface SinkFigureOptions {
  title?: string;
  label?: string;
  images?: number;
}

export function attentionSinkFigure(input: SinkMapInput, opts: SinkFigureOptions = {}): PlotlyFigure {
  const g = input.grid;
  const m = input.meanAttention;
  const valid = Number.isInteger(g) && g >= 1 && Array.isArray(m) && m.length === g * g + 1;
  if (!valid || m.some((v) => !(v >= 0 && v <= 1))) {
    throw new ClipNadError(
      `attentionSinkFigure: meanAttention must hold grid² + 1 = ${g * g + 1} attention values in [0, 1]`,
      { key: "meanAttention" },
    );
  }
  const pc = (v: number) => Math.round(v * 10000) / 100;
  const z = Array.from({ length: g }, (_, r) => m.slice(1 + r * g, 1 + (r + 1) * g).map(pc));
  const cells = g <= 16;
  const sub = ["mean over heads and images", opts.label, opts.images ? `${opts.images} images` : undefined,
    `pooled token itself ${pc(m[0]).toFixed(1)}%`, `uniform ${pc(1 / m.length).toFixed(1)}%`,
  ].filter(Boolean).join(", ");
  const text = z.map((row) => row.map((v) => v.toFixed(1)));
  const cellText = cells ? { text, texttemplate: "%{text}", textfont: { size: g <= 8 ? 13 : 9 } } : {};
  return {
    data: [{
      type: "heatmap",
      z,
      x: Array.from({ length: g }, (_, c) => c),
      y: Array.from({ length: g }, (_, r) => r),
      colorscale: "Viridis",
      zmin: 0,
      colorbar: { title: { text: "attention (%)" } },
      ...cellText,
      hovertemplate: "row %{y}, column %{x}: %{z:.2f}%<extra></extra>",
    }],
    layout: {
      ...BASE_LAYOUT,
      title: { text: opts.title ?? titleText("Pooled query's attention per token", sub), x: 0.02, xanchor: "left" },
      margin: { l: 60, r: 30, t: 90, b: 60 },
      width: 640,
      height: 600,
      // the last token (bottom-right cell): the sink the paper describes
      shapes: [
        { type: "rect", x0: g - 1.5, x1: g - 0.5, y0: g - 1.5, y1: g - 0.5, line: { color: COLORS.pairs, width: 3 } },
      ],
      annotations: [
        {
          x: g - 1,
          y: g - 1.5,
          yanchor: "top",
          text: "last token",
          showarrow: false,
          font: { color: COLORS.pairs, size: 11 },
          bgcolor: "rgba(255,255,255,0.85)",
          yshift: -4,
        },
      ],
      xaxis: { title: { text: "grid column" }, constrain: "domain", dtick: 1 },
      yaxis: { title: { text: "grid row" }, autorange: "reversed", scaleanchor: "x", dtick: 1 },
    },
  };
}

export interface RegisterFigureInput {
  /** Mean |Δ attention to the last token| per neuron (C). */
  drop: number[];
  /** Mean signed Δ per neuron (C), optional. */
  signedDrop?: number[];
  /** Neurons by drop, largest first. */
  ranking: number[];
}

export function registerNeuronsFigure(
  input: RegisterFigureInput,
  opts: SinkFigureOptions & { top?: number } = {},
): PlotlyFigure {
  const C = input.drop?.length ?? 0;
  if (C === 0 || !Array.isArray(input.ranking) || input.ranking.length === 0) {
    throw new ClipNadError("registerNeuronsFigure: no neurons", { key: "drop" });
  }
  if (input.ranking.some((n) => !(Number.isInteger(n) && n >= 0 && n < C))) {
    throw new ClipNadError("registerNeuronsFigure: ranking names a neuron out of range", { key: "ranking" });
  }
  const top = input.ranking.slice(0, Math.min(opts.top ?? 20, input.ranking.length));
  const x = top.map((n) => `#${n}`);
  // in percentage points of attention, rounded so specs are stable under float noise
  const pp = (v: number) => Math.round(v * 1e8) / 1e6;
  const data: PlotlyTrace[] = [{
    type: "bar",
    name: "mean |Δ| (ranking score)",
    x,
    y: top.map((n) => pp(input.drop[n])),
    marker: { color: COLORS.pairs },
    hovertemplate: "neuron %{x}: mean |Δ| %{y:.4f} pp<extra></extra>",
  }];
  if (input.signedDrop) {
    data.push({
      type: "bar",
      name: "mean Δ (> 0: zeroing the neuron lowers the sink)",
      x,
      y: top.map((n) => pp(input.signedDrop![n])),
      marker: { color: COLORS.neurons },
      hovertemplate: "neuron %{x}: mean Δ %{y:.4f} pp<extra></extra>",
    });
  }
  const sub = [
    "Δ = mean-over-heads attention before − after",
    opts.label,
    opts.images ? `${opts.images} images` : undefined,
    `top ${top.length} of ${C} neurons`,
  ]
    .filter(Boolean).join(", ");
  return {
    data,
    layout: {
      ...BASE_LAYOUT,
      barmode: "group",
      title: {
        text: opts.title ?? titleText("Register neurons: attention to the last token with one neuron zeroed", sub),
        x: 0.02,
        xanchor: "left",
      },
      xaxis: { title: { text: "neuron (largest mean |Δ| first)" }, type: "category" },
      yaxis: { title: { text: "Δ attention to the last token (pp)" }, gridcolor: "#e5e5e5", zerolinecolor: "#888" },
    },
  };
}

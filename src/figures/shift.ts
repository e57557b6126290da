import { ClipNadError } from "../errors";
import { BASE_LAYOUT, COLORS, PlotlyFigure, PlotlyTrace, titleText } from "./types";

/**
 * Figure "distribution shift" (paper.md §A.10, B.2): per group (year), the true share of a concept next to the
 * monitor's mean per-image score ρ. Shares on the left axis (percent), mean ρ on the right axis, one line per
 * scoring variant. Input = per-group arrays (src/analysis/shift.ts groupMeans, or a toy dataset's realised shares).
 */
export interface ShiftFigureInput {
  concept: string;
  /** x values: the groups (years), in order. */
  groups: string[];
  /** True share of the concept per group (fraction in [0, 1]). */
  share: number[];
  /** Legend name of the share line (default "true share of <concept>"). */
  shareName?: string;
  /** Left axis title, before " (%)" (default "true share of <concept>"). */
  shareAxis?: string;
  /** Mean ρ per group, one series per variant (e.g. the paper's rule and a check). */
  scores: { name: string; values: number[]; r?: number }[];
}

export interface ShiftFigureOptions {
  title?: string;
  /** Model and data, for the subtitle. */
  label?: string;
}

const SCORE_COLORS = [COLORS.pairs, COLORS.neurons, "#2ca02c", "#9467bd"];

function checkSeries(name: string, values: number[], n: number): void {
  if (!Array.isArray(values) || values.length !== n) {
    throw new ClipNadError(
      `distributionShiftFigure: '${name}' has ${values?.length} values for ${n} groups`,
      { key: name },
    );
  }
  if (values.some((v) => !Number.isFinite(v))) {
    throw new ClipNadError(`distributionShiftFigure: '${name}' has a value that is not a number`, { key: name });
  }
}

export function distributionShiftFigure(input: ShiftFigureInput, opts: ShiftFigureOptions = {}): PlotlyFigure {
  const n = input.groups?.length ?? 0;
  if (n === 0) throw new ClipNadError("distributionShiftFigure: no groups", { key: "groups" });
  checkSeries("share", input.share, n);
  if (input.share.some((v) => v < 0 || v > 1)) {
    throw new ClipNadError("distributionShiftFigure: shares must be fractions in [0, 1]", { key: "share" });
  }
  if (!input.scores?.length) throw new ClipNadError("distributionShiftFigure: no score series", { key: "scores" });
  input.scores.forEach((s) => checkSeries(s.name, s.values, n));
  const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;
  const data: PlotlyTrace[] = [{
    type: "scatter",
    mode: "lines+markers",
    name: input.shareName ?? `true share of ${input.concept}`,
    x: input.groups,
    y: input.share.map((v) => round(100 * v, 2)),
    yaxis: "y",
    line: { color: COLORS.baseline, width: 2, dash: "dash" },
    marker: { color: COLORS.baseline, symbol: "circle-open", size: 8 },
    hovertemplate: "%{x}: %{y:.1f}%<extra></extra>",
  }];
  input.scores.forEach((s, i) => {
    const color = SCORE_COLORS[i % SCORE_COLORS.length];
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name: s.r === undefined ? s.name : `${s.name} (r over groups = ${s.r.toFixed(2)})`,
      x: input.groups,
      y: s.values.map((v) => round(v, 6)),
      yaxis: "y2",
      line: { color, width: 2 },
      marker: { color, symbol: "square", size: 7 },
      hovertemplate: `${s.name}: %{x} → %{y:.4f}<extra></extra>`,
    });
  });
  const title = opts.title ?? titleText(`Distribution shift: "${input.concept}" over time`, opts.label);
  return {
    data,
    layout: {
      ...BASE_LAYOUT,
      title: { text: title, x: 0.02, xanchor: "left" },
      margin: { ...(BASE_LAYOUT.margin as object), r: 80 },
      xaxis: { title: { text: "year" }, type: "category", showgrid: false, linecolor: "#888" },
      yaxis: {
        title: { text: `${input.shareAxis ?? `true share of ${input.concept}`} (%)` },
        rangemode: "tozero",
        gridcolor: "#e5e5e5",
        zeroline: false,
      },
      yaxis2: {
        title: { text: "mean ρ = ‖Σ top-k r‖ / ‖M‖" },
        overlaying: "y",
        side: "right",
        rangemode: "tozero",
        showgrid: false,
        zeroline: false,
        tickmode: "auto", nticks: 6, tickformat: ".3~g",
      },
    },
  };
}

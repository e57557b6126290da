/** Pure plotly figure specs (JSON: traces + layout), as `Plotly.newPlot(div, fig.data, fig.layout)` takes them. */

export type PlotlyTrace = { [key: string]: unknown };
export type PlotlyLayout = { [key: string]: unknown };

export interface PlotlyFigure {
  data: PlotlyTrace[];
  layout: PlotlyLayout;
  config?: { [key: string]: unknown };
}

/** House style shared by the paper figures. */
export const COLORS = {
  neurons: "#1f77b4",
  pairs: "#d62728",
  baseline: "#444444",
  paper: "#7f7f7f",
} as const;

export const BASE_LAYOUT: PlotlyLayout = {
  font: { family: "DejaVu Sans, Arial, sans-serif", size: 13 },
  plot_bgcolor: "#ffffff",
  paper_bgcolor: "#ffffff",
  margin: { l: 70, r: 30, t: 60, b: 60 },
  legend: { orientation: "h", x: 0, y: -0.2 },
  width: 640,
  height: 440,
};

/** Accuracy fraction → percent, rounded to 0.01 so specs are stable under float noise. */
export function pct(fraction: number): number {
  return Math.round(fraction * 10000) / 100;
}

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
  margin: { l: 70, r: 30, t: 80, b: 150 },
  // Below the x-axis title; long trace names wrap onto several rows.
  legend: { orientation: "h", x: 0, y: -0.3, yanchor: "top" },
  width: 640,
  height: 520,
};

/** A title with an optional smaller subtitle line (model, data, image count). */
export function titleText(main: string, sub?: string): string {
  return sub ? `${main}<br><sup>${sub}</sup>` : main;
}

/** Accuracy fraction → percent, rounded to 0.01 so specs are stable under float noise. */
export function pct(fraction: number): number {
  return Math.round(fraction * 10000) / 100;
}

import { ClipNadError } from "../errors";
import { BASE_LAYOUT, COLORS, PlotlyFigure, PlotlyTrace, titleText } from "./types";
import { SegmentationMethod } from "../apps/segmentation/names";

/**
 * Figure 3 / the segmentation tables (paper.md §A.9, §B): mIoU of the paper's neuron-head pairs against MaskCLIP,
 * self-self attention and the two ablations, the ablation table, and a qualitative grid. Inputs are the
 * `miou.json` numbers of src/apps/segmentation (percent) — the figures never compute anything themselves.
 */

/** The methods in the order the figures list them: ours, its ablations, the baselines. */
export const SEGMENTATION_FIGURE_METHODS: readonly SegmentationMethod[] = [
  "pairs",
  "heads",
  "neurons",
  "maskclip",
  "maskclip+pos",
  "selfself",
];
type SegmentationFigureMethod = SegmentationMethod;

/** Axis ticks and grid column titles (two lines where long). */
const SHORT_NAMES: Record<SegmentationFigureMethod, string> = {
  pairs: "neuron-head<br>pairs (ours)",
  heads: "heads only",
  neurons: "neurons only",
  maskclip: "MaskCLIP",
  "maskclip+pos": "MaskCLIP<br>+ pos. emb.",
  selfself: "self-self<br>attention",
};

/** What the paper reports for RN50x16 on PASCAL Context-59 (mIoU %; no number for MaskCLIP + positional embedding). */
export const PAPER_SEGMENTATION_CONTEXT59: Partial<Record<SegmentationFigureMethod, number>> = {
  pairs: 26.2,
  maskclip: 22.8,
  selfself: 22.2,
  neurons: 16.5,
  heads: 24.7,
};

export type SegmentationScores = Partial<Record<SegmentationFigureMethod, number>>;

function checkScores(s: SegmentationScores, what: string): void {
  if (s === null || typeof s !== "object") throw new ClipNadError(`${what}: expected mIoU per method`);
  for (const [m, v] of Object.entries(s)) {
    if (!(SEGMENTATION_FIGURE_METHODS as readonly string[]).includes(m))
      throw new ClipNadError(`${what}: unknown method '${m}'`, { key: m });
    if (typeof v !== "number" || !(v >= 0 && v <= 100))
      throw new ClipNadError(`${what}: mIoU of ${m} must be a percentage in [0, 100], got ${v}`, { key: m });
  }
}

export interface SegmentationBarOptions {
  /** Model / data of the run, e.g. "toy, 200 toy-world canvases". */
  label?: string;
  /** The paper's numbers beside (default PAPER_SEGMENTATION_CONTEXT59; null = none). */
  paper?: SegmentationScores | null;
  paperName?: string;
  title?: string;
}

/** Grouped bars: this run's mIoU per method and the paper's beside it. */
export function segmentationBarFigure(measured: SegmentationScores, opts: SegmentationBarOptions = {}): PlotlyFigure {
  checkScores(measured, "segmentationBarFigure");
  const paper = opts.paper === undefined ? PAPER_SEGMENTATION_CONTEXT59 : opts.paper;
  if (paper) checkScores(paper, "segmentationBarFigure paper");
  const methods = SEGMENTATION_FIGURE_METHODS.filter(
    (m) => measured[m] !== undefined || (paper && paper[m] !== undefined),
  );
  const x = methods.map((m) => SHORT_NAMES[m]);
  const bars = (name: string, values: SegmentationScores, color: string): PlotlyTrace => ({
    type: "bar",
    name,
    x,
    y: methods.map((m) => values[m] ?? null),
    text: methods.map((m) => (values[m] === undefined ? "" : values[m]!.toFixed(1))),
    textposition: "outside",
    marker: { color },
    hovertemplate: `${name}<br>%{x}: %{y:.2f} mIoU<extra></extra>`,
  });
  const data: PlotlyTrace[] = [bars(`this run${opts.label ? ` (${opts.label})` : ""}`, measured, COLORS.pairs)];
  if (paper) data.push(bars(opts.paperName ?? "paper (RN50x16, PASCAL Context-59)", paper, COLORS.paper));
  const all = [...Object.values(measured), ...(paper ? Object.values(paper) : [])] as number[];
  const top = Math.min(100, Math.ceil((Math.max(...all, 1) * 1.15 + 2) / 5) * 5);
  return {
    data,
    layout: {
      ...BASE_LAYOUT,
      width: 720,
      title: { text: opts.title ?? titleText("Training-free segmentation", opts.label) },
      barmode: "group",
      bargap: 0.25,
      xaxis: { type: "category", categoryorder: "array", categoryarray: x, tickangle: 0 },
      yaxis: { title: { text: "mIoU (%)" }, range: [0, top], gridcolor: "#e5e5e5" },
    },
  };
}

/** Rows of the ablation table: the product against each factor alone, paper beside the run. */
export function segmentationAblationRows(
  measured: SegmentationScores,
  paper: SegmentationScores = PAPER_SEGMENTATION_CONTEXT59,
): string[][] {
  checkScores(measured, "segmentationAblationRows");
  const fmt = (v: number | undefined) => (v === undefined ? "" : v.toFixed(1));
  const rows: [string, SegmentationFigureMethod][] = [
    ["neuron activation × head similarity (ours)", "pairs"],
    ["head similarity only (neuron factor = 1)", "heads"],
    ["neuron activation only (head factor = 1)", "neurons"],
  ];
  return rows.map(([name, m]) => [
    name,
    fmt(paper[m]),
    fmt(measured[m]),
    measured[m] !== undefined && measured.pairs !== undefined ? (measured[m]! - measured.pairs).toFixed(1) : "",
  ]);
}

export const SEGMENTATION_ABLATION_COLUMNS = [
  "maps combined",
  "paper (RN50x16, Context-59)",
  "this run",
  "this run − ours",
];

/** One row of the qualitative grid: PNG data URLs of the image, its ground truth and each method's class map. */
export interface QualitativeRow {
  id: string;
  image: string;
  groundTruth: string;
  predictions: Partial<Record<SegmentationFigureMethod, string>>;
}

export interface QualitativeOptions {
  /** Class names and their colours (RGB 0..255), for the legend. */
  classes?: { names: string[]; colours: [number, number, number][] };
  title?: string;
  /** Pixels per cell (default 150). */
  cell?: number;
}

/** Image | ground truth | each method, one row per image (plotly image traces). */
export function segmentationGridFigure(
  rows: QualitativeRow[],
  methods: SegmentationFigureMethod[],
  opts: QualitativeOptions = {},
): PlotlyFigure {
  if (rows.length === 0) throw new ClipNadError("segmentationGridFigure: no rows");
  const cols = ["image", "ground truth", ...methods.map((m) => SHORT_NAMES[m])];
  const nc = cols.length,
    nr = rows.length,
    cell = opts.cell ?? 150,
    gap = 0.012;
  const data: PlotlyTrace[] = [];
  const layout: Record<string, unknown> = {
    ...BASE_LAYOUT,
    title: { text: opts.title ?? "Qualitative results" },
    width: nc * cell + 40,
    height: nr * cell + 170,
    margin: { l: 20, r: 20, t: 110, b: 60 },
    showlegend: Boolean(opts.classes),
    legend: { orientation: "h", x: 0, y: -0.02, yanchor: "top", font: { size: 11 } },
    annotations: cols.map((c, j) => ({
      text: c,
      x: (j + 0.5) / nc,
      y: 1,
      xref: "paper",
      yref: "paper",
      yanchor: "bottom",
      showarrow: false,
      font: { size: 11 },
    })),
  };
  rows.forEach((row, r) => {
    const sources = [row.image, row.groundTruth, ...methods.map((m) => row.predictions[m])];
    sources.forEach((src, j) => {
      if (typeof src !== "string" || !src.startsWith("data:image/"))
        throw new ClipNadError(`segmentationGridFigure: row ${row.id} lacks a PNG for '${cols[j]}'`);
      const k = r * nc + j + 1;
      const ax = k === 1 ? "" : String(k);
      data.push({
        type: "image",
        source: src,
        xaxis: `x${ax}`,
        yaxis: `y${ax}`,
        hoverinfo: "skip",
        name: `${row.id} ${cols[j]}`,
      });
      layout[`xaxis${ax}`] = { domain: [j / nc + gap, (j + 1) / nc - gap], visible: false, anchor: `y${ax}` };
      layout[`yaxis${ax}`] = {
        domain: [1 - (r + 1) / nr + gap, 1 - r / nr - gap],
        visible: false,
        anchor: `x${ax}`,
        scaleanchor: `x${ax}`,
      };
    });
  });
  for (const [i, name] of (opts.classes?.names ?? []).entries()) {
    const [cr, cg, cb] = opts.classes!.colours[i];
    data.push({
      type: "scatter",
      mode: "markers",
      x: [null],
      y: [null],
      name,
      showlegend: true,
      hoverinfo: "skip",
      marker: { symbol: "square", size: 12, color: `rgb(${cr},${cg},${cb})` },
    });
  }
  return { data, layout };
}

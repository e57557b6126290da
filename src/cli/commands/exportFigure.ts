import * as fs from "fs";
import { Command } from "commander";
import { ClipNadError } from "../../errors";
import { exportFigure, formatFromPath } from "../../figures/export";
import { PlotlyFigure } from "../../figures/types";
import { PAPER_RECONSTRUCTION_RN50X16, reconstructionFigure } from "../../figures/reconstruction";
import { sparsityFigure } from "../../figures/sparsity";
import { polysemanticityFigure } from "../../figures/polysemanticity";

/** Build a paper figure from an analysis JSON (`clip-nad analyze reconstruct|ablate --out`). */
function figureFromReport(kind: string, report: any, file: string): PlotlyFigure {
  const label = report?.model?.name ? String(report.model.name) : undefined;
  if (kind === "reconstruction") {
    const acc = report?.accuracy;
    if (!acc) throw new ClipNadError("not a reconstruct report (no 'accuracy')", { file, key: "accuracy" });
    const images = Number(report?.evaluation?.images ?? report?.images ?? 0);
    return reconstructionFigure({ images, unmodified: acc.unmodified, pairs: acc.pairs, pairsAnalytic: acc.pairsAnalytic, neurons: acc.neurons }, {
      label,
      reference: { name: "paper, RN50x16 ImageNet", result: PAPER_RECONSTRUCTION_RN50X16 },
    });
  }
  if (kind === "sparsity") {
    const curves = report?.curves;
    if (!curves?.pair || !curves?.neuron) throw new ClipNadError("not an ablate report (no 'curves.pair' / 'curves.neuron')", { file, key: "curves" });
    const full = curves.pair.points.find((p: { percentKept: number }) => p.percentKept === 100);
    return sparsityFigure(curves.pair, curves.neuron, { label, unmodified: full?.accuracy });
  }
  if (kind === "polysemanticity" || kind.startsWith("polysemanticity:")) {
    const measure = kind.includes(":") ? kind.slice(kind.indexOf(":") + 1) : "inertia";
    const hist = report?.histograms?.[measure];
    if (!hist) {
      const have = Object.keys(report?.histograms ?? {}).join(", ") || "none";
      throw new ClipNadError(`not a polysemanticity report with a '${measure}' histogram (has: ${have})`, {
        file,
        key: "histograms",
      });
    }
    const what = measure === "inertia" ? `inertia of the top-${report.top} image embeddings (lower = more alike)`
      : `distinct ${measure} among the top-${report.top}`;
    return polysemanticityFigure(hist, {
      measure: what,
      label: `${label ?? "model"}, ${report.images} images, ${report.norm} norm`,
    });
  }
  throw new ClipNadError(`unknown figure '${kind}' (use reconstruction, sparsity, polysemanticity[:<label>])`);
}

/**
 * `clip-nad export-figure --in spec.json --out fig.png|fig.svg [--width W --height H --scale S]`
 * `clip-nad export-figure --figure reconstruction|sparsity --in report.json --out fig.png` (from `clip-nad analyze`)
 */
export function register(program: Command): void {
  program
    .command("export-figure")
    .description("render a plotly figure spec (JSON {data, layout}) to PNG or SVG with headless Chromium")
    .requiredOption("--in <spec.json>", "figure spec (from src/figures or a notebook output)")
    .requiredOption("--out <file>", "output .png or .svg")
    .option("--width <px>", "width in pixels (default: layout.width or 700)")
    .option("--height <px>", "height in pixels (default: layout.height or 500)")
    .option("--scale <k>", "PNG pixel ratio", "1")
    .option("--figure <kind>", "build the paper figure from an analysis JSON instead: reconstruction | sparsity | " +
      "polysemanticity[:<label>] (from `analyze polysemanticity`; e.g. polysemanticity:colour)")
    .action(async (opts: { in: string; out: string; width?: string; height?: string; scale: string; figure?: string }) => {
      const format = formatFromPath(opts.out);
      let spec: PlotlyFigure;
      try {
        spec = JSON.parse(fs.readFileSync(opts.in, "utf8"));
      } catch (e) {
        throw new ClipNadError(`cannot read figure spec: ${(e as Error).message}`, { file: opts.in });
      }
      // A notebook output bundle holds the figure under the plotly mime type.
      const fig = opts.figure
        ? figureFromReport(opts.figure, spec, opts.in)
        : (spec as unknown as { [k: string]: PlotlyFigure })["application/vnd.plotly.v1+json"] ?? spec;
      if (!fig || !Array.isArray(fig.data)) throw new ClipNadError("figure spec has no 'data' array of traces", { file: opts.in, key: "data" });
      const num = (v: string | undefined, what: string) => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!(n > 0)) throw new ClipNadError(`--${what} must be a positive number, got '${v}'`);
        return n;
      };
      const bytes = await exportFigure(fig, {
        format,
        out: opts.out,
        width: num(opts.width, "width"),
        height: num(opts.height, "height"),
        scale: num(opts.scale, "scale"),
      });
      console.log(`wrote ${opts.out} (${format}, ${bytes.length} bytes)`);
    });
}

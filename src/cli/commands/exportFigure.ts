import * as fs from "fs";
import { Command } from "commander";
import { ClipNadError } from "../../errors";
import { exportFigure, formatFromPath } from "../../figures/export";
import { PlotlyFigure } from "../../figures/types";

/** `clip-nad export-figure --in spec.json --out fig.png|fig.svg [--width W --height H --scale S]` */
export function register(program: Command): void {
  program
    .command("export-figure")
    .description("render a plotly figure spec (JSON {data, layout}) to PNG or SVG with headless Chromium")
    .requiredOption("--in <spec.json>", "figure spec (from src/figures or a notebook output)")
    .requiredOption("--out <file>", "output .png or .svg")
    .option("--width <px>", "width in pixels (default: layout.width or 700)")
    .option("--height <px>", "height in pixels (default: layout.height or 500)")
    .option("--scale <k>", "PNG pixel ratio", "1")
    .action(async (opts: { in: string; out: string; width?: string; height?: string; scale: string }) => {
      const format = formatFromPath(opts.out);
      let spec: PlotlyFigure;
      try {
        spec = JSON.parse(fs.readFileSync(opts.in, "utf8"));
      } catch (e) {
        throw new ClipNadError(`cannot read figure spec: ${(e as Error).message}`, { file: opts.in });
      }
      // A notebook output bundle holds the figure under the plotly mime type.
      const fig = (spec as unknown as { [k: string]: PlotlyFigure })["application/vnd.plotly.v1+json"] ?? spec;
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

import * as fs from "fs";
import { Command } from "commander";
import { SingleBar, Presets } from "cli-progress";
import { ClipNadError } from "../../errors";
import { writeToyDataset } from "../../toyworld";

function intOption(name: string, text: string, min: number): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < min) throw new ClipNadError(`--${name} must be an integer ≥ ${min}, got '${text}'`);
  return v;
}

/** "256x192" → { width: 256, height: 192 }; one number means a square canvas. */
function canvasOption(text: string): { width: number; height: number } {
  const m = /^(\d+)(?:[x×](\d+))?$/i.exec(String(text).trim());
  if (!m) throw new ClipNadError(`--canvas must be WIDTHxHEIGHT (e.g. 256x256) or one side, got '${text}'`);
  const width = Number(m[1]);
  return { width, height: m[2] === undefined ? width : Number(m[2]) };
}

/** `clip-nad toyworld`: write a procedural dataset (PNG images, masks, index.jsonl, dataset.json). */
export function register(program: Command): void {
  program
    .command("toyworld")
    .description("generate a procedural toy-world dataset (images, masks, captions, labels, optional drift over years)")
    .requiredOption("--out <dir>", "output folder")
    .requiredOption("--n <count>", "number of scenes")
    .option("--seed <seed>", "dataset seed", "0")
    .option("--size <px>", "image side in pixels", "128")
    .option("--min-objects <k>", "fewest objects per scene", "1")
    .option("--max-objects <k>", "most objects per scene", "4")
    .option("--drift <spec>", 'attribute drift, e.g. "yellow:0.05->0.4,years:2000-2010" (see src/toyworld/drift.ts)')
    .option("--no-masks", "skip the mask PNGs")
    .option(
      "--canvas <WxH>",
      "draw each scene on a W×H canvas (e.g. 256x256) with objects, fills and textures at the scale of --size scenes " +
        "and the object counts per --size² of area (segmentation benchmarks)",
    )
    .option(
      "--shape-groups",
      "minimal pairs: runs of 8 scenes identical but for the dominant object's shape (training data)",
    )
    .option("--force", "replace a non-empty --out folder whole (without it, a non-empty folder is refused)")
    .option("--quiet", "no progress bar")
    .action(async (o) => {
      const n = intOption("n", o.n, 1);
      if (!o.force && fs.existsSync(o.out) && fs.statSync(o.out).isDirectory() && fs.readdirSync(o.out).length > 0) {
        throw new ClipNadError(
          "--out folder is not empty (a dataset written into it would mix old and new scenes); choose an empty " +
            "folder or pass --force to replace it",
          { file: o.out },
        );
      }
      const bar = o.quiet
        ? undefined
        : new SingleBar(
            { format: "toyworld [{bar}] {value}/{total} scenes | {eta_formatted} left" },
            Presets.shades_classic,
          );
      bar?.start(n, 0);
      const t0 = Date.now();
      const summary = await writeToyDataset(o.out, {
        n,
        seed: intOption("seed", o.seed, 0),
        size: intOption("size", o.size, 16),
        minObjects: intOption("min-objects", o.minObjects, 1),
        maxObjects: intOption("max-objects", o.maxObjects, 1),
        drift: o.drift,
        masks: o.masks,
        shapeGroups: Boolean(o.shapeGroups),
        canvas: o.canvas === undefined ? undefined : canvasOption(o.canvas),
        force: Boolean(o.force),
        onProgress: (done) => bar?.update(done),
      });
      bar?.stop();
      console.log(`wrote ${n} scenes to ${o.out} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      for (const y of summary.years ?? []) {
        const parts = Object.keys(y.target).map(
          (k) => `${k} target ${y.target[k].toFixed(3)} realised ${y.realised[k].toFixed(3)}`,
        );
        console.log(`  ${y.year}: ${y.scenes} scenes, ${parts.join("; ")}`);
      }
    });
}

import * as path from "path";
import { Command } from "commander";
import { ClipNadError } from "../../errors";
import {
  METHOD_LABELS,
  SEGMENTATION_DATASETS,
  evaluateSegmentation,
  openSegmentationDataset,
  parseMethod,
} from "../../apps/segmentation";
import { addModelOptions, openModel, positiveInt } from "../modelOption";
import { Progress } from "../progress";
import { addSegmentationOptions, describeMode, parseSegmentationFlags, signsOption } from "../segmentOptions";

/** `clip-nad segment-eval`: one method over a segmentation benchmark → pred/<stem>.png and miou.json (resumable). */
export function register(program: Command): void {
  addSegmentationOptions(
    addModelOptions(
      program
        .command("segment-eval")
        .description(
          "evaluate a segmentation method on a benchmark (mIoU as mmseg: areas summed over the dataset, 255 ignored; " +
            "reduce_zero_label for PASCAL Context-59); writes pred/<id>.png and miou.json; resumable",
        )
        .requiredOption("--dataset <name>", `benchmark: ${SEGMENTATION_DATASETS.join(" | ")}`)
        .requiredOption(
          "--root <dir>",
          "dataset folder (VOC2010 or a VOCdevkit holding it; a toy-world folder made with `toyworld --canvas`)",
        )
        .requiredOption("--out <dir>", "output folder (rerun the same command to resume)"),
    ),
  )
    .option("--limit <n>", "the first N images only")
    .option("--batch <b>", "slide windows per forward pass", "4")
    .action(async (o) => {
      parseMethod(o.method);
      if (!(SEGMENTATION_DATASETS as readonly string[]).includes(o.dataset)) {
        throw new ClipNadError(`unknown --dataset '${o.dataset}' (known: ${SEGMENTATION_DATASETS.join(", ")})`);
      }
      const dataset = openSegmentationDataset(o.dataset, o.root);
      const limit = o.limit === undefined ? undefined : positiveInt("limit", o.limit);
      const { model } = await openModel(o.model, o.quiet, o.device);
      let embedding: Progress | undefined;
      let progress: Progress | undefined;
      const images = Math.min(limit ?? dataset.items.length, dataset.items.length);
      try {
        const flags = parseSegmentationFlags(o, model.config.imageResolution);
        const signs = await signsOption(o.collection, flags.method, model);
        const t0 = Date.now();
        const report = await evaluateSegmentation({
          model,
          dataset,
          method: flags.method,
          k: flags.k,
          mode: flags.mode,
          signs,
          limit,
          outDir: o.out,
          batch: positiveInt("batch", o.batch),
          onEmbedProgress: (done, total) => {
            embedding ??= new Progress("embedding class names", { total, unit: "classes", quiet: o.quiet });
            embedding.update(done);
          },
          onProgress: (done, total, info) => {
            if (!progress) {
              embedding?.stop();
              progress = new Progress(`segment-eval ${o.method}`, { total: images, unit: "images", quiet: o.quiet });
              progress.resumed(info.resumedFrom);
            }
            progress.update(done, total);
          },
        });
        progress?.stop();
        console.log(
          `${METHOD_LABELS[flags.method]} on ${dataset.name} (${report.images} images, ` +
            `${describeMode(flags.mode)}${report.k ? `, k = ${report.k}` : ""}): ` +
            `mIoU ${report.mIoU.toFixed(2)}, aAcc ${report.aAcc.toFixed(2)}, mAcc ${report.mAcc.toFixed(2)} ` +
              `(${((Date.now() - t0) / 1000).toFixed(1)} s)`,
        );
        console.log(
          `wrote ${path.join(o.out, "miou.json")} and ${report.images} predictions under ${path.join(o.out, "pred")}`,
        );
      } catch (e) {
        embedding?.stop();
        progress?.stop(`segment-eval stopped; rerun the same command to resume (${path.resolve(o.out)})`);
        throw e;
      } finally {
        await model.dispose();
      }
    });
}

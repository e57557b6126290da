import { Command } from "commander";
import { writeJsonAtomic } from "../../io/atomic";
import { findRegisters } from "../../analysis/registers";
import { addDeviceOption, jsonOutPath, openModel, positiveInt } from "../modelOption";
import { Progress } from "../progress";

/** `clip-nad analyze registers`: rank neurons by how much zeroing them moves the attention sink (paper.md §A.13). */
export function register(analyze: Command): void {
  const cmd = analyze
    .command("registers")
    .description("register neurons: per neuron, zero it in every token and measure the change of the pooled "
      + "query's mean-over-heads attention to the last token; rank by mean |change|")
    .option("--model <name|path>", "model name or checkpoint file", "toy")
    .requiredOption("--images <dir>", "image folder (recursive), or a toy-world dataset folder")
    .option("--limit <n>", "at most this many images (after --stride)")
    .option("--stride <s>", "every S-th image of the sorted list (the paper: 11 on Cars test)", "1")
    .option("--batch <b>", "images per forward pass", "8")
    .requiredOption("--out <file.json>", "where to write {drop, ranking, …}")
    .option("--top <n>", "neurons to print", "10")
    .option("--quiet", "no progress output");
  addDeviceOption(cmd)
    .action(async (o) => {
      const out = jsonOutPath(o.out);
      const limit = o.limit === undefined ? undefined : positiveInt("limit", o.limit);
      const { model } = await openModel(o.model, o.quiet, o.device);
      const progress = new Progress("registers", { unit: "images", quiet: o.quiet, total: 1 });
      try {
        const report = await findRegisters({
          model,
          images: o.images,
          limit,
          stride: positiveInt("stride", o.stride),
          batchSize: positiveInt("batch", o.batch),
          onProgress: (done, total) => progress.update(done, total),
        });
        progress.stop();
        writeJsonAtomic(out, report);
        const uniform = 1 / (model.attentionPool.K + 1);
        const skipped = report.skipped ? ` (${report.skipped} unreadable skipped)` : "";
        console.log(`registers: ${report.images} images${skipped}, ${report.drop.length} neurons; `
          + `mean attention to the last token ${report.baseline.toFixed(4)} (uniform ${uniform.toFixed(4)})`);
        for (const n of report.ranking.slice(0, positiveInt("top", o.top))) {
          const [abs, signed] = [report.drop[n].toFixed(5), report.signedDrop[n].toFixed(5)];
          console.log(`  neuron ${String(n).padStart(5)}  mean |Δ| ${abs}  mean Δ ${signed}`);
        }
        console.log(`wrote ${out}`);
      } finally {
        progress.stop();
        await model.dispose();
      }
    });
}

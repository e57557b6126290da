import { Command } from "commander";
import { ClipNadError } from "../../errors";
import { Collection, openCollection } from "../../collect";
import { checkNormKind } from "../../decompose";
import { resolveModel } from "../../clip/resolve";
import { fileSha256 } from "../../io/hash";
import { writeJsonAtomic } from "../../io/atomic";
import { subconcepts } from "../../analysis/subconcepts";
import { checkCollectionModel } from "../../collect";
import { jsonOutPath, nonNegativeInt, positiveInt } from "../modelOption";
import { Progress } from "../progress";

/** A non-negative integer option (a unit index). */

/** `--model`: refuse a collection made by another checkpoint (sha256 of the resolved file vs the manifest's). */
export async function checkModelOption(collection: Collection, model: string | undefined): Promise<void> {
  if (model === undefined) return;
  const file = await resolveModel(model);
  checkCollectionModel(collection, { name: model, hash: await fileSha256(file) });
}

/** Options shared by the top-image analyses. */
export function addTopImageOptions(cmd: Command): Command {
  return cmd
    .requiredOption("--collection <dir>", "collection folder from `clip-nad collect`")
    .requiredOption("--out <file.json>", "where to write the results")
    .option("--top <k>", "images per unit", "10")
    .option("--norm <raw|centred>", "rank by the raw contribution norm ‖r(I)‖ (bias shares included, the paper's " +
      "retrieval) or the centred ‖r(I) − r(s̄)‖", "raw")
    .option("--model <name|path>", "check that the collection was made with this model (sha256)")
    .option("--images <dir>", "the folder the collection's images are in now (default: where they were collected from)")
    .option("--quiet", "no progress output");
}

/** Open the collection, run `work` under a progress display of its images, close it (also on failure). */
export async function withCollection(
  dir: string, label: string, quiet: boolean | undefined,
  work: (collection: Collection, onProgress: (done: number) => void) => Promise<void>,
): Promise<void> {
  const collection = openCollection(dir);
  const progress = new Progress(label, { total: collection.N, unit: "images", quiet });
  try {
    await work(collection, (done) => progress.update(done));
    progress.stop();
  } catch (e) {
    progress.fail();
    throw e;
  } finally {
    collection.close();
  }
}

/**
 * `clip-nad analyze subconcepts --collection COL --neuron N [--top 10] [--norm raw|centred] --out X.json`:
 * the neuron's top images by ‖Σ_h r^{n,h}(I)‖ and each pair's by ‖r^{n,h}(I)‖ (paper.md §A.11), as image ids (paths
 * relative to the collection's image root) with their norms, best first.
 */
export function register(analyze: Command): void {
  addTopImageOptions(analyze
    .command("subconcepts")
    .description("a neuron's top images and each of its pairs' top images (sub-concepts), by contribution norm")
    .requiredOption("--neuron <n>", "neuron index"))
    .action(async (o) => {
      const out = jsonOutPath(o.out);
      const norm = checkNormKind(o.norm);
      const top = positiveInt("top", o.top);
      const neuron = nonNegativeInt("neuron", o.neuron);
      await withCollection(o.collection, `subconcepts of neuron ${neuron}`, o.quiet, async (collection, onProgress) => {
        if (neuron >= collection.C) {
          throw new ClipNadError(`--neuron ${neuron} is out of range: the collection's model has neurons ` +
            `0..${collection.C - 1}`, { file: collection.dir });
        }
        await checkModelOption(collection, o.model);
        const { report } = await subconcepts(collection, neuron, { top, norm, imageRoot: o.images, onProgress });
        writeJsonAtomic(out, report);
        const best = [...report.pairs].sort((a, b) => b.strength - a.strength).slice(0, 3);
        const first = report.neuron.top[0];
        console.log(`neuron ${neuron}: top-${report.top} of ${report.images} images by the ${norm} norm; ` +
          `best image ${first?.id} (${first?.score.toFixed(3)})`);
        const strongest = best.map((p) => `head ${p.head} ${p.strength.toFixed(3)}`).join(", ");
        console.log(`  strongest pairs (mean of their top norms): ${strongest}`);
        console.log(`wrote ${out}`);
      });
    });
}

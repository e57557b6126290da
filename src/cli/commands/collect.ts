import * as fs from "fs";
import * as path from "path";
import { Command } from "commander";
import { ClipNadError } from "../../errors";
import { collect, parseShard, Shard } from "../../collect";
import { isAutoShard, shardFromEnvironment } from "../../collect/shardEnv";
import { Collection } from "../../collect/collection";
import { FILES } from "../../collect/manifest";
import { addModelOptions, openModel, positiveInt } from "../modelOption";
import { Progress } from "../progress";

/** Print what a finished collection holds, and its skipped images. */
export function printCollectionSummary(col: Collection, seconds: number): void {
  const m = col.manifest;
  const bytes = col.diskBytes();
  console.log(`collection ${col.dir}: ${col.N} images × H=${col.H} × C=${col.C} (d=${col.d}), top-${col.k} per pair/neuron/head`);
  console.log(`  ${(bytes / 1e6).toFixed(1)} MB on disk (${(bytes / Math.max(1, col.N) / 1e6).toFixed(3)} MB per image), ${seconds.toFixed(1)} s`);
  if (m.skipped.length > 0) {
    console.log(`  skipped ${m.skipped.length} unreadable image(s):`);
    for (const s of m.skipped.slice(0, 10)) console.log(`    ${s.id}: ${s.reason}`);
    if (m.skipped.length > 10) console.log(`    … and ${m.skipped.length - 10} more (manifest.json "skipped")`);
  }
}

/** `--shard i/n`, or `--shard auto`: the batch engine's array task (Slurm, Kubernetes Indexed Job, AWS Batch). */
function shardOption(text: string, quiet?: boolean): Shard {
  if (!isAutoShard(text)) return parseShard(text);
  const shard = shardFromEnvironment();
  if (!quiet)
    console.error(`collect: shard ${shard.index}/${shard.count} from ${shard.source.join(", ")} (${shard.engine})`);
  return { index: shard.index, count: shard.count };
}

/** `clip-nad collect`: stream an image folder through the model into a resumable collection folder. */
export function register(program: Command): void {
  addModelOptions(
    program
      .command("collect")
      .description(
        "collect per-image pair coefficients s (H×C), embeddings, means and top-k images per pair/neuron/head; " +
          "resumable (rerun the same command after an interruption), shardable",
      )
      .requiredOption("--images <dir>", "image folder (recursive, sorted by relative path)")
      .requiredOption("--out <dir>", "collection folder (created; rerun to resume)")
      .option("--limit <n>", "at most this many images (after --stride)")
      .option("--stride <s>", "every S-th image of the sorted list", "1")
      .option(
        "--shard <i/n|auto>",
        "only positions p with p % n == i (after stride/limit); combine with `clip-nad merge`. " +
          "auto: from the job array's environment (SLURM_ARRAY_TASK_ID/_COUNT; Kubernetes JOB_COMPLETION_INDEX with " +
          "the count in CLIP_NAD_SHARDS; AWS_BATCH_JOB_ARRAY_INDEX/_SIZE; CLIP_NAD_SHARDS overrides the count)",
      )
      .option("--topk <k>", "top images kept per pair, neuron and head", "50")
      .option("--batch <b>", "images per forward pass (keep it the same when resuming)", "8"),
  ).action(async (o) => {
    // Before the model loads: fail fast.
    const shard = o.shard === undefined ? undefined : shardOption(o.shard, o.quiet);
    const { model } = await openModel(o.model, o.quiet, o.device);
    const progress = new Progress("collect", { total: 1, unit: "images", quiet: o.quiet });
    const t0 = Date.now();
    let first = true;
    try {
      const col = await collect({
        model,
        images: o.images,
        outDir: o.out,
        limit: o.limit === undefined ? undefined : positiveInt("limit", o.limit),
        stride: positiveInt("stride", o.stride),
        shard,
        topK: positiveInt("topk", o.topk),
        batchSize: positiveInt("batch", o.batch),
        onProgress: (e) => {
          if (e.phase === "collect") {
            if (first) {
              first = false;
              progress.update(e.done, e.total);
              progress.resumed(e.resumedFrom);
            }
            progress.update(e.done, e.total);
            progress.message(e.skipped ? `${e.skipped} skipped` : "");
          } else progress.message(`finalize ${e.phase} ${e.done}/${e.total}`);
        },
      });
      progress.stop();
      printCollectionSummary(col, (Date.now() - t0) / 1000);
      col.close();
    } catch (e) {
      // A refusal (bad input, another collection in the folder) is not fixed by a rerun; an interruption is.
      const started = fs.existsSync(path.join(o.out, FILES.progress));
      const refusal = e instanceof ClipNadError && !e.retryable;
      progress.stop(
        started && !refusal
          ? `collect stopped; rerun the same command to resume (${path.resolve(o.out)})`
          : "collect stopped",
      );
      throw e;
    } finally {
      await model.dispose();
    }
  });
}

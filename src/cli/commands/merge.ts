import { Command } from "commander";
import { mergeCollections } from "../../collect";
import { Progress } from "../progress";
import { printCollectionSummary } from "./collect";

/** `clip-nad merge`: join the shards of `collect --shard i/n` into one collection (identical to an unsharded run). */
export function register(program: Command): void {
  program
    .command("merge")
    .description("merge finished collect shards (--shard 0/n … n-1/n) into one collection, byte-identical to a single run")
    .requiredOption("--out <dir>", "merged collection folder (new or empty)")
    .argument("<shards...>", "shard folders")
    .option("--quiet", "no progress output")
    .action(async (shards: string[], o) => {
      const progress = new Progress("merge", { quiet: o.quiet });
      const t0 = Date.now();
      const col = await mergeCollections(shards, o.out, (e) => progress.message(`finalize ${e.phase} ${e.done}/${e.total}`, e.done / e.total));
      progress.stop();
      printCollectionSummary(col, (Date.now() - t0) / 1000);
      col.close();
    });
}

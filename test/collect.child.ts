/**
 * Child process for the resume tests: runs `collect` with the fake model so the parent can SIGKILL it
 * (directly, or via the CLIP_NAD_COLLECT_CRASH hook) and rerun. Usage: node -r tsx/cjs collect.child.ts '<json>'.
 */
import { collect } from "../src/collect";
import { fakeModel, sharpLoader } from "./collect.fake";

async function main() {
  const args = JSON.parse(process.argv[2]) as { images: string; outDir: string; batchSize?: number; topK?: number; limit?: number; stride?: number; commitIntervalMs?: number };
  await collect({
    model: fakeModel(),
    images: args.images,
    outDir: args.outDir,
    batchSize: args.batchSize,
    topK: args.topK,
    limit: args.limit,
    stride: args.stride,
    commitIntervalMs: args.commitIntervalMs ?? 0,
    loadPixels: sharpLoader,
    onProgress: (e) => process.stdout.write(`${e.phase} ${e.done}/${e.total}\n`),
  });
  process.stdout.write("done\n");
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.message : e}\n`);
  process.exit(1);
});

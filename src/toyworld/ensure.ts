import * as fs from "fs";
import * as path from "path";
import { ToyDatasetOptions, ToyDatasetSummary, writeToyDataset } from "./dataset";

/**
 * A toy-world dataset that notebooks share: written when `dir` does not hold one made with the same options, else
 * reused as it is (so several notebooks, or a rerun, do not regenerate the same scenes). The options that define the
 * data are recorded in `<dir>/request.json` after the dataset is complete; anything else in `dir` is replaced whole.
 */
export async function ensureToyDataset(
  dir: string,
  opts: ToyDatasetOptions,
): Promise<{ reused: boolean; summary?: ToyDatasetSummary }> {
  const { onProgress, concurrency, force, ...defining } = opts;
  void concurrency;
  void force;
  const request = JSON.stringify({
    version: 1,
    ...defining,
    drift: defining.drift ?? null,
  });
  const file = path.join(dir, "request.json");
  try {
    if (fs.readFileSync(file, "utf8") === request && fs.existsSync(path.join(dir, "index.jsonl")))
      return { reused: true };
  } catch {
    // not written by ensureToyDataset yet
  }
  const summary = await writeToyDataset(dir, { ...opts, force: true });
  fs.writeFileSync(file, request);
  return { reused: false, summary };
}

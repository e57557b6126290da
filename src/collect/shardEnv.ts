/**
 * `collect --shard auto`: the shard of this process, read from the batch engine's environment.
 *
 *  - Slurm job arrays: SLURM_ARRAY_TASK_ID is the index. The count is SLURM_ARRAY_TASK_COUNT (the number of tasks:
 *    `--array=0-2` has ids 0, 1, 2 and a count of 3), accepted only when the array is exactly 0..count-1 with
 *    step 1 (SLURM_ARRAY_TASK_MIN/MAX/STEP); any other array (`--array=1-3`, `--array=1` to rerun one task) needs
 *    the count in CLIP_NAD_SHARDS, and the index is then still the task id.
 *  - Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX is the index; the count is CLIP_NAD_SHARDS (the Job's
 *    `completions`, which Kubernetes does not put in the environment).
 *  - AWS Batch array jobs: AWS_BATCH_JOB_ARRAY_INDEX and AWS_BATCH_JOB_ARRAY_SIZE.
 * CLIP_NAD_SHARDS, when set, is the count on every engine. Pure: reads only the environment it is given.
 */
import { ClipNadError } from "../errors";
import { Shard } from "./select";

export type ShardEngine = "slurm" | "kubernetes" | "aws-batch";

export interface EngineShard extends Shard {
  engine: ShardEngine;
  /** The variables it was read from, `NAME=value` (for the log line). */
  source: string[];
}

type Env = Record<string, string | undefined>;

/** The variable whose presence selects each engine. */
const ENGINE_INDEX: Record<ShardEngine, string> = {
  slurm: "SLURM_ARRAY_TASK_ID",
  kubernetes: "JOB_COMPLETION_INDEX",
  "aws-batch": "AWS_BATCH_JOB_ARRAY_INDEX",
};

export const SHARD_COUNT_VARIABLE = "CLIP_NAD_SHARDS";

function readInt(env: Env, name: string, min: number): number | undefined {
  const text = env[name];
  if (text === undefined || text.trim() === "") return undefined;
  if (!/^\s*\d+\s*$/.test(text) || Number(text) < min) {
    throw new ClipNadError(`environment variable ${name}='${text}' is not an integer ≥ ${min}`);
  }
  return Number(text);
}

/** The shard named by the engine's environment; a ClipNadError that says what to set when there is none. */
export function shardFromEnvironment(env: Env = process.env): EngineShard {
  const engines = (Object.keys(ENGINE_INDEX) as ShardEngine[]).filter(
    (e) => (env[ENGINE_INDEX[e]] ?? "").trim() !== "",
  );
  if (engines.length === 0) {
    throw new ClipNadError(
      "no shard in the environment: a Slurm array task sets SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT, " +
        `a Kubernetes Indexed Job JOB_COMPLETION_INDEX (with the count in ${SHARD_COUNT_VARIABLE}), ` +
        "an AWS Batch array job AWS_BATCH_JOB_ARRAY_INDEX and AWS_BATCH_JOB_ARRAY_SIZE; " +
        "outside such a job give the shard as i/n");
  }
  if (engines.length > 1) {
    throw new ClipNadError(
      `the environment names more than one shard (${engines.map((e) => ENGINE_INDEX[e]).join(", ")}); ` +
        "give the shard as i/n",
    );
  }
  const engine = engines[0];
  const indexVar = ENGINE_INDEX[engine];
  const index = readInt(env, indexVar, 0)!;
  const override = readInt(env, SHARD_COUNT_VARIABLE, 1);
  const source = [`${indexVar}=${index}`];
  let count: number;
  if (override !== undefined) {
    count = override;
    source.push(`${SHARD_COUNT_VARIABLE}=${count}`);
  } else if (engine === "slurm") {
    count = slurmCount(env);
    source.push(`SLURM_ARRAY_TASK_COUNT=${count}`);
  } else if (engine === "aws-batch") {
    const size = readInt(env, "AWS_BATCH_JOB_ARRAY_SIZE", 1);
    if (size === undefined) {
      throw new ClipNadError(
        `AWS_BATCH_JOB_ARRAY_INDEX is set but AWS_BATCH_JOB_ARRAY_SIZE is not; set ${SHARD_COUNT_VARIABLE} to the ` +
          `array size`,
      );
    }
    count = size;
    source.push(`AWS_BATCH_JOB_ARRAY_SIZE=${count}`);
  } else {
    throw new ClipNadError(
      `JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but ${SHARD_COUNT_VARIABLE} is not: ` +
        `set ${SHARD_COUNT_VARIABLE} to the Job's completions`,
    );
  }
  if (index >= count) {
    throw new ClipNadError(`${indexVar}=${index} is not a shard of ${count} (need 0 ≤ index < ${count}` +
      `${override === undefined ? "" : `, the count from ${SHARD_COUNT_VARIABLE}`})`);
  }
  return { engine, index, count, source };
}

/** SLURM_ARRAY_TASK_COUNT, when the array is 0..count-1 with step 1 (so task ids are shard indices). */
function slurmCount(env: Env): number {
  const count = readInt(env, "SLURM_ARRAY_TASK_COUNT", 1);
  if (count === undefined) {
    throw new ClipNadError(
      `SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; set ${SHARD_COUNT_VARIABLE} to the number of ` +
        `shards`,
    );
  }
  const min = readInt(env, "SLURM_ARRAY_TASK_MIN", 0);
  const max = readInt(env, "SLURM_ARRAY_TASK_MAX", 0);
  const step = readInt(env, "SLURM_ARRAY_TASK_STEP", 1) ?? 1;
  if (min !== 0 || max !== count - 1 || step !== 1) {
    const spec =
      min === undefined || max === undefined
        ? "without SLURM_ARRAY_TASK_MIN/MAX"
        : `--array=${min}-${max}${step === 1 ? "" : `:${step}`}`;
    throw new ClipNadError(
      `this Slurm array (${spec}, ${count} task(s)) is not --array=0-${count - 1}: the shard index is the ` +
        `task id, so submit --array=0-(N-1) for N shards, or set ${SHARD_COUNT_VARIABLE}=N (as when resubmitting ` +
          `some tasks, e.g. --array=1)`,
    );
  }
  return count;
}

/** "i/n" → the shard, "auto" → the engine's shard (see shardFromEnvironment). */
export function isAutoShard(text: string): boolean {
  return text.trim().toLowerCase() === "auto";
}

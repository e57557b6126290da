/**
 * `collect --shard auto`: the shard read from Slurm / Kubernetes / AWS Batch environments, including the ones
 * that must be refused (a Slurm array that does not start at 0, a resubmitted single task without the count,
 * a Kubernetes index without a count, no engine at all), and the CLI path (fails before loading a model).
 */
import { describe, it, expect } from "vitest";
import * as path from "path";
import { spawnSync } from "child_process";
import { shardFromEnvironment } from "../src/collect/shardEnv";
import { selectIndices } from "../src/collect/select";
import { ClipNadError } from "../src/errors";

const root = path.resolve(__dirname, "..");

/**
 * What Slurm 22.05 sets in task `id` of `sbatch --array=min-max[:step]` (checked against a real cluster in
 * slurm-collect.test.ts).
 */
function slurmEnv(id: number, min: number, max: number, step = 1): Record<string, string> {
  const count = Math.floor((max - min) / step) + 1;
  return {
    SLURM_ARRAY_JOB_ID: "41", SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_COUNT: String(count),
    SLURM_ARRAY_TASK_MIN: String(min), SLURM_ARRAY_TASK_MAX: String(max), SLURM_ARRAY_TASK_STEP: String(step),
  };
}

function refusal(env: Record<string, string>): string {
  try {
    shardFromEnvironment(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ClipNadError);
    return (e as Error).message;
  }
  throw new Error("expected a refusal");
}

describe("shardFromEnvironment", () => {
  it("Slurm --array=0-2: task ids 0..2 are shards i/3, and together they select every position once", () => {
    const got = [0, 1, 2].map((id) => shardFromEnvironment(slurmEnv(id, 0, 2)));
    expect(got.map((s) => `${s.index}/${s.count}`)).toEqual(["0/3", "1/3", "2/3"]);
    expect(got[1].engine).toBe("slurm");
    expect(got[1].source).toEqual(["SLURM_ARRAY_TASK_ID=1", "SLURM_ARRAY_TASK_COUNT=3"]);
    // The shards partition a 10-item selection (the property merge relies on).
    const all = got.flatMap((s) => selectIndices(10, { shard: s })).sort((a, b) => a - b);
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("Slurm arrays that are not 0..N-1 are refused unless CLIP_NAD_SHARDS gives the count", () => {
    expect(refusal(slurmEnv(1, 1, 3))).toMatch(/--array=1-3, 3 task\(s\)\) is not --array=0-2.*CLIP_NAD_SHARDS=N/);
    expect(refusal(slurmEnv(2, 0, 4, 2))).toMatch(/--array=0-4:2/);
    // A resubmitted single task (sbatch --array=1): COUNT=1, so without the count it would wrongly be 0/1.
    expect(refusal(slurmEnv(1, 1, 1))).toMatch(/--array=1-1, 1 task\(s\)\) is not --array=0-0/);
    const again = shardFromEnvironment({ ...slurmEnv(1, 1, 1), CLIP_NAD_SHARDS: "3" });
    expect([again.index, again.count]).toEqual([1, 3]);
    expect(again.source).toEqual(["SLURM_ARRAY_TASK_ID=1", "CLIP_NAD_SHARDS=3"]);
    // Task id beyond the count given.
    expect(refusal({ ...slurmEnv(3, 3, 3), CLIP_NAD_SHARDS: "3" })).toMatch(
      /SLURM_ARRAY_TASK_ID=3 is not a shard of 3.*CLIP_NAD_SHARDS/,
    );
  });

  it("Kubernetes Indexed Job: JOB_COMPLETION_INDEX with the count in CLIP_NAD_SHARDS (required)", () => {
    const s = shardFromEnvironment({ JOB_COMPLETION_INDEX: "4", CLIP_NAD_SHARDS: "8" });
    expect([s.engine, s.index, s.count]).toEqual(["kubernetes", 4, 8]);
    expect(refusal({ JOB_COMPLETION_INDEX: "4" })).toMatch(/Kubernetes Indexed Job.*CLIP_NAD_SHARDS is not/);
    expect(refusal({ JOB_COMPLETION_INDEX: "8", CLIP_NAD_SHARDS: "8" })).toMatch(
      /JOB_COMPLETION_INDEX=8 is not a shard of 8/,
    );
  });

  it("AWS Batch array job: AWS_BATCH_JOB_ARRAY_INDEX / AWS_BATCH_JOB_ARRAY_SIZE", () => {
    const s = shardFromEnvironment({ AWS_BATCH_JOB_ARRAY_INDEX: "0", AWS_BATCH_JOB_ARRAY_SIZE: "2" });
    expect([s.engine, s.index, s.count]).toEqual(["aws-batch", 0, 2]);
    expect(refusal({ AWS_BATCH_JOB_ARRAY_INDEX: "0" })).toMatch(/AWS_BATCH_JOB_ARRAY_SIZE is not/);
  });

  it("no engine, two engines, or malformed values: clear refusals", () => {
    const none = refusal({ HOME: "/root" });
    for (const v of [
      "SLURM_ARRAY_TASK_ID",
      "JOB_COMPLETION_INDEX",
      "AWS_BATCH_JOB_ARRAY_INDEX",
      "CLIP_NAD_SHARDS",
      "i/n",
    ])
      expect(none).toContain(v);
    expect(refusal({ ...slurmEnv(0, 0, 1), JOB_COMPLETION_INDEX: "0", CLIP_NAD_SHARDS: "2" })).toMatch(
      /more than one shard/,
    );
    expect(refusal({ JOB_COMPLETION_INDEX: "x", CLIP_NAD_SHARDS: "2" })).toMatch(
      /JOB_COMPLETION_INDEX='x' is not an integer/,
    );
    expect(refusal({ JOB_COMPLETION_INDEX: "1", CLIP_NAD_SHARDS: "0" })).toMatch(
      /CLIP_NAD_SHARDS='0' is not an integer ≥ 1/,
    );
    expect(refusal({ ...slurmEnv(0, 0, 1), SLURM_ARRAY_TASK_COUNT: "" })).toMatch(/SLURM_ARRAY_TASK_COUNT is not/);
  });
});

describe("clip-nad collect --shard auto", () => {
  const run = (env: Record<string, string>) => {
    const clean: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && !/^(SLURM_|JOB_COMPLETION_INDEX|AWS_BATCH_|CLIP_NAD_SHARDS)/.test(k)) clean[k] = v;
    return spawnSync(
      process.execPath,
      [
        path.join(root, "src/cli/bin.cjs"),
        "collect",
        "--images",
        "/nonexistent-i14",
        "--out",
        "/nonexistent-i14-out",
        "--shard",
        "auto",
      ],
      { cwd: root, encoding: "utf8", env: { ...clean, ...env } },
    );
  };

  it("outside a job array: exits 1 with the message, before touching the model or the folders", () => {
    const r = run({});
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no shard in the environment/);
    expect(r.stderr).not.toMatch(/loading|at .*\.ts:\d+/);
  });

  it("inside a Slurm task: logs the shard it took from the environment", () => {
    const r = run(slurmEnv(2, 0, 2));
    expect(r.stderr).toContain("collect: shard 2/3 from SLURM_ARRAY_TASK_ID=2, SLURM_ARRAY_TASK_COUNT=3 (slurm)");
    expect(r.status).toBe(1); // the image folder does not exist
    expect(r.stderr).toMatch(/nonexistent-i14/);
  });
});

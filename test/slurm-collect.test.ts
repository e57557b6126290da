/**
 * Collection as a Slurm job array on a real (single-node) Slurm cluster booted from Debian's slurm-wlm and munge by
 * tools/cluster/slurm/local-cluster.sh. Runs the README's Submit block (3 tasks of `collect --shard auto` and the
 * afterok merge) and compares every file of the merged collection with an unsharded `clip-nad collect` of the same
 * toy-world scenes; then kills task 1 with scancel after its first committed batch, runs the README's Rerun block
 * and checks that the task resumed and the merge is again byte-identical. Skips only when the binaries are absent.
 * The daemons are always stopped at the end (scontrol shutdown, munged --stop).
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { expectSameFolder } from "./collect.compare";

const root = path.resolve(__dirname, "..");
const slurmDir = path.join(root, "tools/cluster/slurm");
const BINARIES = ["slurmctld", "slurmd", "sbatch", "squeue", "scancel", "scontrol", "sinfo", "munged", "mungekey"];
const onPath = (b: string) => spawnSync("sh", ["-c", `command -v ${b}`]).status === 0;
const missing = BINARIES.filter((b) => !onPath(b));
if (missing.length > 0) {
  console.log(`slurm-collect: SKIPPED — Slurm/munge binaries not found (${missing.join(", ")}); ` +
    "install them with: apt-get install --no-install-recommends slurm-wlm munge (tools/setup.sh does)");
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-slurm-"));
fs.chmodSync(tmp, 0o755); // munged wants every folder above its socket reachable by all
const state = path.join(tmp, "slurm");
const scenes = path.join(tmp, "scenes");
const reference = path.join(tmp, "reference");
const COLLECT_ARGS = "--batch 2 --topk 8";
const N_SCENES = 30;
let env: Record<string, string> = {};

/** The first ```sh block after the heading `## <title>` of the Slurm README (the documented commands). */
function readmeBlock(title: string): string {
  const text = fs.readFileSync(path.join(slurmDir, "README.md"), "utf8");
  const at = text.indexOf(`\n## ${title}\n`);
  if (at < 0) throw new Error(`README has no section '${title}'`);
  const m = /```sh\n([\s\S]*?)```/.exec(text.slice(at));
  if (!m) throw new Error(`README section '${title}' has no sh block`);
  return m[1];
}

function sh(script: string, extra: Record<string, string> = {}, cwd = tmp): string {
  const r = spawnSync("bash", ["-euo", "pipefail", "-c", script], { cwd, encoding: "utf8", env: { ...env, ...extra } });
  if (r.status !== 0) throw new Error(`bash failed (${r.status}):\n${script}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function cli(...args: string[]): void {
  const r = spawnSync(process.execPath, [path.join(root, "src/cli/bin.cjs"), ...args], {
    cwd: root,
    encoding: "utf8",
    env,
  });
  if (r.status !== 0) throw new Error(`clip-nad ${args.join(" ")} failed:\n${r.stderr}`);
}

/** Job (or array task) id → state and reason, for every job the controller still knows. */
function jobs(): Map<string, { state: string; reason: string }> {
  const out = sh("squeue -h -t all -o '%i %T %r'");
  const m = new Map<string, { state: string; reason: string }>();
  for (const line of out.trim().split("\n").filter(Boolean)) {
    const [id, st, ...reason] = line.trim().split(/\s+/);
    m.set(id, { state: st, reason: reason.join(" ") });
  }
  return m;
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 90_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(`timed out waiting for ${what}; jobs: ${JSON.stringify([...jobs()])}\n${slurmLogs()}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
}

function slurmLogs(): string {
  return ["slurmctld.log", "slurmd.log"].map((f) => {
    const p = path.join(state, f);
    return fs.existsSync(p) ? `--- ${f}\n${fs.readFileSync(p, "utf8").split("\n").slice(-15).join("\n")}` : "";
  }).join("\n");
}

/** Wait until a job is finished; fail when it did not complete. */
async function completed(id: string): Promise<void> {
  const st = await waitFor(`job ${id} to finish`, () => {
    const j = jobs().get(id);
    return j && !["PENDING", "RUNNING", "COMPLETING", "CONFIGURING"].includes(j.state) ? j.state : undefined;
  });
  expect(st, `job ${id}`).toBe("COMPLETED");
}

function submitted(stdout: string, what: RegExp): { J: string; M: string } {
  const m = what.exec(stdout);
  if (!m) throw new Error(`unexpected output of the documented commands: ${stdout}`);
  return { J: m[1], M: m[2] };
}

function settings(out: string): Record<string, string> {
  return { CLIP_NAD_REPO: root, CLIP_NAD_MODEL: "toy", CLIP_NAD_IMAGES: path.join(scenes, "images"), CLIP_NAD_OUT: out,
    CLIP_NAD_SHARDS: "3", CLIP_NAD_COLLECT_ARGS: COLLECT_ARGS };
}

const log = (dir: string, prefix: string) =>
  fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(prefix))
    .map((f) => fs.readFileSync(path.join(dir, f), "utf8"))
    .join("\n");

describe.skipIf(missing.length > 0)("collect as a Slurm job array (single-node cluster from Debian packages)", () => {
  let started = false;
  const t0 = Date.now();

  beforeAll(() => {
    env = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined && !/^(VITEST|SLURM_|NODE_OPTIONS|CLIP_NAD_COLLECT_|JOB_COMPLETION_INDEX|AWS_BATCH_)/.test(k))
        env[k] = v;
    }
    cli("toyworld", "--out", scenes, "--n", String(N_SCENES), "--seed", "21", "--no-masks", "--quiet");
    cli(
      "collect",
      "--model",
      "toy",
      "--images",
      path.join(scenes, "images"),
      "--out",
      reference,
      ...COLLECT_ARGS.split(" "),
      "--quiet",
    );
    started = true;
    const out = sh(`"${slurmDir}/local-cluster.sh" start "${state}"`);
    expect(out.trim()).toBe(`export SLURM_CONF=${path.join(state, "slurm.conf")}`);
    env.SLURM_CONF = path.join(state, "slurm.conf");
    expect(sh("sinfo -h -o '%P %a %T %N'").trim()).toBe(`debug* up idle ${sh("hostname -s").trim()}`);
  }, 120_000);

  afterAll(() => {
    if (started) sh(`"${slurmDir}/local-cluster.sh" stop "${state}"`);
    // No daemon of this cluster may outlive the test.
    for (const pidFile of ["slurmctld.pid", "slurmd.pid", "munge-run/munged.pid"]) {
      const p = path.join(state, pidFile);
      if (!fs.existsSync(p)) continue;
      const pid = Number(fs.readFileSync(p, "utf8"));
      let alive = true;
      try { process.kill(pid, 0); } catch { alive = false; }
      expect(alive, `${pidFile} (pid ${pid}) still running`).toBe(false);
    }
    console.log(`slurm-collect: ${((Date.now() - t0) / 1000).toFixed(1)} s including cluster start and stop`);
    fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  it("the README's Submit block: 3 array tasks + afterok merge = byte-identical to one unsharded run", async () => {
    const out = path.join(tmp, "run-a");
    const { J, M } = submitted(sh(readmeBlock("Submit"), settings(out)), /collect array job (\d+), merge job (\d+)/);
    await completed(M);
    for (const task of ["0", "1", "2"]) expect(jobs().get(`${J}_${task}`)?.state).toBe("COMPLETED");
    expectSameFolder(reference, path.join(out, "collection"));
    const logs = log(out, "clip-nad-collect-");
    for (const i of [0, 1, 2])
      expect(logs).toContain(`collect: shard ${i}/3 from SLURM_ARRAY_TASK_ID=${i}, CLIP_NAD_SHARDS=3 (slurm)`);
    expect(fs.readdirSync(path.join(out, "shards")).sort()).toEqual(["0", "1", "2"]);
  }, 120_000);

  it("task 1 killed (scancel) mid-way; the README's Rerun block resumes it and the merge is " +
      "byte-identical", async () => {
    const out = path.join(tmp, "run-b");
    // A pause after every batch (test hook) leaves time to kill task 1 after its first commit, before its end.
    const slow = { ...settings(out), CLIP_NAD_COLLECT_DELAY_MS: "1500" };
    const first = submitted(sh(readmeBlock("Submit"), slow), /collect array job (\d+), merge job (\d+)/);
    const progressFile = path.join(out, "shards", "1", "progress.json");
    const rowsAtKill = await waitFor("task 1's first committed batch", () => {
      if (!fs.existsSync(progressFile)) return undefined;
      const rows = (JSON.parse(fs.readFileSync(progressFile, "utf8")) as { rows: number }).rows;
      return rows > 0 ? rows : undefined;
    });
    expect(rowsAtKill).toBeLessThan(N_SCENES / 3);
    sh(`scancel ${first.J}_1`);
    await waitFor("task 1 cancelled, tasks 0 and 2 done, the merge stuck", () => {
      const j = jobs();
      const ok =
        j.get(`${first.J}_1`)?.state === "CANCELLED" &&
        j.get(`${first.J}_0`)?.state === "COMPLETED" &&
        j.get(`${first.J}_2`)?.state === "COMPLETED" &&
        j.get(first.M)?.reason === "DependencyNeverSatisfied";
      return ok ? true : undefined;
    });
    const manifest = JSON.parse(fs.readFileSync(path.join(out, "shards", "1", "manifest.json"), "utf8")) as {
      complete: boolean;
    };
    expect(manifest.complete).toBe(false);
    expect(fs.existsSync(path.join(out, "collection"))).toBe(false);

    const rerun = submitted(
      sh(readmeBlock("Rerun failed tasks"), { ...settings(out), FAILED: "1", M: first.M }),
      /rerun array job (\d+), merge job (\d+)/,
    );
    await completed(rerun.M);
    expect(jobs().get(first.M)?.state).toBe("CANCELLED");
    const rerunLog = log(out, `clip-nad-collect-${rerun.J}_`);
    expect(rerunLog).toContain("collect: shard 1/3 from SLURM_ARRAY_TASK_ID=1, CLIP_NAD_SHARDS=3 (slurm)");
    expect(rerunLog).toMatch(/resuming an interrupted run at [1-9]\d*\/10 images/);
    expectSameFolder(reference, path.join(out, "collection"));
  }, 150_000);
});

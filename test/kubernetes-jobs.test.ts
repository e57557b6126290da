/**
 * tools/cluster/kubernetes: the Indexed Job and the merge Job. No cluster here (Debian has no control plane), so
 * the manifests are checked for what the pods rely on, and the containers' own commands are run locally the way
 * the pods would run them (one process per completion index with JOB_COMPLETION_INDEX set, then the merge); the
 * merged collection must equal an unsharded collect, file for file. YAML is read with Debian's python3-yaml.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { expectSameFolder } from "./collect.compare";

const root = path.resolve(__dirname, "..");
const k8s = path.join(root, "tools/cluster/kubernetes");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-k8s-"));
const scenes = path.join(tmp, "scenes");
const reference = path.join(tmp, "reference");

interface Container {
  image: string;
  workingDir: string;
  command: string[];
  env: { name: string; value: string }[];
  volumeMounts: { name: string; mountPath: string }[];
}
interface Job {
  kind: string;
  metadata: { name: string };
  spec: {
    completionMode?: string;
    completions: number;
    parallelism?: number;
    template: {
      spec: {
        restartPolicy: string;
        containers: Container[];
        volumes: { name: string; persistentVolumeClaim: { claimName: string } }[];
      };
    };
  };
}

function readYaml(...files: string[]): Job[] {
  const r = spawnSync(
    "/usr/bin/python3",
    ["-c", "import json, sys, yaml; print(json.dumps([yaml.safe_load(open(f)) for f in sys.argv[1:]]))", ...files],
    { encoding: "utf8" },
  );
  if (r.status !== 0)
    throw new Error(`python3-yaml could not read the manifests (apt-get install python3-yaml):\n${r.stderr}`);
  return JSON.parse(r.stdout) as Job[];
}

const [collectJob, mergeJob] = readYaml(path.join(k8s, "collect-job.yaml"), path.join(k8s, "merge-job.yaml"));
const container = (j: Job) => j.spec.template.spec.containers[0];
const envOf = (c: Container) => Object.fromEntries(c.env.map((e) => [e.name, e.value]));

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(VITEST|SLURM_|JOB_COMPLETION_INDEX|AWS_BATCH_|CLIP_NAD_SHARDS|NODE_OPTIONS)/.test(k))
      env[k] = v;
  }
  return env;
}

function cli(...args: string[]): void {
  const r = spawnSync(process.execPath, [path.join(root, "src/cli/bin.cjs"), ...args], {
    cwd: root,
    encoding: "utf8",
    env: cleanEnv(),
  });
  if (r.status !== 0) throw new Error(`clip-nad ${args.join(" ")} failed:\n${r.stderr}`);
}

/** Run a container's command as its pod would: in its workingDir (the checkout), with its env plus `env`. */
function runContainer(
  c: Container,
  env: Record<string, string>,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(c.command[0], c.command.slice(1), {
    cwd: root,
    encoding: "utf8",
    env: { ...cleanEnv(), ...envOf(c), ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  cli("toyworld", "--out", scenes, "--n", "20", "--seed", "8", "--no-masks", "--quiet");
  cli("collect", "--images", path.join(scenes, "images"), "--out", reference, "--topk", "8", "--quiet");
}, 120_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("Kubernetes manifests", () => {
  it("an Indexed Job whose CLIP_NAD_SHARDS equals its completions; both Jobs share the volume and the output " +
      "folder", () => {
    expect(collectJob.kind).toBe("Job");
    expect(collectJob.spec.completionMode).toBe("Indexed");
    const c = container(collectJob),
      m = container(mergeJob);
    expect(Number(envOf(c).CLIP_NAD_SHARDS)).toBe(collectJob.spec.completions);
    expect(c.command.join(" ")).toContain("--shard auto");
    expect(envOf(m).CLIP_NAD_OUT).toBe(envOf(c).CLIP_NAD_OUT);
    expect(m.image).toBe(c.image);
    expect(m.workingDir).toBe(c.workingDir);
    const claim = (j: Job) => j.spec.template.spec.volumes[0].persistentVolumeClaim.claimName;
    expect(claim(mergeJob)).toBe(claim(collectJob));
    expect(container(mergeJob).volumeMounts[0].mountPath).toBe(c.volumeMounts[0].mountPath);
    for (const v of [envOf(c).CLIP_NAD_OUT, envOf(c).CLIP_NAD_IMAGES, envOf(c).CLIP_NAD_CACHE]) {
      expect(v.startsWith(`${c.volumeMounts[0].mountPath}/`), v).toBe(true);
    }
    // Indexed pods retried by the Job controller must not be restarted in place mid-write by the kubelet.
    expect(collectJob.spec.template.spec.restartPolicy).toBe("Never");
  });

  it("the containers' commands, run per completion index and then merged, equal an unsharded collect", () => {
    const out = path.join(tmp, "out");
    const settings = {
      CLIP_NAD_MODEL: "toy",
      CLIP_NAD_IMAGES: path.join(scenes, "images"),
      CLIP_NAD_OUT: out,
      CLIP_NAD_COLLECT_ARGS: "--topk 8",
      CLIP_NAD_SHARDS: "3",
      CLIP_NAD_CACHE: process.env.CLIP_NAD_CACHE ?? path.join(os.homedir(), ".cache", "clip-nad"),
    };
    for (const i of [2, 0, 1]) {
      const r = runContainer(container(collectJob), { ...settings, JOB_COMPLETION_INDEX: String(i) });
      expect(r.stderr).toContain(
        `collect: shard ${i}/3 from JOB_COMPLETION_INDEX=${i}, CLIP_NAD_SHARDS=3 (kubernetes)`,
      );
      expect(r.status, r.stderr).toBe(0);
    }
    // A pod without the count is refused before it collects anything.
    const noCount = runContainer(container(collectJob), {
      ...settings,
      CLIP_NAD_SHARDS: "",
      CLIP_NAD_OUT: path.join(tmp, "bad"),
      JOB_COMPLETION_INDEX: "0",
    });
    expect(noCount.status).toBe(1);
    expect(noCount.stderr).toMatch(/CLIP_NAD_SHARDS is not/);
    expect(fs.existsSync(path.join(tmp, "bad"))).toBe(false);

    const r = runContainer(container(mergeJob), { CLIP_NAD_OUT: out });
    expect(r.status, r.stderr).toBe(0);
    expectSameFolder(reference, path.join(out, "collection"));
  }, 120_000);
});

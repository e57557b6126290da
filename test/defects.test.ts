// Regression tests for the defects a new user hit (issue 9, "Defects a new user hit"). Each test reproduces the
// user's steps and checks the property that was broken.
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../src/clip/model";
import { ClipModel } from "../src/clip/types";
import { collect } from "../src/collect/collect";
import { mergeCollections } from "../src/collect/merge";
import { browserSourceFrom } from "../src/browser/source";
import { checkFrontendUpdate } from "../src/browser/logic";
import { LOCK_FILE, lockFolder } from "../src/io/lock";
import { writeToyDataset } from "../src/toyworld";
import { markdownToHtml } from "../src/figures/markdown";
import { notebookToHtml } from "../src/figures/notebookHtml";
import { WidgetModel } from "../kernel-ext/widget";
import { fakeModel, writeImageFolder } from "./collect.fake";

const ROOT = path.resolve(__dirname, "..");
const BIN = path.join(ROOT, "src/cli/bin.cjs");
let tmp: string;
let toy: ClipModel;

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], {
    cwd: tmp,
    encoding: "utf8",
    timeout: 240_000,
    env: { ...process.env, CLIP_NAD_CACHE: path.join(tmp, "cache"), ...env },
  });
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-defects-"));
  process.env.CLIP_NAD_CACHE = path.join(tmp, "cache");
  toy = await loadModel("toy");
}, 120_000);

afterAll(async () => {
  await toy?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("the README's dataset flow: collect a toy-world folder, then browse it", () => {
  it("the browser finds every top image where the collection read it (thumbnails), and refuses another " +
      "model", async () => {
    const scenes = path.join(tmp, "scenes");
    await writeToyDataset(scenes, { n: 10, seed: 1, masks: true });
    const col = await collect({ model: toy, images: scenes, outDir: path.join(tmp, "col"), topK: 4 });
    // ids are paths relative to the dataset root; the masks are not collected as images
    expect(col.ids.every((id) => /^images\/\d{6}\.png$/.test(id))).toBe(true);
    const source = await browserSourceFrom(toy, col, { vocabulary: [] });
    const page = source.topImages(0, 0, 0, 4);
    expect(page.images).toHaveLength(4);
    for (const im of page.images) {
      expect(fs.existsSync(im.path)).toBe(true);
      expect((await source.thumbnail(im.path)).length).toBeGreaterThan(0);
    }
    expect(source.thumbnailFailures!()).toEqual([]);
    // an image broken after collection is reported, not silently blank
    const shown = new Set(page.images.map((im) => im.path));
    const other = Array.from({ length: col.N }, (_, row) => col.imagePath(row)).find((p) => !shown.has(p))!;
    fs.writeFileSync(other, "not a png");
    await expect(source.thumbnail(other)).rejects.toThrow(other);
    expect(source.thumbnailFailures!().map((f) => f.path)).toEqual([other]);
    // opening the collection with another checkpoint is refused by hash (same d would not be enough)
    const fake = fakeModel();
    await expect(
      browserSourceFrom({ ...fake, config: { ...fake.config, embedDim: col.d } } as ClipModel, col),
    ).rejects.toThrow(/was made with model/);
    col.close();
  }, 120_000);
});

describe("export-figure", () => {
  it("refuses a PNG larger than the browser can render instead of writing an empty file", () => {
    const spec = path.join(tmp, "spec.json");
    fs.writeFileSync(
      spec,
      JSON.stringify({ data: [{ type: "bar", x: [1], y: [1] }], layout: { width: 600, height: 400 } }),
    );
    const out = path.join(tmp, "huge.png");
    const r = cli(["export-figure", "--in", spec, "--out", out, "--scale", "50"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/30000×20000 px PNG .* larger than the browser can render/);
    expect(fs.existsSync(out)).toBe(false);
    const ok = cli(["export-figure", "--in", spec, "--out", out, "--scale", "2"]);
    expect(ok.status, ok.stderr).toBe(0);
    const png = fs.readFileSync(out);
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    expect(png.readUInt32BE(16)).toBe(1200); // width × scale
  }, 120_000);
});

describe("toyworld --out", () => {
  it("refuses a non-empty folder (an older collection would point at other pixels); --force replaces it whole", () => {
    const out = path.join(tmp, "world");
    expect(cli(["toyworld", "--out", out, "--n", "6", "--seed", "1", "--quiet"]).status).toBe(0);
    const before = fs.readFileSync(path.join(out, "images", "000000.png"));
    fs.writeFileSync(path.join(out, "notes.txt"), "mine");
    const refused = cli(["toyworld", "--out", out, "--n", "3", "--seed", "2", "--quiet"]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/not empty.*--force/);
    expect(fs.readFileSync(path.join(out, "images", "000000.png")).equals(before)).toBe(true);
    const forced = cli(["toyworld", "--out", out, "--n", "3", "--seed", "2", "--quiet", "--force"]);
    expect(forced.status, forced.stderr).toBe(0);
    expect(fs.existsSync(path.join(out, "notes.txt"))).toBe(false); // replaced whole, not merged into
    expect(fs.readdirSync(path.join(out, "images")).sort()).toEqual(["000000.png", "000001.png", "000002.png"]);
    expect(fs.readFileSync(path.join(out, "index.jsonl"), "utf8").trim().split("\n")).toHaveLength(3);
  }, 120_000);
});

describe("collect and merge: locks, refusals, errors", () => {
  it("a refusal that no rerun fixes does not say 'rerun the same command to resume'", async () => {
    const imgs = path.join(tmp, "lock-imgs");
    await writeImageFolder(imgs, 6);
    const out = path.join(tmp, "refuse-col");
    expect(cli(["collect", "--images", imgs, "--out", out, "--topk", "2"]).status).toBe(0);
    const r = cli(["collect", "--images", imgs, "--out", out, "--topk", "3"]); // another collection's settings
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/holds a different collection \(top-k differs/);
    expect(r.stderr).not.toMatch(/rerun/);
  }, 120_000);

  it("Ctrl-C releases the lock, and the rerun resumes", async () => {
    const imgs = path.join(tmp, "sigint-imgs");
    await writeImageFolder(imgs, 40);
    const out = path.join(tmp, "sigint-col");
    const child: ChildProcess = spawn(
      process.execPath,
      [BIN, "collect", "--images", imgs, "--out", out, "--batch", "2", "--topk", "2"],
      {
        cwd: tmp,
        env: { ...process.env, CLIP_NAD_CACHE: path.join(tmp, "cache"), CLIP_NAD_COLLECT_DELAY_MS: "150" },
        stdio: "ignore",
      },
    );
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    const committed = () => {
      try {
        return JSON.parse(fs.readFileSync(path.join(out, "progress.json"), "utf8")).next as number;
      } catch {
        return 0;
      }
    };
    for (let i = 0; i < 600 && committed() === 0; i++) await new Promise((r) => setTimeout(r, 50)); // a commit happened
    expect(fs.readFileSync(path.join(out, LOCK_FILE), "utf8").trim()).toBe(String(child.pid)); // written with its pid
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(fs.existsSync(path.join(out, LOCK_FILE))).toBe(false);
    const rerun = cli(["collect", "--images", imgs, "--out", out, "--batch", "2", "--topk", "2"]);
    expect(rerun.status, rerun.stderr).toBe(0);
    expect(rerun.stderr).toMatch(/resuming an interrupted run at \d+\/40 images/);
  }, 180_000);

  it("locks within one process too, and merge takes the lock of its output", async () => {
    const dir = path.join(tmp, "locked");
    fs.mkdirSync(dir);
    const release = lockFolder(dir, "collection");
    try {
      expect(fs.readFileSync(path.join(dir, LOCK_FILE), "utf8").trim()).toBe(String(process.pid));
      expect(() => lockFolder(dir, "collection")).toThrow(/this process is already writing this folder/);
      await expect(collect({ model: fakeModel(), images: path.join(tmp, "lock-imgs"), outDir: dir })).rejects.toThrow(
        /already writing/,
      );
      await expect(mergeCollections([path.join(tmp, "refuse-col")], dir)).rejects.toThrow(/already writing/);
    } finally {
      release();
    }
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false);
  }, 60_000);

  it("names the path when the output cannot be created (ENOTDIR)", async () => {
    const file = path.join(tmp, "a-file");
    fs.writeFileSync(file, "x");
    await expect(collect({ model: fakeModel(), images: path.join(tmp, "lock-imgs"), outDir: path.join(file, "sub") }))
      .rejects.toThrow(`${path.join(file, "sub")}: cannot create the folder`);
  });

  it("decodes one image at a time (memory does not grow with batch size × image size)", async () => {
    let inFlight = 0, most = 0;
    const loadPixels = async (_file: string, R: number) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return new Float32Array(3 * R * R);
    };
    await collect({
      model: fakeModel(),
      images: path.join(tmp, "sigint-imgs"),
      outDir: path.join(tmp, "one-at-a-time"),
      batchSize: 8,
      topK: 2,
      loadPixels,
    });
    expect(most).toBe(1);
  });
});

describe("embed and embed-text: one policy with collect", () => {
  it("embed skips an unreadable image and lists it, and takes the same images in the same order as " +
      "collect", async () => {
    const imgs = path.join(tmp, "embed-imgs");
    await writeImageFolder(imgs, 6, ["broken.png"]); // 6 images, two of them in sub/, and one that does not decode
    const out = path.join(tmp, "emb.npy");
    const r = cli(["embed", "--images", imgs, "--out", out, "--quiet"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/skipped 1 unreadable image.*\n\s+broken\.png: /);
    const side = JSON.parse(fs.readFileSync(out.replace(/\.npy$/, ".json"), "utf8"));
    expect(side.skipped.map((s: { id: string }) => s.id)).toEqual(["broken.png"]);
    expect(side.shape[0]).toBe(6);
    const col = await collect({ model: toy, images: imgs, outDir: path.join(tmp, "embed-col"), topK: 2 });
    // incl. sub/*.png
    expect(side.images.map((p: string) => path.relative(imgs, p).split(path.sep).join("/"))).toEqual(col.ids);
    expect(col.ids.filter((id) => id.startsWith("sub/"))).toHaveLength(2);
    expect(col.manifest.skipped.map((s) => s.id)).toEqual(["broken.png"]);
    col.close();
  }, 120_000);
});

describe("export-notebook", () => {
  it("writes HTML only to an .html file, and warns about an unexecuted notebook", () => {
    const nb = path.join(tmp, "plain.ipynb");
    fs.writeFileSync(
      nb,
      JSON.stringify({
        cells: [
          { cell_type: "code", id: "a", metadata: {}, source: "console.log(1)", outputs: [], execution_count: null },
        ],
        metadata: {},
        nbformat: 4,
        nbformat_minor: 5,
      }),
    );
    const pdf = cli(["export-notebook", "--in", nb, "--out", path.join(tmp, "x.pdf")]);
    expect(pdf.status).toBe(1);
    expect(pdf.stderr).toMatch(/x\.pdf: the exported page is HTML/);
    expect(fs.existsSync(path.join(tmp, "x.pdf"))).toBe(false);
    const html = cli(["export-notebook", "--in", nb, "--out", path.join(tmp, "x.html")]);
    expect(html.status, html.stderr).toBe(0);
    expect(html.stderr).toMatch(/looks unexecuted \(1 code cell\(s\) never ran/);
  }, 60_000);

  it("renders $…$ math offline (MathML, no script, no network) and wraps long code lines instead of cutting " +
      "them", () => {
    const md = markdownToHtml("the pair $r^{n,h} = s\\,w + c$ and `$not math$`\n\n$$\n\\sum_{n,h} r^{n,h} = M\n$$");
    expect(md).toMatch(/<math[^>]*><semantics><mrow><msup><mi>r<\/mi>/);
    expect(md).toContain("<code>$not math$</code>");
    expect(md).toMatch(/<div class="math"><span class="katex"><math[^>]*display="block"/);
    const page = notebookToHtml({
      cells: [{ cell_type: "code", source: "x".repeat(400), outputs: [], execution_count: 1 }],
    });
    expect(page).toMatch(/pre\{[^}]*white-space:pre-wrap/);
    expect(page).not.toMatch(/<script[^>]+src=/);
  });
});

describe("the widget's kernel side", () => {
  it("refuses front-end updates of kernel-owned or invalid state, answers with an error, keeps its state", () => {
    const sent: { data: Record<string, unknown>; buffers?: unknown[] }[] = [];
    const handlers = new Map<string, (msg: unknown) => unknown>();
    const logged: string[] = [];
    const g = globalThis as { __clipNadKernel?: unknown };
    const saved = g.__clipNadKernel;
    g.__clipNadKernel = {
      version: 1,
      notebookDir: tmp,
      projectRoot: ROOT,
      open: () => "comm-1",
      send: (_id: string, data: Record<string, unknown>, _m: unknown, buffers?: unknown[]) =>
        void sent.push({ data, buffers }),
      close: () => undefined,
      onMsg: (id: string, fn: (msg: unknown) => unknown) => void handlers.set(id, fn),
      onClose: () => undefined,
      registerTarget: () => undefined,
      unregisterTarget: () => undefined,
      isOpen: () => true,
      displayData: () => undefined,
      log: (l: string) => void logged.push(l),
    };
    try {
      const state = {
        heads: 2,
        neurons: 3,
        score_names: ["a"],
        score_name: "a",
        selected_head: -1,
        selected_neuron: -1,
        query: "",
        ranking: [],
        scores: new Uint8Array(24),
      };
      const m = new WidgetModel({ modelName: "M", modelModule: "x", modelModuleVersion: "1" }, state, {
        validate: checkFrontendUpdate,
      });
      const frontend = (data: Record<string, unknown>, buffers: Uint8Array[] = []) =>
        handlers.get("comm-1")!({ data, buffers });
      for (const bad of [
        { state: { heads: -1 } },
        { state: { selected_head: 7 } },
        { state: { scores: null }, buffer_paths: [["scores"]] },
      ]) {
        sent.length = 0;
        expect(() => frontend({ method: "update", ...bad }, [new Uint8Array(3)])).toThrow(/update refused/);
        expect(sent.some((s) => (s.data.content as { kind?: string })?.kind === "error")).toBe(true);
        expect(sent.some((s) => s.data.method === "update")).toBe(true); // the front end gets the current values back
      }
      expect(m.get("heads")).toBe(2);
      expect(m.get("selected_head")).toBe(-1);
      expect((m.get("scores") as Uint8Array).length).toBe(24);
      frontend({ method: "update", state: { selected_head: 1, selected_neuron: 2 } }); // a valid selection is applied
      expect([m.get("selected_head"), m.get("selected_neuron")]).toEqual([1, 2]);
    } finally {
      g.__clipNadKernel = saved;
    }
  });
});

describe("the command line", () => {
  it("has --version and marks required options in --help", () => {
    const v = cli(["--version"]);
    expect(v.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version);
    const help = cli(["collect", "--help"]);
    const option = (name: string) => help.stdout.slice(help.stdout.indexOf(name)).split(/\n\s+--/)[0];
    expect(option("--images <dir>")).toContain("(required)");
    expect(option("--out <dir>")).toContain("(required)");
    expect(option("--limit <n>")).not.toContain("(required)");
  }, 60_000);

  it("library errors describe the problem, not command-line flags", async () => {
    // clip-nad's own option names (another tool's flags, e.g. Slurm's --array, may be named)
    const { Command } = await import("commander");
    const { commands } = await import("../src/cli/commands");
    const program = new Command();
    for (const register of commands) register(program);
    const flags = new Set<string>();
    const visit = (c: InstanceType<typeof Command>) => {
      for (const o of c.options) if (o.long) flags.add(o.long);
      c.commands.forEach(visit);
    };
    visit(program);
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) { if (e.name !== "cli") walk(p); continue; }
        if (!p.endsWith(".ts")) continue;
        fs.readFileSync(p, "utf8").split("\n").forEach((line, i) => {
          if (!/new ClipNadError\(/.test(line)) return;
          for (const m of line.matchAll(/--[a-z][a-z-]*/g))
            if (flags.has(m[0])) offenders.push(`${path.relative(ROOT, p)}:${i + 1} (${m[0]})`);
        });
      }
    };
    walk(path.join(ROOT, "src"));
    expect(offenders).toEqual([]);
  });
});

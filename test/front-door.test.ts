// The front door: from a folder OUTSIDE the repository, a Node script that depends on the package and a notebook
// run with the clip-nad kernel both `import … from "clip-nad"` and do the three basic tasks in one line each —
// load a model, decompose an image, rank pairs for a text. What they print is checked against independent
// computations here (sums against the graph's own embedding, the ranking against cosines computed from the
// image-independent directions).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installKernelSpec } from "../src/jupyter/kernelspec";

const ROOT = path.resolve(__dirname, "..");
let outside: string;

const SCRIPT = `
const { loadModel, toyworld } = require("clip-nad");
(async () => {
  const model = await loadModel("toy");
  const scene = toyworld.generateScene(5, 0, { size: model.config.imageResolution });
  const image = await model.decompose({ width: scene.width, height: scene.height, data: scene.rgb });
  const best = await model.rankPairs("a yellow object", { top: 5 });
  const dec = await model.decomposition();
  const t = await model.encodeTexts(["a yellow object"]);
  // what the test recomputes: Σ pairs vs the embedding, and cos(w, t) of the listed pairs from their directions
  let num = 0, den = 0;
  const sum = new Float64Array(dec.d);
  for (let head = 0; head < dec.H; head++) for (let neuron = 0; neuron < dec.C; neuron++) {
    const r = image.pair({ neuron, head });
    for (let j = 0; j < dec.d; j++) sum[j] += r[j];
  }
  for (let j = 0; j < dec.d; j++) {
    num = Math.max(num, Math.abs(sum[j] - image.embedding[j]));
    den = Math.max(den, Math.abs(image.embedding[j]));
  }
  const cos = (p) => {
    const w = dec.direction(p);
    let a = 0, b = 0, c = 0;
    for (let j = 0; j < dec.d; j++) { a += w[j] * t[j]; b += w[j] * w[j]; c += t[j] * t[j]; }
    return a / Math.sqrt(b * c);
  };
  const all = [];
  for (let head = 0; head < dec.H; head++) {
    for (let neuron = 0; neuron < dec.C; neuron++) all.push({ neuron, head, score: cos({ neuron, head }) });
  }
  all.sort((x, y) => y.score - x.score || (x.head * dec.C + x.neuron) - (y.head * dec.C + y.neuron));
  console.log(JSON.stringify({ shapes: [image.Z.length, image.a.length, image.s.length, image.embedding.length],
    relErr: num / den, best, brute: all.slice(0, 5) }));
  await model.dispose();
})().catch((e) => { console.error(e); process.exit(1); });
`;

beforeAll(() => {
  outside = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-front-door-"));
}, 60_000);

afterAll(() => {
  fs.rmSync(outside, { recursive: true, force: true });
});

describe('import { … } from "clip-nad" outside the repository', () => {
  it("a Node script that depends on the package (node_modules/clip-nad → the package, as npm installs a file: " +
      "dependency)", () => {
    const dir = path.join(outside, "node-project");
    fs.mkdirSync(path.join(dir, "node_modules"), { recursive: true });
    fs.symlinkSync(ROOT, path.join(dir, "node_modules", "clip-nad"));
    fs.writeFileSync(
      path.join(dir, "package.json"),
      JSON.stringify({ name: "uses-clip-nad", private: true, dependencies: { "clip-nad": `file:${ROOT}` } }),
    );
    fs.writeFileSync(path.join(dir, "three-tasks.js"), SCRIPT);
    const r = spawnSync(process.execPath, ["three-tasks.js"], { cwd: dir, encoding: "utf8", timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
    expect(out.shapes).toEqual([512 * 16, 8 * 17, 8 * 512, 256]); // Z C×K, a H×(K+1), s H×C, embedding d
    expect(out.relErr).toBeLessThan(1e-5);
    expect(out.best.map((p: { neuron: number; head: number }) => [p.neuron, p.head])).toEqual(
      out.brute.map((p: { neuron: number; head: number }) => [p.neuron, p.head]),
    );
    for (let i = 0; i < 5; i++) expect(Math.abs(out.best[i].score - out.brute[i].score)).toBeLessThan(1e-5);
  }, 300_000);

  it("a notebook in a folder of its own, run with the clip-nad kernel (the kernel resolves the package itself)", () => {
    const dir = path.join(outside, "notebook-folder");
    fs.mkdirSync(dir, { recursive: true });
    const cells = [
      'import { loadModel, toyworld } from "clip-nad";\nconst model = await loadModel("toy");',
      "const scene = toyworld.generateScene(5, 0, { size: model.config.imageResolution });\n" +
        "const image = await model.decompose({ width: scene.width, height: scene.height, data: scene.rgb });\n" +
        "const r = image.pair({ neuron: 3, head: 1 });\nconsole.log(JSON.stringify({ Z: image.Z.length, d: r.length " +
          "}));",
      'const best = await model.rankPairs("a yellow object", { top: 3 });\nconsole.log(JSON.stringify(best.map((p) ' +
        '=> [p.neuron, p.head])));',
    ];
    const nb = {
      cells: cells.map((source, i) => ({
        cell_type: "code",
        id: `c${i}`,
        metadata: {},
        source,
        outputs: [],
        execution_count: null,
      })),
      metadata: { kernelspec: { name: "clip-nad", display_name: "TypeScript (clip-nad)", language: "typescript" } },
      nbformat: 4,
      nbformat_minor: 5,
    };
    fs.writeFileSync(path.join(dir, "three-tasks.ipynb"), JSON.stringify(nb));
    const prefix = path.join(outside, "jupyter");
    installKernelSpec({ prefix, name: "clip-nad" });
    const r = spawnSync(
      "/usr/bin/python3",
      [
        path.join(ROOT, "tools/notebooks/run_notebooks.py"),
        path.join(dir, "three-tasks.ipynb"),
        "--out",
        path.join(dir, "executed"),
        "--prefix",
        prefix,
      ],
      { cwd: dir, encoding: "utf8", timeout: 300_000 },
    );
    expect(r.stdout + r.stderr, r.stdout + r.stderr).toContain("1 passed, 0 failed");
    const done = JSON.parse(fs.readFileSync(path.join(dir, "executed", "three-tasks.ipynb"), "utf8"));
    const text = (i: number) => done.cells[i].outputs.map((o: { text?: string[] }) => (o.text ?? []).join("")).join("");
    expect(JSON.parse(text(1))).toEqual({ Z: 512 * 16, d: 256 });
    // the same ranking the Node script gets from the same package (the kernel runs the package, not a copy)
    const node = spawnSync(
      process.execPath,
      [
        "-e",
        'require("clip-nad").loadModel("toy").then(async (m) => { ' +
          'console.log(JSON.stringify((await m.rankPairs("a yellow object", { top: 3 })).map((p) => [p.neuron, ' +
            'p.head]))); await m.dispose(); })',
      ],
      { cwd: path.join(outside, "node-project"), encoding: "utf8", timeout: 120_000 },
    );
    expect(node.status, node.stderr).toBe(0);
    expect(JSON.parse(text(2))).toEqual(JSON.parse(node.stdout.trim()));
    // cells ran in the notebook's own folder, not the package's
    expect(fs.existsSync(path.join(dir, "executed", "three-tasks.ipynb"))).toBe(true);
  }, 400_000);
});

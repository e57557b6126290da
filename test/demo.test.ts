import { execFileSync } from "child_process";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../src/clip/model";
import { ClipModel } from "../src/clip/types";
import { demoVocabulary, explainToyScenes, SceneExplanation } from "../src/apps/explainScenes";

const root = path.resolve(__dirname, "..");

describe("clip-nad demo on the embedded toy model", () => {
  let model: ClipModel;
  let result: SceneExplanation[];
  beforeAll(async () => {
    model = await loadModel("toy");
    result = await explainToyScenes(model, { scenes: 3, topPairs: 6, referenceScenes: 32 });
  });
  afterAll(async () => model?.dispose());

  it("the pair contributions add up to the embedding's shift from the average scene, (M − M̄)·ê", () => {
    for (const ex of result) {
      expect(Math.abs(ex.totalContribution - ex.embeddingShift)).toBeLessThanOrEqual(1e-4 * Math.abs(ex.embeddingShift) + 1e-6);
      expect(ex.embeddingShift).toBeGreaterThan(0);
    }
  });

  it("lists pairs by decreasing contribution, with in-range indices and vocabulary words", () => {
    const vocab = new Set(demoVocabulary());
    const C = model.config.visionWidth * 32, H = model.config.visionHeads;
    for (const ex of result) {
      expect(ex.pairs).toHaveLength(6);
      for (let i = 1; i < ex.pairs.length; i++) expect(ex.pairs[i - 1].contribution).toBeGreaterThanOrEqual(ex.pairs[i].contribution);
      for (const p of ex.pairs) {
        expect(p.neuron).toBeLessThan(C);
        expect(p.head).toBeLessThan(H);
        expect(p.words).toHaveLength(3);
        for (const w of p.words) expect(vocab.has(w.word)).toBe(true);
      }
      expect(ex.zeroShot.map((z) => z.attribute)).toEqual(["colour", "pattern", "size", "background"]);
    }
  });

  it("the command prints each scene's caption, zero-shot labels and its top pairs with words", () => {
    const out = execFileSync(process.execPath, [path.join(root, "src/cli/bin.cjs"), "demo", "--scenes", "2", "--quiet"], { encoding: "utf8" });
    expect(out).toMatch(/512 neurons × 8 heads = 4096 pairs/);
    expect(out.match(/^scene \d: "a .+ background"$/gm)).toHaveLength(2);
    expect(out).toMatch(/zero-shot: colour \w+ [✓✗].*background \w+ [✓✗]/);
    expect(out.match(/neuron +\d+ × head +\d+ +-?\d+\.\d% +[+−]w: \w+ \(-?\d\.\d\d\)/g)!.length).toBe(10);
  });
});

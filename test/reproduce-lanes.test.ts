// `clip-nad reproduce` runs notebooks in lanes: notebooks that share work files must form one chain (one lane, in
// order), or two kernels would fill one folder at once. The chains come from each notebook's `clip-nad.shares`
// metadata; this checks that metadata against where the notebooks really write (their `WORK` folder, evaluated
// for the toy and the paper setting), and the chain order the lanes take.
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { notebookChains, notebookOrder, sharesOf } from "../src/report/reproduce";

const root = path.resolve(__dirname, "..");
const dir = path.join(root, "notebooks");

/** The folder a notebook's `const WORK = …` names, with the notebook's switches set as given (undefined: none). */
function workFolder(file: string, DATA: string): string | undefined {
  const nb = JSON.parse(fs.readFileSync(file, "utf8")) as { cells: { cell_type: string; source: string[] | string }[] };
  const code = nb.cells
    .filter((c) => c.cell_type === "code")
    .map((c) => (Array.isArray(c.source) ? c.source.join("") : c.source))
    .join("\n");
  const m = /const WORK = (`[^;]*`);/.exec(code);
  if (!m) return undefined;
  const evaluate = new Function("process", "DATA", "TOY_ATTRIBUTE", `return ${m[1]};`);
  return evaluate({ env: { CLIP_NAD_WORK: "W" } }, DATA, "colour") as string;
}

describe("reproduce's lanes", () => {
  const notebooks = notebookOrder(dir);

  it("notebooks that write to one work folder share one `clip-nad.shares` value, and only those", () => {
    for (const DATA of ["toy", "imagenet"]) {
      const byFolder = new Map<string, string[]>();
      for (const n of notebooks) {
        const w = workFolder(path.join(dir, n), DATA);
        if (w !== undefined) byFolder.set(w, [...(byFolder.get(w) ?? []), n]);
      }
      expect([...byFolder.values()].some((ns) => ns.length > 1)).toBe(true); // fig1's folder is shared
      for (const ns of byFolder.values()) {
        const shares = ns.map((n) => sharesOf(path.join(dir, n)));
        if (ns.length > 1) {
          expect(shares[0], ns.join(", ")).toBeDefined();
          expect(new Set(shares).size, ns.join(", ")).toBe(1);
        } else expect(shares[0], ns[0]).toBeUndefined();
      }
    }
  });

  it("a chain keeps its notebooks in the given order; chains go longest first (30 s when unrecorded)", () => {
    const names = ["a", "b", "c", "d", "e", "f"];
    const shares: Record<string, string> = { b: "x", d: "x", e: "y", f: "y" };
    const seconds: Record<string, number> = { a: 100, b: 10, d: 20, e: 40 };
    const chains = notebookChains(names, (n) => shares[n], (n) => seconds[n]);
    // a: 100; x = b + d: 30; c: 30 (unrecorded); y = e + f: 40 + 30
    expect(chains).toEqual([[0], [4, 5], [1, 3], [2]]);
    expect(notebookChains(["p", "q"], () => undefined, () => undefined)).toEqual([[0], [1]]);
  });
});

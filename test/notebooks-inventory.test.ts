// notebooks/README.md is the inventory of the paper's figures and tables: it must list every notebook in the
// folder, and every notebook it names must exist.
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";

const DIR = path.resolve(__dirname, "..", "notebooks");

/** Notebook file names in the inventory table's "Notebook" column (backticked *.ipynb). */
export function inventoryNotebooks(markdown: string): { rows: number; named: Set<string> } {
  const lines = markdown.split("\n").filter((l) => l.trim().startsWith("|"));
  const header = lines[0].split("|").map((c) => c.trim());
  const col = header.indexOf("Notebook");
  if (col < 0) throw new Error("the inventory has no 'Notebook' column");
  const named = new Set<string>();
  const rows = lines.slice(2);
  for (const row of rows) {
    const cell = row.split("|")[col] ?? "";
    for (const m of cell.matchAll(/`([^`]+\.ipynb)`/g)) named.add(m[1]);
  }
  return { rows: rows.length, named };
}

describe("notebooks/README.md, the inventory", () => {
  const readme = fs.readFileSync(path.join(DIR, "README.md"), "utf8");
  const { rows, named } = inventoryNotebooks(readme);
  const present = fs.readdirSync(DIR).filter((f) => f.endsWith(".ipynb"));

  it("lists every notebook in the folder", () => {
    expect(present.filter((f) => !named.has(f))).toEqual([]);
  });

  it("names only notebooks that exist", () => {
    expect([...named].filter((f) => !present.includes(f))).toEqual([]);
  });

  it("has a row per item of the paper's inventory, each with the columns the table promises", () => {
    expect(rows).toBeGreaterThanOrEqual(11);
    const header = readme.split("\n").find((l) => l.includes("| Paper item"))!;
    expect(header.split("|").map((c) => c.trim()).filter(Boolean)).toEqual(
      ["Paper item", "What it shows", "Notebook", "Default setting", "Paper setting (switch)", "Status"]);
  });

  it("the parser finds names it must and notices ones it must not", () => {
    const table = "| Paper item | Notebook |\n|---|---|\n| a | `x.ipynb` and `y.ipynb` |\n| b | — |\n";
    expect([...inventoryNotebooks(table).named]).toEqual(["x.ipynb", "y.ipynb"]);
  });
});

#!/usr/bin/env node
"use strict";
// Type-check notebooks exactly as the clip-nad kernel does, without running them: tslab's converter (TypeScript
// 5.0, lib es2022, no DOM) cell after cell, each cell seeing the declarations of the cells before it, "clip-nad"
// resolved to this package. Also checks that each notebook is committed clean (no outputs, no execution counts, no
// saved widget state).
//   node tools/notebooks/typecheck.cjs notebooks/*.ipynb      → one line per problem; exit 1 if any
const fs = require("fs");
const path = require("path");

const projectRoot = path.resolve(__dirname, "..", "..");
const tslabDir = path.dirname(require.resolve("tslab/package.json", { paths: [projectRoot] }));
require(path.join(projectRoot, "kernel-ext", "package-resolution.cjs")).installPackageResolution({ tslabDir, projectRoot });
const { createConverter } = require(path.join(tslabDir, "dist", "converter"));

function cellSource(cell) {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source || "";
}

/** Problems of one notebook: [{ cell, message }]. */
function checkNotebook(file) {
  const problems = [];
  const nb = JSON.parse(fs.readFileSync(file, "utf8"));
  nb.cells.forEach((c, i) => {
    if (c.cell_type !== "code") return;
    if ((c.outputs || []).length > 0) problems.push({ cell: i, message: "has saved outputs (commit notebooks without outputs)" });
    if (c.execution_count != null) problems.push({ cell: i, message: `has an execution count (${c.execution_count})` });
  });
  if (nb.metadata && nb.metadata.widgets) problems.push({ cell: -1, message: "has saved widget state in metadata.widgets" });
  const cwd = process.cwd();
  process.chdir(path.dirname(path.resolve(file)));
  const converter = createConverter();
  try {
    let prevDecl = "";
    nb.cells.forEach((c, i) => {
      if (c.cell_type !== "code") return;
      const src = cellSource(c);
      if (!src.trim() || src.trim().startsWith("%%")) return;
      const out = converter.convert(prevDecl, src);
      for (const d of out.diagnostics) {
        const where = d.fileName ? `${d.fileName}:${d.start.line + 1}:${d.start.character + 1}` : `line ${d.start.line + 1}:${d.start.character + 1}`;
        problems.push({ cell: i, message: `${where} - ${d.messageText}` });
      }
      prevDecl = out.declOutput || prevDecl;
    });
  } finally {
    converter.close();
    process.chdir(cwd);
  }
  return problems;
}

if (require.main === module) {
  const files = process.argv.slice(2);
  let bad = 0;
  for (const f of files) {
    const problems = checkNotebook(f);
    for (const p of problems) console.log(`${f}${p.cell >= 0 ? ` cell ${p.cell}` : ""}: ${p.message}`);
    bad += problems.length;
    if (problems.length === 0) console.log(`${f}: ok`);
  }
  process.exit(bad ? 1 : 0);
}

module.exports = { checkNotebook };

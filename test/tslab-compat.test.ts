import * as path from "path";
import { describe, expect, it } from "vitest";

// Notebooks import src/ and kernel-ext/ through tslab, which type-checks them with its own TypeScript 5.0.4,
// lib es2022 only (no DOM) and declaration: true. Our own tsc is newer, so check with tslab's compiler too.
const root = path.resolve(__dirname, "..");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const ts = require(path.join(root, "node_modules/@tslab/typescript-for-tslab"));

function tslabDiagnostics(entries: string[]): string[] {
  const program = ts.createProgram(entries.map((e) => path.join(root, e)), {
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2022.d.ts"],
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.NodeJs,
    declaration: true,
    emitDeclarationOnly: true,
    esModuleInterop: true,
    skipLibCheck: true,
    strict: true,
    resolveJsonModule: true,
    types: ["node"],
    outDir: path.join(root, "build/tslab-check"),
  });
  const diags = [...ts.getPreEmitDiagnostics(program), ...program.emit().diagnostics];
  return diags.map((d: { messageText: unknown; file?: { fileName: string } }) =>
    `${d.file ? path.relative(root, d.file.fileName) : "?"}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
}

describe("notebook-facing code compiles under tslab's TypeScript", () => {
  it("uses tslab's bundled compiler (5.0.x)", () => {
    expect(ts.version).toMatch(/^5\.0\./);
  });

  it("src/index.ts and the kernel-side modules type-check with TS 5.0, no DOM, declaration emit", () => {
    const entries = ["src/index.ts", "kernel-ext/display.ts", "kernel-ext/comm.ts", "kernel-ext/widget.ts", "kernel-ext/widgets/neuronHeadBrowser.ts"];
    expect(tslabDiagnostics(entries)).toEqual([]);
  }, 180_000);
});

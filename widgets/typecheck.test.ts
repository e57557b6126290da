/**
 * The front end is excluded from the root tsconfig (it needs the DOM lib); this runs its own typecheck
 * (widgets/tsconfig.json: DOM + the shared protocol) so a type error in the widget fails `npm test`.
 */
import { describe, it, expect } from "vitest";
import { spawnSync } from "child_process";
import * as path from "path";

describe("widgets typecheck", () => {
  it("tsc -p widgets reports no errors", () => {
    const root = path.resolve(__dirname, "..");
    const r = spawnSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", path.join(root, "widgets")], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});

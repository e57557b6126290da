import * as fs from "fs";
import * as path from "path";
import { expect } from "vitest";

/** Every file of a folder, name → bytes. */
export function folderBytes(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const f of fs.readdirSync(dir).sort()) out.set(f, fs.readFileSync(path.join(dir, f)));
  return out;
}

export function expectSameFolder(a: string, b: string): void {
  const A = folderBytes(a), B = folderBytes(b);
  expect([...B.keys()]).toEqual([...A.keys()]);
  for (const [f, bytes] of A) expect(B.get(f)!.equals(bytes), `${f} differs`).toBe(true);
}


import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { ClipNadError } from "../src/errors";
import { PickleValue, unpickle } from "../src/weights/pickle";

const DIR = path.join(__dirname, "fixtures", "tiny", "pickle");

/** Convert the VM's values to plain JSON-able data (Maps → objects, bigint → string). */
function plain(v: PickleValue): unknown {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), plain(x)]));
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === "bigint") return `${v}n`;
  return v;
}

// What Python's pickle.dump wrote (tools/oracle/bad_fixtures.py::write_pickle_goldens).
const EXPECTED = {
  ints: [0, 1, -2, 255, 256, 65535, 65536, -70000, 2 ** 31 - 1, 2 ** 40, `${-(2n ** 70n)}n`],
  floats: [1.5, -0, 1e-300, 3.141592653589793],
  strings: ["", "abc", "héllo 東京", "x".repeat(300)],
  tuples: [[], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4]],
  flags: [true, false, null],
  nested: { k: [[1], [2, [3]]] },
  shared: [[7, 8], [7, 8]],
};

describe("pickle VM on Python-written goldens", () => {
  it.each([2, 4])("protocol %i: LONG1, BINFLOAT, (SHORT_)BINUNICODE, TUPLE1-3, APPENDS, SETITEM(S), memo", (proto) => {
    const file = path.join(DIR, `mixed_p${proto}.pkl`);
    const v = unpickle(fs.readFileSync(file), file);
    expect(plain(v)).toEqual(EXPECTED);
    // The memo returns the same object, not a copy.
    const shared = (v as Map<PickleValue, PickleValue>).get("shared") as PickleValue[][];
    expect(shared[0]).toBe(shared[1]);
    expect(Object.is((plain(v) as { floats: number[] }).floats[1], -0)).toBe(true);
  });
});

describe("pickle VM failures", () => {
  const run = (bytes: number[]) => () => unpickle(Uint8Array.from(bytes), "/x/model.pt");

  it("unknown opcode names the opcode, byte offset and file", () => {
    expect(run([0x80, 0x02, 0x4b, 0x01, 0xff])).toThrow("/x/model.pt: unknown pickle opcode 0xff at byte 4 of data.pkl");
    expect(run([0x80, 0x02, 0x4b, 0x01, 0xff])).toThrow(ClipNadError);
  });

  it("data that stops before STOP", () => {
    expect(run([0x80, 0x02, 0x4b, 0x01])).toThrow("/x/model.pt: corrupt pickle (data.pkl): data ends before the STOP opcode at byte 4");
    expect(run([0x80, 0x02, 0x58, 0x10, 0, 0, 0, 0x41])).toThrow(/data ends unexpectedly \(needs 16 more bytes, 1 left\) at byte 2/);
  });

  it("stack underflow and undefined memo keys", () => {
    expect(run([0x80, 0x02, 0x86, 0x2e])).toThrow("/x/model.pt: corrupt pickle (data.pkl): stack underflow at byte 2");
    expect(run([0x80, 0x02, 0x68, 0x05, 0x2e])).toThrow("memo key 5 not defined at byte 2");
  });

  it("persistent ids need a loader; REDUCE of OrderedDict gives a Map; GLOBAL objects are kept", () => {
    expect(run([0x80, 0x02, 0x4b, 0x01, 0x51, 0x2e])).toThrow("persistent id (BINPERSID) without a loader at byte 4");
    const od = unpickle(Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from("ccollections\nOrderedDict\n", "latin1"), Buffer.from([0x29, 0x52, 0x2e])]), "f");
    expect(od).toBeInstanceOf(Map);
    const obj = unpickle(Buffer.concat([Buffer.from("c__torch__.foo\nBar\n", "latin1"), Buffer.from([0x29, 0x81, 0x7d, 0x8c, 0x01, 0x61, 0x4b, 0x07, 0x73, 0x62, 0x2e])]), "f") as { kind: string; cls: { module: string; name: string }; state: Map<string, number> };
    expect(obj.kind).toBe("object");
    expect(obj.cls).toEqual({ kind: "global", module: "__torch__.foo", name: "Bar" });
    expect(obj.state.get("a")).toBe(7);
  });
});

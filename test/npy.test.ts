import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import {
  decodeNpy, encodeNpy, NPY_ROW_HEADER_BYTES, NpyData, npyHeader, readNpy, readNpyInfo, RowNpyReader, RowNpyWriter, writeNpy,
} from "../src/io/npy";

const DIR = path.join(__dirname, "fixtures", "tiny", "npy");

// The same arrays numpy.save wrote (tools/oracle/bad_fixtures.py::write_npy_goldens).
const GOLDENS: Array<[string, NpyData, number[], string]> = [
  ["f4_2x3.npy", Float32Array.from([0, 1, 2, 3, 4, 5], (v) => v / 4 - 0.5), [2, 3], "<f4"],
  ["i4_4.npy", Int32Array.from([-2, 0, 7, 2 ** 31 - 1]), [4], "<i4"],
  ["u1_2x2x2.npy", Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7], (v) => v * 30), [2, 2, 2], "|u1"],
  ["f8_3.npy", Float64Array.from([Math.PI, -1e300, 0.5]), [3], "<f8"],
  ["f4_scalar.npy", Float32Array.from([1.5]), [], "<f4"],
  ["f4_0.npy", new Float32Array(0), [0], "<f4"],
];

describe("npy writer is byte-identical to numpy.save", () => {
  it.each(GOLDENS)("%s", (file, data, shape) => {
    const golden = fs.readFileSync(path.join(DIR, file));
    const mine = encodeNpy(data, shape);
    expect(mine.length).toBe(golden.length);
    expect(mine.equals(golden)).toBe(true);
  });
});

describe("npy reader", () => {
  it.each(GOLDENS)("%s", (file, data, shape, dtype) => {
    const a = readNpy(path.join(DIR, file));
    expect(a.shape).toEqual(shape);
    expect(a.dtype).toBe(dtype);
    expect(a.data.constructor).toBe(data.constructor);
    expect(Array.from(a.data as ArrayLike<number>)).toEqual(Array.from(data as ArrayLike<number>));
  });

  it("round-trips a large float32 array through a file", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clipnad-npy-"));
    const p = path.join(tmp, "x.npy");
    const data = Float32Array.from({ length: 3 * 5 * 7 }, (_, i) => Math.sin(i) * 1e3);
    writeNpy(p, data, [3, 5, 7]);
    const back = readNpy(p);
    expect(back.shape).toEqual([3, 5, 7]);
    expect((back.data as Float32Array).every((v, i) => Object.is(v, data[i]))).toBe(true);
    // Data starts on a 64-byte boundary, like numpy's.
    expect((fs.statSync(p).size - data.byteLength) % 64).toBe(0);
  });

  it("reads format version 2.0 headers", () => {
    const v1 = encodeNpy(Int32Array.from([1, 2, 3]), [3]);
    const hlen = v1.readUInt16LE(8);
    const v2 = Buffer.alloc(v1.length + 2);
    v1.copy(v2, 0, 0, 6);
    v2[6] = 2;
    v2.writeUInt32LE(hlen, 8);
    v1.copy(v2, 12, 10);
    expect(Array.from(decodeNpy(v2).data as Int32Array)).toEqual([1, 2, 3]);
  });
});

describe("row files (RowNpyWriter / RowNpyReader): numpy-readable at every commit, cut back on reopen", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clipnad-rownpy-"));
  const rows = (start: number, count: number) => Float32Array.from({ length: count * 6 }, (_, i) => start * 6 + i + 0.25);

  it("header slot: a valid v1.0 header padded to NPY_ROW_HEADER_BYTES; a shape that does not fit is refused", () => {
    expect(NPY_ROW_HEADER_BYTES % 64).toBe(0);
    const h = npyHeader("<f4", [12345, 48, 3072], NPY_ROW_HEADER_BYTES);
    expect(h.length).toBe(NPY_ROW_HEADER_BYTES);
    expect(h[h.length - 1]).toBe(0x0a);
    expect(h.readUInt16LE(8)).toBe(NPY_ROW_HEADER_BYTES - 10);
    expect(h.toString("latin1")).toContain("'shape': (12345, 48, 3072), }");
    // without a total, numpy.save's own 64-byte alignment (the goldens above)
    const golden = fs.readFileSync(path.join(DIR, "f4_2x3.npy"));
    expect(npyHeader("<f4", [2, 3]).equals(golden.subarray(0, golden.length - 6 * 4))).toBe(true);
    expect(() => npyHeader("<f4", Array(40).fill(1), 64)).toThrow(/does not fit/);
  });

  it("append + commit: the file reads as a whole array (readNpy) and by rows (RowNpyReader)", () => {
    const file = path.join(tmp, "s.npy");
    const w = RowNpyWriter.open(file, "<f4", [2, 3], 0);
    w.append(rows(0, 2), 2);
    w.append(rows(2, 3), 3);
    w.commit();
    w.close();
    const all = readNpy(file);
    expect(all.shape).toEqual([5, 2, 3]);
    expect(Array.from(all.data)).toEqual(Array.from(rows(0, 5)));
    const info = readNpyInfo(file);
    expect(info).toEqual({ dtype: "<f4", shape: [5, 2, 3], dataOffset: NPY_ROW_HEADER_BYTES });
    expect(fs.statSync(file).size).toBe(NPY_ROW_HEADER_BYTES + 5 * 6 * 4);
    const r = new RowNpyReader(file);
    expect([r.rows, r.rowElems]).toEqual([5, 6]);
    expect(Array.from(r.readRows(1, 3))).toEqual(Array.from(rows(1, 3)));
    expect(r.readRows(4, 0).length).toBe(0);
    expect(() => r.readRows(4, 2)).toThrow(/out of range/);
    r.close();
    expect(() => RowNpyWriter.open(file, "<f4", [2, 3], 0).append(new Float32Array(5), 1)).toThrow(/5 values for 1 rows of 6/);
  });

  it("reopening cuts uncommitted rows; more committed rows than the file holds is damage", () => {
    const file = path.join(tmp, "cut.npy");
    const w = RowNpyWriter.open(file, "<f4", [2, 3], 0);
    w.append(rows(0, 2), 2);
    w.commit();
    w.append(rows(2, 4), 4); // never committed (a kill)
    w.close();
    const again = RowNpyWriter.open(file, "<f4", [2, 3], 2);
    expect(fs.statSync(file).size).toBe(NPY_ROW_HEADER_BYTES + 2 * 6 * 4);
    again.append(rows(2, 1), 1);
    again.commit();
    again.close();
    expect(Array.from(readNpy(file).data)).toEqual(Array.from(rows(0, 3)));
    expect(() => RowNpyWriter.open(file, "<f4", [2, 3], 10)).toThrow(/damaged/);
  });

  it("a reader refuses a file shorter than its header promises, and scalars", () => {
    const file = path.join(tmp, "short.npy");
    const full = encodeNpy(rows(0, 2), [2, 2, 3]);
    fs.writeFileSync(file, full.subarray(0, full.length - 4));
    expect(() => new RowNpyReader(file)).toThrow(/truncated/);
    writeNpy(file, Float32Array.from([1]), []);
    expect(() => new RowNpyReader(file)).toThrow(/scalar/);
  });
});

describe("npy errors name the file and the problem", () => {
  it("shape/data mismatch", () => {
    expect(() => encodeNpy(new Float32Array(5), [2, 3])).toThrow("npy: shape [2,3] has 6 elements but the data has 5");
  });
  it("bad magic, fortran order, unsupported dtype, truncated data", () => {
    expect(() => decodeNpy(Buffer.from("not an npy file at all"), "a.npy")).toThrow("a.npy: not an .npy file (bad magic)");
    const good = encodeNpy(Float32Array.from([1, 2]), [2]);
    const fortran = Buffer.from(good.toString("latin1").replace("'fortran_order': False", "'fortran_order': True "), "latin1");
    expect(() => decodeNpy(fortran, "f.npy")).toThrow("f.npy: Fortran-ordered .npy arrays are not supported");
    const i8 = Buffer.from(good.toString("latin1").replace("'<f4'", "'<i8'"), "latin1");
    expect(() => decodeNpy(i8, "g.npy")).toThrow("g.npy: unsupported .npy dtype '<i8'");
    expect(() => decodeNpy(good.subarray(0, good.length - 1), "t.npy")).toThrow("t.npy: truncated .npy data: needs 8 bytes, has 7");
  });
  it("missing file", () => {
    expect(() => readNpy("/nonexistent/dir/x.npy")).toThrow("/nonexistent/dir/x.npy: cannot read .npy file");
  });
});

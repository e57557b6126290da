// OMP against scikit-learn's SparseCoder(transform_algorithm='omp') fixtures (tools/oracle/omp_fixtures.py): same
// supports, coefficients within 1e-4, the early stops and both tie rules; the WebAssembly kernel against a plain loop;
// the scipy .npz format against scipy's own writer; resume; bad input.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import yauzl from "yauzl";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Command } from "commander";
import { Matrix, SparseCodes, codeRow, ompGram, sparseEncode, topAtoms } from "../src/analysis/omp";
import { ResidualKernel } from "../src/analysis/ompKernel";
import { decodeNpy, readNpy, writeNpy } from "../src/io/npy";
import { encodeCsrNpz, readCsrNpz, writeCsrNpz } from "../src/io/npz";
import { register as registerOmp } from "../src/cli/commands/omp";
import { runCommand } from "./cli-helpers";

const FIX = path.join(__dirname, "fixtures", "omp");
const cases = JSON.parse(fs.readFileSync(path.join(FIX, "cases.json"), "utf8")) as Record<
  string,
  { m: number; dtype: string; what: string; n_iter: number[] }
>;

function matrix(file: string): Matrix {
  const a = readNpy(file);
  return { data: a.data as Float32Array | Float64Array, rows: a.shape[0], cols: a.shape[1] };
}

function dense(codes: SparseCodes): Float64Array {
  const out = new Float64Array(codes.N * codes.K);
  for (let r = 0; r < codes.N; r++) {
    const { atoms, values } = codeRow(codes, r);
    atoms.forEach((a, j) => (out[r * codes.K + a] = values[j]));
  }
  return out;
}

let tmp = "";
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-omp-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("OMP = sklearn SparseCoder(transform_algorithm='omp')", () => {
  for (const [name, c] of Object.entries(cases)) {
    it(`${name}: ${c.what}`, async () => {
      const D = matrix(path.join(FIX, `${name}_D.npy`));
      const X = matrix(path.join(FIX, `${name}_X.npy`));
      const want = readNpy(path.join(FIX, `${name}_codes.npy`)).data as Float64Array;
      expect(D.data).toBeInstanceOf(c.dtype === "float32" ? Float32Array : Float64Array);
      const codes = await sparseEncode(D, X, { nonzero: c.m });
      expect(codes.precision).toBe(c.dtype);
      const got = dense(codes);
      const K = D.rows;
      for (let r = 0; r < X.rows; r++) {
        const gotSupport = [],
          wantSupport = [];
        for (let k = 0; k < K; k++) {
          if (got[r * K + k] !== 0) gotSupport.push(k);
          if (want[r * K + k] !== 0) wantSupport.push(k);
        }
        expect(gotSupport, `signal ${r} support`).toEqual(wantSupport);
        expect(codes.indptr[r + 1] - codes.indptr[r]).toBe(c.n_iter[r]);
        for (const k of wantSupport) {
          const w = want[r * K + k];
          expect(Math.abs(got[r * K + k] - w), `signal ${r} atom ${k}`).toBeLessThanOrEqual(
            1e-4 * Math.max(1, Math.abs(w)),
          );
        }
      }
      const early = Object.values(codes.earlyStops).reduce((a, b) => a + b, 0);
      expect(early).toBe(c.n_iter.filter((n) => n < c.m).length);
    });
  }

  it("names the early stops: small correlations, dependent atoms", async () => {
    const small = await sparseEncode(
      matrix(path.join(FIX, "tiny_signals_D.npy")),
      matrix(path.join(FIX, "tiny_signals_X.npy")),
      { nonzero: 5 },
    );
    expect(small.earlyStops).toEqual({ "repeated-atom": 0, "small-correlation": 4, "dependent-atom": 0 });
    const dep = await sparseEncode(
      matrix(path.join(FIX, "tiny_atoms_D.npy")),
      matrix(path.join(FIX, "tiny_atoms_X.npy")),
      { nonzero: 5 },
    );
    expect(dep.earlyStops).toEqual({ "repeated-atom": 0, "small-correlation": 0, "dependent-atom": 5 });
  });

  it("ranks a row's atoms by |coefficient| with signs kept", async () => {
    const D = matrix(path.join(FIX, "random_D.npy"));
    const codes = await sparseEncode(D, matrix(path.join(FIX, "random_X.npy")), { nonzero: 8 });
    const want = readNpy(path.join(FIX, "random_codes.npy")).data as Float64Array;
    const row = Array.from(want.subarray(0, 40))
      .map((v, k) => ({ k, v }))
      .filter((e) => e.v !== 0);
    row.sort((a, b) => Math.abs(b.v) - Math.abs(a.v));
    const top = topAtoms(codes, 0, 3);
    expect(top.map((t) => t.atom)).toEqual(row.slice(0, 3).map((e) => e.k));
    top.forEach((t, i) => expect(Math.sign(t.coefficient)).toBe(Math.sign(row[i].v)));
  });
});

describe("the Gram matrix (upper triangle per row block, mirrored)", () => {
  it.each([
    ["float32", 1], ["float32", 13], ["float64", 50], ["float64", 97],
  ] as const)("equals the naive D·Dᵀ in %s with %i-row blocks, exactly symmetric", async (precision, blockRows) => {
    const K = 97, d = 11;
    let seed = 7;
    const D = Float64Array.from({ length: K * d }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1);
    const data = precision === "float32" ? Float32Array.from(D) : D;
    const g = await ompGram({ data, rows: K, cols: d }, precision, { blockRows });
    expect(g.K).toBe(K);
    for (let i = 0; i < K; i++) {
      for (let j = 0; j < K; j++) {
        let t = 0;
        for (let k = 0; k < d; k++) t += data[i * d + k] * data[j * d + k];
        expect(Math.abs(g.data[i * K + j] - t)).toBeLessThan(precision === "float32" ? 1e-5 : 1e-12);
        expect(g.data[j * K + i]).toBe(g.data[i * K + j]);
      }
    }
  });
});

describe("Batch-OMP kernel (WebAssembly SIMD)", () => {
  for (const precision of ["float32", "float64"] as const) {
    it(`${precision}: α = xy − Σ coef·rows for every row count, K not a multiple of the vector width`, () => {
      const K = 37;
      const kern = new ResidualKernel(K, 9, precision);
      let seed = 3;
      const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5;
      const xy = Array.from({ length: K }, rand);
      kern.xy.set(xy);
      const rows = Array.from({ length: 9 }, () => Array.from({ length: K }, rand));
      rows.forEach((r, j) => kern.rows.set(r, j * kern.stride));
      const coef = Array.from({ length: 9 }, rand);
      kern.coef.set(coef);
      for (let n = 0; n <= 9; n++) {
        kern.residual(n);
        for (let k = 0; k < K; k++) {
          let want = precision === "float32" ? Math.fround(xy[k]) : xy[k];
          for (let j = 0; j < n; j++)
            want -= precision === "float32" ? Math.fround(coef[j]) * Math.fround(rows[j][k]) : coef[j] * rows[j][k];
          expect(Math.abs(kern.alpha[k] - want)).toBeLessThan(precision === "float32" ? 1e-5 : 1e-14);
        }
      }
    });
  }
});

describe("Batch-OMP argmax (WebAssembly SIMD)", () => {
  for (const precision of ["float32", "float64"] as const) {
    it(`${precision}: the first index of the largest |α|, ties flagged, padding past K ignored`, () => {
      const K = 23;
      const kern = new ResidualKernel(K, 2, precision);
      const cases: number[][] = [
        Array.from({ length: K }, (_, k) => Math.sin(k * 1.7) * (k + 1)),
        Array.from({ length: K }, (_, k) => (k === 5 || k === 17 ? -3 : k === 9 ? 3 : 0.5)), // |−3| = |3| at 5, 9, 17
        Array.from({ length: K }, (_, k) => (k === 22 ? 7 : 1)), // the last real entry, next to the padding
        Array.from({ length: K }, (_, k) => (k === 1 || k === 2 ? 4 : 0)), // a tie inside one vector
      ];
      for (const c of cases) {
        kern.xy.fill(0);
        kern.xy.set(c);
        kern.residual(0);
        const abs = c.map((x) => Math.abs(precision === "float32" ? Math.fround(x) : x));
        const max = Math.max(...abs);
        const got = kern.argmaxAbs();
        expect(got.index).toBe(abs.indexOf(max));
        expect(got.tied).toBe(abs.filter((a) => a === max).length > 1);
        expect(got.value).toBe(max);
      }
    });
  }
});

/** Entries of a zip read with yauzl (an independent zip reader): name → bytes. */
function unzip(file: string): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const out = new Map<string, Buffer>();
      zip.on("entry", (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          const parts: Buffer[] = [];
          stream.on("data", (b: Buffer) => parts.push(b));
          stream.on("end", () => {
            out.set(entry.fileName, Buffer.concat(parts));
            zip.readEntry();
          });
        });
      });
      zip.on("end", () => resolve(out));
      zip.readEntry();
    });
  });
}

describe("codes as scipy.sparse.save_npz writes them", () => {
  it("reads scipy's own .npz", () => {
    const m = readCsrNpz(path.join(FIX, "codes_scipy.npz"));
    const want = readNpy(path.join(FIX, "random_codes.npy"));
    expect(m.shape).toEqual(want.shape);
    const K = m.shape[1];
    const got = new Float64Array(m.shape[0] * K);
    for (let r = 0; r < m.shape[0]; r++)
      for (let j = m.indptr[r]; j < m.indptr[r + 1]; j++) got[r * K + m.indices[j]] = m.data[j];
    expect(Array.from(got)).toEqual(Array.from(want.data));
  });

  it(
    "writes the same members as scipy (format b'csr', int64 shape, int32 indices/indptr), " + "deterministically",
    async () => {
      const D = matrix(path.join(FIX, "random_D.npy"));
      const codes = await sparseEncode(D, matrix(path.join(FIX, "random_X.npy")), { nonzero: 8 });
      const file = path.join(tmp, "codes.npz");
      const csr = {
        shape: [codes.N, codes.K] as [number, number],
        indptr: codes.indptr,
        indices: codes.indices,
        data: codes.data,
      };
      writeCsrNpz(file, csr);
      expect(encodeCsrNpz(csr).equals(fs.readFileSync(file))).toBe(true);
      const ours = await unzip(file);
      const scipys = await unzip(path.join(FIX, "codes_scipy.npz"));
      expect([...ours.keys()].sort()).toEqual([...scipys.keys()].sort());
      // same matrix, same support: the index arrays, the format and the shape are byte-identical to scipy's
      for (const name of ["format.npy", "shape.npy", "indices.npy", "indptr.npy"])
        expect(ours.get(name)!.equals(scipys.get(name)!), name).toBe(true);
      const a = decodeNpy(ours.get("data.npy")!).data,
        b = decodeNpy(scipys.get("data.npy")!).data;
      expect(a.length).toBe(b.length);
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-9 * Math.max(1, Math.abs(b[i])));
    },
  );
});

describe("resumable runs", () => {
  it("an interrupted run resumes from its chunk files and gives byte-identical codes", async () => {
    const D = matrix(path.join(FIX, "wide_D.npy"));
    const X = matrix(path.join(FIX, "wide_X.npy"));
    const whole = await sparseEncode(D, X, { nonzero: 32, chunkRows: 3 });
    const work = path.join(tmp, "work");
    await expect(
      sparseEncode(D, X, {
        nonzero: 32,
        chunkRows: 3,
        workDir: work,
        onProgress: (done) => {
          if (done >= 9) throw new Error("interrupted");
        },
      }),
    ).rejects.toThrow("interrupted");
    expect(fs.readdirSync(work).filter((f) => f.endsWith("-atoms.npy")).length).toBe(3);
    const seen: number[] = [];
    const resumed = await sparseEncode(D, X, {
      nonzero: 32,
      chunkRows: 3,
      workDir: work,
      onProgress: (d) => seen.push(d),
    });
    expect(seen[0]).toBe(9);
    const bytes = (c: SparseCodes) =>
      encodeCsrNpz({ shape: [c.N, c.K], indptr: c.indptr, indices: c.indices, data: c.data });
    expect(bytes(resumed).equals(bytes(whole))).toBe(true);
    expect(fs.existsSync(work)).toBe(false);
  });

  it("worker threads give the same codes as this thread; a failing progress callback stops them", async () => {
    const D = matrix(path.join(FIX, "wide_D.npy"));
    const X = matrix(path.join(FIX, "wide_X.npy"));
    const bytes = (c: SparseCodes) =>
      encodeCsrNpz({ shape: [c.N, c.K], indptr: c.indptr, indices: c.indices, data: c.data });
    const one = await sparseEncode(D, X, { nonzero: 32, chunkRows: 7, threads: 1 });
    const two = await sparseEncode(D, X, { nonzero: 32, chunkRows: 7, threads: 2 });
    expect(bytes(two).equals(bytes(one))).toBe(true);
    expect(Array.from(two.stops)).toEqual(Array.from(one.stops));
    await expect(
      sparseEncode(D, X, {
        nonzero: 32,
        chunkRows: 7,
        threads: 2,
        onProgress: (d) => {
          if (d > 3) throw new Error("stop here");
        },
      }),
    ).rejects.toThrow("stop here");
  });

  it("refuses a work folder of another run", async () => {
    const D = matrix(path.join(FIX, "random_D.npy"));
    const X = matrix(path.join(FIX, "random_X.npy"));
    const work = path.join(tmp, "other");
    await sparseEncode(D, X, { nonzero: 8, workDir: work, keepWork: true });
    await expect(sparseEncode(D, X, { nonzero: 7, workDir: work })).rejects.toThrow(/another OMP run/);
  });
});

const cli = (args: string[]) => runCommand(registerOmp, args);

describe("clip-nad omp", () => {
  it("writes codes equal to sklearn's and reports early stops", async () => {
    const out = path.join(tmp, "cli.npz");
    const text = await cli([
      "omp",
      "--dictionary",
      path.join(FIX, "exactly_sparse_D.npy"),
      "--signals",
      path.join(FIX, "exactly_sparse_X.npy"),
      "--nonzero",
      "10",
      "--out",
      out,
      "--quiet",
    ]);
    expect(text).toMatch(/8 signals × 30 atoms/);
    expect(text).toMatch(/ended early/);
    const m = readCsrNpz(out);
    const want = readNpy(path.join(FIX, "exactly_sparse_codes.npy")).data;
    for (let r = 0; r < 8; r++) {
      const cols = Array.from(m.indices.subarray(m.indptr[r], m.indptr[r + 1]));
      const wantCols = [];
      for (let k = 0; k < 30; k++) if (want[r * 30 + k] !== 0) wantCols.push(k);
      expect(cols).toEqual(wantCols);
    }
  });

  it("bad input: clear errors naming the file", async () => {
    const Dfile = path.join(FIX, "random_D.npy");
    const Xfile = path.join(FIX, "random_X.npy");
    const out = path.join(tmp, "bad.npz");
    const args = (D: string, X: string, m: string) => [
      "omp",
      "--dictionary",
      D,
      "--signals",
      X,
      "--nonzero",
      m,
      "--out",
      out,
      "--quiet",
    ];
    await expect(cli(args(Dfile, Xfile, "41"))).rejects.toThrow(
      `${Dfile}: the dictionary has 40 atoms, fewer than the 41 non-zero coefficients asked for`,
    );
    const nan = readNpy(Dfile);
    (nan.data as Float64Array)[5 * 16 + 3] = NaN;
    const nanFile = path.join(tmp, "nan_D.npy");
    writeNpy(nanFile, nan.data, nan.shape);
    await expect(cli(args(nanFile, Xfile, "8"))).rejects.toThrow(
      `${nanFile}, key 'row 5': atom (row) 5 holds a NaN or infinite value`,
    );
    const inf = readNpy(Xfile);
    (inf.data as Float64Array)[2 * 16] = Infinity;
    const infFile = path.join(tmp, "inf_X.npy");
    writeNpy(infFile, inf.data, inf.shape);
    await expect(cli(args(Dfile, infFile, "8"))).rejects.toThrow(
      `${infFile}, key 'row 2': signal (row) 2 holds a NaN or infinite value`,
    );
    await expect(cli(args(Dfile, path.join(FIX, "wide_X.npy"), "8"))).rejects.toThrow(
      `${path.join(FIX, "wide_X.npy")}: signals have 64 dimensions but the dictionary's atoms have 16`,
    );
    const oneD = path.join(tmp, "one_d.npy");
    writeNpy(oneD, new Float32Array(16), [16]);
    await expect(cli(args(oneD, Xfile, "8"))).rejects.toThrow(`${oneD}: the dictionary must be a 2-D array`);
    await expect(
      cli(["omp", "--dictionary", Dfile, "--signals", Xfile, "--nonzero", "8", "--out", path.join(tmp, "x.npy")]),
    ).rejects.toThrow("--out must name a .npz file");
    expect(fs.existsSync(out)).toBe(false);
  });
});

import * as fs from "fs";
import AdmZip from "adm-zip";
import { ClipNadError } from "../errors";
import { writeFileAtomic } from "./atomic";
import { decodeNpy, encodeNpy, npyHeader, parseNpyHeader } from "./npy";

/**
 * Sparse matrices as scipy.sparse.save_npz writes them: a zip (deflated, as np.savez_compressed) of indices.npy,
 * indptr.npy, format.npy (the bytes b'csr', dtype |S3), shape.npy (int64 (2,)) and data.npy, so
 * `scipy.sparse.load_npz(file)` opens clip-nad's codes and clip-nad reads scipy's. Entries carry a fixed
 * timestamp: the same matrix always gives the same bytes.
 */
export interface CsrMatrix {
  /** Rows × columns. */
  shape: [number, number];
  indptr: Int32Array;
  indices: Int32Array;
  data: Float32Array | Float64Array;
}

// 1980-01-01 00:00 in DOS date/time (the earliest a zip can say): deterministic archives.
const FIXED_DOS_TIME = (0 << 25) | (1 << 21) | (1 << 16);

function npyBytes(descr: string, shape: number[], raw: Uint8Array): Buffer {
  return Buffer.concat([npyHeader(descr, shape), Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)]);
}

function checkCsr(m: CsrMatrix, file?: string): void {
  const [rows, cols] = m.shape;
  if (m.indptr.length !== rows + 1 || m.indptr[0] !== 0)
    throw new ClipNadError(`CSR indptr must have ${rows + 1} entries starting at 0`, { file });
  const nnz = m.indptr[rows];
  if (m.indices.length !== nnz || m.data.length !== nnz)
    throw new ClipNadError(
      `CSR arrays disagree: indptr ends at ${nnz}, ${m.indices.length} indices, ${m.data.length} values`,
      { file },
    );
  for (let r = 0; r < rows; r++)
    if (m.indptr[r + 1] < m.indptr[r]) throw new ClipNadError(`CSR indptr decreases at row ${r}`, { file });
  for (let i = 0; i < nnz; i++)
    if (m.indices[i] < 0 || m.indices[i] >= cols)
      throw new ClipNadError(`CSR column index ${m.indices[i]} outside 0..${cols - 1}`, { file });
}

/** The .npz bytes of a CSR matrix. */
export function encodeCsrNpz(m: CsrMatrix): Buffer {
  checkCsr(m);
  const zip = new AdmZip();
  const members: [string, Buffer][] = [
    ["indices.npy", encodeNpy(m.indices, [m.indices.length])],
    ["indptr.npy", encodeNpy(m.indptr, [m.indptr.length])],
    ["format.npy", npyBytes("|S3", [], Buffer.from("csr", "latin1"))],
    ["shape.npy", npyBytes("<i8", [2], new Uint8Array(BigInt64Array.from(m.shape.map((v) => BigInt(v))).buffer))],
    ["data.npy", encodeNpy(m.data, [m.data.length])],
  ];
  for (const [name, bytes] of members) {
    zip.addFile(name, bytes);
    const entry = zip.getEntry(name)!;
    entry.header.timeval = FIXED_DOS_TIME;
  }
  return zip.toBuffer();
}

/** Write a CSR matrix as a scipy .npz (atomically). */
export function writeCsrNpz(file: string, m: CsrMatrix): void {
  writeFileAtomic(file, encodeCsrNpz(m));
}

/** Read a CSR .npz written by scipy.sparse.save_npz (or by writeCsrNpz). */
export function readCsrNpz(file: string): CsrMatrix {
  let zip: AdmZip;
  try {
    zip = new AdmZip(fs.readFileSync(file));
  } catch (e) {
    throw new ClipNadError(`cannot read the .npz (${(e as Error).message})`, { file });
  }
  const member = (name: string): Buffer => {
    const entry = zip.getEntry(`${name}.npy`);
    if (!entry) throw new ClipNadError(`not a scipy sparse .npz: no ${name}.npy`, { file });
    return entry.getData();
  };
  const fmt = member("format");
  const fh = parseNpyHeader(fmt, file);
  const format = fmt
    .subarray(fh.dataOffset, fh.dataOffset + Number(/\d+/.exec(fh.descr)?.[0] ?? 0))
    .toString("latin1")
    .replace(/\0+$/, "");
  if (format !== "csr") throw new ClipNadError(`sparse format '${format}' is not csr`, { file });
  const sb = member("shape");
  const sh = parseNpyHeader(sb, file);
  if (sh.descr !== "<i8" || sh.shape.length !== 1 || sh.shape[0] !== 2)
    throw new ClipNadError(`shape.npy is ${sh.descr} ${sh.shape}, expected <i8 (2,)`, { file });
  const shape: [number, number] = [
    Number(sb.readBigInt64LE(sh.dataOffset)),
    Number(sb.readBigInt64LE(sh.dataOffset + 8)),
  ];
  const indices = decodeNpy(member("indices"), file).data;
  const indptr = decodeNpy(member("indptr"), file).data;
  const data = decodeNpy(member("data"), file).data;
  if (!(indices instanceof Int32Array) || !(indptr instanceof Int32Array))
    throw new ClipNadError("indices/indptr must be int32", { file });
  if (!(data instanceof Float32Array) && !(data instanceof Float64Array))
    throw new ClipNadError("data must be float32 or float64", { file });
  const m = { shape, indptr, indices, data };
  checkCsr(m, file);
  return m;
}

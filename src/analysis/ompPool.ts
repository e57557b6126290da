import * as path from "path";
import { Worker } from "worker_threads";
import { ClipNadError } from "../errors";
import { OMP_STOPS, OmpEncoder, OmpGram, OmpPrecision } from "./ompEncoder";

/**
 * Encoding a chunk of signals from their correlations α⁰ (B×K), in this thread or in worker threads sharing the
 * Gram matrix (SharedArrayBuffer, never copied). Results are identical either way: each signal is independent.
 * A worker holds its own encoder working set ((m + 2)·K·b bytes).
 */
export interface ChunkResult {
  n: Int32Array;
  stops: Uint8Array;
  /** B×m, selection order. */
  atoms: Int32Array;
  coefs: Float32Array | Float64Array;
}

export interface ChunkEncoder {
  /** Encode B signals; `xy` holds at least B×K correlations. `onSignals(k)`: k more signals done. */
  encode(xy: Float32Array | Float64Array, B: number, onSignals?: (k: number) => void): Promise<ChunkResult>;
  close(): Promise<void>;
}

function typed(precision: OmpPrecision, buf: ArrayBufferLike | number): Float32Array | Float64Array {
  return precision === "float64" ? new Float64Array(buf as ArrayBuffer) : new Float32Array(buf as ArrayBuffer);
}

/** The in-thread encoder. */
export class LocalChunkEncoder implements ChunkEncoder {
  private readonly encoder: OmpEncoder;

  constructor(
    private readonly gram: OmpGram,
    private readonly m: number,
  ) {
    this.encoder = new OmpEncoder(gram, m);
  }

  async encode(xy: Float32Array | Float64Array, B: number, onSignals?: (k: number) => void): Promise<ChunkResult> {
    const { K, precision } = this.gram;
    const m = this.m;
    const out: ChunkResult = {
      n: new Int32Array(B),
      stops: new Uint8Array(B),
      atoms: new Int32Array(B * m),
      coefs: typed(precision, B * m),
    };
    const idx = new Int32Array(m),
      cf = new Float64Array(m);
    for (let i = 0; i < B; i++) {
      const res = this.encoder.encode(xy.subarray(i * K, (i + 1) * K), idx, cf);
      out.n[i] = res.n;
      out.stops[i] = OMP_STOPS.indexOf(res.stop);
      out.atoms.set(idx.subarray(0, res.n), i * m);
      for (let j = 0; j < res.n; j++) out.coefs[i * m + j] = cf[j];
      if ((i & 31) === 31) onSignals?.(32);
    }
    onSignals?.(B & 31);
    return out;
  }

  async close(): Promise<void> {}
}

const BYTES = { float32: 4, float64: 8 } as const;

/** Worker threads over a Gram matrix held in a SharedArrayBuffer; chunks up to `maxRows` signals. */
export class PooledChunkEncoder implements ChunkEncoder {
  private readonly workers: Worker[];
  private readonly shared: {
    xy: SharedArrayBuffer;
    n: SharedArrayBuffer;
    stops: SharedArrayBuffer;
    atoms: SharedArrayBuffer;
    coefs: SharedArrayBuffer;
  };

  constructor(
    private readonly gram: OmpGram,
    private readonly m: number,
    threads: number,
    private readonly maxRows: number,
  ) {
    const buffer = gram.data.buffer;
    if (!(buffer instanceof SharedArrayBuffer))
      throw new ClipNadError("worker threads need the Gram matrix in shared memory (ompGram allocates it so)");
    const b = BYTES[gram.precision];
    this.shared = {
      xy: new SharedArrayBuffer(maxRows * gram.K * b),
      n: new SharedArrayBuffer(maxRows * 4),
      stops: new SharedArrayBuffer(maxRows),
      atoms: new SharedArrayBuffer(maxRows * m * 4),
      coefs: new SharedArrayBuffer(maxRows * m * b),
    };
    const file = path.join(__dirname, "ompWorker.cjs");
    this.workers = Array.from(
      { length: threads },
      () => new Worker(file, { workerData: { gram: buffer, K: gram.K, precision: gram.precision, m } }),
    );
  }

  async encode(xy: Float32Array | Float64Array, B: number, onSignals?: (k: number) => void): Promise<ChunkResult> {
    const { K, precision } = this.gram;
    const m = this.m;
    if (B > this.maxRows) throw new Error(`chunk of ${B} signals exceeds the pool's ${this.maxRows}`);
    typed(precision, this.shared.xy).set(xy.subarray(0, B * K));
    const T = this.workers.length;
    const per = Math.ceil(B / T);
    await Promise.all(
      this.workers.map(
        (w, t) =>
          new Promise<void>((resolve, reject) => {
            const start = t * per,
              count = Math.max(0, Math.min(per, B - start));
            if (count === 0) return resolve();
            const onMessage = (msg: { type: string; done?: number; message?: string }) => {
              try {
                if (msg.done) onSignals?.(msg.done);
              } catch (e) {
                // a progress callback that throws stops the run
                msg = { type: "error", message: e instanceof Error ? e.message : String(e) };
              }
              if (msg.type === "progress") return;
              w.off("message", onMessage);
              w.off("error", onError);
              if (msg.type === "done") resolve();
              else reject(new Error(msg.message));
            };
            const onError = (e: Error) => {
              w.off("message", onMessage);
              reject(e);
            };
            w.on("message", onMessage);
            w.once("error", onError);
            w.postMessage({ start, count, ...this.shared });
          }),
      ),
    );
    return {
      n: new Int32Array(this.shared.n, 0, B).slice(),
      stops: new Uint8Array(this.shared.stops, 0, B).slice(),
      atoms: new Int32Array(this.shared.atoms, 0, B * m).slice(),
      coefs: typed(precision, this.shared.coefs).slice(0, B * m),
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

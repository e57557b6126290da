/**
 * Jupyter comms for notebook cell code (clip-nad kernel only). The launcher kernel-ext/kernel.cjs installs the
 * transport as `globalThis.__clipNadKernel`; this module gives it types. DOM-free, TS 5.0 syntax (tslab checks it).
 *
 *   import { openComm, registerTarget } from "../kernel-ext/comm";
 *   const comm = openComm("my.target", { hello: 1 }, {}, [new Float32Array([1, 2])]);
 *   comm.onMsg((m) => console.log(m.data, m.buffers.length));
 */

/** Anything that goes out as one binary frame. */
export type BufferLike = ArrayBuffer | ArrayBufferView;
/** JSON object payload of a comm message. */
export type CommData = { [key: string]: unknown };

/** A message from the front end, as handlers receive it. */
export interface CommMessage {
  data: CommData;
  metadata: CommData;
  /** Binary frames (Node Buffers, which are Uint8Arrays). */
  buffers: Uint8Array[];
  header: { msg_id?: string; msg_type?: string; [key: string]: unknown };
}

export type CommMsgHandler = (msg: CommMessage) => void | Promise<void>;

/** The transport the launcher sets on globalThis (low level, by comm id). */
export interface KernelTransport {
  version: number;
  open(target: string, data: CommData, metadata?: CommData, buffers?: BufferLike[], commId?: string): string;
  send(id: string, data: CommData, metadata?: CommData, buffers?: BufferLike[]): void;
  close(id: string, data?: CommData, metadata?: CommData, buffers?: BufferLike[]): void;
  onMsg(id: string, fn: CommMsgHandler): void;
  onClose(id: string, fn: CommMsgHandler): void;
  registerTarget(name: string, fn: (commId: string, msg: CommMessage) => void | Promise<void>): void;
  unregisterTarget(name: string): void;
  isOpen(id: string): boolean;
  displayData(bundle: DisplayBundle, update?: boolean): void;
  log(line: string): void;
  /** Folder of the notebook (Jupyter's working directory for the kernel). */
  notebookDir: string;
  /** The clip-nad checkout; cells of notebooks inside it run from here (tslab's rootDir). */
  projectRoot: string;
}

/** A display_data / update_display_data content. */
export interface DisplayBundle {
  data: { [mime: string]: unknown };
  metadata: { [key: string]: unknown };
  transient: { display_id?: string };
}

/** The running clip-nad kernel's transport, or undefined under plain tslab / outside a kernel. */
export function kernelTransport(): KernelTransport | undefined {
  return (globalThis as { __clipNadKernel?: KernelTransport }).__clipNadKernel;
}

function transport(): KernelTransport {
  const t = kernelTransport();
  if (!t) {
    throw new Error("Jupyter comms need the clip-nad kernel (kernel-ext/kernel.cjs); install it with `clip-nad kernel install`");
  }
  return t;
}

/** One open comm (either side may have opened it). */
export class Comm {
  readonly commId: string;
  readonly targetName: string;
  private readonly t: KernelTransport;

  constructor(t: KernelTransport, commId: string, targetName: string) {
    this.t = t;
    this.commId = commId;
    this.targetName = targetName;
  }

  /** True until either side closes it. */
  get isOpen(): boolean {
    return this.t.isOpen(this.commId);
  }

  send(data: CommData, metadata?: CommData, buffers?: BufferLike[]): void {
    this.t.send(this.commId, data, metadata, buffers);
  }

  /** Messages from the front end. Handler errors are logged to the kernel's stderr. */
  onMsg(fn: CommMsgHandler): void {
    this.t.onMsg(this.commId, fn);
  }

  /** The front end closed the comm. */
  onClose(fn: CommMsgHandler): void {
    this.t.onClose(this.commId, fn);
  }

  close(data?: CommData, metadata?: CommData, buffers?: BufferLike[]): void {
    this.t.close(this.commId, data, metadata, buffers);
  }
}

/** Open a comm to the front end's `target` (sends comm_open with data, metadata and binary buffers). */
export function openComm(target: string, data: CommData = {}, metadata?: CommData, buffers?: BufferLike[]): Comm {
  const t = transport();
  const id = t.open(target, data, metadata, buffers);
  return new Comm(t, id, target);
}

/** Accept comms the front end opens on `target`; `fn` gets the new comm and the comm_open message. */
export function registerTarget(target: string, fn: (comm: Comm, msg: CommMessage) => void | Promise<void>): void {
  const t = transport();
  t.registerTarget(target, (commId, msg) => fn(new Comm(t, commId, target), msg));
}

export function unregisterTarget(target: string): void {
  transport().unregisterTarget(target);
}

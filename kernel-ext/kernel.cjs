#!/usr/bin/env node
"use strict";
// clip-nad Jupyter kernel: tslab plus Jupyter comms (comm_open / comm_msg / comm_close / comm_info_request).
// tslab 1.0.22 has no comms and no plugin API, so this launcher patches its ZmqServer / JupyterHandlerImpl
// prototypes before starting it. Usage (kernel.json argv): node kernel.cjs --config-path {connection_file}
const path = require("path");
const fs = require("fs");
const crypto = require("crypto");
const Module = require("module");
const wire = require("./wire.cjs");
const { CommManager } = require("./comm-manager.cjs");

// The project's own tslab (the one notebooks import helpers against), not a global one.
const projectRoot = path.resolve(__dirname, "..");
const tslabDir = path.dirname(require.resolve("tslab/package.json", { paths: [projectRoot] }));
const tslabProblems = require("./tslab-check.cjs").checkTslab(tslabDir);
if (tslabProblems.length > 0) {
  process.stderr.write(`[clip-nad kernel] cannot start: ${tslabProblems.join("; ")}\n`);
  process.exit(1);
}
const jupyter = require(path.join(tslabDir, "dist", "jupyter"));
const { startKernel } = require(path.join(tslabDir, "dist", "main"));

// A PUB socket drops messages beyond its send high-water mark (zeromq default 1000 per subscriber): a cell that
// emits a burst of outputs would silently lose some. Give tslab's iopub socket a much larger queue.
const zmq = require(require.resolve("zeromq", { paths: [tslabDir] }));
const ZmqPublisher = zmq.Publisher;
zmq.Publisher = class extends ZmqPublisher {
  constructor(options) {
    super({ sendHighWaterMark: 100000, ...(options || {}) });
  }
};

// tslab redirects process.stderr.write into the running cell's output; kernel logs go to the real stderr.
const realStderrWrite = process.stderr.write.bind(process.stderr);
function log(line) {
  realStderrWrite(`[clip-nad kernel] ${line}\n`);
}

const COMM_TYPES = new Set(["comm_open", "comm_msg", "comm_close", "comm_info_request"]);
const kernelSession = crypto.randomBytes(16).toString("hex");
let server = null; // the ZmqServer, captured in init()

function publish(msgType, content, { metadata = {}, buffers = [], parent = {}, topic = msgType } = {}) {
  if (!server || !server.iopub) throw new Error("kernel is not started yet");
  const frames = wire.encodeFrames(server.connInfo.key, {
    identity: [Buffer.from(topic)],
    header: wire.newHeader(msgType, kernelSession),
    parent,
    metadata,
    content,
    buffers,
  });
  server.iopub.send(frames); // serialized; failures are logged by the queue
}

const comms = new CommManager({ publish, log });

// --- parent header of the cell actually executing (execute requests are queued, so not the arrival order) ---
const execParents = new WeakMap();
const ZmqServer = jupyter.ZmqServer.prototype;
const Handler = jupyter.JupyterHandlerImpl.prototype;

// zeromq 6 throws "Socket is busy writing" when a send starts before the previous one finished, and tslab sends
// without awaiting: a cell emitting displays/streams quickly lost messages and failed. Sends are queued per socket.
// (zeromq sockets are non-extensible, so the server gets a proxy whose `send` waits for the previous send.)
function serializeSends(sock, name) {
  const raw = sock.send.bind(sock);
  let tail = Promise.resolve();
  const send = (frames) => {
    const p = tail.then(() => raw(frames));
    // After shutdown the sockets are closed: late messages have nowhere to go, which is not worth a log line.
    tail = p.catch((e) => /closed/i.test(String(e && e.message)) || log(`${name} send failed: ${e && e.message}`));
    return tail;
  };
  return new Proxy(sock, {
    get(target, key) {
      if (key === "send") return send;
      const v = target[key];
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

const origInit = ZmqServer.init;
ZmqServer.init = async function (...args) {
  server = this;
  const r = await origInit.apply(this, args);
  this.iopub = serializeSends(this.iopub, "iopub");
  this.shell = serializeSends(this.shell, "shell");
  this.control = serializeSends(this.control, "control");
  return r;
};

const origHandleExecute = ZmqServer.handleExecute;
ZmqServer.handleExecute = function (sock, msg) {
  execParents.set(msg.content, msg.header);
  return origHandleExecute.call(this, sock, msg);
};

// Jupyter kernels announce each execution on iopub (execute_input with its execution_count): front ends and
// nbclient number the cell "In [n]" from it. tslab sends none, so saved notebooks showed "In [ ]" everywhere.
// Sent when the cell really starts (requests queue up), with the count tslab is about to give it.
const origExecuteImpl = Handler.handleExecuteImpl;
Handler.handleExecuteImpl = function (req, ...rest) {
  const parent = execParents.get(req) || {};
  comms.setParent(parent);
  try {
    publish("execute_input", { code: req.code, execution_count: (this.execCount || 0) + 1 }, { parent, topic: "execute_input" });
  } catch (e) {
    log(`execute_input not sent: ${e && e.message}`);
  }
  return origExecuteImpl.call(this, req, ...rest);
};

// --- shell / control messages ---
const origHandleShell = ZmqServer.handleShellMessage;
ZmqServer.handleShellMessage = async function (sock, ...frames) {
  let msg;
  try {
    msg = wire.parseFrames(this.connInfo.key, frames);
  } catch (e) {
    log(`dropped a malformed message: ${e.message}`);
    return;
  }
  const type = msg.header && msg.header.msg_type;
  if (!COMM_TYPES.has(type)) return origHandleShell.call(this, sock, ...frames);
  publish("status", { execution_state: "busy" }, { parent: msg.header, topic: "status" });
  try {
    if (type === "comm_info_request") {
      const target = msg.content && typeof msg.content.target_name === "string" ? msg.content.target_name : undefined;
      const reply = wire.encodeFrames(this.connInfo.key, {
        identity: msg.identity,
        header: wire.newHeader("comm_info_reply", kernelSession),
        parent: msg.header,
        content: { status: "ok", comms: comms.info(target) },
      });
      await sock.send(reply);
    } else {
      comms.handleFrontend(msg);
    }
  } catch (e) {
    log(`${type} failed: ${e && e.stack ? e.stack : e}`);
  } finally {
    publish("status", { execution_state: "idle" }, { parent: msg.header, topic: "status" });
  }
};

// --- directory imports of .ts modules ("../weights" → ../weights/index.ts) ---
// tslab serves the .ts files it compiled from memory, looking them up as `<id>.js` only; a directory import then
// falls through to Node, which finds no index.js. Retry such a failed relative require as `<id>/index` through
// tslab's own require (the module's wrapped require, or the cells' top-level one).
const origRequire = Module.prototype.require;
Module.prototype.require = function (id) {
  try {
    return origRequire.call(this, id);
  } catch (e) {
    if (!(e && e.code === "MODULE_NOT_FOUND" && typeof id === "string" && /^\.\.?(\/|$)/.test(id))) throw e;
    if (!String(e.message).includes(`'${id}'`) || !this || !this.filename) throw e;
    const dir = path.resolve(path.dirname(this.filename), id);
    if (!fs.existsSync(path.join(dir, "index.ts"))) throw e;
    const tslabRequire = this.require !== Module.prototype.require ? this.require : globalThis.__tslab__ && globalThis.__tslab__.require;
    if (typeof tslabRequire !== "function") throw e;
    return tslabRequire.call(this, `${id.replace(/\/$/, "")}/index`);
  }
};

// --- `import … from "clip-nad"` in a notebook in any folder (type checker and Node resolver) ---
try {
  require("./package-resolution.cjs").installPackageResolution({ tslabDir, projectRoot });
} catch (e) {
  process.stderr.write(`[clip-nad kernel] cannot start: ${e.message}\n`);
  process.exit(1);
}

// --- the API cell code reaches through kernel-ext/comm.ts, widget.ts and display.ts ---
globalThis.__clipNadKernel = {
  version: 1,
  open: (target, data, metadata, buffers, commId) => comms.open(target, data, metadata, buffers, commId),
  send: (id, data, metadata, buffers) => comms.send(id, data, metadata, buffers),
  close: (id, data, metadata, buffers) => comms.close(id, data, metadata, buffers),
  onMsg: (id, fn) => comms.onMsg(id, fn),
  onClose: (id, fn) => comms.onClose(id, fn),
  registerTarget: (name, fn) => comms.registerTarget(name, fn),
  unregisterTarget: (name) => comms.unregisterTarget(name),
  isOpen: (id) => comms.comms.has(id),
  /** Emit a multi-mime display_data (or update_display_data) bundle into the executing cell. */
  displayData: (bundle, update) => {
    if (!jupyter.lastWriteDisplayData) throw new Error("display is only possible while a cell runs");
    jupyter.lastWriteDisplayData(bundle, !!update);
  },
  log,
};

// ipywidgets 8 front ends ask `jupyter.widget.control` for all widget states when they (re)connect, even before
// any widget exists; answer with none until kernel-ext/widget.ts registers its own handler for live models.
comms.registerTarget("jupyter.widget.control", (commId) => {
  comms.onMsg(commId, (msg) => {
    if (msg.data && msg.data.method === "request_states") comms.send(commId, { method: "update_states", states: {}, buffer_paths: [] });
  });
});

function configPathFromArgv(argv) {
  const i = argv.indexOf("--config-path");
  if (i >= 0 && argv[i + 1]) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith("--config-path="));
  if (eq) return eq.slice("--config-path=".length);
  return argv[2];
}

const configArg = configPathFromArgv(process.argv);
if (!configArg) {
  log("usage: node kernel.cjs --config-path <connection_file>");
  process.exit(2);
}
const configPath = path.resolve(configArg); // before any chdir below

// Cells run in the notebook's own folder, as in any Jupyter kernel; they import the library as "clip-nad" (above).
globalThis.__clipNadKernel.notebookDir = process.cwd();
globalThis.__clipNadKernel.projectRoot = projectRoot;

startKernel({ configPath, enableFindLocal: false });

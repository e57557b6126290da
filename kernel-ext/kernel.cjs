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

const origExecuteImpl = Handler.handleExecuteImpl;
Handler.handleExecuteImpl = function (req, ...rest) {
  comms.setParent(execParents.get(req) || {});
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

// --- `import … from "clip-nad"` in a notebook in any folder ---
// Cells resolve the package the kernel belongs to when it is not installed where the notebook lives: for tslab's
// type checker, <any>/node_modules/clip-nad/... is mapped onto this package (paths kept virtual, so its files count
// as an external library: type-checked, not re-emitted); at run time Node's resolver falls back to this package.
const PACKAGE = "clip-nad";
const tsModule = require(require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] }));
const VIRTUAL = new RegExp(`[\\\\/]node_modules[\\\\/]${PACKAGE}(?=[\\\\/]|$)`);
function physical(p) {
  const m = typeof p === "string" ? VIRTUAL.exec(p) : null;
  return m ? path.join(projectRoot, p.slice(m.index + m[0].length)) : null;
}
for (const method of ["fileExists", "readFile", "directoryExists", "getDirectories", "readDirectory"]) {
  const orig = tsModule.sys[method];
  if (typeof orig !== "function") continue;
  tsModule.sys[method] = function (p, ...rest) {
    const real = physical(p);
    if (real !== null && !fs.existsSync(p)) return orig.call(this, real, ...rest);
    return orig.call(this, p, ...rest);
  };
}
const origResolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  try {
    return origResolve.call(this, request, parent, ...rest);
  } catch (e) {
    if (!(e && e.code === "MODULE_NOT_FOUND" && (request === PACKAGE || request.startsWith(`${PACKAGE}/`)))) throw e;
    return origResolve.call(this, request, { id: projectRoot, filename: path.join(projectRoot, "index.cjs"), paths: [path.dirname(projectRoot)] }, ...rest);
  }
};

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

// tslab type-checks cells with rootDir = its working directory, so a notebook in notebooks/ could not import
// ../src/*.ts ("not under rootDir"). For notebooks inside this project, cells therefore run from the project
// root: imports are "./src/...", "./kernel-ext/...", and relative paths are repo-relative. The notebook's own
// folder stays available as globalThis.__clipNadKernel.notebookDir.
const notebookDir = process.cwd();
const rel = path.relative(projectRoot, notebookDir);
if (rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel)) process.chdir(projectRoot);
globalThis.__clipNadKernel.notebookDir = notebookDir;
globalThis.__clipNadKernel.projectRoot = projectRoot;

startKernel({ configPath, enableFindLocal: false });

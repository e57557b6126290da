#!/usr/bin/env node
"use strict";
// clip-nad Jupyter kernel: tslab plus Jupyter comms (comm_open / comm_msg / comm_close / comm_info_request).
// tslab 1.0.22 has no comms and no plugin API, so this launcher patches its ZmqServer / JupyterHandlerImpl
// prototypes before starting it. Usage (kernel.json argv): node kernel.cjs --config-path {connection_file}
const path = require("path");
const crypto = require("crypto");
const wire = require("./wire.cjs");
const { CommManager } = require("./comm-manager.cjs");

// The project's own tslab (the one notebooks import helpers against), not a global one.
const projectRoot = path.resolve(__dirname, "..");
const tslabDir = path.dirname(require.resolve("tslab/package.json", { paths: [projectRoot] }));
const jupyter = require(path.join(tslabDir, "dist", "jupyter"));
const { startKernel } = require(path.join(tslabDir, "dist", "main"));

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
  Promise.resolve(server.iopub.send(frames)).catch((e) => log(`iopub send failed: ${e && e.message}`));
}

const comms = new CommManager({ publish, log });

// --- parent header of the cell actually executing (execute requests are queued, so not the arrival order) ---
const execParents = new WeakMap();
const ZmqServer = jupyter.ZmqServer.prototype;
const Handler = jupyter.JupyterHandlerImpl.prototype;

const origInit = ZmqServer.init;
ZmqServer.init = function (...args) {
  server = this;
  return origInit.apply(this, args);
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

function configPathFromArgv(argv) {
  const i = argv.indexOf("--config-path");
  if (i >= 0 && argv[i + 1]) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith("--config-path="));
  if (eq) return eq.slice("--config-path=".length);
  return argv[2];
}

const configPath = configPathFromArgv(process.argv);
if (!configPath) {
  log("usage: node kernel.cjs --config-path <connection_file>");
  process.exit(2);
}
startKernel({ configPath, enableFindLocal: false });

"use strict";
// Kernel-side registry of Jupyter comms (messaging spec "Custom messages"): comms opened by cell code or by the
// front end, comm targets, and validation of what the front end sends. Transport is injected (`publish`), so this
// module knows nothing about ZMQ; errors in front-end messages or handlers are logged and never thrown.

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

class CommManager {
  /**
   * @param {{publish: (msgType: string, content: object, opts: {metadata?: object, buffers?: any[], parent?: object, topic?: string}) => void,
   *          log: (line: string) => void}} io
   */
  constructor(io) {
    this.io = io;
    /** comm_id → {id, target, msgHandlers, closeHandlers} */
    this.comms = new Map();
    /** target_name → callback(commId, msg) */
    this.targets = new Map();
    /** Header of the request being served: the executing cell, or a front-end comm message while it is handled. */
    this.parent = {};
    this.counter = 0;
  }

  setParent(header) {
    this.parent = header || {};
  }

  /** Run fn with `header` as the parent of anything sent meanwhile (synchronously), then restore. */
  withParent(header, fn) {
    const saved = this.parent;
    this.parent = header;
    try {
      return fn();
    } finally {
      this.parent = saved;
    }
  }

  // ---- kernel side (used by cell code through the launcher's global) ----

  newId() {
    return `${Date.now().toString(16)}${(this.counter++).toString(16).padStart(4, "0")}${Math.random().toString(16).slice(2, 10)}`;
  }

  open(target, data, metadata, buffers, commId) {
    if (typeof target !== "string" || !target) throw new Error("openComm: target name must be a non-empty string");
    const id = commId || this.newId();
    this.comms.set(id, { id, target, msgHandlers: [], closeHandlers: [] });
    this.publish("comm_open", { comm_id: id, target_name: target, data: data || {} }, metadata, buffers, id);
    return id;
  }

  send(id, data, metadata, buffers) {
    if (!this.comms.has(id)) throw new Error(`comm ${id} is not open`);
    this.publish("comm_msg", { comm_id: id, data: data || {} }, metadata, buffers, id);
  }

  close(id, data, metadata, buffers) {
    const comm = this.comms.get(id);
    if (!comm) return;
    this.comms.delete(id);
    this.publish("comm_close", { comm_id: id, data: data || {} }, metadata, buffers, id);
  }

  onMsg(id, fn) {
    const comm = this.comms.get(id);
    if (!comm) throw new Error(`comm ${id} is not open`);
    comm.msgHandlers.push(fn);
  }

  onClose(id, fn) {
    const comm = this.comms.get(id);
    if (!comm) throw new Error(`comm ${id} is not open`);
    comm.closeHandlers.push(fn);
  }

  registerTarget(name, fn) {
    if (typeof name !== "string" || !name) throw new Error("registerTarget: target name must be a non-empty string");
    if (typeof fn !== "function") throw new Error("registerTarget: callback must be a function");
    this.targets.set(name, fn);
  }

  unregisterTarget(name) {
    this.targets.delete(name);
  }

  /** {comm_id: {target_name}} of open comms, optionally only those of one target. */
  info(targetName) {
    const comms = {};
    for (const c of this.comms.values()) {
      if (!targetName || c.target === targetName) comms[c.id] = { target_name: c.target };
    }
    return comms;
  }

  publish(msgType, content, metadata, buffers, id) {
    this.io.publish(msgType, content, { metadata: metadata || {}, buffers: buffers || [], parent: this.parent, topic: `comm-${id}` });
  }

  // ---- front-end side (shell messages) ----

  /** Dispatch a parsed comm_open / comm_msg / comm_close message. Never throws. */
  handleFrontend(msg) {
    const type = msg.header.msg_type;
    try {
      this.withParent(msg.header, () => {
        if (type === "comm_open") this.frontendOpen(msg);
        else if (type === "comm_msg") this.frontendMsg(msg);
        else if (type === "comm_close") this.frontendClose(msg);
        else throw new Error(`not a comm message type: ${type}`);
      });
    } catch (e) {
      this.io.log(`rejected ${type}: ${e && e.message ? e.message : e}`);
    }
  }

  checkContent(msg, needTarget) {
    const c = msg.content;
    if (!isObject(c)) throw new Error("content is not an object");
    if (typeof c.comm_id !== "string" || !c.comm_id) throw new Error("content.comm_id is missing or not a string");
    if (needTarget && (typeof c.target_name !== "string" || !c.target_name)) {
      throw new Error(`comm ${c.comm_id}: content.target_name is missing or not a string`);
    }
    if (!isObject(c.data)) throw new Error(`comm ${c.comm_id}: content.data is missing or not an object`);
    return c;
  }

  frontendOpen(msg) {
    const c = this.checkContent(msg, true);
    if (this.comms.has(c.comm_id)) throw new Error(`comm ${c.comm_id} is already open`);
    const fn = this.targets.get(c.target_name);
    if (!fn) {
      // As ipykernel does: tell the front end the comm is dead.
      this.io.publish("comm_close", { comm_id: c.comm_id, data: {} }, { parent: msg.header, topic: `comm-${c.comm_id}` });
      throw new Error(`comm ${c.comm_id}: no target named '${c.target_name}' is registered`);
    }
    this.comms.set(c.comm_id, { id: c.comm_id, target: c.target_name, msgHandlers: [], closeHandlers: [] });
    this.call(`target '${c.target_name}'`, fn, c.comm_id, this.event(msg));
  }

  frontendMsg(msg) {
    const c = this.checkContent(msg, false);
    const comm = this.comms.get(c.comm_id);
    if (!comm) throw new Error(`comm_msg for unknown comm ${c.comm_id}`);
    for (const fn of comm.msgHandlers) this.call(`comm ${c.comm_id} message handler`, fn, this.event(msg));
  }

  frontendClose(msg) {
    const c = msg.content;
    if (!isObject(c) || typeof c.comm_id !== "string" || !c.comm_id) throw new Error("content.comm_id is missing or not a string");
    const comm = this.comms.get(c.comm_id);
    if (!comm) throw new Error(`comm_close for unknown comm ${c.comm_id}`);
    this.comms.delete(c.comm_id);
    for (const fn of comm.closeHandlers) this.call(`comm ${c.comm_id} close handler`, fn, this.event(msg));
  }

  /** What handlers receive: the data, metadata, raw buffers and header of the front-end message. */
  event(msg) {
    return { data: msg.content.data || {}, metadata: msg.metadata || {}, buffers: msg.buffers || [], header: msg.header };
  }

  /** Call a user handler; a throw or a rejected promise is logged, not propagated. */
  call(what, fn, ...args) {
    try {
      const r = fn(...args);
      if (r && typeof r.then === "function") r.then(undefined, (e) => this.io.log(`${what} failed: ${e && e.stack ? e.stack : e}`));
    } catch (e) {
      this.io.log(`${what} threw: ${e && e.stack ? e.stack : e}`);
    }
  }
}

module.exports = { CommManager };

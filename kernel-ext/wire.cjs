"use strict";
// Jupyter wire protocol (messaging spec 5.3): parse and sign multipart ZMQ messages ourselves, because tslab's
// ZmqMessage is not exported and its signAndSend JSON-stringifies extra frames (binary buffers must stay raw).
//   [routing identities..., "<IDS|MSG>", hmac, header, parent_header, metadata, content, buffers...]
// The HMAC-SHA256 (key from the connection file) covers header, parent_header, metadata and content only.
const crypto = require("crypto");

const DELIM = Buffer.from("<IDS|MSG>");
const PROTOCOL_VERSION = "5.3";

function sign(key, parts) {
  if (!key) return "";
  const hmac = crypto.createHmac("sha256", key);
  for (const p of parts) hmac.update(p);
  return hmac.digest("hex");
}

/** Parse raw frames into {identity, header, parent, metadata, content, buffers}. Throws on a bad delimiter/HMAC/JSON. */
function parseFrames(key, frames) {
  const bufs = frames.map((f) => (Buffer.isBuffer(f) ? f : Buffer.from(f)));
  const at = bufs.findIndex((b) => b.equals(DELIM));
  if (at < 0) throw new Error("message has no <IDS|MSG> delimiter");
  if (bufs.length < at + 6) throw new Error(`message has ${bufs.length - at - 1} frames after the delimiter, want >= 5`);
  const hmac = bufs[at + 1].toString();
  const parts = bufs.slice(at + 2, at + 6);
  const want = sign(key, parts);
  const ok = hmac.length === want.length && crypto.timingSafeEqual(Buffer.from(hmac), Buffer.from(want));
  if (key && !ok) {
    throw new Error("message has an invalid HMAC signature");
  }
  const [header, parent, metadata, content] = parts.map((p, i) => {
    try {
      return JSON.parse(p.toString("utf8"));
    } catch (e) {
      throw new Error(`message part ${["header", "parent_header", "metadata", "content"][i]} is not JSON`);
    }
  });
  return { identity: bufs.slice(0, at), header, parent, metadata, content, buffers: bufs.slice(at + 6) };
}

/** A fresh header for a kernel-originated message in `session`. */
function newHeader(msgType, session, username) {
  return {
    msg_id: crypto.randomBytes(16).toString("hex"),
    msg_type: msgType,
    session: session || "",
    username: username || "kernel",
    date: new Date().toISOString(),
    version: PROTOCOL_VERSION,
  };
}

/** Buffer-like (Buffer, Uint8Array, any TypedArray, DataView, ArrayBuffer) → Buffer sharing memory. */
function toBuffer(b) {
  if (Buffer.isBuffer(b)) return b;
  if (b instanceof ArrayBuffer) return Buffer.from(b);
  if (ArrayBuffer.isView(b)) return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  throw new TypeError(`buffer must be an ArrayBuffer or a typed array, got ${Object.prototype.toString.call(b)}`);
}

/** Frames for a message; buffers are appended as raw frames. */
function encodeFrames(key, { identity = [], header, parent = {}, metadata = {}, content = {}, buffers = [] }) {
  const parts = [header, parent, metadata, content].map((o) => Buffer.from(JSON.stringify(o), "utf8"));
  return [...identity, DELIM, Buffer.from(sign(key, parts)), ...parts, ...buffers.map(toBuffer)];
}

module.exports = { DELIM, PROTOCOL_VERSION, parseFrames, encodeFrames, newHeader, toBuffer, sign };

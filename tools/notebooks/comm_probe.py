#!/usr/bin/python3
"""Plays a Jupyter front end against the clip-nad kernel and reports what happened, as JSON on stdout.

Used by test/kernel.test.ts (which makes the assertions). Needs the kernelspec on JUPYTER_PATH
(`clip-nad kernel install --prefix build/jupyter`). Usage: comm_probe.py KERNEL_NAME KERNEL_LOG REPORT_JSON
(the kernel's own stdout/stderr go to KERNEL_LOG).
Scenario: kernel->front-end comm_open with a binary buffer; front-end->kernel comm_open/comm_msg (buffers echoed
back as frames); comm_info_request; comm_close seen by the kernel; malformed messages; kernel still alive.
"""
import json
import sys
import time

from jupyter_client.manager import start_new_kernel

TIMEOUT = 60


def collect_iopub(kc, parent_id, until_idle=True, timeout=TIMEOUT):
    """iopub messages whose parent is parent_id, up to its idle status."""
    out, deadline = [], time.time() + timeout
    while time.time() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=1)
        except Exception:
            continue
        if msg["parent_header"].get("msg_id") != parent_id:
            continue
        out.append(msg)
        if until_idle and msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    return out


def brief(msg):
    return {
        "msg_type": msg["msg_type"],
        "content": msg["content"],
        "buffers": [bytes(b).hex() for b in msg.get("buffers", [])],
    }


def execute(kc, code):
    msg_id = kc.execute(code)
    reply = shell_reply(kc, msg_id)
    msgs = collect_iopub(kc, msg_id)
    text = "".join(m["content"].get("text", "") for m in msgs if m["msg_type"] == "stream")
    return {"status": reply["content"]["status"], "text": text, "iopub": [brief(m) for m in msgs]}


def shell_reply(kc, parent_id):
    """The shell reply to parent_id (skipping stale replies)."""
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        msg = kc.get_shell_msg(timeout=TIMEOUT)
        if msg["parent_header"].get("msg_id") == parent_id:
            return msg
    raise TimeoutError(f"no shell reply to {parent_id}")


def send_shell(kc, msg_type, content, buffers=None):
    msg = kc.session.msg(msg_type, content)
    kc.session.send(kc.shell_channel.socket, msg, buffers=buffers or [])
    return msg["header"]["msg_id"]


def main():
    name, log_path, report_path = sys.argv[1], sys.argv[2], sys.argv[3]
    report = {}
    with open(log_path, "w") as log:
        km, kc = start_new_kernel(kernel_name=name, stdout=log, stderr=log)
        try:
            # 1. Cell code: a target that echoes (data + buffers), and a kernel-opened comm with a binary buffer.
            report["setup"] = execute(kc, r'''
import { openComm, registerTarget } from "./kernel-ext/comm";
const g = globalThis as any;
g.closedWith = null;
registerTarget("probe.echo", (comm, open) => {
  comm.send({ opened: open.data });
  comm.onMsg((m) => {
    if (m.data.boom) throw new Error("handler exploded on purpose");
    comm.send({ echo: m.data, nbuf: m.buffers.length }, {}, m.buffers.map((b) => b.reverse()));
  });
  comm.onClose((m) => { g.closedWith = m.data; });
});
const k2f = openComm("probe.k2f", { hello: "front end" }, { v: 1 }, [new Float32Array([1.5, -2])]);
console.log("k2f", k2f.commId);
''')
            # 2. Front end opens a comm on the kernel's target, then messages it with two binary frames.
            fid = "probe-comm-1"
            mid = send_shell(kc, "comm_open", {"comm_id": fid, "target_name": "probe.echo", "data": {"x": 1}})
            report["open"] = [brief(m) for m in collect_iopub(kc, mid)]
            mid = send_shell(kc, "comm_msg", {"comm_id": fid, "data": {"ping": 42}}, [b"\x00\x01\x02\xff", b"abc"])
            report["msg"] = [brief(m) for m in collect_iopub(kc, mid)]
            # 3. comm_info_request: all comms, then filtered by target.
            mid = send_shell(kc, "comm_info_request", {})
            report["info"] = brief(shell_reply(kc, mid))
            mid = send_shell(kc, "comm_info_request", {"target_name": "probe.k2f"})
            report["info_filtered"] = brief(shell_reply(kc, mid))
            # 4. Malformed / failing messages: each is logged, none kills the kernel.
            bad = [
                ("comm_msg", {"data": {"a": 1}}),  # no comm_id
                ("comm_msg", {"comm_id": "no-such-comm", "data": {}}),  # unknown comm
                ("comm_open", {"comm_id": "probe-2", "data": {}}),  # no target_name
                ("comm_open", {"comm_id": "probe-3", "target_name": "probe.echo"}),  # no data
                ("comm_open", {"comm_id": "probe-4", "target_name": "no.such.target", "data": {}}),  # unknown target
                ("comm_msg", {"comm_id": fid, "data": {"boom": True}}),  # handler throws
                ("comm_close", {"comm_id": "no-such-comm", "data": {}}),  # unknown comm
            ]
            report["malformed"] = []
            for t, c in bad:
                mid = send_shell(kc, t, c)
                report["malformed"].append([brief(m) for m in collect_iopub(kc, mid)])
            # 5. Front end closes the comm; the kernel's onClose saw it; the kernel still runs cells.
            mid = send_shell(kc, "comm_close", {"comm_id": fid, "data": {"bye": True}})
            collect_iopub(kc, mid)
            report["after"] = execute(kc, 'console.log(JSON.stringify({closed: (globalThis as any).closedWith, sum: 1 + 2}))')
            mid = send_shell(kc, "comm_info_request", {})
            report["info_after_close"] = brief(shell_reply(kc, mid))
            # 6. An ipywidgets-protocol model: comm_open on jupyter.widget + widget-view display; update / request_state /
            #    custom (with buffers) from the front end; set() from the kernel.
            report["widget_setup"] = execute(kc, r'''
import { WidgetModel } from "./kernel-ext/widget";
const wm = new WidgetModel<{ value: number; data: Float32Array }>(
  { modelName: "ProbeModel", modelModule: "probe-widgets", modelModuleVersion: "0.1.0", viewName: "ProbeView" },
  { value: 1, data: new Float32Array([0.5, 0.25]) });
(globalThis as any).wm = wm;
wm.onCustom((content, buffers) => { wm.sendCustom({ got: content, bytes: buffers.map((b) => b.length) }, [Uint8Array.from([9, 8])]); });
wm.display();
''')
            wid = next(m["content"]["comm_id"] for m in report["widget_setup"]["iopub"] if m["msg_type"] == "comm_open")
            report["widget"] = {}
            for key, data, bufs in [
                ("update", {"method": "update", "state": {"value": 7, "data": None}, "buffer_paths": [["data"]]}, [b"\x00\x00\x80\x3f"]),
                ("request_state", {"method": "request_state"}, []),
                ("custom", {"method": "custom", "content": {"ask": "echo"}}, [b"abc", b"defg"]),
            ]:
                mid = send_shell(kc, "comm_msg", {"comm_id": wid, "data": data}, bufs)
                report["widget"][key] = [brief(m) for m in collect_iopub(kc, mid)]
            report["widget_after"] = execute(kc, r'''
const w = (globalThis as any).wm;
w.set({ value: 11 });
console.log(JSON.stringify({ value: w.get("value"), data: Array.from(new Float32Array(Uint8Array.from(w.get("data")).buffer)) }));
''')
            # 6b. ipywidgets 8 reconnect: the front end asks jupyter.widget.control for every widget's state.
            mid = send_shell(kc, "comm_open", {"comm_id": "probe-control", "target_name": "jupyter.widget.control", "data": {}})
            collect_iopub(kc, mid)
            mid = send_shell(kc, "comm_msg", {"comm_id": "probe-control", "data": {"method": "request_states"}})
            report["widget_states"] = [brief(m) for m in collect_iopub(kc, mid)]
            # 7. A cell emitting displays as fast as it can: every one arrives (zeromq would refuse overlapping sends).
            report["flood"] = execute(kc, r'''
const t = (globalThis as any).__clipNadKernel;
for (let i = 0; i < 2000; i++) t.displayData({ data: { "text/plain": `step ${i}` }, metadata: {}, transient: { display_id: "flood" } }, i > 0);
console.log("flood done");
''')
            report["alive"] = km.is_alive()
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    with open(log_path) as f:
        report["stderr"] = f.read()
    with open(report_path, "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main()

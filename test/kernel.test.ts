// The clip-nad kernel (tslab + comms) driven by a real Jupyter client (jupyter_client, /usr/bin/python3):
// comms both ways, binary buffers as frames, comm_info_reply, malformed messages rejected with the kernel alive.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { beforeAll, describe, expect, it } from "vitest";
import { installKernelSpec } from "../src/jupyter/kernelspec";

const root = path.resolve(__dirname, "..");
const prefix = path.join(root, "build", "test-kernel", "prefix");
const jupyterPath = path.join(prefix, "share", "jupyter");

type Brief = { msg_type: string; content: any; buffers: string[] };
interface ProbeReport {
  setup: { status: string; text: string; iopub: Brief[] };
  open: Brief[];
  msg: Brief[];
  info: Brief;
  info_filtered: Brief;
  info_after_close: Brief;
  malformed: Brief[][];
  after: { status: string; text: string };
  widget_setup: { status: string; text: string; iopub: Brief[] };
  widget: { update: Brief[]; request_state: Brief[]; custom: Brief[] };
  widget_after: { status: string; text: string; iopub: Brief[] };
  flood: { status: string; text: string; iopub: Brief[] };
  widget_states: Brief[];
  alive: boolean;
  stderr: string;
}

let report: ProbeReport;

beforeAll(() => {
  fs.rmSync(prefix, { recursive: true, force: true });
  installKernelSpec({ prefix, name: "clip-nad-test" });
  const log = path.join(root, "build", "test-kernel", "kernel-stderr.log");
  const out = path.join(root, "build", "test-kernel", "probe-report.json");
  fs.rmSync(out, { force: true });
  const run = spawnSync("/usr/bin/python3", [path.join(root, "tools/notebooks/comm_probe.py"), "clip-nad-test", log, out], {
    cwd: root,
    env: { ...process.env, JUPYTER_PATH: jupyterPath },
    encoding: "utf8",
    timeout: 240_000,
  });
  if (run.status !== 0) throw new Error(`comm_probe.py failed (rc ${run.status}):\n${run.stderr}\n${run.stdout}`);
  report = JSON.parse(fs.readFileSync(out, "utf8"));
}, 300_000);

const of = (msgs: Brief[], type: string) => msgs.filter((m) => m.msg_type === type);

describe("clip-nad kernel comms (jupyter_client front end)", () => {
  it("runs cell code and opens a kernel→front-end comm whose Float32Array goes as a raw binary frame", () => {
    expect(report.setup.status).toBe("ok");
    const [open] = of(report.setup.iopub, "comm_open");
    expect(open.content.target_name).toBe("probe.k2f");
    expect(open.content.data).toEqual({ hello: "front end" });
    // 1.5 and -2 as little-endian float32
    expect(open.buffers).toEqual([Buffer.from(new Float32Array([1.5, -2]).buffer).toString("hex")]);
    expect(report.setup.text).toContain(`k2f ${open.content.comm_id}`);
  });

  it("delivers a front-end comm_open to the registered target, which answers on the comm", () => {
    const msgs = of(report.open, "comm_msg");
    expect(msgs).toHaveLength(1);
    expect(msgs[0].content).toEqual({ comm_id: "probe-comm-1", data: { opened: { x: 1 } } });
  });

  it("delivers front-end comm_msg buffers as frames and sends buffers back as frames", () => {
    const [echo] = of(report.msg, "comm_msg");
    expect(echo.content.data).toEqual({ echo: { ping: 42 }, nbuf: 2 });
    expect(echo.buffers).toEqual(["ff020100", "636261"]); // each buffer reversed by the kernel
  });

  it("publishes busy then idle around comm messages", () => {
    for (const msgs of [report.open, report.msg]) {
      const states = of(msgs, "status").map((m) => m.content.execution_state);
      expect(states).toEqual(["busy", "idle"]);
    }
  });

  it("answers comm_info_request with a comm_info_reply listing open comms and honouring target_name", () => {
    const k2f = of(report.setup.iopub, "comm_open")[0].content.comm_id;
    expect(report.info.msg_type).toBe("comm_info_reply");
    expect(report.info.content.status).toBe("ok");
    expect(report.info.content.comms).toEqual({ [k2f]: { target_name: "probe.k2f" }, "probe-comm-1": { target_name: "probe.echo" } });
    expect(report.info_filtered.content.comms).toEqual({ [k2f]: { target_name: "probe.k2f" } });
    expect(report.info_after_close.content.comms).toEqual({ [k2f]: { target_name: "probe.k2f" } });
  });

  it("runs the kernel-side onClose handler on a front-end comm_close", () => {
    expect(report.after.status).toBe("ok");
    expect(JSON.parse(report.after.text.trim())).toEqual({ closed: { bye: true }, sum: 3 });
  });

  it("rejects malformed comm messages with a logged error and keeps running", () => {
    const log = report.stderr;
    expect(log).toContain("rejected comm_msg: content.comm_id is missing");
    expect(log).toContain("rejected comm_msg: comm_msg for unknown comm no-such-comm");
    expect(log).toContain("rejected comm_open: comm probe-2: content.target_name is missing");
    expect(log).toContain("rejected comm_open: comm probe-3: content.data is missing");
    expect(log).toContain("no target named 'no.such.target'");
    expect(log).toContain("handler threw: Error: handler exploded on purpose");
    expect(log).toContain("rejected comm_close: comm_close for unknown comm no-such-comm");
    // an unknown target gets the comm closed again, as ipykernel does
    expect(of(report.malformed[4], "comm_close")[0].content.comm_id).toBe("probe-4");
    // no comm traffic answered the other malformed messages
    for (const i of [0, 1, 2, 3, 5, 6]) expect(report.malformed[i].map((m) => m.msg_type)).toEqual(["status", "status"]);
    expect(report.alive).toBe(true);
  });
});

describe("WidgetModel over the kernel's comms (ipywidgets protocol 2.1)", () => {
  it("opens a jupyter.widget comm with the full state, binary state as a buffer, and displays a widget view", () => {
    expect(report.widget_setup.status).toBe("ok");
    const [open] = of(report.widget_setup.iopub, "comm_open");
    expect(open.content.target_name).toBe("jupyter.widget");
    expect(open.content.data.state).toMatchObject({ _model_name: "ProbeModel", _model_module: "probe-widgets", _view_name: "ProbeView", value: 1, data: null });
    expect(open.content.data.buffer_paths).toEqual([["data"]]);
    expect(open.buffers).toEqual([Buffer.from(new Float32Array([0.5, 0.25]).buffer).toString("hex")]);
    const [shown] = of(report.widget_setup.iopub, "display_data");
    expect(shown.content.data["application/vnd.jupyter.widget-view+json"]).toEqual({ version_major: 2, version_minor: 0, model_id: open.content.comm_id });
    expect(shown.content.data["text/plain"]).toContain("ProbeModel");
  });

  it("applies front-end updates (buffers merged at buffer_paths) and answers request_state with the full state", () => {
    expect(of(report.widget.update, "comm_msg")).toEqual([]);
    const [state] = of(report.widget.request_state, "comm_msg");
    expect(state.content.data.method).toBe("update");
    expect(state.content.data.state).toMatchObject({ value: 7, data: null, _model_name: "ProbeModel" });
    expect(state.buffers).toEqual(["0000803f"]); // the 1.0f the front end sent
  });

  it("answers ipywidgets 8's jupyter.widget.control request_states with every live model's state and buffers", () => {
    const id = of(report.widget_setup.iopub, "comm_open")[0].content.comm_id;
    const [reply] = of(report.widget_states, "comm_msg");
    expect(reply.content.data.method).toBe("update_states");
    expect(reply.content.data.states[id]).toMatchObject({ model_name: "ProbeModel", model_module: "probe-widgets", state: { value: 11, data: null } }); // after set({ value: 11 })
    expect(reply.content.data.buffer_paths).toEqual([[id, "state", "data"]]);
    expect(reply.buffers).toEqual(["0000803f"]);
  });

  it("exchanges custom messages with buffers both ways and sends kernel-side set() as an update", () => {
    const [custom] = of(report.widget.custom, "comm_msg");
    expect(custom.content.data).toEqual({ method: "custom", content: { got: { ask: "echo" }, bytes: [3, 4] } });
    expect(custom.buffers).toEqual(["0908"]);
    const [upd] = of(report.widget_after.iopub, "comm_msg");
    expect(upd.content.data).toEqual({ method: "update", state: { value: 11 }, buffer_paths: [] });
    expect(JSON.parse(report.widget_after.text.trim())).toEqual({ value: 11, data: [1] });
  });
});

describe("iopub under load", () => {
  it("delivers 2000 back-to-back display updates in order and the cell succeeds", () => {
    expect(report.flood.status).toBe("ok");
    expect(report.flood.text).toBe("flood done\n");
    const updates = of(report.flood.iopub, "update_display_data");
    expect(of(report.flood.iopub, "display_data")).toHaveLength(1);
    expect(updates).toHaveLength(1999);
    expect(updates[1998].content.data["text/plain"]).toBe("step 1999");
    expect(report.stderr).not.toContain("send failed");
  });
});

describe("widget state in an executed notebook (nbclient records the kernel's comm traffic)", () => {
  it("stores the widget model's latest state in metadata.widgets", () => {
    const dir = path.join(root, "build", "test-kernel", "nb");
    fs.mkdirSync(dir, { recursive: true });
    const cell = (id: string, source: string) => ({ cell_type: "code", id, metadata: {}, execution_count: null, outputs: [], source });
    const nb = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: "clip-nad", display_name: "TypeScript (clip-nad)", language: "typescript" } },
      cells: [
        cell("a", 'import { WidgetModel } from "clip-nad";\nconst m = new WidgetModel({ modelName: "CounterModel", modelModule: "x-widgets", modelModuleVersion: "0.1.0", viewName: "CounterView" }, { value: 1 });\nm.display();'),
        cell("b", "m.set({ value: 5 });"),
      ],
    };
    const file = path.join(dir, "widget.ipynb");
    fs.writeFileSync(file, JSON.stringify(nb));
    const run = spawnSync("/usr/bin/python3", [path.join(root, "tools/notebooks/run_notebooks.py"), "--out", path.join(dir, "out"), file], { cwd: root, encoding: "utf8", timeout: 240_000 });
    expect(run.stdout, run.stdout + run.stderr).toContain("1 passed, 0 failed");
    const executed = JSON.parse(fs.readFileSync(path.join(dir, "out", "widget.ipynb"), "utf8"));
    const view = executed.cells[0].outputs[0].data["application/vnd.jupyter.widget-view+json"];
    const state = executed.metadata.widgets["application/vnd.jupyter.widget-state+json"].state[view.model_id];
    expect(state.model_name).toBe("CounterModel");
    expect(state.state).toMatchObject({ _view_name: "CounterView", value: 5 });
  }, 300_000);
});

describe("clip-nad kernel install", () => {
  it("writes DIR/share/jupyter/kernels/<name>/kernel.json pointing at the launcher", () => {
    const dir = path.join(root, "build", "test-kernel", "cli-prefix");
    fs.rmSync(dir, { recursive: true, force: true });
    const run = spawnSync(process.execPath, [path.join(root, "src/cli/bin.cjs"), "kernel", "install", "--prefix", dir, "--name", "nad-x"], {
      encoding: "utf8",
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const spec = JSON.parse(fs.readFileSync(path.join(dir, "share/jupyter/kernels/nad-x/kernel.json"), "utf8"));
    expect(spec.argv).toEqual([process.execPath, path.join(root, "kernel-ext/kernel.cjs"), "--config-path", "{connection_file}"]);
    expect(spec.language).toBe("typescript");
  });

  it("refuses a kernel name with a path in it", () => {
    expect(() => installKernelSpec({ prefix: path.join(root, "build", "test-kernel", "bad"), name: "../evil" })).toThrow(/kernel name/);
  });
});

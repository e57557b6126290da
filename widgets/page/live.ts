/**
 * A minimal live widget front end for tests and demos: connects to a Jupyter server with @jupyterlab/services,
 * starts a kernel, runs code, and renders `application/vnd.jupyter.widget-view+json` outputs with a comm-backed
 * widget manager (ManagerBase + the kernel's comms). What JupyterLab's widget manager does, without JupyterLab.
 *
 *   const s = await clipNadLive.connect({ baseUrl, token, kernel: "clip-nad" });
 *   await s.execute(code, outputElement);
 */
import "./public-path";
import { KernelManager, ServerConnection, Kernel, KernelMessage } from "@jupyterlab/services";
import { ManagerBase } from "@jupyter-widgets/base-manager";
import * as base from "@jupyter-widgets/base";
import * as browser from "../neuron-head-browser";

const VIEW_MIME = "application/vnd.jupyter.widget-view+json";

class KernelWidgetManager extends ManagerBase {
  constructor(private readonly kernel: Kernel.IKernelConnection) {
    super();
    kernel.registerCommTarget("jupyter.widget", async (comm, msg) => {
      await this.handle_comm_open(new base.shims.services.Comm(comm), msg as KernelMessage.ICommOpenMsg);
    });
  }

  protected async loadClass(className: string, moduleName: string): Promise<typeof base.WidgetModel | typeof base.WidgetView> {
    const mod: Record<string, unknown> | undefined =
      moduleName === browser.MODULE_NAME ? (browser as unknown as Record<string, unknown>)
        : moduleName === "@jupyter-widgets/base" ? (base as unknown as Record<string, unknown>) : undefined;
    const cls = mod?.[className];
    if (!cls) throw new Error(`widget class ${moduleName}.${className} is not available in this page`);
    return cls as typeof base.WidgetModel;
  }

  protected async _create_comm(target: string, modelId?: string, data?: unknown, metadata?: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]): Promise<base.IClassicComm> {
    const comm = this.kernel.createComm(target, modelId);
    comm.open(data as never, metadata as never, buffers);
    return new base.shims.services.Comm(comm);
  }

  protected async _get_comm_info(): Promise<{}> {
    const reply = await this.kernel.requestCommInfo({ target_name: "jupyter.widget" });
    return reply.content.status === "ok" ? reply.content.comms : {};
  }

  /** Render a widget view into `host`. */
  async show(modelId: string, host: HTMLElement): Promise<void> {
    const model = await this.get_model(modelId);
    const view = await this.create_view(model);
    host.appendChild(view.el);
  }
}

export interface LiveSession {
  kernel: Kernel.IKernelConnection;
  manager: KernelWidgetManager;
  /** Run code; stream/error text goes to `out` as text, widget views are rendered there. Resolves with the status. */
  execute(code: string, out: HTMLElement): Promise<string>;
  shutdown(): Promise<void>;
}

export async function connect(opts: { baseUrl: string; token: string; kernel: string }): Promise<LiveSession> {
  const settings = ServerConnection.makeSettings({
    baseUrl: opts.baseUrl, wsUrl: opts.baseUrl.replace(/^http/, "ws"), token: opts.token, appendToken: true,
  });
  const kernels = new KernelManager({ serverSettings: settings });
  await kernels.ready;
  const kernel = await kernels.startNew({ name: opts.kernel });
  await kernel.info;
  const manager = new KernelWidgetManager(kernel);
  return {
    kernel, manager,
    async execute(code, out) {
      const future = kernel.requestExecute({ code, stop_on_error: true });
      const pending: Promise<void>[] = [];
      future.onIOPub = (msg) => {
        const t = msg.header.msg_type;
        const c = msg.content as Record<string, unknown>;
        if (t === "stream") {
          const pre = document.createElement("pre");
          pre.className = `out-${String(c.name)}`;
          pre.textContent = String(c.text);
          out.appendChild(pre);
        } else if (t === "display_data" || t === "execute_result") {
          const data = c.data as Record<string, unknown>;
          const view = data[VIEW_MIME] as { model_id?: string } | undefined;
          if (view?.model_id) {
            const host = document.createElement("div");
            host.className = "widget-output";
            host.dataset.modelId = view.model_id;
            out.appendChild(host);
            pending.push(manager.show(view.model_id, host));
          } else if (typeof data["text/plain"] === "string") {
            const pre = document.createElement("pre");
            pre.textContent = data["text/plain"] as string;
            out.appendChild(pre);
          }
        } else if (t === "error") {
          const pre = document.createElement("pre");
          pre.className = "out-error";
          pre.textContent = `${String(c.ename)}: ${String(c.evalue)}`;
          out.appendChild(pre);
        }
      };
      const reply = await future.done;
      await Promise.all(pending);
      return String((reply.content as { status: string }).status);
    },
    async shutdown() {
      await kernel.shutdown();
      kernels.dispose();
    },
  };
}

(globalThis as { clipNadLive?: unknown }).clipNadLive = { connect };

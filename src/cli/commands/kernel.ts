import { Command } from "commander";
import { installKernelSpec } from "../../jupyter/kernelspec";
import { ClipNadError } from "../../errors";

/** `clip-nad kernel install [--user|--prefix DIR] [--name clip-nad]` — register the comm-enabled tslab kernel. */
export function register(program: Command): void {
  const kernel = program.command("kernel").description("Jupyter kernel (tslab + comms) management");
  kernel
    .command("install")
    .description("write the kernelspec: DIR/share/jupyter/kernels/<name>/kernel.json (--prefix) or the per-user one (--user, default)")
    .option("--user", "install into the per-user registry (~/.local/share/jupyter/kernels)")
    .option("--prefix <dir>", "install into <dir>/share/jupyter/kernels (point JUPYTER_PATH at <dir>/share/jupyter)")
    .option("--name <name>", "kernel name", "clip-nad")
    .action((opts: { user?: boolean; prefix?: string; name: string }) => {
      try {
        const dir = installKernelSpec({ user: opts.user, prefix: opts.prefix, name: opts.name });
        console.log(`installed kernelspec '${opts.name}' in ${dir}`);
      } catch (e) {
        throw new ClipNadError((e as Error).message, { file: opts.prefix });
      }
    });
}

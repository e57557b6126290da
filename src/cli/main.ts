import { Command, Option } from "commander";
import { commands } from "./commands";
import { clipNadVersion } from "./modelOption";

/** Say "(required)" in --help for every required option (commander lists them like optional ones). */
function markRequired(cmd: Command): void {
  for (const opt of cmd.options as Option[]) {
    if (opt.mandatory && !opt.description.endsWith("(required)")) opt.description = `${opt.description} (required)`;
  }
  for (const sub of cmd.commands) markRequired(sub);
}

/** Entry point of the `clip-nad` command. Each subcommand lives in its own module under cli/commands/. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name("clip-nad")
    .description("Neuron-attention decomposition of CLIP-ResNet (Bu & Gandelsman 2025)")
    .version(clipNadVersion(), "-V, --version", "print the clip-nad version")
    .showHelpAfterError()
    .configureOutput({ outputError: (str, write) => write(str) });
  for (const register of commands) register(program);
  markRequired(program);
  await program.parseAsync(argv);
}

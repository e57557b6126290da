import { Command } from "commander";
import { commands } from "./commands";

/** Entry point of the `clip-nad` command. Each subcommand lives in its own module under cli/commands/. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name("clip-nad")
    .description("Neuron-attention decomposition of CLIP-ResNet (Bu & Gandelsman 2025)")
    .showHelpAfterError()
    .configureOutput({ outputError: (str, write) => write(str) });
  for (const register of commands) register(program);
  await program.parseAsync(argv);
}

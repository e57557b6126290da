import { Command } from "commander";

/** Every subcommand registers itself on the program. Add a module under ./commands and list it here. */
export type RegisterCommand = (program: Command) => void;

import { register as toyworld } from "./commands/toyworld";
import { register as kernel } from "./commands/kernel";
import { register as exportFigure } from "./commands/exportFigure";
import { register as exportNotebook } from "./commands/exportNotebook";

export const commands: RegisterCommand[] = [
  toyworld,
  kernel,
  exportFigure,
  exportNotebook,
];

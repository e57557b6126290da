import { Command } from "commander";

/** Every subcommand registers itself on the program. Add a module under ./commands and list it here. */
export type RegisterCommand = (program: Command) => void;

import { register as demo } from "./commands/demo";
import { register as toyworld } from "./commands/toyworld";
import { register as kernel } from "./commands/kernel";
import { register as exportFigure } from "./commands/exportFigure";
import { register as exportNotebook } from "./commands/exportNotebook";
import { register as info } from "./commands/info";
import { register as embed } from "./commands/embed";
import { register as embedText } from "./commands/embedText";
import { register as decompose } from "./commands/decompose";
import { register as collect } from "./commands/collect";
import { register as merge } from "./commands/merge";
import { register as analyze } from "./commands/analyze";

export const commands: RegisterCommand[] = [
  demo,
  toyworld,
  kernel,
  exportFigure,
  exportNotebook,
  info,
  embed,
  embedText,
  decompose,
  collect,
  merge,
  analyze,
];
import { register as exportBrowser } from "./commands/exportBrowser"; commands.push(exportBrowser); // neuron-head browser page (widgets owner)

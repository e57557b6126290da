import { Command } from "commander";
import { register as demo } from "./commands/demo";
import { register as info } from "./commands/info";
import { register as embed } from "./commands/embed";
import { register as embedText } from "./commands/embedText";
import { register as decompose } from "./commands/decompose";
import { register as toyworld } from "./commands/toyworld";
import { register as collect } from "./commands/collect";
import { register as merge } from "./commands/merge";
import { register as analyze } from "./commands/analyze";
import { register as segment } from "./commands/segment";
import { register as segmentEval } from "./commands/segmentEval";
import { register as omp } from "./commands/omp";
import { register as textspan } from "./commands/textspan";
import { register as textDecompose } from "./commands/textDecompose";
import { register as exportFigure } from "./commands/exportFigure";
import { register as exportNotebook } from "./commands/exportNotebook";
import { register as exportBrowser } from "./commands/exportBrowser";
import { register as kernel } from "./commands/kernel";
import { register as reproduce } from "./commands/reproduce";

/** Every subcommand registers itself on the program. Add a module under ./commands and list it here. */
export type RegisterCommand = (program: Command) => void;

/** In the order `clip-nad --help` lists them: the first look, the runtime, the dataset-scale work, exports, Jupyter. */
export const commands: RegisterCommand[] = [
  reproduce,
  demo,
  info,
  embed,
  embedText,
  decompose,
  toyworld,
  collect,
  merge,
  analyze,
  segment,
  segmentEval,
  textDecompose,
  omp,
  textspan,
  exportFigure,
  exportNotebook,
  exportBrowser,
  kernel,
];

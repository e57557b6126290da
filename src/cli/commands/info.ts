import { Command } from "commander";
import { ClipConfig, inferConfig, neuronsOf, tokensOf } from "../../clip/config";
import { fileSha256 } from "../../io/hash";
import { resolveModel } from "../../clip/resolve";
import { readCheckpoint } from "../../weights";
import { validateClipWeights } from "../../clip/keys";
import { StateDict, numel } from "../../weights/types";
import { addModelOptions } from "../modelOption";
import { Progress } from "../progress";

export interface ParameterCounts {
  visual: number;
  text: number;
  total: number;
}

// Buffers and TorchScript scalars that OpenAI's model does not count as parameters.
const NOT_PARAMETERS = /(running_mean|running_var|num_batches_tracked)$|^(input_resolution|context_length|vocab_size)$/;

/** Parameter counts like sum(p.numel() for p in model.parameters()), split into the two towers. */
export function parameterCounts(sd: StateDict): ParameterCounts {
  let visual = 0;
  let text = 0;
  let total = 0;
  for (const [key, t] of sd) {
    if (NOT_PARAMETERS.test(key)) continue;
    const n = numel(t.shape);
    total += n;
    if (key.startsWith("visual.")) visual += n;
    else if (key !== "logit_scale") text += n;
  }
  return { visual, text, total };
}

export interface ModelInfo {
  model: string;
  file: string;
  format: string;
  sha256: string;
  config: ClipConfig;
  neurons: number;
  heads: number;
  grid: string;
  tokens: number;
  embedDim: number;
  parameters: ParameterCounts;
}

export async function modelInfo(nameOrPath: string, quiet = false): Promise<ModelInfo> {
  const progress = new Progress(`reading ${nameOrPath}`, { quiet });
  try {
    const file = await resolveModel(nameOrPath, { onProgress: (m, f) => progress.message(m, f) });
    progress.message("hashing", 0.1);
    const sha256 = await fileSha256(file);
    progress.message("reading tensors", 0.5);
    const ck = await readCheckpoint(file);
    const config = inferConfig(ck.tensors, file, ck.metadata);
    validateClipWeights(ck.tensors, config, file);
    const info: ModelInfo = {
      model: nameOrPath,
      file,
      format: ck.format,
      sha256,
      config,
      neurons: neuronsOf(config),
      heads: config.visionHeads,
      grid: `${config.grid}×${config.grid}`,
      tokens: tokensOf(config),
      embedDim: config.embedDim,
      parameters: parameterCounts(ck.tensors),
    };
    progress.stop(`read ${nameOrPath} in ${progress.elapsed().toFixed(1)} s`);
    return info;
  } catch (e) {
    progress.fail();
    throw e;
  }
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

export function formatInfo(i: ModelInfo): string {
  const c = i.config;
  return [
    `model        ${i.model}`,
    `file         ${i.file}`,
    `format       ${i.format}`,
    `sha256       ${i.sha256}`,
    `image tower  ModifiedResNet layers [${c.visionLayers.join(", ")}], width ${c.visionWidth}, input ${c.imageResolution}×${c.imageResolution}`,
    `neurons C    ${i.neurons}`,
    `heads H      ${i.heads} (${i.neurons / i.heads} dims each)`,
    `grid         ${i.grid} (K = ${i.tokens} spatial tokens)`,
    `embed dim d  ${i.embedDim}`,
    `text tower   width ${c.transformerWidth}, layers ${c.transformerLayers}, heads ${c.transformerHeads}, context ${c.contextLength}, vocab ${c.vocabSize}`,
    `parameters   visual ${fmt(i.parameters.visual)} | text ${fmt(i.parameters.text)} | total ${fmt(i.parameters.total)}`,
  ].join("\n");
}

/** `clip-nad info --model M`: config, parameter counts, neurons C, heads H, grid. */
export function register(program: Command): void {
  addModelOptions(
    program
      .command("info")
      .description("show a model's config, parameter counts, neurons C, heads H, grid and embedding size")
      .option("--json", "print JSON instead of text"),
    { device: false }, // reads the checkpoint; runs nothing
  ).action(async (o: { model: string; quiet?: boolean; json?: boolean }) => {
    const info = await modelInfo(o.model, o.quiet || o.json);
    console.log(o.json ? JSON.stringify(info, null, 2) : formatInfo(info));
  });
}

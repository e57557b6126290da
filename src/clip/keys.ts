import { ClipConfig } from "./config";
import { ClipNadError } from "../errors";
import { StateDict } from "../weights/types";

/**
 * Every tensor a CLIP-ResNet checkpoint of `cfg` must hold, with its shape (OpenAI key names, model.md §2.1).
 * `num_batches_tracked` and archive extras (attn_mask, input_resolution, ...) are not required.
 */
export function expectedClipShapes(cfg: ClipConfig): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const w = cfg.visionWidth;
  const bn = (prefix: string, n: number) => {
    for (const p of ["weight", "bias", "running_mean", "running_var"]) out.set(`${prefix}.${p}`, [n]);
  };
  out.set("visual.conv1.weight", [w / 2, 3, 3, 3]);
  bn("visual.bn1", w / 2);
  out.set("visual.conv2.weight", [w / 2, w / 2, 3, 3]);
  bn("visual.bn2", w / 2);
  out.set("visual.conv3.weight", [w, w / 2, 3, 3]);
  bn("visual.bn3", w);
  let inplanes = w;
  cfg.visionLayers.forEach((blocks, i) => {
    const planes = w * 2 ** i;
    const stride = i === 0 ? 1 : 2;
    for (let b = 0; b < blocks; b++) {
      const p = `visual.layer${i + 1}.${b}`;
      out.set(`${p}.conv1.weight`, [planes, inplanes, 1, 1]);
      bn(`${p}.bn1`, planes);
      out.set(`${p}.conv2.weight`, [planes, planes, 3, 3]);
      bn(`${p}.bn2`, planes);
      out.set(`${p}.conv3.weight`, [planes * 4, planes, 1, 1]);
      bn(`${p}.bn3`, planes * 4);
      if (b === 0 && (stride > 1 || inplanes !== planes * 4)) {
        out.set(`${p}.downsample.0.weight`, [planes * 4, inplanes, 1, 1]);
        bn(`${p}.downsample.1`, planes * 4);
      }
      inplanes = planes * 4;
    }
  });
  const C = w * 32;
  const d = cfg.embedDim;
  out.set("visual.attnpool.positional_embedding", [cfg.grid * cfg.grid + 1, C]);
  for (const p of ["q_proj", "k_proj", "v_proj"]) {
    out.set(`visual.attnpool.${p}.weight`, [C, C]);
    out.set(`visual.attnpool.${p}.bias`, [C]);
  }
  out.set("visual.attnpool.c_proj.weight", [d, C]);
  out.set("visual.attnpool.c_proj.bias", [d]);

  const W = cfg.transformerWidth;
  out.set("token_embedding.weight", [cfg.vocabSize, W]);
  out.set("positional_embedding", [cfg.contextLength, W]);
  for (let l = 0; l < cfg.transformerLayers; l++) {
    const p = `transformer.resblocks.${l}`;
    out.set(`${p}.attn.in_proj_weight`, [3 * W, W]);
    out.set(`${p}.attn.in_proj_bias`, [3 * W]);
    out.set(`${p}.attn.out_proj.weight`, [W, W]);
    out.set(`${p}.attn.out_proj.bias`, [W]);
    out.set(`${p}.ln_1.weight`, [W]);
    out.set(`${p}.ln_1.bias`, [W]);
    out.set(`${p}.mlp.c_fc.weight`, [4 * W, W]);
    out.set(`${p}.mlp.c_fc.bias`, [4 * W]);
    out.set(`${p}.mlp.c_proj.weight`, [W, 4 * W]);
    out.set(`${p}.mlp.c_proj.bias`, [W]);
    out.set(`${p}.ln_2.weight`, [W]);
    out.set(`${p}.ln_2.bias`, [W]);
  }
  out.set("ln_final.weight", [W]);
  out.set("ln_final.bias", [W]);
  out.set("text_projection", [W, d]);
  out.set("logit_scale", []);
  return out;
}

const fmt = (s: readonly number[]) => `[${s.join(",")}]`;

/** Throw a ClipNadError naming the file and key for the first missing or mis-shaped tensor. */
export function validateClipWeights(sd: StateDict, cfg: ClipConfig, file: string): void {
  if (cfg.visionWidth % 2 !== 0) throw new ClipNadError(`vision width ${cfg.visionWidth} is odd; CLIP-ResNet needs an even stem width`, { file, key: "visual.layer1.0.conv1.weight" });
  const missing: string[] = [];
  for (const [key, shape] of expectedClipShapes(cfg)) {
    const t = sd.get(key);
    if (!t) {
      missing.push(key);
      continue;
    }
    const same = t.shape.length === shape.length && t.shape.every((v, i) => v === shape[i]);
    // A scalar may be stored as [] or [1].
    const scalarOk = shape.length === 0 && t.data.length === 1;
    if (!same && !scalarOk) {
      throw new ClipNadError(`mis-shaped tensor: expected ${fmt(shape)}, got ${fmt(t.shape)}`, { file, key });
    }
    if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) {
      throw new ClipNadError(`tensor data has ${t.data.length} values but shape ${fmt(t.shape)}`, { file, key });
    }
  }
  if (missing.length) {
    const more = missing.length > 1 ? ` (and ${missing.length - 1} more: ${missing.slice(1, 4).join(", ")}${missing.length > 4 ? ", ..." : ""})` : "";
    const shape = expectedClipShapes(cfg).get(missing[0]) ?? [];
    throw new ClipNadError(`missing tensor (expected shape ${fmt(shape)})${more}`, { file, key: missing[0] });
  }
}

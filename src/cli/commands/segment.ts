import * as fs from "fs";
import * as path from "path";
import { Command } from "commander";
import { ClipNadError } from "../../errors";
import { toRGB } from "../../clip/preprocess";
import { writeFileAtomic, writeJsonAtomic, ensureDir } from "../../io/atomic";
import { writeNpy } from "../../io/npy";
import {
  LOGIT_SCALE,
  METHOD_LABELS,
  SegmentationClasses,
  classIndexPNG,
  classTextEmbeddings,
  createSegmenter,
  overlayPNG,
  parseClassList,
  parseMethod,
  prepareClassEmbeddings,
  readClassEmbeddings,
  readClassFile,
  segmentImageFile,
} from "../../apps/segmentation";
import { addModelOptions, clipNadVersion, openModel, positiveInt, sidecarPath } from "../modelOption";
import { Progress } from "../progress";
import { Device } from "../../clip/device";
import { addSegmentationOptions, describeMode, parseSegmentationFlags, signsOption } from "../segmentOptions";

interface SegmentFlags {
  model: string;
  quiet?: boolean;
  device?: Device;
  image: string;
  classes?: string;
  classFile?: string;
  classEmbeddings?: string;
  method: string;
  k?: string;
  whole?: boolean;
  slide?: string;
  collection?: string;
  shortSide: string;
  out: string;
}

/** Class names for the legend of --class-embeddings rows: the `texts` of embed-text's sidecar when it matches. */
function embeddingNames(file: string, P: number): string[] {
  const sidecar = sidecarPath(file);
  try {
    const texts = (JSON.parse(fs.readFileSync(sidecar, "utf8")) as { texts?: unknown }).texts;
    if (Array.isArray(texts) && texts.length === P && texts.every((t) => typeof t === "string"))
      return texts as string[];
  } catch {
    // no sidecar: numbered classes
  }
  return Array.from({ length: P }, (_, p) => `class ${p}`);
}

/** `clip-nad segment`: one image → token logits, logits at the image size, class map and overlay. */
export function register(program: Command): void {
  addSegmentationOptions(
    addModelOptions(
      program
        .command("segment")
        .description(
          "training-free segmentation of one image (paper §A.9: neuron-head pairs; MaskCLIP and self-self " +
            "baselines); writes token_logits.npy, logits.npy, pred.png, overlay.png",
        )
        .requiredOption("--image <file>", "image file")
        .option("--classes <names>", 'comma-separated class names, e.g. "cat,dog,grass"')
        .option(
          "--class-file <file>",
          "class names, one class per line; comma-separated synonyms on a line name one class",
        )
        .option(
          "--class-embeddings <file.npy>",
          "P×d raw text embeddings, one row per class (centred and normalised like names)",
        )
        .requiredOption("--out <dir>", "output folder (created if needed)"),
    ),
  )
    .option(
      "--short-side <px|keep>",
      "slide inference: resize the image's shorter side to this first (mmseg's test-time resize; default the model " +
        "resolution, 384 for RN50x16), or 'keep'",
    )
    .action(async (o: SegmentFlags) => {
      const given = [o.classes, o.classFile, o.classEmbeddings].filter((x) => x !== undefined).length;
      if (given !== 1) throw new ClipNadError("give exactly one of --classes, --class-file and --class-embeddings");
      if (!fs.existsSync(o.image)) throw new ClipNadError("image file not found", { file: o.image });
      if (fs.existsSync(o.out) && !fs.statSync(o.out).isDirectory())
        throw new ClipNadError("--out must be a folder, but a file exists there", { file: o.out });
      parseMethod(o.method); // fail before loading the model
      let classes: SegmentationClasses | undefined;
      if (o.classes !== undefined) classes = parseClassList(o.classes);
      if (o.classFile !== undefined) classes = readClassFile(o.classFile);
      const { model, name } = await openModel(o.model, o.quiet, o.device);
      try {
        const R = model.config.imageResolution;
        const flags = parseSegmentationFlags(o, R);
        const shortSide =
          o.shortSide === undefined
            ? undefined
            : o.shortSide === "keep"
              ? ("keep" as const)
              : positiveInt("short-side", o.shortSide);
        const d = model.config.embedDim;
        let raw: Float32Array, names: string[], source: string;
        if (classes) {
          // classTextEmbeddings reports per name embedded: every synonym of every class
          const progress = new Progress("embedding class names", {
            total: classes.synonyms.flat().length,
            unit: "names",
            quiet: o.quiet,
          });
          raw = await classTextEmbeddings(classes, (t) => model.encodeTexts(t), {
            onProgress: (done) => progress.update(done),
          });
          progress.stop();
          names = classes.names;
          source = o.classFile ? path.resolve(o.classFile) : "--classes";
        } else {
          raw = readClassEmbeddings(o.classEmbeddings!, d);
          names = embeddingNames(o.classEmbeddings!, raw.length / d);
          source = path.resolve(o.classEmbeddings!);
        }
        const T = prepareClassEmbeddings(raw, d, { file: o.classEmbeddings ?? o.classFile });
        const signs = await signsOption(o.collection, flags.method, model);
        const segmenter = await createSegmenter(model, {
          method: flags.method,
          classEmbeddings: T,
          k: flags.k,
          signs: signs?.signs,
        });
        const result = await segmentImageFile(model, segmenter, o.image, { mode: flags.mode, shortSide });
        const { dense, pred, image } = result;
        const P = segmenter.P,
          g = segmenter.grid;
        ensureDir(o.out);
        writeNpy(path.join(o.out, "token_logits.npy"), result.tokenLogits, [P, g, g]);
        writeNpy(path.join(o.out, "logits.npy"), dense.logits, [P, dense.height, dense.width]);
        writeFileAtomic(path.join(o.out, "pred.png"), await classIndexPNG(pred, dense.width, dense.height, P));
        const rgb = toRGB(image);
        writeFileAtomic(
          path.join(o.out, "overlay.png"),
          await overlayPNG(rgb.data, rgb.width, rgb.height, pred, names),
        );
        writeJsonAtomic(path.join(o.out, "segment.json"), {
          model: name,
          sha256: model.hash,
          image: path.resolve(o.image),
          method: flags.method,
          methodLabel: METHOD_LABELS[flags.method],
          k: segmenter.selection?.k ?? null,
          pairSigns: segmenter.selection ? (signs?.source ?? "+w") : null,
          mode: flags.mode,
          shortSide: flags.mode.mode === "slide" ? (shortSide ?? R) : null,
          inferenceSize: dense.inferenceSize,
          windows: dense.windows,
          logitScale: LOGIT_SCALE,
          classes: names,
          classSource: source,
          shapes: {
            token_logits: [P, g, g],
            logits: [P, dense.height, dense.width],
            pred: [dense.height, dense.width],
          },
          notes: {
            token_logits:
              "class logits on the token grid, before upsampling, for the image preprocessed as `decompose` does " +
                "(resize + centre crop)",
            logits:
              "class logits at the image size (slide: averaged windows; whole: one forward), before the ×40 softmax",
            pred: "8-bit class index per pixel (argmax of softmax(40·logits)); classes in the order of `classes`",
          },
          clipNadVersion: clipNadVersion(),
        });
        if (!o.quiet) {
          console.log(
            `${METHOD_LABELS[flags.method]}, ${describeMode(flags.mode)} (${dense.windows} ` +
              `forward${dense.windows > 1 ? "s" : ""}), ${P} classes: wrote token_logits.npy (${P}×${g}×${g}), ` +
                `logits.npy (${P}×${dense.height}×${dense.width}), pred.png, overlay.png, segment.json to ${o.out}`,
          );
        }
      } finally {
        await model.dispose();
      }
    });
}

import { AttributeName, COLOURS, SHAPES, TEXTURES } from "./vocab";

/**
 * Zero-shot prompt templates for toy-world attributes, in the style of the captions the toy model was trained on
 * ("a small red striped star on a green grainy background"). The class name fills `{}`; the other words of each
 * template run over the other attribute's values, so the class embedding averages them out
 * (the same role the 80 ImageNet templates play for real CLIP).
 */
export function toyPromptTemplates(attribute: AttributeName): string[] {
  switch (attribute) {
    case "shape":
      return COLOURS.flatMap((colour) => [`a ${colour} {}.`, `a photo of a ${colour} {}.`]);
    case "colour":
    case "pattern":
    case "size":
      return SHAPES.flatMap((shape) => [`a {} ${shape}.`, `a photo of a {} ${shape}.`, `a drawing of a {} ${shape}.`]);
    case "background":
      return TEXTURES.flatMap((texture) => SHAPES.map((shape) => `a ${shape} on a {} ${texture} background.`));
    case "texture":
      return COLOURS.flatMap((colour) => SHAPES.map((shape) => `a ${shape} on a ${colour} {} background.`));
  }
}

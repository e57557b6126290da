"""Held-out evaluation of a toy CLIP: zero-shot accuracy per attribute and image<->caption retrieval."""
import itertools

import numpy as np
import torch
import torch.nn.functional as F

from data import encode_ids, normalise

SHAPES = ["circle", "square", "triangle", "star", "heart", "cross", "diamond", "hexagon"]
COLOURS = ["red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "white", "black"]
PATTERNS = ["solid", "striped", "dotted", "checkered"]
SIZES = ["small", "large"]
TEXTURES = ["plain", "grainy", "gradient", "grid"]
TEMPLATES = ["a {}", "a photo of a {}", "a drawing of a {}"]


def article(phrase):
    return "an" if phrase[0] in "aeiou" else "a"


def prompts_for(attribute, value):
    """Prompts for one class, marginalising over the other object attributes (colour x shape grid)."""
    if attribute == "background":
        return [f"{article(s)} {s} on {article(value)} {value} background" for s in SHAPES]
    if attribute == "texture":
        return [f"{article(s)} {s} on {article(c)} {c} {value} background" for s, c in itertools.product(SHAPES, COLOURS)]
    if attribute == "shape":
        phrases = [f"{c} {value}" for c in COLOURS] + [value]
    elif attribute == "colour":
        phrases = [f"{value} {s}" for s in SHAPES]
    elif attribute == "pattern":
        phrases = [f"{value} {s}" for s in SHAPES] + [f"{c} {value} {s}" for c, s in itertools.product(COLOURS, SHAPES)]
    elif attribute == "size":
        phrases = [f"{value} {s}" for s in SHAPES]
    else:
        raise ValueError(attribute)
    return [t.replace("a {}", f"{article(p)} {{}}").format(p) for t in TEMPLATES for p in phrases]


CLASSES = {"shape": SHAPES, "colour": COLOURS, "pattern": PATTERNS, "size": SIZES, "background": COLOURS, "texture": TEXTURES}


@torch.no_grad()
def encode_texts(model, texts, ctx, batch=256):
    ids = torch.from_numpy(np.stack([encode_ids(t, ctx)[0] for t in texts]))
    out = [model.encode_text(ids[i:i + batch]) for i in range(0, len(ids), batch)]
    return F.normalize(torch.cat(out), dim=-1)


@torch.no_grad()
def encode_images(model, images_u8, batch=256):
    out = [model.encode_image(normalise(images_u8[i:i + batch])) for i in range(0, len(images_u8), batch)]
    return F.normalize(torch.cat(out), dim=-1)


@torch.no_grad()
def zero_shot_classifier(model, attribute, ctx):
    rows = []
    for value in CLASSES[attribute]:
        e = encode_texts(model, prompts_for(attribute, value), ctx).mean(0)
        rows.append(F.normalize(e, dim=-1))
    return torch.stack(rows)


@torch.no_grad()
def evaluate(model, records, images_u8, ids, ctx):
    """Returns a dict of metrics. Zero-shot labels are the dominant (largest) object's attributes; 'single'
    restricts to one-object scenes, where the label is unambiguous."""
    model.eval()
    img = encode_images(model, images_u8)
    single = torch.tensor([r["labels"]["count"] == 1 for r in records])
    metrics = {"n": len(records), "n_single": int(single.sum())}
    for attribute, values in CLASSES.items():
        W = zero_shot_classifier(model, attribute, ctx)
        pred = (img @ W.T).argmax(-1)
        truth = torch.tensor([values.index(r["labels"][attribute]) for r in records])
        ok = (pred == truth).float()
        metrics[f"zeroshot_{attribute}"] = float(ok.mean())
        metrics[f"zeroshot_{attribute}_single"] = float(ok[single].mean())
        metrics[f"chance_{attribute}"] = 1.0 / len(values)
    # Retrieval with the canonical caption (caption 0, open_clip-truncated to ctx).
    txt = []
    for i in range(0, len(ids), 256):
        txt.append(model.encode_text(ids[i:i + 256, 0]))
    txt = F.normalize(torch.cat(txt), dim=-1)
    sim = img @ txt.T
    target = torch.arange(len(records))
    for name, s in (("i2t", sim), ("t2i", sim.T)):
        rank = (s > s[target, target][:, None]).sum(-1)
        metrics[f"{name}_R@1"] = float((rank < 1).float().mean())
        metrics[f"{name}_R@5"] = float((rank < 5).float().mean())
    return metrics

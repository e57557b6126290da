"""Export a finished toy CLIP run: fp16 safetensors with OpenAI key names + metadata, held-out metrics of the
fp16-rounded model, golden outputs for the TS runtime test, and the model card.

  /usr/bin/python3 tools/toyclip/export.py --run build/toy/run --heldout build/toy/heldout
"""
import os

# Before torch loads OpenMP: on a shared, oversubscribed box, spinning OpenMP threads burn 3-5x the CPU of a step
# (measured: vision forward+backward 7-14 s with the default policy, 2.2 s passive).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import argparse
import hashlib
import json
import shutil
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracle"))
from ckptio import write_safetensors  # noqa: E402
from data import encode_ids, load_split, normalise  # noqa: E402
from evaluate import COLOURS, SHAPES, encode_texts, evaluate  # noqa: E402,F401
from model import CLIP, export_state_dict  # noqa: E402
from model_card import write_model_card  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DATA_COMMANDS = [
    "node src/cli/bin.cjs toyworld --out build/toy/train --n 40000 --seed 1 --size 128 --no-masks",
    "node src/cli/bin.cjs toyworld --out build/toy/heldout --n 2000 --seed 2 --size 128",
    "node src/cli/bin.cjs toyworld --out build/toy/train_groups --n 16000 --seed 3 --size 128 --no-masks --shape-groups",
]


def article(w):
    return "an" if w[0] in "aeiou" else "a"


def colour_prompts(shape):
    return [f"{article(c)} {c} {shape}" for c in COLOURS]


def background_prompts(shape):
    return [f"{article(shape)} {shape} on {article(c)} {c} background" for c in COLOURS]


def train_command(args, out, init=""):
    """The git-free command line of one training stage."""
    skip = {"resume", "no_export", "out", "train", "heldout", "init"}
    parts = [f"/usr/bin/python3 tools/toyclip/train.py --train build/toy/train --heldout build/toy/heldout --out {out}"]
    if init:
        parts.append(f"--init {init}")
    for k, v in args.items():
        if k not in skip:
            parts.append(f"--{k.replace('_', '-')} {v}")
    return " ".join(parts)


def stages_of(final):
    """Training stages, oldest first: [{args, steps, train_seconds, epochs, final_loss, command}]."""
    chain, node = [], final
    while node:
        chain.append(node)
        node = node.get("previous")
    chain.reverse()
    out = []
    for i, st in enumerate(chain):
        run = "build/toy/run" if i == 0 else f"build/toy/run{i + 1}"
        init = "" if i == 0 else ("build/toy/run/final.pt" if i == 1 else f"build/toy/run{i}/final.pt")
        out.append({"args": st["args"], "steps": st["steps"], "train_seconds": round(st["train_seconds"]),
                    "epochs": round(st["epochs"], 3), "final_loss": st["final_loss"], "command": train_command(st["args"], run, init)})
    return out


@torch.no_grad()
def pick_goldens(model, records, images, ctx, n):
    """Single-object scenes with distinct object colours whose object colour and background colour simple prompts
    classify right (the TS test checks those predictions), plus one multi-object scene for the embeddings."""
    chosen, colours_seen = [], set()
    for i, r in enumerate(records):
        lab = r["labels"]
        if lab["count"] != 1 or lab["colour"] in colours_seen:
            continue
        e = F.normalize(model.encode_image(normalise(images[i:i + 1])), dim=-1)[0]
        c_scores = encode_texts(model, colour_prompts(lab["shape"]), ctx) @ e
        b_scores = encode_texts(model, background_prompts(lab["shape"]), ctx) @ e
        top2c, top2b = c_scores.topk(2).values, b_scores.topk(2).values
        if (COLOURS[int(c_scores.argmax())] == lab["colour"] and COLOURS[int(b_scores.argmax())] == lab["background"]
                and top2c[0] - top2c[1] > 0.01 and top2b[0] - top2b[1] > 0.01):
            chosen.append(i)
            colours_seen.add(lab["colour"])
        if len(chosen) == n:
            break
    multi = next(i for i, r in enumerate(records) if r["labels"]["count"] >= 3)
    return chosen + [multi]


@torch.no_grad()
def write_goldens(model, records, images, ctx, heldout, fixtures, n, meta):
    os.makedirs(fixtures, exist_ok=True)
    for old in os.listdir(fixtures):  # goldens of an earlier export
        if old.startswith("scene_") and old.endswith(".png"):
            os.remove(os.path.join(fixtures, old))
    scenes = []
    for i in pick_goldens(model, records, images, ctx, n):
        r = records[i]
        name = f"scene_{r['index']:06d}.png"
        shutil.copyfile(os.path.join(heldout, r["image"]), os.path.join(fixtures, name))
        Z = model.visual.features(normalise(images[i:i + 1]))
        emb, a, s, _ = model.visual.attnpool.forward_all(Z)
        caption = r["captions"][0]
        ids = torch.from_numpy(encode_ids(caption, ctx)[0])[None]
        txt = model.encode_text(ids)[0]
        scenes.append({
            "file": name, "index": r["index"], "labels": r["labels"], "caption": caption, "token_ids": ids[0].tolist(),
            "image_embedding": emb[0].tolist(), "text_embedding": txt.tolist(), "attention": a[0].tolist(),
            "s_row0": s[0, 0].tolist(),
        })
    golden = {
        "model": "assets/toy/toyclip.safetensors", "model_sha256": meta["sha256"],
        "note": "eval-mode torch model on fp16-rounded weights (tools/toyclip/export.py); images = held-out scenes",
        "generator": {"seed": 2, "size": 128, "command": DATA_COMMANDS[1]},
        "colour_prompt_template": "{article} {colour} {shape}",
        "background_prompt_template": "{article} {shape} on {article} {colour} background",
        "shapes": SHAPES, "colours": COLOURS, "scenes": scenes,
    }
    with open(os.path.join(fixtures, "golden.json"), "w") as f:
        json.dump(golden, f)


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--run", required=True)
    p.add_argument("--heldout", required=True)
    p.add_argument("--asset-dir", default=os.path.join(ROOT, "assets", "toy"))
    p.add_argument("--fixtures", default=os.path.join(ROOT, "test", "fixtures", "toy"))
    p.add_argument("--n-golden", type=int, default=4)
    p.add_argument("--earlier-metrics", default="", help="metrics JSON of an earlier stage, quoted in the card")
    a = p.parse_args(argv)
    torch.set_num_threads(2)
    final = torch.load(os.path.join(a.run, "final.pt"))
    cfg = final["cfg"]
    model = CLIP(cfg)
    model.load_state_dict(final["model"])
    sd16 = {k: v.half() for k, v in export_state_dict(model).items()}
    # The shipped numbers are those of the fp16-rounded weights, evaluated in fp32 (as the TS runtime does).
    model.load_state_dict({k: v.float() for k, v in sd16.items()}, strict=False)
    model.eval()
    stages = stages_of(final)
    recipe = {
        "optimizer": "AdamW(betas=(0.9,0.98), eps=1e-6), no decay on 1-D/bn/ln/logit_scale",
        "loss": "symmetric InfoNCE, learnable logit scale (clamped at 100)",
        "schedule": "per stage: linear warm-up, cosine on progress = max(step/steps, elapsed/minutes)",
        "augmentation": "random horizontal flip; one random caption per scene among those fitting ctx",
        "hard_batches": "stage 2: --hard-frac of the batches are 8 minimal-pair groups of 8 scenes from --groups, identical "
                        "but for the dominant object's shape (captions 0-3 only, which name it)",
        "steps": sum(st["steps"] for st in stages), "epochs": round(sum(st["epochs"] for st in stages), 3),
        "train_seconds": sum(st["train_seconds"] for st in stages), "final_loss": final["final_loss"],
        "args": final["args"], "stages": stages,
    }
    asset = os.path.join(a.asset_dir, "toyclip.safetensors")
    os.makedirs(a.asset_dir, exist_ok=True)
    metadata = {
        "format": "openai-clip-resnet", "name": "toy", "config": json.dumps(cfg), "vision_heads": str(cfg["vision_heads"]),
        "transformer_heads": str(cfg["transformer_heads"]), "recipe": json.dumps(recipe),
        "data": json.dumps({"train_seed": 1, "train_n": final["n_train"], "heldout_seed": 2, "groups_seed": 3, "groups_n": 16000,
                            "size": cfg["image_resolution"],
                            "commands": DATA_COMMANDS}),
        "command": " && ".join(st["command"] for st in stages), "dtype": "float16",
    }
    write_safetensors(asset, sd16, metadata)
    with open(asset, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    print(f"wrote {asset} ({os.path.getsize(asset) / 1e6:.1f} MB, sha256 {sha})")
    records, images, ids, _ = load_split(a.heldout, cfg["image_resolution"], cfg["context_length"], os.path.join(a.run, "cache"))
    metrics = evaluate(model, records, images, ids, cfg["context_length"])
    with open(os.path.join(a.run, "metrics_fp16.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    print(json.dumps(metrics))
    write_goldens(model, records, images, cfg["context_length"], a.heldout, a.fixtures, a.n_golden, {"sha256": sha})
    write_model_card(os.path.join(a.asset_dir, "MODEL_CARD.md"), cfg, recipe, metrics, DATA_COMMANDS,
                     [st["command"] for st in stages], sha, os.path.getsize(asset), final["n_params"],
                     json.load(open(a.earlier_metrics)) if a.earlier_metrics else None)


if __name__ == "__main__":
    main()

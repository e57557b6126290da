"""Toy-world data for the toy CLIP trainer: reads a dataset written by `clip-nad toyworld` (index.jsonl + PNGs)
into a uint8 image tensor and pre-tokenized captions (real CLIP BPE, tools/oracle/simple_tokenizer.py)."""
import json
import os
import sys
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracle"))
from simple_tokenizer import get_tokenizer  # noqa: E402

# OpenAI CLIP normalisation (same as src/clip/preprocess.ts).
MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
SOT, EOT = 49406, 49407


def read_index(folder):
    with open(os.path.join(folder, "index.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def load_images(folder, records, res, log=print):
    """N x 3 x res x res uint8. Images must already be res x res (the generator writes them at that size)."""
    out = torch.empty((len(records), 3, res, res), dtype=torch.uint8)
    t0 = time.time()
    for i, r in enumerate(records):
        im = Image.open(os.path.join(folder, r["image"])).convert("RGB")
        if im.size != (res, res):
            raise SystemExit(f"{r['image']}: size {im.size}, expected {res}x{res}; regenerate with --size {res}")
        out[i] = torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)
        if i % 5000 == 4999:
            log(f"  loaded {i + 1}/{len(records)} images ({time.time() - t0:.0f} s)")
    return out


def encode_ids(text, ctx):
    """[SOT] + BPE + [EOT]; returns (ids int64[ctx], fits) with open_clip-style truncation when it does not fit."""
    ids = [SOT] + get_tokenizer().encode(text) + [EOT]
    fits = len(ids) <= ctx
    if not fits:
        ids = ids[:ctx]
        ids[-1] = EOT
    row = np.zeros(ctx, dtype=np.int64)
    row[:len(ids)] = ids
    return row, fits


def tokenize_captions(records, ctx):
    """ids: N x M x ctx int64 (M captions per scene), fits: N x M bool (caption fits in ctx untruncated)."""
    m = len(records[0]["captions"])
    ids = np.zeros((len(records), m, ctx), dtype=np.int64)
    fits = np.zeros((len(records), m), dtype=bool)
    for i, r in enumerate(records):
        for j, c in enumerate(r["captions"][:m]):
            ids[i, j], fits[i, j] = encode_ids(c, ctx)
    return torch.from_numpy(ids), torch.from_numpy(fits)


def normalise(u8):
    """uint8 B x 3 x R x R -> float32 CLIP-normalised."""
    return (u8.float() / 255.0 - MEAN) / STD


def load_split(folder, res, ctx, cache_dir=None, log=print):
    """Images + tokens of a dataset folder, cached as .pt next to the run (decoding 40k PNGs takes a while)."""
    records = read_index(folder)
    cache = None
    if cache_dir:
        os.makedirs(cache_dir, exist_ok=True)
        cache = os.path.join(cache_dir, f"{os.path.basename(os.path.normpath(folder))}-{res}-{ctx}.pt")
        if os.path.exists(cache):
            d = torch.load(cache)
            if d["n"] == len(records):
                log(f"loaded cached {cache}")
                return records, d["images"], d["ids"], d["fits"]
    log(f"reading {len(records)} scenes from {folder}")
    images = load_images(folder, records, res, log)
    ids, fits = tokenize_captions(records, ctx)
    if cache:
        torch.save({"n": len(records), "images": images, "ids": ids, "fits": fits}, cache)
    return records, images, ids, fits

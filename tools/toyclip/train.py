"""Train a small CLIP-ResNet (OpenAI architecture family, OpenAI key names) on toy-world data, CPU only.

Usage (Debian torch 1.13; see assets/toy/MODEL_CARD.md for the exact commands of the shipped model):
  /usr/bin/python3 tools/toyclip/train.py --train build/toy/train --heldout build/toy/heldout --out build/toy/run \
      --minutes 42 [--steps N] [--resume]
The LR schedule (linear warm-up, cosine decay) runs on progress = max(step / steps, elapsed / minutes), so a run
always anneals before its time budget. A checkpoint (model, optimiser, RNG, step, elapsed) is written every few
minutes to OUT/ckpt.pt; --resume continues from it. At the end OUT/final.pt and OUT/metrics.json are written and
export.py is run to write the fp16 safetensors, golden outputs and the model card.
"""
import os

# Before torch loads OpenMP: on a shared, oversubscribed box, spinning OpenMP threads burn 3-5x the CPU of a step
# (measured: vision forward+backward 7-14 s with the default policy, 2.2 s passive).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import argparse
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

from data import EOT, SOT, load_split, normalise
from evaluate import evaluate
from model import build

torch.set_num_threads(2)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", required=True)
    p.add_argument("--heldout", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--minutes", type=float, default=42.0, help="wall-clock budget of the optimisation loop (0 = none)")
    p.add_argument("--steps", type=int, default=0, help="planned number of steps (0 = time budget only)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--wd", type=float, default=0.1)
    p.add_argument("--warmup", type=int, default=150)
    p.add_argument("--res", type=int, default=128)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--layers", default="1,1,1,1")
    p.add_argument("--embed", type=int, default=256)
    p.add_argument("--text-width", type=int, default=128)
    p.add_argument("--text-layers", type=int, default=3)
    p.add_argument("--ctx", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ckpt-every", type=float, default=180.0, help="seconds between checkpoints")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--init", default="", help="start from the weights of a previous run's final.pt (a second stage)")
    p.add_argument("--hard-frac", type=float, default=0.0,
                   help="share of steps whose batch is 8 minimal-pair groups from --groups (scenes identical but for "
                        "the dominant object's shape); without --groups, groups of 16 --train scenes sharing background "
                        "colour, texture and the dominant object's colour and pattern")
    p.add_argument("--groups", default="", help="a `clip-nad toyworld --shape-groups` folder for the hard batches")
    p.add_argument("--no-export", action="store_true")
    return p.parse_args(argv)


def config_of(a):
    return {
        "embed_dim": a.embed, "image_resolution": a.res, "vision_layers": [int(x) for x in a.layers.split(",")],
        "vision_width": a.width, "vision_heads": a.width * 32 // 64, "context_length": a.ctx, "vocab_size": 49408,
        "transformer_width": a.text_width, "transformer_heads": max(1, a.text_width // 64), "transformer_layers": a.text_layers,
    }


def lr_at(a, progress, step):
    warm = min(1.0, (step + 1) / max(1, a.warmup))
    return a.lr * warm * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def make_optimizer(model, a):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        # As in CLIP training: no weight decay on gains, biases, norms, embeddings' scale and the logit scale.
        (no_decay if p.ndim < 2 or "bn" in name or "ln" in name or name == "logit_scale" else decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": a.wd}, {"params": no_decay, "weight_decay": 0.0}],
                             lr=a.lr, betas=(0.9, 0.98), eps=1e-6)


GROUP = 8  # scenes per minimal-pair group (= number of shapes)


def hard_groups(records, min_size=4):
    """Scene indices grouped by (background colour, texture, dominant colour, dominant pattern)."""
    groups = {}
    for i, r in enumerate(records):
        key = (r["background"]["colour"], r["background"]["texture"], r["labels"]["colour"], r["labels"]["pattern"])
        groups.setdefault(key, []).append(i)
    return [torch.tensor(g) for g in groups.values() if len(g) >= min_size]


def hard_batch(groups, batch, per_group=16):
    """A batch of chunks of up to `per_group` scenes from random groups: inside a chunk the background and the
    dominant object's colour and pattern are equal, so the contrastive loss must look at shapes (and sizes)."""
    out, seen = [], set()
    while len(out) < batch:
        g = int(torch.randint(len(groups), (1,)))
        if g in seen:
            continue
        seen.add(g)
        members = groups[g]
        out.extend(members[torch.randperm(len(members))[:per_group]].tolist())
    return torch.tensor(out[:batch])


def save_atomic(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def main(argv=None):
    a = parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    log_f = open(os.path.join(a.out, "train.log"), "a")

    def log(msg):
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        log_f.write(line + "\n")
        log_f.flush()

    cfg = config_of(a)
    log(f"config {json.dumps(cfg)}; args {vars(a)}")
    cache = os.path.join(a.out, "cache")
    records, images, ids, fits = load_split(a.train, a.res, a.ctx, cache, log)
    h_records, h_images, h_ids, _ = load_split(a.heldout, a.res, a.ctx, cache, log)
    N = len(records)
    log(f"train {N} scenes, {int(fits.sum())}/{fits.numel()} captions fit ctx {a.ctx}; heldout {len(h_records)}")

    model = build(cfg, a.seed)
    n_params = sum(p.numel() for p in model.parameters())
    # Only ~100 of the 49408 token ids ever occur. Training a compact embedding of the used rows (copied in and
    # out of the full table) is exact for forward/backward and saves AdamW from touching 6.3 M idle parameters.
    full_embedding = model.token_embedding
    extra_ids = load_split(a.groups, a.res, a.ctx, cache, log)[2].flatten() if a.groups else torch.zeros(0, dtype=torch.long)
    used = torch.unique(torch.cat([ids.flatten(), h_ids.flatten(), extra_ids, torch.tensor([0, SOT, EOT])]))
    remap = torch.zeros(cfg["vocab_size"], dtype=torch.long)
    remap[used] = torch.arange(len(used))  # sorted: EOT (the largest id) stays the largest -> argmax pooling holds
    model.token_embedding = torch.nn.Embedding(len(used), cfg["transformer_width"])
    with torch.no_grad():
        model.token_embedding.weight.copy_(full_embedding.weight[used])
    log(f"compact token embedding: {len(used)} used ids")
    previous = None
    if a.init:
        prev = torch.load(a.init)
        model.token_embedding = full_embedding
        model.load_state_dict(prev["model"])
        full_embedding = model.token_embedding
        model.token_embedding = torch.nn.Embedding(len(used), cfg["transformer_width"])
        with torch.no_grad():
            model.token_embedding.weight.copy_(full_embedding.weight[used])
        previous = {k: prev[k] for k in ("args", "steps", "train_seconds", "epochs", "final_loss", "previous") if k in prev}
        log(f"initialised from {a.init} ({prev['steps']} steps)")
    groups = hard_groups(records)
    g_images = g_ids = g_fits = None
    if a.groups:
        g_records, g_images, g_ids, g_fits = load_split(a.groups, a.res, a.ctx, cache, log)
        g_count = len(g_records) // GROUP
        log(f"minimal-pair groups: {g_count} from {a.groups}")
    log(f"hard-batch groups: {len(groups)} (hard-frac {a.hard_frac})")
    opt = make_optimizer(model, a)
    step, elapsed = 0, 0.0
    ckpt_path = os.path.join(a.out, "ckpt.pt")
    if a.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, elapsed = ck["step"], ck["elapsed"]
        torch.set_rng_state(ck["rng"])
        log(f"resumed from {ckpt_path} at step {step}, {elapsed:.0f} s")
    else:
        torch.manual_seed(a.seed + 1)
    log(f"params {n_params / 1e6:.2f} M (visual {sum(p.numel() for p in model.visual.parameters()) / 1e6:.2f} M)")

    steps_per_epoch = N // a.batch
    budget = a.minutes * 60 if a.minutes > 0 else math.inf
    t_last_ckpt = time.time()
    t_start = time.time() - elapsed
    loss_avg = None
    model.train()
    while True:
        elapsed = time.time() - t_start
        progress = max(step / a.steps if a.steps else 0.0, elapsed / budget)
        if progress >= 1.0:
            break
        epoch, pos = divmod(step, steps_per_epoch)
        src_images, src_ids, src_fits = images, ids, fits
        hard = a.hard_frac > 0 and float(torch.rand(1)) < a.hard_frac
        if hard and g_images is not None:
            g = torch.randperm(g_count)[:a.batch // GROUP]
            idx = (g[:, None] * GROUP + torch.arange(GROUP)[None]).flatten()
            src_images, src_ids, src_fits = g_images, g_ids, g_fits
        elif hard:
            idx = hard_batch(groups, a.batch)
        else:
            perm = torch.randperm(N, generator=torch.Generator().manual_seed(a.seed * 1000 + epoch))
            idx = perm[pos * a.batch:(pos + 1) * a.batch]
        # One caption per scene, uniformly among those that fit the context untruncated. In minimal-pair batches
        # only captions 0-3 (they name the dominant shape; caption 4 is the same for the whole group).
        f = src_fits[idx].float()
        if hard and g_images is not None:
            f[:, 4:] = 0
        f[f.sum(1) == 0, 0] = 1.0
        choice = torch.multinomial(f, 1).squeeze(1)
        tok = remap[src_ids[idx, choice]]
        x = src_images[idx]
        flip = torch.rand(len(idx)) < 0.5  # left/right never appears in captions: flips are label-preserving
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        lr = lr_at(a, progress, step)
        for g in opt.param_groups:
            g["lr"] = lr
        img_e, txt_e = model(normalise(x), tok)
        img_e, txt_e = F.normalize(img_e, dim=-1), F.normalize(txt_e, dim=-1)
        logits = model.logit_scale.exp() * img_e @ txt_e.T
        target = torch.arange(len(idx))
        loss = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        step += 1
        loss_avg = float(loss) if loss_avg is None else 0.95 * loss_avg + 0.05 * float(loss)
        if step % 25 == 0:
            el = time.time() - t_start
            log(f"step {step} epoch {step / steps_per_epoch:.2f} loss {loss_avg:.4f} lr {lr:.2e} "
                f"scale {model.logit_scale.exp():.1f} elapsed {el:.0f} s ({el / step:.2f} s/step) progress {progress:.3f}")
        if time.time() - t_last_ckpt > a.ckpt_every:
            save_atomic({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                         "elapsed": time.time() - t_start, "rng": torch.get_rng_state(), "cfg": cfg, "args": vars(a)}, ckpt_path)
            t_last_ckpt = time.time()
            log(f"checkpoint at step {step}")
    train_seconds = time.time() - t_start
    with torch.no_grad():
        full_embedding.weight[used] = model.token_embedding.weight
    model.token_embedding = full_embedding
    log(f"done: {step} steps, {step / steps_per_epoch:.2f} epochs, {train_seconds:.0f} s, final loss {loss_avg}")
    final = {"model": model.state_dict(), "cfg": cfg, "args": vars(a), "steps": step, "train_seconds": train_seconds,
             "epochs": step / steps_per_epoch, "final_loss": loss_avg, "n_train": N, "n_params": n_params,
             "previous": previous}
    save_atomic(final, os.path.join(a.out, "final.pt"))
    if a.no_export:
        metrics = evaluate(model, h_records, h_images, h_ids, a.ctx)
        log(f"heldout metrics (fp32): {json.dumps(metrics)}")
    else:  # export.py evaluates the fp16-rounded model, the one that ships

        import export
        export.main(["--run", a.out, "--heldout", a.heldout])


if __name__ == "__main__":
    sys.exit(main())

"""Generate clip-nad's oracle fixtures (seeded random CLIP-ResNet weights in every checkpoint format, inputs,
expected outputs, and deliberately bad files).

    /usr/bin/python3 tools/oracle/make_fixtures.py --tiny --rn50

--tiny writes test/fixtures/tiny/ (committed), --rn50 writes fixtures-large/rn50/ (git-ignored).
See tools/oracle/README.md for the file list.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clipmini import CLIP, explicit_pairs, image_intermediates  # noqa: E402
from ckptio import rewrite_zip64, save_state_dict, save_torchscript, write_safetensors  # noqa: E402
from bad_fixtures import write_bad_fixtures, write_npy_goldens, write_pickle_goldens, write_view_goldens  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

TINY = dict(vision_layers=[1, 1, 1, 1], vision_width=8, vision_heads=4, image_resolution=96, embed_dim=64,
            context_length=16, vocab_size=512, transformer_width=64, transformer_heads=1, transformer_layers=2)
RN50 = dict(vision_layers=[3, 4, 6, 3], vision_width=64, vision_heads=32, image_resolution=224, embed_dim=1024,
            context_length=77, vocab_size=49408, transformer_width=512, transformer_heads=8, transformer_layers=12)


def fp16_exact(t):
    """Round to values representable in fp16, so fp16 and fp32 files hold identical numbers and one set of
    expected outputs serves every checkpoint format."""
    return t.half().float()


@torch.no_grad()
def randomize(model, seed):
    """He-scaled random weights, randomised BN statistics, NON-zero bn3 and biases (CLIP's init zeroes bn3)."""
    g = torch.Generator().manual_seed(seed)

    def rn(*shape, std=1.0):
        return torch.randn(*shape, generator=g) * std

    def ru(*shape, lo=0.0, hi=1.0):
        return lo + (hi - lo) * torch.rand(*shape, generator=g)

    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Conv2d):
            fan_in = mod.weight[0].numel()
            mod.weight.copy_(rn(*mod.weight.shape, std=(2.0 / fan_in) ** 0.5))
        elif isinstance(mod, torch.nn.BatchNorm2d):
            n = mod.num_features
            # bn3 / downsample BN smaller so the residual stream stays O(1) through 16 blocks.
            scale = 0.3 if (name.endswith("bn3") and "layer" in name) or name.endswith("downsample.1") else 1.0
            mod.weight.copy_(ru(n, lo=0.5, hi=1.5) * scale)
            mod.bias.copy_(rn(n, std=0.1))
            mod.running_mean.copy_(rn(n, std=0.2))
            mod.running_var.copy_(ru(n, lo=0.5, hi=2.0))
            mod.num_batches_tracked.fill_(int(torch.randint(1, 10000, (1,), generator=g)))
        elif isinstance(mod, torch.nn.Linear):
            mod.weight.copy_(rn(*mod.weight.shape, std=mod.weight.shape[1] ** -0.5))
            mod.bias.copy_(rn(*mod.bias.shape, std=0.05))
        elif isinstance(mod, torch.nn.LayerNorm):
            mod.weight.copy_(ru(mod.weight.shape[0], lo=0.8, hi=1.2))
            mod.bias.copy_(rn(mod.weight.shape[0], std=0.05))
        elif isinstance(mod, torch.nn.MultiheadAttention):
            W = mod.in_proj_weight
            mod.in_proj_weight.copy_(rn(*W.shape, std=W.shape[1] ** -0.5))
            mod.in_proj_bias.copy_(rn(W.shape[0], std=0.05))
    C = model.visual.attnpool.positional_embedding.shape[1]
    model.visual.attnpool.positional_embedding.copy_(rn(*model.visual.attnpool.positional_embedding.shape, std=C ** -0.5))
    W = model.ln_final.weight.shape[0]
    model.token_embedding.weight.copy_(rn(*model.token_embedding.weight.shape, std=0.5))
    model.positional_embedding.copy_(rn(*model.positional_embedding.shape, std=0.1))
    model.text_projection.copy_(rn(*model.text_projection.shape, std=W ** -0.5))
    model.logit_scale.fill_(float(np.log(1 / 0.07)))
    for p in model.parameters():
        p.copy_(fp16_exact(p))
    for name, b in model.named_buffers():
        if b.is_floating_point():
            b.copy_(fp16_exact(b))


@torch.no_grad()
def sharpen_attention(model, images, target_std=2.0):
    """Scale q/k projections so the pooled-query logits have std ~2 on these inputs: random weights otherwise
    give a near-uniform attention, which would make the a/s tests weak."""
    ap = model.visual.attnpool
    x = ap.tokens(model.visual.features(images))
    B, L, C = x.shape
    d = C // ap.num_heads
    q = torch.nn.functional.linear(x[:, 0], ap.q_proj.weight, ap.q_proj.bias).reshape(B, ap.num_heads, d)
    k = torch.nn.functional.linear(x, ap.k_proj.weight, ap.k_proj.bias).reshape(B, L, ap.num_heads, d)
    logits = torch.einsum("bhd,blhd->bhl", q, k) / d ** 0.5
    f = (target_std / float(logits.std())) ** 0.5
    for lin in (ap.q_proj, ap.k_proj):
        lin.weight.copy_(fp16_exact(lin.weight * f))
        lin.bias.copy_(fp16_exact(lin.bias * f))


def make_inputs(cfg, n_images, seed):
    g = torch.Generator().manual_seed(seed + 1)
    R = cfg["image_resolution"]
    images = torch.randn(n_images, 3, R, R, generator=g).clamp_(-1.8, 2.2)  # looks like normalised pixels
    V, ctx = cfg["vocab_size"], cfg["context_length"]
    sot, eot = V - 2, V - 1
    lengths = [5, ctx - 2, 1]  # short caption, full-length (EOT at the last slot), empty caption
    ids = torch.zeros(len(lengths), ctx, dtype=torch.long)
    for row, n in enumerate(lengths):
        body = torch.randint(1, V - 2, (n,), generator=g)
        ids[row, : n + 2] = torch.cat([torch.tensor([sot]), body, torch.tensor([eot])])
    return images, ids


def config_metadata(cfg):
    return {"config": json.dumps(cfg), "vision_heads": str(cfg["vision_heads"]), "format": "pt",
            "source": "tools/oracle/make_fixtures.py (seeded random weights)"}


def build(cfg, outdir, seed, n_images, tag, jit_fp32=True, sd_fp16=True):
    t0 = time.time()
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(seed)
    model = CLIP(cfg).eval()
    randomize(model, seed)
    images, ids = make_inputs(cfg, n_images, seed)
    sharpen_attention(model, images)
    p = lambda name: os.path.join(outdir, name)  # noqa: E731

    sd = model.state_dict()
    # Every value is fp16-exact (see randomize), so an F16 safetensors file is a lossless reference.
    write_safetensors(p("weights.safetensors"), {k: v.half() for k, v in sd.items() if v.is_floating_point()},
                      config_metadata(cfg))
    save_torchscript(model, p("clip_jit_fp16.pt"), images, ids, fp16=True)
    if jit_fp32:
        save_torchscript(model, p("clip_jit_fp32.pt"), images, ids, fp16=False)
    save_state_dict(model, p("open_clip_pytorch_model.bin"), fp16=False)
    tmp16 = p("state_dict_fp16.pt")
    save_state_dict(model, tmp16, fp16=True)
    rewrite_zip64(tmp16, p("state_dict_fp16_zip64.pt"))
    if not sd_fp16:
        os.remove(tmp16)
    print(f"[{tag}] checkpoints written ({time.time() - t0:.1f}s)", flush=True)

    out = image_intermediates(model, images)
    with torch.no_grad():
        text = model.encode_text(ids)
        r0 = explicit_pairs(model.visual.attnpool, out["x"][0], out["a"][0])
    recon = r0.double().sum(dim=(0, 1))
    err = (recon - out["embedding"][0].double()).abs().max().item()
    assert err < 1e-3 * max(1.0, out["embedding"][0].abs().max().item()), f"sum of r != embedding ({err})"
    io = {"images": images, "text_ids": ids.to(torch.int32), "embedding": out["embedding"], "Z": out["Z"],
          "a": out["a"], "s": out["s"], "x": out["x"], "text_embedding": text, "r0": r0}
    write_safetensors(p("io.safetensors"), {k: (v if v.dtype == torch.int32 else v.float()) for k, v in io.items()},
                      {"config": json.dumps(cfg), "r0": "explicit pair contributions H x C x d of image 0"})
    stats = {k: [float(v.float().abs().max()), float(v.float().std())] for k, v in io.items() if k != "text_ids"}
    print(f"[{tag}] io written ({time.time() - t0:.1f}s): max|.|, std = {json.dumps(stats)}", flush=True)
    self_check(model, out, images)
    return model


@torch.no_grad()
def self_check(model, out, images):
    """My explicit attention pool must equal torch's multi_head_attention_forward (as OpenAI's code calls it)."""
    import torch.nn.functional as F
    ap = model.visual.attnpool
    x = out["x"].permute(1, 0, 2)
    ref, _ = F.multi_head_attention_forward(
        query=x[:1], key=x, value=x, embed_dim_to_check=x.shape[-1], num_heads=ap.num_heads,
        q_proj_weight=ap.q_proj.weight, k_proj_weight=ap.k_proj.weight, v_proj_weight=ap.v_proj.weight,
        in_proj_weight=None, in_proj_bias=torch.cat([ap.q_proj.bias, ap.k_proj.bias, ap.v_proj.bias]),
        bias_k=None, bias_v=None, add_zero_attn=False, dropout_p=0, out_proj_weight=ap.c_proj.weight,
        out_proj_bias=ap.c_proj.bias, use_separate_proj_weight=True, training=False, need_weights=False)
    d = (ref[0] - out["embedding"]).abs().max().item()
    assert d < 1e-4 * max(1.0, ref.abs().max().item()), f"attention pool differs from torch MHA by {d}"
    print(f"  self-check vs F.multi_head_attention_forward: max|diff| = {d:.2e}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--rn50", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(2)
    if args.tiny:
        d = os.path.join(ROOT, "test", "fixtures", "tiny")
        build(TINY, d, seed=1234, n_images=2, tag="tiny")
        write_bad_fixtures(os.path.join(d, "bad"))
        write_npy_goldens(os.path.join(d, "npy"))
        write_pickle_goldens(os.path.join(d, "pickle"))
        write_view_goldens(os.path.join(d, "pickle"))
    if args.rn50:
        build(RN50, os.path.join(ROOT, "fixtures-large", "rn50"), seed=50, n_images=2, tag="rn50")


if __name__ == "__main__":
    main()

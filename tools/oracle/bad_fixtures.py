"""Small files that are BAD on purpose (reader error tests) and numpy-written .npy goldens (npy writer tests).
The bad checkpoints use a micro CLIP config (a few thousand parameters) so they cost almost nothing to commit."""
import json
import os

import numpy as np
import torch

from clipmini import CLIP
from ckptio import replace_zip_member, save_state_dict, save_torchscript, write_safetensors

MICRO = dict(vision_layers=[1, 1, 1, 1], vision_width=2, vision_heads=1, image_resolution=32, embed_dim=8,
             context_length=4, vocab_size=16, transformer_width=8, transformer_heads=1, transformer_layers=1)


def micro_model():
    torch.manual_seed(7)
    m = CLIP(MICRO).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn_like(p) * 0.1)
    return m


def write_bad_fixtures(d):
    os.makedirs(d, exist_ok=True)
    p = lambda name: os.path.join(d, name)  # noqa: E731
    m = micro_model()
    sd = {k: v.float() for k, v in m.state_dict().items() if v.is_floating_point()}
    expect = {}

    # A valid micro checkpoint (baseline for the others; also a second config for inference tests).
    write_safetensors(p("micro_ok.safetensors"), sd, {"config": json.dumps(MICRO)})
    expect["micro_ok.safetensors"] = "ok"

    # Truncated TorchScript archive: the zip's central directory is gone.
    ids = torch.tensor([[14, 3, 15, 0]])
    save_torchscript(m, p("_jit.pt"), torch.randn(1, 3, 32, 32), ids, fp16=True)
    raw = open(p("_jit.pt"), "rb").read()
    os.remove(p("_jit.pt"))
    open(p("truncated.pt"), "wb").write(raw[: len(raw) // 2])
    expect["truncated.pt"] = "truncated or corrupt zip"

    # Truncated safetensors (header promises more data than there is).
    st = open(p("micro_ok.safetensors"), "rb").read()
    open(p("truncated.safetensors"), "wb").write(st[: len(st) - 100])
    expect["truncated.safetensors"] = "truncated"

    # Corrupt pickle: the final STOP opcode of data.pkl replaced by an opcode no pickle protocol has (0xf0).
    save_state_dict(m, p("_sd.pt"))
    new = replace_zip_member(p("_sd.pt"), p("bad_opcode.pt"), "data.pkl", lambda b: b[:-1] + b"\xf0")
    os.remove(p("_sd.pt"))
    expect["bad_opcode.pt"] = f"unknown pickle opcode 0xf0 at byte {len(new) - 1}"

    # Missing tensor (torch.save zip, so validation runs after the zip/pickle path).
    torch.save({k: v for k, v in m.state_dict().items() if k != "visual.attnpool.v_proj.weight"}, p("missing_tensor.pt"))
    expect["missing_tensor.pt"] = "key 'visual.attnpool.v_proj.weight': missing tensor (expected shape [64,64])"

    # Mis-shaped tensor: c_proj.weight stored transposed ([C, d] = [64, 8] instead of [8, 64]).
    bad = dict(sd)
    bad["visual.attnpool.c_proj.weight"] = sd["visual.attnpool.c_proj.weight"].t().contiguous()
    write_safetensors(p("misshaped.safetensors"), bad, {"config": json.dumps(MICRO)})
    expect["misshaped.safetensors"] = "expected [8,64], got [64,8]"

    # A ViT-like CLIP state dict (visual.proj, class_embedding, transformer-style visual tower).
    vit = {"visual.class_embedding": torch.randn(16), "visual.positional_embedding": torch.randn(5, 16),
           "visual.proj": torch.randn(16, 8), "visual.conv1.weight": torch.randn(16, 3, 16, 16),
           "visual.ln_pre.weight": torch.ones(16), "visual.transformer.resblocks.0.attn.in_proj_weight": torch.randn(48, 16),
           "text_projection": torch.randn(8, 8), "positional_embedding": torch.randn(4, 8),
           "token_embedding.weight": torch.randn(16, 8), "ln_final.weight": torch.ones(8)}
    torch.save(vit, p("vit_like.pt"))
    expect["vit_like.pt"] = "ViT"

    # A valid torch.save file that is not CLIP at all, and a file that is no checkpoint format.
    torch.save({"fc.weight": torch.randn(4, 3), "fc.bias": torch.zeros(4)}, p("not_clip.pt"))
    expect["not_clip.pt"] = "not a CLIP checkpoint"
    open(p("not_a_checkpoint.bin"), "wb").write(b"hello, I am a text file, not weights\n" * 4)
    expect["not_a_checkpoint.bin"] = "unrecognised checkpoint format"

    with open(p("expected_errors.json"), "w") as f:
        json.dump(expect, f, indent=1)


def write_pickle_goldens(d):
    """Plain-Python pickles (protocols 2 and 4) exercising the opcodes torch files rarely use: LONG1 (big and
    negative ints), BINFLOAT, SHORT_BINUNICODE/BINUNICODE, TUPLE1-3, EMPTY_LIST, APPENDS, SETITEMS, MEMOIZE ..."""
    import pickle
    os.makedirs(d, exist_ok=True)
    obj = {"ints": [0, 1, -2, 255, 256, 65535, 65536, -70000, 2 ** 31 - 1, 2 ** 40, -(2 ** 70)],
           "floats": [1.5, -0.0, 1e-300, 3.141592653589793],
           "strings": ["", "abc", "h\u00e9llo \u6771\u4eac", "x" * 300],
           "tuples": [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)],
           "flags": [True, False, None],
           "nested": {"k": [[1], [2, [3]]]},
           "shared": None}
    shared = [7, 8]
    obj["shared"] = [shared, shared]  # memo (BINPUT/BINGET or MEMOIZE)
    for proto in (2, 4):
        with open(os.path.join(d, f"mixed_p{proto}.pkl"), "wb") as f:
            pickle.dump(obj, f, protocol=proto)


def write_view_goldens(d):
    """torch.save of tensors that are views (offsets, strides, shared storages) in several dtypes."""
    os.makedirs(d, exist_ok=True)
    t = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    views = {"t": t.t(), "row": t[1], "col": t[:, 2], "block": t[1:, 1:3], "whole": t,
             "half_t": t.half().t(), "bf16_row": t.bfloat16()[2], "f64": t.double()[0, 1:],
             "long_cols": torch.arange(6).reshape(2, 3)[:, 1:], "int32": torch.tensor([-5, 6], dtype=torch.int32),
             "u8": torch.tensor([0, 200], dtype=torch.uint8), "bool": torch.tensor([True, False]),
             "scalar": torch.tensor(3.5), "empty": torch.zeros(0, 3)}
    torch.save(views, os.path.join(d, "views.pt"))
    # A training checkpoint: {"epoch", "state_dict": {"module.<key>": ...}} (DataParallel prefix, wrapper dict).
    # "module.tied" is the same tensor object as "module.visual.proj_like" (pickled once, then a memo BINGET).
    w = torch.tensor([1.0, 2.0])
    torch.save({"epoch": 3, "state_dict": {"module.visual.proj_like": w, "module.logit_scale": torch.tensor(4.0),
                                           "module.tied": w}}, os.path.join(d, "wrapped.pt"))


def write_npy_goldens(d):
    """Arrays written by numpy itself; the TS writer must produce byte-identical files."""
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "f4_2x3.npy"), np.arange(6, dtype="<f4").reshape(2, 3) / 4 - 0.5)
    np.save(os.path.join(d, "i4_4.npy"), np.array([-2, 0, 7, 2 ** 31 - 1], dtype="<i4"))
    np.save(os.path.join(d, "u1_2x2x2.npy"), np.arange(8, dtype="|u1").reshape(2, 2, 2) * 30)
    np.save(os.path.join(d, "f8_3.npy"), np.array([np.pi, -1e300, 0.5], dtype="<f8"))
    np.save(os.path.join(d, "f4_scalar.npy"), np.array(1.5, dtype="<f4"))
    np.save(os.path.join(d, "f4_0.npy"), np.zeros((0,), dtype="<f4"))

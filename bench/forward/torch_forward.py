"""PyTorch side of bench/forward: random-weight CLIP-ResNet image tower (tools/oracle/clipmini.py), timed.

    /usr/bin/python3 bench/forward/torch_forward.py {rn50|rn50x16} OUTDIR RUNS [THREADS=2]

Creates OUTDIR/visual.safetensors (float32, OpenAI "visual.*" key names, metadata `config`) if absent, else
loads it; writes OUTDIR/io.safetensors (pixels [1,3,R,R] + torch's embedding) so the ORT side can check
parity on the same weights; prints one JSON line {"times_ms": [...]} of batch-1 forwards.
"""
import json
import os
import struct
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "oracle"))
from clipmini import ModifiedResNet  # noqa: E402

CONFIGS = {
    "rn50": dict(vision_layers=[3, 4, 6, 3], vision_width=64, vision_heads=32, image_resolution=224, embed_dim=1024),
    "rn50x16": dict(vision_layers=[6, 8, 18, 8], vision_width=96, vision_heads=48, image_resolution=384, embed_dim=768),
}


def write_safetensors(path, tensors, metadata):
    header, off = {}, 0
    for k, v in tensors.items():
        n = v.numel() * 4
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + n]}
        off += n
    header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for v in tensors.values():
            f.write(v.contiguous().float().numpy().tobytes())
    os.replace(tmp, path)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    return {k: torch.from_numpy(np.frombuffer(data, dtype=np.float32, count=(e["data_offsets"][1] - e["data_offsets"][0]) // 4,
                                              offset=e["data_offsets"][0]).reshape(e["shape"]).copy())
            for k, e in header.items()}


@torch.no_grad()
def randomize(model, seed):
    """He-scaled convs, sane random BN statistics (no denormals), small-std linears."""
    g = torch.Generator().manual_seed(seed)
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Conv2d):
            m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / m.weight[0].numel()) ** 0.5)
        elif isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            scale = 0.3 if name.endswith("bn3") or name.endswith("downsample.1") else 1.0
            m.weight.copy_((0.5 + torch.rand(n, generator=g)) * scale)
            m.bias.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.2)
            m.running_var.copy_(0.5 + 1.5 * torch.rand(n, generator=g))
        elif isinstance(m, torch.nn.Linear):
            m.weight.copy_(torch.randn(m.weight.shape, generator=g) * m.weight.shape[1] ** -0.5)
            m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.05)
    pe = model.attnpool.positional_embedding
    pe.copy_(torch.randn(pe.shape, generator=g) * pe.shape[1] ** -0.5)


def main():
    name, outdir, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cfg = CONFIGS[name]
    torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else 2)
    os.makedirs(outdir, exist_ok=True)
    model = ModifiedResNet(cfg["vision_layers"], cfg["embed_dim"], cfg["vision_heads"], cfg["image_resolution"],
                           cfg["vision_width"]).eval()
    wpath = os.path.join(outdir, "visual.safetensors")
    if os.path.exists(wpath):
        model.load_state_dict({k[len("visual."):]: v for k, v in read_safetensors(wpath).items()}, strict=False)
    else:
        randomize(model, 7)
        sd = {"visual." + k: v for k, v in model.state_dict().items() if v.is_floating_point()}
        write_safetensors(wpath, sd, {"config": json.dumps(cfg)})
    R = cfg["image_resolution"]
    x = torch.randn(1, 3, R, R, generator=torch.Generator().manual_seed(1))
    times = []
    with torch.no_grad():
        emb = model(x)
        model(x)
        for _ in range(runs):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1000)
    write_safetensors(os.path.join(outdir, "io.safetensors"), {"pixels": x, "embedding": emb}, {})
    print(json.dumps({"times_ms": times, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    main()

"""Linear probe: does the image tower encode the dominant object's shape? (Diagnoses a weak zero-shot attribute:
a probe near chance means the image features lack it, not just the text alignment.)

  /usr/bin/python3 tools/toyclip/probe.py --run build/toy/run2 --heldout build/toy/heldout [--attribute shape]
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import argparse  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from data import load_split, normalise  # noqa: E402
from evaluate import CLASSES  # noqa: E402
from model import CLIP  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--run", required=True)
    p.add_argument("--heldout", required=True)
    p.add_argument("--attribute", default="shape", choices=sorted(CLASSES))
    p.add_argument("--train-frac", type=float, default=0.75)
    a = p.parse_args()
    torch.set_num_threads(2)
    final = torch.load(os.path.join(a.run, "final.pt"))
    cfg = final["cfg"]
    model = CLIP(cfg)
    model.load_state_dict(final["model"])
    model.eval()
    records, images, _, _ = load_split(a.heldout, cfg["image_resolution"], cfg["context_length"], os.path.join(a.run, "cache"))
    with torch.no_grad():
        Z = torch.cat([model.visual.features(normalise(images[i:i + 250])) for i in range(0, len(images), 250)])
        E = torch.cat([model.visual.attnpool(Z[i:i + 250]) for i in range(0, len(Z), 250)])
    values = CLASSES[a.attribute]
    y = torch.tensor([values.index(r["labels"][a.attribute]) for r in records])
    n = int(a.train_frac * len(y))
    torch.manual_seed(0)
    for name, X in (("embedding", E), ("Z spatial mean", Z.mean((2, 3))), ("Z (all positions)", Z.flatten(1))):
        X = (X - X[:n].mean(0)) / (X[:n].std(0) + 1e-6)
        W = torch.zeros(X.shape[1], len(values), requires_grad=True)
        b = torch.zeros(len(values), requires_grad=True)
        opt = torch.optim.Adam([W, b], lr=1e-2)
        for _ in range(300):
            opt.zero_grad()
            loss = F.cross_entropy(X[:n] @ W + b, y[:n]) + 1e-3 * (W ** 2).sum()
            loss.backward()
            opt.step()
        acc = float(((X[n:] @ W + b).argmax(-1) == y[n:]).float().mean())
        print(f"linear probe of {a.attribute} from {name}: held-out accuracy {acc:.3f} (chance {1 / len(values):.3f})")


if __name__ == "__main__":
    main()

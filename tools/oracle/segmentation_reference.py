"""Independent PyTorch reference for clip-nad's segmentation (paper.md §A.9, algorithms.md §C) on the tiny oracle
checkpoint (test/fixtures/tiny/weights.safetensors), written from the paper's description with clipmini's
CLIP-ResNet — not from clip-nad's code:

  pairs     top-k pairs per class by <r_hat^{n,h}, t_p>, r_hat = sign * w/|w| (w^{n,h} = W_O^h W_V^h[:, n]);
            logit[p,i] = mean over those pairs of Z_{i,n} * cos(r_i^h, t_p), r_i^h = a_i^h W_O^h (W_V^h x_i + b_V^h)
            + b_O/((K+1)H), with the last token of Z and of cos(r^h, t) replaced by the mean of its W, N, NW neighbours;
            computed literally, pair by pair, in float64
  neurons   the same with cos(...) = 1;  heads: the same with Z = 1
  maskclip  cos(c_proj(v_proj(z_i)), t_p);  maskclip+pos: z_i + p_i first
  selfself  per head softmax(QQ^T/sqrt(dh)) + softmax(KK^T/sqrt(dh)) over the K+1 pool tokens, o = c_proj(A V), cos
  classes   raw rows centred over the classes, then L2-normalised
  slide     mmseg slide_inference (grids, clamped windows, crop logits bilinearly resized to the crop, summed,
            divided by the window count) after mmcv's keep-ratio rescale (bilinear, half-pixel, rounded to uint8),
            then F.interpolate(bilinear, align_corners=False) to the original size

Writes test/fixtures/segmentation/ (committed): two PNG images, raw class embeddings, random pair signs, and the
expected token logits (whole image) of every method, plus slide-inference logits for two methods.
Run: /usr/bin/python3 tools/oracle/segmentation_reference.py   (Debian python3-torch, numpy; ~10 s)
"""
import json
import math
import os
import struct
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from clipmini import CLIP  # noqa: E402
from ckptio import read_safetensors  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "segmentation")
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]
P = 5
K_PAIRS = 7  # besides the default k (round(20000 * H * C / 147456))


def write_png(path, rgb):
    """8-bit RGB PNG with the standard library (no PIL here)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    open(path, "wb").write(png)


def pattern(w, h, seed):
    """Smooth colour blobs + blocks: token maps that differ across the image."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    for _ in range(6):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(10, 40)
        col = rng.uniform(0, 255, 3)
        m = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))[..., None]
        img = img * (1 - m) + col * m
    b = 16
    blocks = rng.integers(0, 256, (h // b + 1, w // b + 1, 3)).repeat(b, 0).repeat(b, 1)[:h, :w]
    img = np.where(((xx // b + yy // b) % 4 == 0)[..., None], blocks, img)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def normalise(u8):
    x = torch.from_numpy(u8.astype(np.float32)).permute(2, 0, 1) / np.float32(255)
    mean = torch.tensor(MEAN, dtype=torch.float32)[:, None, None]
    std = torch.tensor(STD, dtype=torch.float32)[:, None, None]
    return ((x - mean) / std).float()


def centred_classes(raw):
    t = raw.double() - raw.double().mean(0, keepdim=True)
    return t / t.norm(dim=1, keepdim=True)


def sink_fix(m, grid):
    """m: (..., K) maps over a grid x grid token grid; the last token := mean of W, N, NW (a copy)."""
    m = m.clone()
    K = grid * grid
    m[..., K - 1] = (m[..., K - 2] + m[..., K - 1 - grid] + m[..., K - 2 - grid]) / 3
    return m


class Reference:
    def __init__(self, model, T):
        ap = model.visual.attnpool
        self.model, self.ap, self.T = model, ap, T  # T: P x d centred unit rows (float64)
        self.H = ap.num_heads
        self.C = ap.v_proj.weight.shape[0]
        self.dh = self.C // self.H
        self.Wv, self.bv = ap.v_proj.weight.double(), ap.v_proj.bias.double()
        self.Wo, self.bo = ap.c_proj.weight.double(), ap.c_proj.bias.double()
        self.pos = ap.positional_embedding.double()
        self.d = self.Wo.shape[0]

    @torch.no_grad()
    def internals(self, pixels):
        Z = self.model.visual.features(pixels[None])  # 1 x C x g x g
        x = self.ap.tokens(Z)
        a = self.ap.attention(x)
        g = Z.shape[-1]
        return Z[0].reshape(self.C, g * g).double(), x[0].double(), a[0].double(), g

    def pair_directions(self):
        w = torch.zeros(self.H, self.C, self.d, dtype=torch.float64)
        for h in range(self.H):
            sl = slice(h * self.dh, (h + 1) * self.dh)
            w[h] = (self.Wo[:, sl] @ self.Wv[sl, :]).T
        return w

    def select(self, k, sign):
        w = self.pair_directions()
        rhat = sign[:, :, None] * w / w.norm(dim=2, keepdim=True)
        scores = torch.einsum("hnd,pd->phn", rhat, self.T).reshape(self.T.shape[0], -1)
        # best first; ties to the lower pair index h*C + n
        return [sorted(range(scores.shape[1]), key=lambda u: (-scores[p, u].item(), u))[:k]
                for p in range(scores.shape[0])]

    def head_token_cos(self, x, a):
        """cos(r_i^h, t_p) for spatial tokens: H x K x P."""
        L = x.shape[0]
        v = x @ self.Wv.T + self.bv
        out = []
        for h in range(self.H):
            sl = slice(h * self.dh, (h + 1) * self.dh)
            r = a[h][:, None] * (v[:, sl] @ self.Wo[:, sl].T) + self.bo[None] / (L * self.H)
            r = r[1:] / r[1:].norm(dim=1, keepdim=True)
            out.append(r @ self.T.T)
        return torch.stack(out)

    def pair_logits(self, pixels, k, sign, factor):
        Z, x, a, g = self.internals(pixels)
        Lsim = self.head_token_cos(x, a).permute(2, 0, 1)  # P x H x K
        Zf, Lf = sink_fix(Z, g), sink_fix(Lsim, g)
        sel = self.select(k, sign)
        P_, K = self.T.shape[0], g * g
        out = torch.zeros(P_, K, dtype=torch.float64)
        for p in range(P_):
            for u in sel[p]:
                h, n = divmod(u, self.C)
                zf = Zf[n] if factor != "heads" else torch.ones(K, dtype=torch.float64)
                lf = Lf[p, h] if factor != "neurons" else torch.ones(K, dtype=torch.float64)
                out[p] += zf * lf
            out[p] /= k
        return out.reshape(P_, g, g)

    def maskclip_logits(self, pixels, with_pos):
        Z, x, a, g = self.internals(pixels)
        z = Z.T  # K x C
        if with_pos:
            z = z + self.pos[1:]
        feat = (z @ self.Wv.T + self.bv) @ self.Wo.T + self.bo
        feat = feat / feat.norm(dim=1, keepdim=True)
        return (feat @ self.T.T).T.reshape(-1, g, g)

    def selfself_logits(self, pixels):
        Z, x, a, g = self.internals(pixels)
        ap = self.ap
        q = x @ ap.q_proj.weight.double().T + ap.q_proj.bias.double()
        kk = x @ ap.k_proj.weight.double().T + ap.k_proj.bias.double()
        v = x @ self.Wv.T + self.bv
        heads = []
        for h in range(self.H):
            sl = slice(h * self.dh, (h + 1) * self.dh)
            qh, kh, vh = q[:, sl], kk[:, sl], v[:, sl]
            A = torch.softmax(qh @ qh.T / math.sqrt(self.dh), -1) + torch.softmax(kh @ kh.T / math.sqrt(self.dh), -1)
            heads.append(A @ vh)
        o = torch.cat(heads, 1) @ self.Wo.T + self.bo
        o = o[1:] / o[1:].norm(dim=1, keepdim=True)
        return (o @ self.T.T).T.reshape(-1, g, g)

    def method(self, name, pixels, k, sign):
        if name in ("pairs", "neurons", "heads"):
            return self.pair_logits(pixels, k, sign, {"pairs": "product", "neurons": "neurons", "heads": "heads"}[name])
        if name == "maskclip":
            return self.maskclip_logits(pixels, False)
        if name == "maskclip+pos":
            return self.maskclip_logits(pixels, True)
        return self.selfself_logits(pixels)


def rescale(u8, short):
    """mmcv imrescale for Resize(scale=(2048, short), keep_ratio=True), bilinear, rounded half up to uint8."""
    h, w, _ = u8.shape
    f = min(2048 / max(h, w), short / min(h, w))
    nw, nh = int(w * f + 0.5), int(h * f + 0.5)
    x = torch.from_numpy(u8.astype(np.float64)).permute(2, 0, 1)[None]
    y = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False)[0]
    return torch.clamp(torch.floor(y + 0.5), 0, 255).permute(1, 2, 0).numpy().astype(np.uint8)


def slide(ref, name, u8, crop, stride, short, k, sign, R):
    """mmseg slide_inference on the rescaled image, then resize to the original size."""
    H0, W0, _ = u8.shape
    img = rescale(u8, short)
    H, W, _ = img.shape
    h_grids = max(H - crop + stride - 1, 0) // stride + 1
    w_grids = max(W - crop + stride - 1, 0) // stride + 1
    preds = torch.zeros(P, H, W, dtype=torch.float64)
    count = torch.zeros(1, H, W, dtype=torch.float64)
    for hi in range(h_grids):
        for wi in range(w_grids):
            y1, x1 = hi * stride, wi * stride
            y2, x2 = min(y1 + crop, H), min(x1 + crop, W)
            y1, x1 = max(y2 - crop, 0), max(x2 - crop, 0)
            assert crop == R
            tl = ref.method(name, normalise(np.ascontiguousarray(img[y1:y2, x1:x2])), k, sign)
            up = F.interpolate(tl[None], size=(crop, crop), mode="bilinear", align_corners=False)[0]
            preds += F.pad(up, (x1, W - x2, y1, H - y2))
            count[:, y1:y2, x1:x2] += 1
    assert (count > 0).all()
    logits = preds / count
    return F.interpolate(logits[None], size=(H0, W0), mode="bilinear", align_corners=False)[0], h_grids * w_grids


@torch.no_grad()
def main():
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    sd, meta = read_safetensors(os.path.join(ROOT, "test", "fixtures", "tiny", "weights.safetensors"))
    cfg = json.loads(meta["config"])
    model = CLIP(cfg).eval()
    model.load_state_dict(sd, strict=False)
    R = cfg["image_resolution"]
    ap = model.visual.attnpool
    H, C, d = ap.num_heads, ap.v_proj.weight.shape[0], ap.c_proj.weight.shape[0]
    rng = np.random.default_rng(77)
    raw = rng.normal(size=(P, d)).astype(np.float32)
    np.save(os.path.join(OUT, "class_embeddings.npy"), raw)
    signs = np.where(rng.random((H, C)) < 0.3, -1, 1).astype(np.int8)
    np.save(os.path.join(OUT, "pair_signs.npy"), signs.astype(np.float32))
    square = pattern(R, R, 5)
    write_png(os.path.join(OUT, "square.png"), square)
    wide = pattern(130, 100, 6)
    write_png(os.path.join(OUT, "wide.png"), wide)
    ref = Reference(model, centred_classes(torch.from_numpy(raw)))
    k_default = max(1, round(20000 * H * C / (48 * 3072)))
    plus = torch.ones(H, C, dtype=torch.float64)
    pixels = normalise(square)
    cases = {}
    for name in ["pairs", "neurons", "heads", "maskclip", "maskclip+pos", "selfself"]:
        tl = ref.method(name, pixels, k_default, plus)
        np.save(os.path.join(OUT, f"token_logits_{name}.npy"), tl.float().numpy())
        k = k_default if name in ("pairs", "neurons", "heads") else None
        cases[name] = {"file": f"token_logits_{name}.npy", "k": k}
    for name in ["pairs", "neurons", "heads"]:
        tl = ref.method(name, pixels, K_PAIRS, torch.from_numpy(signs).double())
        np.save(os.path.join(OUT, f"token_logits_{name}_k{K_PAIRS}_signed.npy"), tl.float().numpy())
    slide_cases = {}
    for name in ["pairs", "maskclip"]:
        logits, windows = slide(ref, name, wide, R, R // 2, 104, k_default, plus, R)
        np.save(os.path.join(OUT, f"slide_logits_{name}.npy"), logits.float().numpy())
        slide_cases[name] = {"file": f"slide_logits_{name}.npy", "windows": windows}
    info = {
        "model": "test/fixtures/tiny/weights.safetensors", "P": P, "kDefault": k_default, "kSigned": K_PAIRS,
        "whole": {"image": "square.png", "cases": cases},
        "signed": {"signs": "pair_signs.npy",
                   "files": {n: f"token_logits_{n}_k{K_PAIRS}_signed.npy" for n in ["pairs", "neurons", "heads"]}},
        "slide": {"image": "wide.png", "crop": R, "stride": R // 2, "shortSide": 104, "cases": slide_cases},
    }
    json.dump(info, open(os.path.join(OUT, "cases.json"), "w"), indent=1)
    print("wrote", OUT, json.dumps({k: v for k, v in info.items() if k != "whole"}))


if __name__ == "__main__":
    main()

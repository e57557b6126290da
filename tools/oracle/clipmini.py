"""clipmini: an independent PyTorch implementation of CLIP-ResNet (ModifiedResNet + AttentionPool2d) and the
CLIP text transformer, with OpenAI state-dict key names (shared/docs/model.md §1, §2.1).

It is the numerical oracle for clip-nad: the attention pool is written out by hand so that it can also return the
decomposition intermediates Z, a, s, and (slowly, per image) the explicit neuron x head contribution tensor r.
Run with Debian's /usr/bin/python3 (torch 1.13).
"""
from collections import OrderedDict
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Bottleneck(nn.Module):
    """Anti-aliased bottleneck: AvgPool(stride) after conv2 instead of a strided conv."""
    expansion = 4

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.avgpool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride > 1 or inplanes != planes * 4:
            # Keys "0" (conv) and "1" (bn); "-1" is the parameter-free AvgPool.
            self.downsample = nn.Sequential(OrderedDict([
                ("-1", nn.AvgPool2d(stride)),
                ("0", nn.Conv2d(inplanes, planes * 4, 1, bias=False)),
                ("1", nn.BatchNorm2d(planes * 4)),
            ]))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.avgpool(out)
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class AttentionPool2d(nn.Module):
    """CLIP's attention pool, written out explicitly (only the pooled mean token is used as query)."""

    def __init__(self, grid, C, heads, out_dim):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(grid * grid + 1, C) / C ** 0.5)
        self.k_proj = nn.Linear(C, C)
        self.q_proj = nn.Linear(C, C)
        self.v_proj = nn.Linear(C, C)
        self.c_proj = nn.Linear(C, out_dim)
        self.num_heads = heads

    def tokens(self, Z):
        """x: B x (K+1) x C, row 0 = spatial mean, all rows + positional embedding."""
        B, C, h, w = Z.shape
        x = Z.reshape(B, C, h * w).permute(0, 2, 1)
        x = torch.cat([x.mean(dim=1, keepdim=True), x], dim=1)
        return x + self.positional_embedding[None].to(x.dtype)

    def attention(self, x):
        """a: B x H x (K+1), softmax attention of the pooled (index 0) query."""
        B, L, C = x.shape
        H = self.num_heads
        d = C // H
        q = F.linear(x[:, 0], self.q_proj.weight, self.q_proj.bias).reshape(B, H, d)
        k = F.linear(x, self.k_proj.weight, self.k_proj.bias).reshape(B, L, H, d)
        logits = torch.einsum("bhd,blhd->bhl", q, k) / math.sqrt(d)
        return logits.softmax(dim=-1)

    def forward_all(self, Z):
        """Returns embedding (B x d), a (B x H x (K+1)), s (B x H x C), x (B x (K+1) x C)."""
        x = self.tokens(Z)
        B, L, C = x.shape
        H = self.num_heads
        hd = C // H
        a = self.attention(x)
        v = F.linear(x, self.v_proj.weight, self.v_proj.bias).reshape(B, L, H, hd)
        o = torch.einsum("bhl,blhd->bhd", a, v).reshape(B, C)
        emb = F.linear(o, self.c_proj.weight, self.c_proj.bias)
        s = torch.einsum("bhl,blc->bhc", a, x)
        return emb, a, s, x

    def forward(self, Z):
        return self.forward_all(Z)[0]


class ModifiedResNet(nn.Module):
    def __init__(self, layers, output_dim, heads, input_resolution, width):
        super().__init__()
        self.input_resolution = input_resolution
        self.conv1 = nn.Conv2d(3, width // 2, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width // 2)
        self.conv2 = nn.Conv2d(width // 2, width // 2, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width // 2)
        self.conv3 = nn.Conv2d(width // 2, width, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        self.avgpool = nn.AvgPool2d(2)
        self.relu = nn.ReLU()
        self._inplanes = width
        self.layer1 = self._make_layer(width, layers[0])
        self.layer2 = self._make_layer(width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(width * 8, layers[3], stride=2)
        self.attnpool = AttentionPool2d(input_resolution // 32, width * 32, heads, output_dim)

    def _make_layer(self, planes, blocks, stride=1):
        mods = [Bottleneck(self._inplanes, planes, stride)]
        self._inplanes = planes * 4
        mods += [Bottleneck(self._inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*mods)

    def features(self, x):
        """Z: the last layer4 output, B x C x h x w."""
        x = x.to(self.conv1.weight.dtype)
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        x = self.relu(self.bn3(self.conv3(x)))
        x = self.avgpool(x)
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x):
        return self.attnpool(self.features(x))


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width, heads, attn_mask):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(width, width * 4)), ("gelu", QuickGELU()), ("c_proj", nn.Linear(width * 4, width)),
        ]))
        self.ln_2 = nn.LayerNorm(width)
        self.attn_mask = attn_mask  # plain attribute, not state dict (as in OpenAI's model)

    def forward(self, x):
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=self.attn_mask.to(x.dtype))[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, attn_mask):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads, attn_mask) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class CLIP(nn.Module):
    """Top module: attribute tree = OpenAI key names (visual.*, transformer.*, token_embedding, ...)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = dict(cfg)
        self.context_length = cfg["context_length"]
        self.visual = ModifiedResNet(cfg["vision_layers"], cfg["embed_dim"], cfg["vision_heads"],
                                     cfg["image_resolution"], cfg["vision_width"])
        mask = torch.full((cfg["context_length"], cfg["context_length"]), float("-inf")).triu_(1)
        self.transformer = Transformer(cfg["transformer_width"], cfg["transformer_layers"],
                                       cfg["transformer_heads"], mask)
        self.vocab_size = cfg["vocab_size"]
        self.token_embedding = nn.Embedding(cfg["vocab_size"], cfg["transformer_width"])
        self.positional_embedding = nn.Parameter(torch.empty(cfg["context_length"], cfg["transformer_width"]))
        self.ln_final = nn.LayerNorm(cfg["transformer_width"])
        self.text_projection = nn.Parameter(torch.empty(cfg["transformer_width"], cfg["embed_dim"]))
        self.logit_scale = nn.Parameter(torch.ones([]) * math.log(1 / 0.07))

    def encode_image(self, image):
        return self.visual(image)

    def encode_text(self, ids):
        dt = self.text_projection.dtype
        x = self.token_embedding(ids).to(dt) + self.positional_embedding.to(dt)
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)  # NLD -> LND -> NLD
        x = self.ln_final(x)
        # EOT pooling: EOT has the largest id in every row.
        return x[torch.arange(x.shape[0]), ids.argmax(dim=-1)] @ self.text_projection

    def forward(self, image, ids):
        return self.encode_image(image), self.encode_text(ids)


@torch.no_grad()
def image_intermediates(model, images):
    """embedding, Z, a, s (and x, the tokens) for a batch of images, in float32."""
    Z = model.visual.features(images)
    emb, a, s, x = model.visual.attnpool.forward_all(Z)
    return {"embedding": emb, "Z": Z, "a": a, "s": s, "x": x}


@torch.no_grad()
def explicit_pairs(attnpool, x, a):
    """Per-pair contributions r (H x C x d) for ONE image, computed the slow direct way (no s, no shortcuts):
    r[h,n] = sum_i a_i^h W_O^h (W_V^h[:,n] x_{i,n} + b_V^h / C) + b_O / (C*H).  Sum over (h,n) = embedding.
    x: (K+1) x C tokens (with positional embedding), a: H x (K+1)."""
    L, C = x.shape
    H = a.shape[0]
    hd = C // H
    Wv, bv = attnpool.v_proj.weight.double(), attnpool.v_proj.bias.double()
    Wo, bo = attnpool.c_proj.weight.double(), attnpool.c_proj.bias.double()
    x, a = x.double(), a.double()
    d = Wo.shape[0]
    r = torch.zeros(H, C, d, dtype=torch.float64)
    for h in range(H):
        sl = slice(h * hd, (h + 1) * hd)
        WoH = Wo[:, sl]                      # d x hd
        dirs = WoH @ Wv[sl, :]                # d x C: column n = W_O^h W_V^h[:, n]
        const = WoH @ bv[sl] / C             # d
        for i in range(L):
            # token i's contribution through neuron n and head h
            r[h] += a[h, i] * (x[i][:, None] * dirs.T + const[None, :])
        r[h] += bo[None, :] / (C * H)
    return r.float()


def openai_state_dict_keys(cfg):
    """The key set a CLIP-ResNet state dict of this config must have (without num_batches_tracked)."""
    return [k for k in CLIP(cfg).state_dict().keys() if not k.endswith("num_batches_tracked")]

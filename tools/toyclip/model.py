"""Toy CLIP model: the oracle's clipmini.CLIP (OpenAI key names) plus OpenAI's parameter initialisation."""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracle"))
from clipmini import CLIP  # noqa: E402,F401


def initialize_parameters(model):
    """As openai/CLIP model.py initialize_parameters (ResNet branch)."""
    nn.init.normal_(model.token_embedding.weight, std=0.02)
    nn.init.normal_(model.positional_embedding, std=0.01)
    ap = model.visual.attnpool
    std = ap.c_proj.in_features ** -0.5
    for lin in (ap.q_proj, ap.k_proj, ap.v_proj, ap.c_proj):
        nn.init.normal_(lin.weight, std=std)
    for layer in (model.visual.layer1, model.visual.layer2, model.visual.layer3, model.visual.layer4):
        for name, p in layer.named_parameters():
            if name.endswith("bn3.weight"):
                nn.init.zeros_(p)
    width = model.cfg["transformer_width"]
    layers = model.cfg["transformer_layers"]
    proj_std = (width ** -0.5) * ((2 * layers) ** -0.5)
    attn_std = width ** -0.5
    fc_std = (2 * width) ** -0.5
    for block in model.transformer.resblocks:
        nn.init.normal_(block.attn.in_proj_weight, std=attn_std)
        nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
        nn.init.normal_(block.mlp.c_fc.weight, std=fc_std)
        nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
    nn.init.normal_(model.text_projection, std=width ** -0.5)


def build(cfg, seed):
    torch.manual_seed(seed)
    model = CLIP(cfg)
    initialize_parameters(model)
    return model


def export_state_dict(model):
    """OpenAI-named tensors without BN num_batches_tracked (not part of the checkpoint format we ship)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}

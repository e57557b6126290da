"""Writes assets/toy/MODEL_CARD.md from a run's config, recipe and held-out metrics."""
import json


def pct(x):
    return f"{100 * x:.1f} %"


def write_model_card(path, cfg, recipe, m, data_commands, train_commands, sha, size_bytes, n_params, earlier=None):
    rows = []
    for attr in ("shape", "colour", "pattern", "size", "background", "texture"):
        rows.append(f"| {attr} | {pct(m[f'zeroshot_{attr}'])} | {pct(m[f'zeroshot_{attr}_single'])} | {pct(m[f'chance_{attr}'])} |")
    minutes = recipe["train_seconds"] / 60
    earlier_text = ""
    if earlier:
        earlier_text = (f" After stage 1 alone (same evaluation): shape {pct(earlier['zeroshot_shape'])}, colour {pct(earlier['zeroshot_colour'])}, "
                        f"pattern {pct(earlier['zeroshot_pattern'])}, image→caption R@1 {pct(earlier['i2t_R@1'])}.")
    weakest = min(("shape", "colour", "pattern", "texture"), key=lambda k: m[f"zeroshot_{k}"] - m[f"chance_{k}"])
    stage_lines = "\n".join(
        f"- Stage {i + 1}: lr {st['args']['lr']}, batch {st['args']['batch']}, warm-up {st['args']['warmup']}, weight decay {st['args']['wd']}, "
        f"hard-batch share {st['args'].get('hard_frac', 0.0)}: {st['steps']} steps ({st['epochs']} epochs) in {st['train_seconds'] / 60:.1f} min, "
        f"final loss {st['final_loss']:.3f}."
        for i, st in enumerate(recipe["stages"]))
    text = f"""# toy — a small CLIP-ResNet trained on the clip-nad toy world

`assets/toy/toyclip.safetensors` — fp16, OpenAI CLIP key names (`visual.*`, `transformer.*`, `token_embedding.weight`, …),
{size_bytes / 1e6:.1f} MB, sha256 `{sha}`. `loadModel("toy")` / `--model toy` resolve to it.

## Architecture (same family as OpenAI RN50)
ModifiedResNet (3-conv stem, anti-aliased bottlenecks, AttentionPool2d with head dim 64) + CLIP text transformer (QuickGELU, causal mask, EOT pooling).

| input | grid | vision width | layers | neurons C | heads H | embed d | text width × layers (heads) | ctx | vocab | params |
|---|---|---|---|---|---|---|---|---|---|---|
| {cfg['image_resolution']} px | {cfg['image_resolution'] // 32}×{cfg['image_resolution'] // 32} | {cfg['vision_width']} | {cfg['vision_layers']} | {cfg['vision_width'] * 32} | {cfg['vision_heads']} | {cfg['embed_dim']} | {cfg['transformer_width']} × {cfg['transformer_layers']} ({cfg['transformer_heads']}) | {cfg['context_length']} | {cfg['vocab_size']} | {n_params / 1e6:.2f} M |

The head count is not recoverable from weight shapes; it is stored in the safetensors metadata (`vision_heads`, and `config` JSON).
Tokenizer: the real CLIP BPE (`assets/text/bpe_simple_vocab_16e6.txt.gz`), context length {cfg['context_length']} (captions longer than that are truncated open_clip-style, EOT last).
Preprocessing: images are generated at {cfg['image_resolution']} px; CLIP mean/std normalisation.

## Training
- Data: build/toy/train — 40 000 toy-world scenes (seed 1, 1–4 objects: 8 shapes × 10 colours × 4 fill patterns × 2 sizes, 10 background colours × 4 textures), 5 captions each; stage 2 also build/toy/train_groups (seed 3, 16 000 minimal-pair scenes).
- Recipe: {recipe['optimizer']}; {recipe['loss']}; {recipe['schedule']}; {recipe['augmentation']}.
{stage_lines}
- Total: **{recipe['steps']} steps = {recipe['epochs']} epochs in {minutes:.1f} min** of optimisation wall time (Debian python3-torch 1.13 on CPU, 2 threads,
  on the shared 2-vCPU development box while other jobs ran), plus ~1 min to decode the PNGs once. Final training loss (EMA) {recipe['final_loss']:.3f}.
- Why two stages: after stage 1 the model matched images and captions well (retrieval) but had not learned shape: background,
  texture, colour and pattern already tell apart the scenes of a random batch, so shape was never needed. Stage 2 mixes in
  batches of minimal pairs (`build/toy/train_groups`, 2000 groups × 8 scenes identical but for the dominant object's shape),
  where shape is the only cue.{earlier_text}

## Held-out evaluation (seed 2, {m['n']} scenes, {m['n_single']} with a single object; fp16-rounded weights evaluated in fp32)
Zero-shot: the label is the attribute of the dominant (largest) object, or of the background. Class embeddings average
prompts over templates ("a …", "a photo of a …", "a drawing of a …") and over the other attributes (e.g. colour
"red" = mean of "a red circle", "a red square", …; texture = "a circle on a red grainy background", …).

| attribute | all scenes | single-object scenes | chance |
|---|---|---|---|
{chr(10).join(rows)}

Retrieval against the canonical caption (caption 0: every object with size, colour, pattern and shape, then the background), among all {m['n']} held-out scenes:

| | R@1 | R@5 |
|---|---|---|
| image → caption | {pct(m['i2t_R@1'])} | {pct(m['i2t_R@5'])} |
| caption → image | {pct(m['t2i_R@1'])} | {pct(m['t2i_R@5'])} |

## Reproduce
```sh
{chr(10).join(data_commands)}
{chr(10).join(train_commands)}
/usr/bin/python3 tools/toyclip/export.py --run build/toy/run{len(train_commands) if len(train_commands) > 1 else ""} --heldout build/toy/heldout{" --earlier-metrics build/toy/run/metrics_fp16.json" if len(train_commands) > 1 else ""}
```
`train.py` ends by running `tools/toyclip/export.py`, which writes this card, the safetensors and the golden outputs
(`test/fixtures/toy/`). The schedule follows the wall-clock budget (`--minutes`), so a re-run on another machine takes a
different number of steps when the time budget binds; pass `--steps N --minutes 0` (N from the stage lines above) for a purely
step-based schedule of the same length. Stage 1 ends with its own export, which stage 2's export overwrites.

## Limitations
A toy: it knows only this world's 8 shapes, 10 colours, 4 patterns, 2 sizes and 4 background textures, at 128 px.
Its weakest object attribute (zero-shot, above chance) is **{weakest}** ({pct(m[f"zeroshot_{weakest}"])} against a chance of
{pct(m[f"chance_{weakest}"])}): within the time budget this width-16, one-block-per-stage network did not learn to tell the shapes apart
well, so analyses that look for shape-selective neurons or heads should expect weak ones; colour, background, size, texture and
(less so) pattern are learned. Small objects (about 25 px across) are the hardest.
Metrics as JSON: `assets/toy/metrics.json`; recipe, config and commands: the safetensors metadata.
"""
    with open(path, "w") as f:
        f.write(text)
    with open(path.replace("MODEL_CARD.md", "metrics.json"), "w") as f:
        json.dump(m, f, indent=1)

"""Goldens for clip-nad's text + image I/O (tokenizer, HTML entity tables, PIL preprocessing).

Run with /usr/bin/python3 (numpy, PIL 9.4, python3-regex):
    /usr/bin/python3 tools/oracle/make_goldens_io.py [tokenizer] [entities] [preprocess]
Writes compact files under test/fixtures/io/ (and src/clip/htmlEntities.json for `entities`).
"""
import html
import io
import json
import os
import random
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simple_tokenizer import tokenize  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "io")
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


# ---------------------------------------------------------------- tokenizer
def tokenizer_texts():
    texts = [
        "a photo of a cat", "A small RED circle on a striped background.", "Hello,  world!! 123 don't",
        "naïve café 東京", "", "   ", "\t\n  leading and trailing whitespace \r\n", "UPPER CASE ONLY",
        "MiXeD CaSe WoRdS", "don't DON'T they'll I'M we're you've she'd it's", "rock'n'roll o'clock",
        "multiple     spaces\t\ttabs\n\nnewlines", "nbsp\u00a0here and\u3000ideographic space",
        "nel\u0085line and bom\ufeffchar and \u001cfile sep", "zero\u200bwidth space", "em\u2003space",
        "price: $1,234.56 (approx.)", "email@example.com http://example.com/path?x=1&y=2",
        "!!!???...;;;:::", "#hashtag @mention", "a-b_c/d\\e|f", "\"quoted\" 'single' `back`",
        "curly \u201cquotes\u201d and \u2018apostrophes\u2019", "emoji 😀🐱🚀 👍🏽", "👨‍👩‍👧 family",
        "Ελληνικά ΟΔΟΣ σοφός", "Straße GROSS", "İstanbul ıi", "Ünïcödé ÀÉÎÕÜ", "Ⅻ roman ½ ¾ ² ³",
        "e\u0301 combining (NFD)", "Å vs A\u030a", "ﬁ ligature ﬀ", "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
        "中文字符测试", "日本語のテキスト、カタカナ", "한국어 텍스트", "العربية نص", "עברית", "हिन्दी पाठ",
        "ไทย", "русский ТЕКСТ", "tiếng Việt", "123456789 0", "3.14159", "1st 2nd 3rd 4th",
        "&amp; &lt;b&gt; &quot;x&quot; &#39;y&#39; &#x27;z&#x27;", "&amp;amp; double escaped", "&ampx &notit; &notin;",
        "&#0; &#128; &#x80; &#xD800; &#1114112; &#65;&#x42;&#X43;", "&#11; &#x1F600; &#99999999999999999999;",
        "AT&T R&D fish & chips", "&unknownentity; &; &#; &#x;", "&lt &gt &copy2024", "&AMP; &Amp;",
        "<|startoftext|> inside <|endoftext|>", "<|ENDOFTEXT|> upper", "a<b>c</b>d", "x</w>y",
        "tab\tseparated\tvalues", "line\u2028sep\u2029para", "soft\u00adhyphen", "control\u0007bell",
        "a" * 100, "ab " * 60, "supercalifragilisticexpialidocious", "antidisestablishmentarianism",
        "pneumonoultramicroscopicsilicovolcanoconiosis", "word" + "!" * 30, "🙂" * 40,
        " ".join(["photo"] * 80), " ".join(["a photo of a dog"] * 20), " ".join(str(i) for i in range(100)),
        "The quick brown fox jumps over the lazy dog. " * 5, "mixed123numbers456inside", "ABC123def",
        "x²+y²=z²", "H₂O", "°C ± µm", "™ © ®", "←→↑↓", "∑∫√∞", "♠♣♥♦", "…—–", "§¶†‡",
        "¿Qué? ¡Sí!", "l'été dernier", "c'est la vie", "it's 5 o'clock", "'s 't 're", "''''",
        "\u00a0\u00a0", "\ufeff", "\u0085", "x\u001dy", "end.", ".start",
        # ftfy's text-level fixers
        "don\u2019t stop \u2018quoted\u2019 \u201cdouble\u201d \u201equote\u201f \u02bcokina",
        "\ufb01ne \ufb02ower \ufb03ce \u0133s \u01c6ungla \u0149", "\uff28\uff45\uff4c\uff4c\uff4f\uff01 \uff11\uff12\uff13 \uff61\uff76\uff80\uff76\uff85",
        "\u0092s c1 \u0093quote\u0094 \u0080 price \u0085 dots \u0081", "\x1b[36;44mblue text\x1b[0m plain",
        "ctrl\x00\x01\x7f chars \u206a\ufff9\ufffc here", "line1\r\nline2\rline3",
        "&amp;amp;amp; triple", "&EACUTE;t&Eacute; P&EACUTE;REZ &NTILDE;", "&#x41;&#66;&#X43; &#0; &#xD800;",
        "<b>bold &amp; tags</b> &lt;keep&gt;", "first &amp; line\n<i>second</i> &amp; line\nthird &amp;",
        "x&notit; y&not;z", "caf\u00e9 vs cafe\u0301 vs CAF\u00c9", "mojibake: s\u00c3\u00b3 and caf\u00c3\u00a9",
    ]
    templates = json.load(open(os.path.join(ROOT, "assets", "text", "text_templates.json")))
    classes = json.load(open(os.path.join(ROOT, "assets", "text", "class_names.json")))
    tmpl = next(iter(templates.values()))
    names = next(iter(classes.values()))
    rng = random.Random(0)
    for _ in range(50):
        texts.append(rng.choice(tmpl).format(rng.choice(names)))
    words = [w.strip() for w in open(os.path.join(ROOT, "assets", "text", "words_30k.txt")) if w.strip()]
    for _ in range(45):
        ws = [rng.choice(words) for _ in range(rng.randint(1, 90))]
        ws = [w.upper() if rng.random() < 0.2 else w.capitalize() if rng.random() < 0.2 else w for w in ws]
        texts.append(rng.choice([" ", "  ", ", ", "\t"]).join(ws))
    return texts


def check_against_ftfy(texts):
    """When the real ftfy is importable, the Python port's fix_text_lite must equal ftfy.fix_text except where ftfy
    repairs mojibake (fix_encoding, not ported): those are reported, not hidden."""
    try:
        import ftfy
    except ImportError:
        print("ftfy not importable: skipped the cross-check of fix_text_lite against ftfy.fix_text")
        return
    from simple_tokenizer import fix_text_lite
    differ = [t for t in texts if fix_text_lite(t) != ftfy.fix_text(t)]
    mojibake = [t for t in differ if fix_text_lite(t) == ftfy.fix_text(t, fix_encoding=False)]
    print(f"ftfy {ftfy.__version__}: fix_text_lite == ftfy.fix_text on {len(texts) - len(differ)}/{len(texts)} texts;",
          f"{len(mojibake)} differ only by mojibake repair: {mojibake!r}")
    assert len(differ) == len(mojibake), [t for t in differ if t not in mojibake]


def make_tokenizer():
    texts = tokenizer_texts()
    check_against_ftfy(texts)
    rows = []
    for t in texts:
        ids = tokenize([t], 77, truncate=True)[0]
        n = int(np.nonzero(ids)[0].max()) + 1
        rows.append({"text": t, "ids": ids[:n].tolist()})
    short = []  # context_length 16, both truncate modes
    for t in texts[:40]:
        ids = tokenize([t], 16, truncate=True)[0]
        try:
            tokenize([t], 16, truncate=False)
            fits = True
        except RuntimeError:
            fits = False
        short.append({"text": t, "ids": ids[: int(np.nonzero(ids)[0].max()) + 1].tolist(), "fits": fits})
    with open(os.path.join(OUT, "tokenizer_goldens.json"), "w", encoding="utf-8") as f:
        json.dump({"contextLength": 77, "rows": rows, "context16": short}, f, ensure_ascii=True, indent=0)
    print("tokenizer goldens:", len(rows), "texts,", sum(len(r["ids"]) == 77 for r in rows), "truncated")


# ---------------------------------------------------------------- html entities (for src/clip/htmlEntities.ts)
def make_ftfy_tables():
    """src/clip/ftfyTables.json: the tables behind ftfy.fix_text's text-level fixers (needs the real ftfy 6.x on
    PYTHONPATH, e.g. unpacked from its wheel; the committed JSON means neither the TS nor the Python port needs it)."""
    import ftfy  # noqa: F401  (registers the sloppy-windows-1252 codec)
    from ftfy import chardata
    tables = {
        "ftfyVersion": ftfy.__version__,
        "htmlEntities": chardata.HTML_ENTITIES,
        "controlChars": sorted(chardata.CONTROL_CHARS),
        "c1": {str(i): bytes([i]).decode("sloppy-windows-1252") for i in range(0x80, 0xA0)},
        "ligatures": {str(k): v for k, v in chardata.LIGATURES.items()},
        "widthMap": {str(k): v for k, v in chardata.WIDTH_MAP.items()},
        "singleQuotes": chardata.SINGLE_QUOTE_RE.pattern,
        "doubleQuotes": chardata.DOUBLE_QUOTE_RE.pattern,
    }
    with open(os.path.join(ROOT, "src", "clip", "ftfyTables.json"), "w") as f:
        f.write(json.dumps(tables, ensure_ascii=True, separators=(",", ":")) + "\n")


def make_entities():
    from html.entities import html5
    d = {"html5": html5, "invalidCharrefs": {str(k): v for k, v in html._invalid_charrefs.items()},
         "invalidCodepoints": sorted(html._invalid_codepoints)}
    with open(os.path.join(ROOT, "src", "clip", "htmlEntities.json"), "w") as f:
        f.write(json.dumps(d, ensure_ascii=True, separators=(",", ":")) + "\n")

# ---------------------------------------------------------------- preprocessing (PIL = the oracle of clip._transform)
def pattern(w, h, seed):
    """Gradients + blocky noise + hard black/white bars: exercises bicubic overshoot and 8-bit clamping."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    grad = np.stack([xx * 255.0 / max(w - 1, 1), yy * 255.0 / max(h - 1, 1), ((xx + 2 * yy) % 64) * 4.0], -1)
    b = max(2, min(w, h) // 12)
    noise = rng.integers(0, 256, (h // b + 1, w // b + 1, 3)).repeat(b, 0).repeat(b, 1)[:h, :w]
    img = np.where((((xx // b) + (yy // b)) % 3 == 0)[..., None], noise, grad)
    img[(xx % max(w // 5, 2)) < 2] = 255
    img[(yy % max(h // 4, 2)) == 1] = 0
    return np.clip(img, 0, 255).astype(np.uint8)


def clip_transform_u8(im, n):
    """torchvision Resize(n, BICUBIC) + CenterCrop(n) + convert('RGB') on a PIL image -> uint8 HxWx3."""
    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = n, int(n * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    if (new_w, new_h) != (w, h):
        im = im.resize((new_w, new_h), Image.BICUBIC)
    top = int(round((new_h - n) / 2.0))
    left = int(round((new_w - n) / 2.0))
    im = im.crop((left, top, left + n, top + n))
    return np.asarray(im.convert("RGB"))


def normalise(u8):
    x = u8.astype(np.float32).transpose(2, 0, 1) / np.float32(255)
    mean = np.array(MEAN, dtype=np.float32)[:, None, None]
    std = np.array(STD, dtype=np.float32)[:, None, None]
    return ((x - mean) / std).astype(np.float32)


PREPROCESS_CASES = [
    # name, width, height, mode, resolution
    ("down_landscape", 640, 480, "RGB", 224),
    ("up_nonsquare", 100, 60, "RGB", 224),
    ("exact_square", 224, 224, "RGB", 224),
    ("crop_only_227x224", 227, 224, "RGB", 224),
    ("crop_half_225x224", 225, 224, "RGB", 224),
    ("crop_tall_64x67", 64, 67, "RGB", 64),
    ("portrait_big_factor", 333, 500, "RGB", 64),
    ("odd_scale", 97, 131, "RGB", 48),
    ("tiny_up", 3, 5, "RGB", 32),
    ("rgba", 200, 150, "RGBA", 64),
    ("gray", 120, 90, "L", 64),
    ("gray_alpha", 90, 120, "LA", 64),
    ("palette_up", 50, 40, "P", 64),
    ("palette_down", 300, 200, "P", 64),
    ("rgb16", 80, 60, "RGB16", 32),
    ("cmyk_jpeg", 150, 100, "CMYK", 64),
    ("bit1", 90, 70, "1", 32),
    ("gray4bit", 70, 90, "L4", 32),
    ("rgb_trns", 90, 70, "RGB_TRNS", 32),
    ("gray_trns", 90, 70, "L_TRNS", 32),
    ("gray16", 90, 70, "I16", 48),
    ("gif", 60, 40, "GIF", 32),
]


def make_image(name, w, h, mode, seed):
    rgb = pattern(w, h, seed)
    if mode == "RGB":
        return Image.fromarray(rgb, "RGB")
    if mode in ("RGBA", "LA"):
        yy, xx = np.mgrid[0:h, 0:w]
        alpha = ((xx * 255) // max(w - 1, 1)).astype(np.uint8)
        alpha[: h // 4] = 0          # fully transparent band
        alpha[h // 4: h // 3] = 255  # opaque band
        im = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
        return im if mode == "RGBA" else im.convert("LA")
    if mode == "L":
        return Image.fromarray(rgb, "RGB").convert("L")
    if mode == "CMYK":
        yy, xx = np.mgrid[0:h, 0:w]
        k = ((yy * 255) // max(h - 1, 1)).astype(np.uint8)
        return Image.fromarray(np.dstack([rgb, k]), "CMYK")
    if mode == "P":
        return Image.fromarray(rgb, "RGB").quantize(colors=37, method=Image.Quantize.MEDIANCUT)
    raise ValueError(mode)


def save_rgb16(path, rgb8, seed):
    """16-bit RGB PNG written with the stdlib (PIL cannot write it); PIL reads it back as 8-bit RGB."""
    import struct, zlib
    rng = np.random.default_rng(seed)
    v = rgb8.astype(np.uint16) * 257 + rng.integers(0, 200, rgb8.shape).astype(np.uint16)
    h, w, _ = v.shape
    raw = b"".join(b"\x00" + v[y].astype(">u2").tobytes() for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    open(path, "wb").write(png)


def make_preprocess():
    d = os.path.join(OUT, "preprocess")
    os.makedirs(d, exist_ok=True)
    cases = []
    for i, (name, w, h, mode, res) in enumerate(PREPROCESS_CASES):
        ext = {"CMYK": ".jpg", "GIF": ".gif"}.get(mode, ".png")
        src = os.path.join(d, name + ext)
        rgb = pattern(w, h, 100 + i)
        grey = Image.fromarray(rgb, "RGB").convert("L")
        if mode == "1":
            grey.convert("1").save(src)
        elif mode == "L4":
            grey.save(src, bits=4)
        elif mode == "RGB_TRNS":
            Image.fromarray(rgb, "RGB").save(src, transparency=tuple(int(v) for v in rgb[0, 0]))
        elif mode == "L_TRNS":
            grey.save(src, transparency=int(grey.getpixel((0, 0))))
        elif mode == "I16":
            # 16-bit grey: PIL mode "I", resized in 32-bit, then clipped to 0..255 by convert("RGB")
            v = np.asarray(grey).astype(np.int32) * 2 - 100 + np.random.default_rng(i).integers(0, 40, grey.size[::-1])
            Image.fromarray(np.clip(v, 0, 65535).astype(np.uint16)).save(src)
        elif mode == "GIF":
            Image.fromarray(rgb, "RGB").save(src)
        elif mode == "CMYK":
            make_image(name, w, h, mode, 100 + i).save(src, quality=95)
        elif mode == "RGB16":
            save_rgb16(src, pattern(w, h, 100 + i), i)
        else:
            make_image(name, w, h, mode, 100 + i).save(src, optimize=True)
        im = Image.open(src)
        out = clip_transform_u8(im, res)
        Image.fromarray(out, "RGB").save(os.path.join(d, name + ".expected.png"), optimize=True)
        cases.append({"name": name, "input": name + ext, "expected": name + ".expected.png",
                      "width": w, "height": h, "pilMode": im.mode, "resolution": res})
    # float32 normalisation reference (small case): exact CHW mean/std output of ToTensor + Normalize
    small = np.asarray(Image.open(os.path.join(d, "odd_scale.expected.png")).convert("RGB"))
    np.save(os.path.join(d, "odd_scale.normalised.npy"), normalise(small))
    # lossy / other formats: decode-only references (PIL's decoder)
    base = Image.fromarray(pattern(96, 64, 7), "RGB")
    base.save(os.path.join(d, "photo.jpg"), quality=90)
    base.save(os.path.join(d, "photo.webp"), quality=80)
    base.save(os.path.join(d, "photo_lossless.webp"), lossless=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° CW to display. PIL (and so CLIP) ignores it; so must we.
    base.save(os.path.join(d, "photo_exif_rotated.jpg"), quality=90, exif=exif.tobytes())
    for f in ("photo.jpg", "photo.webp", "photo_lossless.webp", "photo_exif_rotated.jpg"):
        Image.open(os.path.join(d, f)).convert("RGB").save(os.path.join(d, f + ".pil.png"))
    with open(os.path.join(d, "corrupt.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + bytes(range(40)))
    json.dump({"mean": MEAN, "std": STD, "cases": cases}, open(os.path.join(d, "cases.json"), "w"), indent=1)
    print("preprocess goldens:", len(cases), "cases")


# ---------------------------------------------------------------- end-to-end on the tiny oracle model
E2E_IMAGES = ["down_landscape.png", "rgba.png", "palette_down.png"]
E2E_TEXTS = ["a photo of a cat", "A small RED circle on a striped background.", "",
             "a very long caption that goes on and on well past the sixteen token context of the tiny model"]


def save32(path, a):
    np.save(path, np.ascontiguousarray(np.asarray(a, dtype=np.float32)))


def make_e2e():
    """Image files -> PIL preprocessing -> torch oracle (clipmini) on the tiny fixture weights; and texts -> real
    CLIP BPE -> text tower of the tiny weights with token_embedding tiled to 49408 rows (row i = row i % 512)."""
    import torch
    from clipmini import CLIP, image_intermediates
    from ckptio import read_safetensors
    torch.set_num_threads(2)
    d = os.path.join(OUT, "tiny_e2e")
    os.makedirs(d, exist_ok=True)
    sd, meta = read_safetensors(os.path.join(ROOT, "test", "fixtures", "tiny", "weights.safetensors"))
    cfg = json.loads(meta["config"])
    model = CLIP(cfg).eval()
    model.load_state_dict(sd, strict=False)
    R = cfg["image_resolution"]
    pre = os.path.join(OUT, "preprocess")
    images = torch.from_numpy(np.stack([normalise(clip_transform_u8(Image.open(os.path.join(pre, f)), R)) for f in E2E_IMAGES]))
    out = image_intermediates(model, images)
    save32(os.path.join(d, "image_embeddings.npy"), out["embedding"].numpy())
    save32(os.path.join(d, "features0.npy"), out["Z"][0].reshape(out["Z"].shape[1], -1).numpy())
    save32(os.path.join(d, "attention0.npy"), out["a"][0].numpy())
    save32(os.path.join(d, "coefficients0.npy"), out["s"][0].numpy())
    V = 49408
    cfg49 = dict(cfg, vocab_size=V)
    big = CLIP(cfg49).eval()
    sd49 = dict(sd)
    emb = sd["token_embedding.weight"]
    sd49["token_embedding.weight"] = emb[torch.arange(V) % emb.shape[0]]
    big.load_state_dict(sd49, strict=False)
    ids = torch.from_numpy(tokenize(E2E_TEXTS, cfg["context_length"], truncate=True))
    with torch.no_grad():
        text = big.encode_text(ids)
    save32(os.path.join(d, "text_embeddings.npy"), text.numpy())
    json.dump({"images": E2E_IMAGES, "texts": E2E_TEXTS, "imagesDir": "../preprocess",
               "tokenEmbeddingTiledTo": V, "config": cfg}, open(os.path.join(d, "cases.json"), "w"), indent=1)
    print("e2e goldens: embeddings", tuple(out["embedding"].shape), "text", tuple(text.shape))


if __name__ == "__main__":
    what = sys.argv[1:] or ["tokenizer", "entities", "preprocess", "e2e"]
    os.makedirs(OUT, exist_ok=True)
    for w in what:
        globals()["make_" + w]()

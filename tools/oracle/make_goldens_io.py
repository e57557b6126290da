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


def make_tokenizer():
    texts = tokenizer_texts()
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
def make_entities():
    from html.entities import html5
    d = {"html5": html5, "invalidCharrefs": {str(k): v for k, v in html._invalid_charrefs.items()},
         "invalidCodepoints": sorted(html._invalid_codepoints)}
    with open(os.path.join(ROOT, "src", "clip", "htmlEntities.json"), "w") as f:
        f.write(json.dumps(d, ensure_ascii=True, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    what = sys.argv[1:] or ["tokenizer", "entities", "preprocess"]
    os.makedirs(OUT, exist_ok=True)
    for w in what:
        globals()["make_" + w]()

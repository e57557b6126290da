"""Python port of OpenAI CLIP's SimpleTokenizer (clip/simple_tokenizer.py) for clip-nad.

Used (1) as the golden oracle for the TypeScript tokenizer (src/clip/tokenizer.ts) and (2) by the toy trainer.
ftfy is not packaged in Debian, so `ftfy.fix_text` is replaced by `fix_text_lite`: ftfy 6.3's text-level fixers
(HTML entities, C1 controls, Latin ligatures, character width, curly quotes, line breaks, surrogates, terminal
escapes, control characters, NFC) driven by tables dumped from ftfy into src/clip/ftfyTables.json — the same
tables and steps as the TS port. Not ported: ftfy's mojibake repair (fix_encoding).
Needs python3-regex (for \\p{L} / \\p{N}) and numpy. Run with /usr/bin/python3.
"""
import gzip
import html
import json
import os
import unicodedata
from functools import lru_cache

import numpy as np
import regex as re

SOT = "<|startoftext|>"
EOT = "<|endoftext|>"
DEFAULT_BPE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "assets", "text",
                           "bpe_simple_vocab_16e6.txt.gz")


@lru_cache()
def bytes_to_unicode():
    """Byte value -> printable unicode char, in OpenAI's insertion order (printable bytes first)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2 ** 8):
        if b not in bs:
            bs.append(b)
            cs.append(2 ** 8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def get_pairs(word):
    pairs = set()
    prev = word[0]
    for ch in word[1:]:
        pairs.add((prev, ch))
        prev = ch
    return pairs


FTFY_TABLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "clip", "ftfyTables.json")


@lru_cache()
def _ftfy():
    with open(FTFY_TABLES, encoding="utf-8") as f:
        t = json.load(f)
    return {
        "entities": t["htmlEntities"],
        "c1": {int(k): v for k, v in t["c1"].items()},
        "translate": {**{int(k): v for k, v in t["ligatures"].items()}},
        "width": {int(k): v for k, v in t["widthMap"].items()},
        "control": {c: None for c in t["controlChars"]},
        "single": re.compile(t["singleQuotes"]),
        "double": re.compile(t["doubleQuotes"]),
    }


_ENTITY_RE = re.compile(r"&#?[0-9A-Za-z]{1,24};")
_ANSI_RE = re.compile("\033\\[((?:\\d|;)*)([a-zA-Z])")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_SURROGATE_PAIR_RE = re.compile("[\ud800-\udbff][\udc00-\udfff]")


def _unescape_entity(match):
    text = match.group(0)
    ents = _ftfy()["entities"]
    if text in ents:
        return ents[text]
    if text.startswith("&#"):
        unescaped = html.unescape(text)
        return text if ";" in unescaped else unescaped
    return text


def _fix_segment(text, unescape):
    t = _ftfy()
    while True:
        orig = text
        if unescape:
            text = _ENTITY_RE.sub(_unescape_entity, text)
        text = re.sub("[\x80-\x9f]", lambda m: t["c1"][ord(m.group(0))], text)
        text = text.translate(t["translate"])
        text = text.translate(t["width"])
        text = t["single"].sub("'", t["double"].sub('"', text))
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n").replace("\u0085", "\n")
        if _SURROGATE_RE.search(text):
            text = _SURROGATE_PAIR_RE.sub(lambda m: chr(0x10000 + (ord(m.group(0)[0]) - 0xD800) * 0x400 + (ord(m.group(0)[1]) - 0xDC00)), text)
            text = _SURROGATE_RE.sub("\ufffd", text)
        text = _ANSI_RE.sub("", text)
        text = text.translate(t["control"])
        text = unicodedata.normalize("NFC", text)
        if text == orig:
            return text


def fix_text_lite(text):
    """ftfy.fix_text (6.3, default config) without fix_encoding: line segments, HTML unescaping off from the
    first segment that contains '<' on."""
    out = []
    pos = 0
    unescape = True
    while pos < len(text):
        brk = text.find("\n", pos) + 1
        if brk == 0:
            brk = len(text)
        if brk - pos > 1_000_000:
            brk = pos + 1_000_000
        segment = text[pos:brk]
        if unescape and "<" in segment:
            unescape = False
        out.append(_fix_segment(segment, unescape))
        pos = brk
    return "".join(out)


def basic_clean(text):
    text = fix_text_lite(text)  # stands in for ftfy.fix_text (see module doc)
    text = html.unescape(html.unescape(text))
    return text.strip()


def whitespace_clean(text):
    text = re.sub(r"\s+", " ", text)
    return text.strip()


class SimpleTokenizer(object):
    def __init__(self, bpe_path=DEFAULT_BPE):
        self.byte_encoder = bytes_to_unicode()
        self.byte_decoder = {v: k for k, v in self.byte_encoder.items()}
        merges = gzip.open(bpe_path).read().decode("utf-8").split("\n")
        merges = merges[1:49152 - 256 - 2 + 1]
        merges = [tuple(merge.split()) for merge in merges]
        vocab = list(bytes_to_unicode().values())
        vocab = vocab + [v + "</w>" for v in vocab]
        for merge in merges:
            vocab.append("".join(merge))
        vocab.extend([SOT, EOT])
        self.encoder = dict(zip(vocab, range(len(vocab))))
        self.decoder = {v: k for k, v in self.encoder.items()}
        self.bpe_ranks = dict(zip(merges, range(len(merges))))
        self.cache = {SOT: SOT, EOT: EOT}
        self.pat = re.compile(
            r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            re.IGNORECASE)

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        pairs = get_pairs(word)
        if not pairs:
            return token + "</w>"
        while True:
            bigram = min(pairs, key=lambda pair: self.bpe_ranks.get(pair, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                    new_word.extend(word[i:j])
                    i = j
                except ValueError:
                    new_word.extend(word[i:])
                    break
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        word = " ".join(word)
        self.cache[token] = word
        return word

    def encode(self, text):
        bpe_tokens = []
        text = whitespace_clean(basic_clean(text)).lower()
        for token in re.findall(self.pat, text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            bpe_tokens.extend(self.encoder[bpe_token] for bpe_token in self.bpe(token).split(" "))
        return bpe_tokens

    def decode(self, tokens):
        text = "".join([self.decoder[token] for token in tokens])
        return bytearray([self.byte_decoder[c] for c in text]).decode("utf-8", errors="replace").replace("</w>", " ")


_tokenizer = None


def get_tokenizer():
    global _tokenizer
    if _tokenizer is None:
        _tokenizer = SimpleTokenizer()
    return _tokenizer


def tokenize(texts, context_length=77, truncate=True):
    """CLIP framing: [49406] + ids + [49407], zero-padded to context_length -> int64 array (N, context_length).

    truncate=True cuts and forces the last token to EOT (open_clip behaviour); truncate=False raises like OpenAI.
    """
    if isinstance(texts, str):
        texts = [texts]
    tok = get_tokenizer()
    sot = tok.encoder[SOT]
    eot = tok.encoder[EOT]
    result = np.zeros((len(texts), context_length), dtype=np.int64)
    for i, text in enumerate(texts):
        tokens = [sot] + tok.encode(text) + [eot]
        if len(tokens) > context_length:
            if truncate:
                tokens = tokens[:context_length]
                tokens[-1] = eot
            else:
                raise RuntimeError(f"Input {text} is too long for context length {context_length}")
        result[i, :len(tokens)] = tokens
    return result


if __name__ == "__main__":
    import sys
    for t in sys.argv[1:] or ["a photo of a cat"]:
        ids = tokenize([t])[0]
        print(t, "->", ids[ids > 0].tolist())

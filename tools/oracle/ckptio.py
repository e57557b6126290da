"""Checkpoint writers for the oracle: safetensors (own writer and reader; the package is not in Debian), torch.save
zips, TorchScript archives in OpenAI's style, and a zip64 rewrite of any torch zip."""
import copy
import json
import struct
import zipfile

import numpy as np
import torch

ST_DTYPE = {np.dtype("float32"): "F32", np.dtype("float16"): "F16", np.dtype("int32"): "I32",
            np.dtype("int64"): "I64", np.dtype("uint8"): "U8", np.dtype("float64"): "F64"}


def write_safetensors(path, arrays, metadata=None):
    """arrays: name -> numpy array (or tensor). Header padded to 8 bytes like the reference implementation."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for k, a in arrays.items():
        a = np.array(a.detach().cpu().numpy() if torch.is_tensor(a) else a, order="C")  # keeps 0-d shapes
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[k] = {"dtype": ST_DTYPE[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_safetensors(path):
    """name -> float32 (F16/F32) or integer tensor, and the __metadata__ dict."""
    buf = open(path, "rb").read()
    n = struct.unpack("<Q", buf[:8])[0]
    header = json.loads(buf[8:8 + n])
    dt = {"F16": np.float16, "F32": np.float32, "I64": np.int64, "I32": np.int32}
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        arr = np.frombuffer(buf[8 + n + a: 8 + n + b], dtype=dt[v["dtype"]]).reshape(v["shape"])
        out[k] = torch.from_numpy(arr.astype(np.float32) if arr.dtype == np.float16 else arr.copy())
    return out, header.get("__metadata__", {})


def half_like_openai(sd_or_module_params):
    """Names OpenAI's convert_weights turns to fp16: Conv/Linear weights+biases, MHA in/out proj, text_projection.
    BatchNorm, LayerNorm, embeddings and positional embeddings stay fp32."""
    out = []
    for name in sd_or_module_params:
        leaf = name.split(".")[-1]
        parent = name.rsplit(".", 1)[0] if "." in name else ""
        is_linear_or_conv = (("conv" in parent.split(".")[-1] or parent.endswith("downsample.0")
                              or parent.split(".")[-1] in ("q_proj", "k_proj", "v_proj", "c_proj", "c_fc", "out_proj"))
                             and leaf in ("weight", "bias"))
        if is_linear_or_conv or leaf in ("in_proj_weight", "in_proj_bias") or name in ("text_projection", "visual.proj"):
            out.append(name)
    return set(out)


def save_state_dict(model, path, fp16=False):
    sd = model.state_dict()
    if fp16:
        sd = {k: (v.half() if v.is_floating_point() else v) for k, v in sd.items()}
    torch.save(sd, path)


def save_torchscript(model, path, images, ids, fp16=False):
    """torch.jit.trace_module of encode_image/encode_text; extras like OpenAI's archives (input_resolution,
    context_length, vocab_size buffers; attn_mask attributes). fp16: convert like OpenAI's convert_weights."""
    m = copy.deepcopy(model).eval()
    cfg = m.cfg
    del m.context_length, m.vocab_size
    m.register_buffer("input_resolution", torch.tensor(cfg["image_resolution"]))
    m.register_buffer("context_length", torch.tensor(cfg["context_length"]))
    m.register_buffer("vocab_size", torch.tensor(cfg["vocab_size"]))
    with torch.no_grad():
        traced = torch.jit.trace_module(m, {"encode_image": images, "encode_text": ids}, check_trace=False)
    if fp16:
        names = half_like_openai([n for n, _ in traced.named_parameters()])
        for n, p in traced.named_parameters():
            if n in names:
                p.data = p.data.half()
    torch.jit.save(traced, path)


def rewrite_zip64(src, dst):
    """Copy a torch zip with every entry STORED and full zip64 structures: zip64 extras in local and central
    headers (32-bit fields = 0xFFFFFFFF), a zip64 end-of-central-directory record and locator."""
    with zipfile.ZipFile(src) as z:
        entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    out, central = bytearray(), bytearray()
    for name, data in entries:
        nb = name.encode()
        crc = zipfile.crc32(data) & 0xFFFFFFFF
        off = len(out)
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(extra))
        out += nb + extra + data
        cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), off)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(nb), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF)
        central += nb + cextra
    cd_off = len(out)
    out += central
    z64_off = len(out)
    n = len(entries)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(central), cd_off)
    out += struct.pack("<IIQI", 0x07064B50, 0, z64_off, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(dst, "wb") as f:
        f.write(out)


def replace_zip_member(src, dst, member_suffix, fn):
    """Copy a zip, transforming one member's bytes (used to corrupt data.pkl on purpose). Returns the new bytes."""
    new = None
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as w:
        for i in z.infolist():
            data = z.read(i.filename)
            if i.filename.endswith(member_suffix):
                data = new = fn(data)
            w.writestr(i.filename, data)
    return new

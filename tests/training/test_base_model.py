"""The base model: the real SmolLM2 GGUF converted into a Hugging Face directory, or a local one."""

import pytest
import torch

from domainforge.training.artifacts import RUN_FILE, ModelDir
from domainforge.training.base_model import DEFAULT_GGUF, packaged_gguf, prepare_base_model


@pytest.mark.slow
def test_gguf_converts_once_to_a_plain_directory_with_identical_logits(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = prepare_base_model({}, tmp_path)
    converted = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    assert not hasattr(converted.config, "quantization_config")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    assert tokenizer.chat_template and tokenizer.eos_token == "<|im_end|>"
    gguf = packaged_gguf()
    reference = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name).eval()
    ids = tokenizer("发热是最常见的症状 of infection", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        torch.testing.assert_close(converted(ids).logits, reference(ids).logits)
    # The conversion is cached under its fingerprint: a second call reuses the directory.
    weights = model_dir.path / "model.safetensors"
    written = weights.stat().st_mtime_ns
    again = prepare_base_model({}, tmp_path)
    assert again.path == model_dir.path and weights.stat().st_mtime_ns == written
    assert (again.path / RUN_FILE).is_file() and again.fingerprint() == again.run_info["fingerprint"]


def test_local_directory_is_used_as_is(tiny_model, tmp_path):
    model = prepare_base_model({"path": str(tiny_model)}, tmp_path)
    assert model.path == tiny_model and isinstance(model, ModelDir)
    with pytest.raises(FileNotFoundError, match="not a Hugging Face model directory"):
        prepare_base_model({"path": str(tmp_path / "missing")}, tmp_path)


def test_missing_gguf_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found in package"):
        prepare_base_model({"gguf_file": "nope.gguf"}, tmp_path)
    with pytest.raises(FileNotFoundError, match="is not installed"):
        packaged_gguf("no_such_package_here", DEFAULT_GGUF)

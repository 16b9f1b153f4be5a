"""Nodes that spread documents over worker processes give exactly the in-process result, in order."""
from pathlib import Path

import pandas as pd
import pytest
import yaml

from domainforge.data import parallel
from domainforge.data.junk import KINDS, make_junk
from domainforge.data.language import detect_language
from domainforge.data.normalise import normalise_documents
from domainforge.data.parallel import chunked, map_chunks
from domainforge.data.privacy import scrub_documents
from domainforge.data.quality import filter_quality
from domainforge.data.quality_classifier import _tokens_of, tokenise

CONF = Path(__file__).parents[2] / "conf/base"


def params(stage: str, workers: int, file: str | None = None) -> dict:
    conf = yaml.safe_load((CONF / f"parameters_{file or stage}.yml").read_text())[stage]
    return {**conf, "workers": workers}


def _lengths(texts: list[str], offset: int) -> list[int]:
    return [len(text) + offset for text in texts]


@pytest.fixture
def small_pools(monkeypatch):
    """Use a pool even for the few documents a unit test can afford."""
    monkeypatch.setattr(parallel, "MIN_ITEMS_PER_WORKER", 5)


@pytest.fixture(scope="module")
def documents(shared_data) -> pd.DataFrame:
    """Real Chinese and English text, PII-bearing lines and planted junk of every kind."""
    pretrain = shared_data / "medicalgpt/pretrain"
    zh = [line for line in (pretrain / "fever.txt").read_text(encoding="utf-8").splitlines() if line.strip()][:40]
    en = (pretrain / "en_article_first400.txt").read_text(encoding="utf-8").split("\n\n")[:20]
    pii = ["患者王某某，电话13812345678，住北京市朝阳区建国路88号。", "Contact Dr. Adam Booth at adam.booth@example.com."]
    junk = [j["text"] for j in make_junk(len(KINDS), "zh", 0, zh) + make_junk(len(KINDS), "en", 0, en)]
    texts = zh + en + pii + junk + ["12345 67890", ""]
    return pd.DataFrame(
        {"id": [f"doc#{i}" for i in range(len(texts))], "source": "s", "corpus": "domain", "text": texts}
    )


def test_chunks_cover_the_items_in_order():
    items = list(range(23))
    for chunks in (1, 2, 4, 8, 23, 40):
        pieces = chunked(items, chunks)
        assert [x for piece in pieces for x in piece] == items
        assert 0 < len(pieces) <= chunks and all(pieces)


def test_map_chunks_equals_the_serial_call(small_pools):
    texts = [f"text {i}" * (i % 7) for i in range(101)]
    expected = _lengths(texts, 3)
    assert map_chunks(_lengths, texts, 1, 3) == expected
    assert map_chunks(_lengths, texts, 2, 3) == expected
    assert map_chunks(_lengths, texts[:3], 2, 3) == expected[:3]  # too few for a pool: in-process
    with pytest.raises(ValueError, match="workers"):
        map_chunks(_lengths, texts, 0, 3)


def test_language_quality_and_privacy_nodes_match_in_process_runs(small_pools, documents):
    messy = documents.assign(text=documents["text"] + " &amp; \u00a0")
    normalised = normalise_documents(messy, params("normalise", 1, "data"))
    pooled_normalised = normalise_documents(messy, params("normalise", 2, "data"))
    for serial_table, pooled_table in zip(normalised, pooled_normalised, strict=True):
        pd.testing.assert_frame_equal(pooled_table, serial_table)
    assert "&amp;" not in "".join(normalised[0]["text"])

    serial, serial_drops = detect_language(documents, params("language", 1))
    pooled, pooled_drops = detect_language(documents, params("language", 2))
    pd.testing.assert_frame_equal(pooled, serial)
    pd.testing.assert_frame_equal(pooled_drops, serial_drops)
    assert len(serial) > 60 and len(serial_drops) > 0

    kept, drops = filter_quality(serial, params("quality", 1))
    kept2, drops2 = filter_quality(serial, params("quality", 2))
    pd.testing.assert_frame_equal(kept2, kept)
    pd.testing.assert_frame_equal(drops2, drops)
    assert len(drops) >= len(KINDS)  # the junk goes, and the test sees it go

    scrubbed, report = scrub_documents(documents, params("privacy", 1))
    scrubbed2, report2 = scrub_documents(documents, params("privacy", 2))
    pd.testing.assert_frame_equal(scrubbed2, scrubbed)
    assert report2 == report and report["records_with_pii"] >= 2


def test_classifier_tokens_match_in_process_tokens(small_pools, documents):
    texts = documents["text"].tolist()
    settings = params("quality_classifier", 2)
    expected = _tokens_of(texts, settings)
    assert tokenise(texts + texts[:5], settings) == expected + expected[:5]
    assert tokenise(texts, {**settings, "workers": 1}) == expected
    assert tokenise(texts, {**settings, "segmenter": "chars"}) != expected  # the setting counts

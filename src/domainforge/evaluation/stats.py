"""Confidence intervals for benchmark accuracy and for the difference between two models.

Percentile bootstrap, seeded. Resampling n items with replacement only changes how often each
distinct value is drawn, so a bootstrap replicate's mean is drawn as multinomial counts over the
distinct values (2 for a 0/1 correctness vector, 3 for a paired difference): the same
distribution as resampling indices, in O(iters) memory and time.
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_ITERS = 10_000
_CHUNK_CELLS = 4_000_000


def _as_vector(values, name: str) -> np.ndarray:
    vector = np.asarray(values, dtype=float)
    if vector.ndim != 1 or vector.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D vector, got shape {vector.shape}")
    if not np.all(np.isfinite(vector)):
        raise ValueError(f"{name} has non-finite values")
    return vector


def bootstrap_means(values, *, iters: int = DEFAULT_ITERS, seed: int = 0) -> np.ndarray:
    """`iters` bootstrap replicates of the mean of `values`."""
    vector = _as_vector(values, "values")
    distinct, counts = np.unique(vector, return_counts=True)
    n = vector.size
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // distinct.size)
    means = []
    for start in range(0, iters, chunk):
        draws = rng.multinomial(n, counts / n, size=min(chunk, iters - start))
        means.append(draws @ distinct / n)
    return np.concatenate(means)


def bootstrap_ci(
    values, *, iters: int = DEFAULT_ITERS, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of `values`."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    means = bootstrap_means(values, iters=iters, seed=seed)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def accuracy_summary(correct, *, iters: int = DEFAULT_ITERS, seed: int = 0) -> dict:
    """{n, accuracy, ci95} of a 0/1 correctness vector."""
    vector = _as_vector(correct, "correct")
    return {
        "n": int(vector.size),
        "accuracy": float(vector.mean()),
        "ci95": list(bootstrap_ci(vector, iters=iters, seed=seed)),
    }


def mcnemar_exact_p(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (binomial, p = 1/2)."""
    discordant = a_only + b_only
    if discordant == 0:
        return 1.0
    tail = sum(math.comb(discordant, i) for i in range(min(a_only, b_only) + 1))
    return min(1.0, 2 * tail / 2**discordant)


def paired_difference(
    correct_a, correct_b, *, iters: int = DEFAULT_ITERS, seed: int = 0, level: float = 0.95
) -> dict:
    """Accuracy of A minus accuracy of B on the same questions, with a paired bootstrap CI.

    correct_a, correct_b: per-question correctness (0/1) in the same question order.
    Returns n, accuracy_a, accuracy_b, difference, ci95 (of the difference), a_only / b_only
    (questions only A / only B got right) and mcnemar_p (exact).
    """
    a = _as_vector(correct_a, "correct_a")
    b = _as_vector(correct_b, "correct_b")
    if a.shape != b.shape:
        raise ValueError(f"paired vectors differ in length: {a.size} vs {b.size}")
    if not (np.isin(a, (0, 1)).all() and np.isin(b, (0, 1)).all()):
        raise ValueError("correctness vectors must be 0/1")
    a_only = int(((a == 1) & (b == 0)).sum())
    b_only = int(((a == 0) & (b == 1)).sum())
    return {
        "n": int(a.size),
        "accuracy_a": float(a.mean()),
        "accuracy_b": float(b.mean()),
        "difference": float((a - b).mean()),
        "ci95": list(bootstrap_ci(a - b, iters=iters, seed=seed, level=level)),
        "a_only": a_only,
        "b_only": b_only,
        "mcnemar_p": mcnemar_exact_p(a_only, b_only),
    }


def compare_results(result_a: dict, result_b: dict, **kwargs) -> dict:
    """`paired_difference` of two `evaluate_mcq` results, after checking they scored the same questions."""
    if result_a["ids"] != result_b["ids"]:
        raise ValueError("the two results are not on the same questions (ids differ)")
    return paired_difference(result_a["correct"], result_b["correct"], **kwargs)

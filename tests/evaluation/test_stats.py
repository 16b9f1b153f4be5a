"""Bootstrap CI and paired difference on constructed correctness vectors."""

from __future__ import annotations

import numpy as np
import pytest

from domainforge.evaluation import accuracy_summary, bootstrap_ci, mcnemar_exact_p, paired_difference
from domainforge.evaluation.stats import bootstrap_means


def test_identical_models_differ_by_zero():
    a = np.random.default_rng(1).integers(0, 2, 200)
    result = paired_difference(a, a.copy())
    assert result["difference"] == 0
    assert result["ci95"][0] <= 0 <= result["ci95"][1]
    assert result["a_only"] == result["b_only"] == 0 and result["mcnemar_p"] == 1.0


def test_a_right_wherever_b_was_wrong():
    b = np.array([1] * 60 + [0] * 40)
    a = np.ones(100, dtype=int)  # right on every question b got wrong, and on b's right ones too
    result = paired_difference(a, b)
    assert result["difference"] == pytest.approx(0.4)
    assert result["ci95"][0] > 0
    assert result["a_only"] == 40 and result["b_only"] == 0
    assert result["mcnemar_p"] == pytest.approx(2 * 0.5**40)
    flipped = paired_difference(b, a)
    assert flipped["difference"] == pytest.approx(-0.4) and flipped["ci95"][1] < 0


def test_mixed_small_difference_ci_contains_zero():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, 100)
    b = a.copy()
    b[:4] = 1 - b[:4]  # 4 discordant questions
    result = paired_difference(a, b)
    assert result["ci95"][0] <= 0 <= result["ci95"][1]
    assert result["mcnemar_p"] > 0.05


def test_bootstrap_ci_matches_resampling_indices():
    correct = np.array([1] * 30 + [0] * 70)
    lo, hi = bootstrap_ci(correct, iters=20000, seed=3)
    rng = np.random.default_rng(7)
    naive = correct[rng.integers(0, 100, size=(20000, 100))].mean(axis=1)
    naive_lo, naive_hi = np.percentile(naive, [2.5, 97.5])
    assert lo == pytest.approx(naive_lo, abs=0.011) and hi == pytest.approx(naive_hi, abs=0.011)
    assert lo < 0.3 < hi
    se = np.sqrt(0.3 * 0.7 / 100)  # normal approximation as a sanity check
    assert hi - lo == pytest.approx(2 * 1.96 * se, rel=0.1)


def test_bootstrap_is_seeded_and_degenerate_cases():
    v = np.random.default_rng(2).integers(0, 2, 57)
    assert bootstrap_ci(v, seed=5) == bootstrap_ci(v, seed=5)
    assert bootstrap_ci(np.ones(10)) == (1.0, 1.0)
    assert accuracy_summary([0, 0, 0]) == {"n": 3, "accuracy": 0.0, "ci95": [0.0, 0.0]}
    means = bootstrap_means(np.arange(10.0), iters=5000, seed=0)  # continuous values too
    assert means.shape == (5000,) and abs(means.mean() - 4.5) < 0.05


def test_bad_inputs():
    with pytest.raises(ValueError, match="length"):
        paired_difference([1, 0], [1, 0, 1])
    with pytest.raises(ValueError, match="0/1"):
        paired_difference([1, 2], [1, 0])
    with pytest.raises(ValueError, match="non-empty"):
        bootstrap_ci([])


def test_mcnemar_exact():
    assert mcnemar_exact_p(0, 5) == pytest.approx(2 / 32)
    assert mcnemar_exact_p(3, 3) == 1.0
    assert mcnemar_exact_p(1, 9) == pytest.approx(2 * (1 + 10) / 1024)

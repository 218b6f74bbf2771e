"""Statistics against hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest

from advisor.stats import (
    FALLBACK_SD,
    Interval,
    McNemar,
    bootstrap_ci,
    compare_levers,
    examples_needed,
    looks_like_classification,
    majority_baseline,
    mcnemar_exact,
    min_detectable_difference,
    paired_bootstrap,
)

N_BOOT = 500  # enough for the properties tested, quick on two cores


def test_constant_paired_difference_gives_a_point_interval():
    rng = np.random.default_rng(1)
    b = rng.uniform(0, 0.9, size=50)
    ci = paired_bootstrap(b + 0.1, b, n_boot=N_BOOT)
    assert ci.mean == pytest.approx(0.1)
    assert ci.ci_low == pytest.approx(0.1) and ci.ci_high == pytest.approx(0.1)


def test_paired_bootstrap_is_paired():
    # Scores vary a lot between examples but A is always exactly 0.05 above B on each one:
    # an unpaired test would drown that in example noise, a paired one must not.
    b = np.tile([0.0, 0.9], 20)
    a = b + 0.05
    ci = paired_bootstrap(a, b, n_boot=N_BOOT)
    assert ci.ci_low > 0


def test_bootstrap_interval_contains_mean_and_narrows_with_n():
    rng = np.random.default_rng(0)
    small = rng.integers(0, 2, size=40).astype(float)
    large = rng.integers(0, 2, size=1000).astype(float)
    ci_small, ci_large = bootstrap_ci(small, n_boot=N_BOOT), bootstrap_ci(large, n_boot=N_BOOT)
    assert ci_small.ci_low <= ci_small.mean <= ci_small.ci_high
    assert ci_small.mean == pytest.approx(small.mean())
    assert (ci_large.ci_high - ci_large.ci_low) < (ci_small.ci_high - ci_small.ci_low) / 3


def test_bootstrap_width_matches_normal_theory():
    # 500 Bernoulli(0.5) scores: SE = 0.5 / sqrt(500) = 0.02236, so a 95% interval is ~0.0877 wide.
    scores = np.array([0.0, 1.0] * 250)
    ci = bootstrap_ci(scores, n_boot=2000)
    assert ci.ci_high - ci.ci_low == pytest.approx(2 * 1.96 * 0.5 / np.sqrt(500), rel=0.1)


def test_bootstrap_is_deterministic_under_seed():
    scores = np.random.default_rng(3).uniform(size=30)
    assert bootstrap_ci(scores, n_boot=N_BOOT, seed=7) == bootstrap_ci(scores, n_boot=N_BOOT, seed=7)
    assert bootstrap_ci(scores, n_boot=N_BOOT, seed=7) != bootstrap_ci(scores, n_boot=N_BOOT, seed=8)


def test_seeds_widen_the_interval_and_mean_is_over_all():
    rng = np.random.default_rng(5)
    base = rng.uniform(size=100)
    # Three training runs that differ by a run-level offset: training noise.
    runs = np.stack([base - 0.15, base, base + 0.15]).clip(0, 1)
    one = bootstrap_ci(runs[1], n_boot=N_BOOT)
    many = bootstrap_ci(runs, n_boot=N_BOOT)
    assert many.mean == pytest.approx(runs.mean())
    assert (many.ci_high - many.ci_low) > 1.5 * (one.ci_high - one.ci_low)


def test_paired_bootstrap_with_seeds_on_one_side():
    rng = np.random.default_rng(6)
    b = rng.uniform(size=80)
    a = np.stack([b + 0.1, b + 0.3]).clip(0, 1)  # two seeds of A, one run of B
    single = paired_bootstrap(a[0], b, n_boot=N_BOOT)
    ci = paired_bootstrap(a, b, n_boot=N_BOOT)
    assert ci.mean == pytest.approx(a.mean() - b.mean())
    assert (ci.ci_high - ci.ci_low) > (single.ci_high - single.ci_low)


def test_shapes_are_checked():
    with pytest.raises(ValueError):
        paired_bootstrap([1.0, 0.0], [1.0, 0.0, 1.0])
    with pytest.raises(ValueError):
        bootstrap_ci([])


def test_mcnemar_hand_computed():
    # b = 8 (only A passes), c = 2 (only B passes), 5 both pass, 5 both fail.
    # Two-sided exact: 2 * P(X <= 2 | n=10, p=.5) = 2 * (1 + 10 + 45) / 1024 = 0.109375.
    a = [1] * 8 + [0] * 2 + [1] * 5 + [0] * 5
    b = [0] * 8 + [1] * 2 + [1] * 5 + [0] * 5
    result = mcnemar_exact(a, b)
    assert (result.b, result.c) == (8, 2)
    assert result.p_value == pytest.approx(0.109375)


def test_mcnemar_without_discordant_pairs_is_one():
    assert mcnemar_exact([1, 0, 1], [1, 0, 1]) == McNemar(0, 0, 1.0)


def test_mcnemar_with_seeds_uses_majority_pass():
    a = [[1, 1, 0], [1, 0, 0], [1, 1, 0]]  # per-example majority: 1, 1, 0
    assert mcnemar_exact(a, [0, 0, 0]) == McNemar(2, 0, 0.5)


def test_compare_levers_verdicts():
    b = np.zeros(40)
    better = compare_levers("ft", np.ones(40), "prompt", b, pass_fail=True, n_boot=N_BOOT)
    assert better.verdict == "better" and better.test == "mcnemar+paired_bootstrap"
    assert better.p_value == pytest.approx(2 * 0.5 ** 40)
    worse = compare_levers("prompt", b, "ft", np.ones(40), pass_fail=False, n_boot=N_BOOT)
    assert worse.verdict == "worse" and worse.p_value is None and worse.test == "paired_bootstrap"
    assert worse.reversed() == compare_levers("ft", np.ones(40), "prompt", b, pass_fail=False, n_boot=N_BOOT)


def test_mcnemar_must_agree_for_better():
    # 5 discordant pairs all favouring A: the bootstrap interval excludes 0, but the exact
    # McNemar p = 2 / 32 = 0.0625 does not reach 0.05, so the verdict stays indistinguishable.
    a = np.array([1.0] * 5 + [0.0] * 15)
    b = np.zeros(20)
    verdict = compare_levers("a", a, "b", b, pass_fail=True, n_boot=N_BOOT)
    assert verdict.ci_low > 0
    assert verdict.p_value == pytest.approx(0.0625)
    assert verdict.verdict == "indistinguishable"
    assert compare_levers("a", a, "b", b, pass_fail=False, n_boot=N_BOOT).verdict == "better"


def test_overlapping_scores_are_indistinguishable():
    rng = np.random.default_rng(9)
    a = rng.uniform(size=30)
    b = a + rng.normal(0, 0.2, size=30)
    assert compare_levers("a", a, "b", b, pass_fail=False, n_boot=N_BOOT).verdict == "indistinguishable"


def test_pair_verdict_to_dict_matches_results_schema():
    d = compare_levers("a", [1, 0, 1], "b", [0, 0, 1], pass_fail=True, n_boot=100).to_dict()
    assert set(d) == {"a", "b", "diff", "ci_low", "ci_high", "p_value", "test", "verdict"}
    assert Interval(0.5, 0.4, 0.6).to_dict() == {"mean": 0.5, "ci_low": 0.4, "ci_high": 0.6}


def test_min_detectable_difference_hand_computed():
    # Differences alternate +0.5 / -0.5 over 100 examples: sd (ddof=1) = 0.5 * sqrt(100/99).
    a = np.array([1.0, 0.0] * 50)
    b = np.full(100, 0.5)
    sd = 0.5 * np.sqrt(100 / 99)
    expected = (1.959964 + 0.841621) * sd / 10
    assert min_detectable_difference(a, b) == pytest.approx(expected, rel=1e-5)


def test_min_detectable_difference_falls_back_when_no_spread():
    a = np.full(25, 0.7)
    expected = (1.959964 + 0.841621) * FALLBACK_SD / 5
    assert min_detectable_difference(a, a - 0.1) == pytest.approx(expected, rel=1e-5)


def test_examples_needed_scales_with_square():
    assert examples_needed(100, mdd=0.10, diff=0.05) == 400
    assert examples_needed(100, mdd=0.10, diff=-0.20) == 25
    assert examples_needed(100, mdd=0.10, diff=0.0) is None


def test_majority_baseline():
    assert majority_baseline(["spam", "ham ", "spam", "ham", "spam"]) == ("spam", 0.6)
    with pytest.raises(ValueError):
        majority_baseline([])


def test_looks_like_classification():
    assert looks_like_classification(["positive", "negative", "neutral"] * 10)
    assert not looks_like_classification([f"answer number {i}" for i in range(30)])  # all distinct
    long = "This is a long free-text answer that explains the reasoning in detail."
    assert not looks_like_classification([long, "short"] * 10)
    assert not looks_like_classification([str(i % 25) for i in range(100)])  # too many labels
    assert looks_like_classification([str(i % 25) for i in range(100)], max_labels=30)

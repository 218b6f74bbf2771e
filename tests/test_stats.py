"""Statistics against hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest

from scipy.stats import t as student_t

from advisor.stats import (
    FALLBACK_SD,
    MAX_EXAMPLES_SUGGESTED,
    Interval,
    McNemar,
    bootstrap_ci,
    compare_all_pairs,
    compare_levers,
    examples_for_non_inferiority,
    examples_needed,
    holm,
    looks_like_classification,
    majority_baseline,
    mcnemar_exact,
    min_detectable_difference,
    paired_bootstrap,
    seed_t,
    sign_flip_test,
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


def test_mcnemar_refuses_seeds():
    # "Passes in at least half the seeds" rejected a true null 75% of the time at k=2: McNemar is for single runs.
    with pytest.raises(ValueError):
        mcnemar_exact([[1, 1, 0], [1, 0, 0]], [0, 0, 0])


def test_seed_t_interval_hand_computed():
    # Two seeds of A whose run means differ by 0.2 (0.4 and 0.6), B a single run of 0.5 everywhere; the
    # per-example seed-averaged difference is 0 on every example, so only the seed part remains:
    # var(run means) / k = 0.02 / 2 = 0.01, se = 0.1, df = k - 1 = 1, half-width t_{0.975,1} * 0.1 = 1.27.
    a = np.stack([np.full(50, 0.4), np.full(50, 0.6)])
    b = np.full(50, 0.5)
    st = seed_t(a, b)
    assert (st.diff, st.se, st.df) == pytest.approx((0.0, 0.1, 1.0))
    ci = paired_bootstrap(a, b)
    assert ci.ci_high - ci.ci_low == pytest.approx(2 * student_t.ppf(0.975, 1) * 0.1)
    assert ci.ci_high == pytest.approx(1.2706, abs=1e-3)


def test_seed_interval_narrows_with_more_seeds():
    # The same spread of run means (sd 0.1) with k = 2 and k = 5: the t interval shrinks by far more
    # than sqrt(5 / 2), because k - 1 degrees of freedom grow too.
    b = np.full(100, 0.5)
    two = paired_bootstrap(np.stack([np.full(100, 0.5 - 0.0707107), np.full(100, 0.5 + 0.0707107)]), b)
    offsets = np.array([-0.1, -0.05, 0.0, 0.05, 0.1]) * (0.1 / np.std([-0.1, -0.05, 0.0, 0.05, 0.1], ddof=1))
    five = paired_bootstrap(np.stack([np.full(100, 0.5 + o) for o in offsets]), b)
    width2, width5 = two.ci_high - two.ci_low, five.ci_high - five.ci_low
    assert width2 == pytest.approx(2 * student_t.ppf(0.975, 1) * 0.1 / np.sqrt(2), rel=1e-4)
    assert width5 == pytest.approx(2 * student_t.ppf(0.975, 4) * 0.1 / np.sqrt(5), rel=1e-4)
    assert width2 > 5 * width5


def test_seeds_use_the_t_test_not_mcnemar():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 2, size=(3, 60)).astype(float)
    b = rng.integers(0, 2, size=60).astype(float)
    v = compare_levers("a", a, "b", b, pass_fail=True)
    assert v.test == "seed_t" and 0 <= v.p_value <= 1


def test_sign_flip_hand_computed():
    # Three differences, all +0.1: of the 8 sign patterns only the two all-same ones reach |mean| 0.1,
    # so the exact p is 2 / 8; 4,000 random flips estimate it closely, and the same seed repeats exactly.
    p = sign_flip_test([0.1, 0.1, 0.1], n_flips=4000, seed=1)
    assert p == pytest.approx(0.25, abs=0.03)
    assert p == sign_flip_test([0.1, 0.1, 0.1], n_flips=4000, seed=1)
    assert sign_flip_test([0.0, 0.0, 0.0]) == 1.0


def test_holm_on_known_p_values():
    # Sorted 0.01, 0.02, 0.03, 0.04 of m = 4: 0.04, 0.06, 0.06 (monotone), 0.06 -> ... in input order.
    assert holm([0.03, 0.01, 0.04, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    assert holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    assert holm([0.9, 0.8, 0.7]) == pytest.approx([1.0, 1.0, 1.0])


def test_holm_decides_the_verdicts_of_all_pairs():
    # prompt vs finetune: 9 of 9 discordant pairs favour finetune, p = 2 / 512 = 0.0039; Holm multiplies the
    # smallest of 6 p-values by 6: 0.023 < 0.05, still significant. prompt vs retrieval+finetune: 7 of 7,
    # p = 2 / 128 = 0.0156, significant alone, but third smallest, so multiplied by 4: 0.0625, not significant.
    n = 60
    base = np.zeros(n)
    ft = base.copy()
    ft[:9] = 1.0
    rf = base.copy()
    rf[:7] = 1.0
    pairs = compare_all_pairs({"prompt": base, "retrieval": base.copy(), "finetune": ft, "retrieval+finetune": rf},
                              pass_fail=True, n_boot=N_BOOT)
    by = {(v.a, v.b): v for v in pairs}
    assert len(pairs) == 6
    pf = by[("prompt", "finetune")]
    assert pf.p_value == pytest.approx(2 / 512) and pf.p_holm == pytest.approx(6 * 2 / 512)
    assert pf.verdict == "worse"
    pr = by[("prompt", "retrieval+finetune")]
    assert pr.p_value == pytest.approx(2 / 128) and pr.p_value < 0.05
    assert pr.p_holm >= 0.05 and pr.verdict == "indistinguishable"
    alone = compare_levers("prompt", base, "retrieval+finetune", rf, pass_fail=True, n_boot=N_BOOT)
    assert alone.verdict == "worse"  # significant on its own, not once all six pairs are counted


def test_compare_levers_verdicts():
    b = np.zeros(40)
    better = compare_levers("ft", np.ones(40), "prompt", b, pass_fail=True, n_boot=N_BOOT)
    assert better.verdict == "better" and better.test == "mcnemar+paired_bootstrap"
    assert better.p_value == pytest.approx(2 * 0.5 ** 40)
    worse = compare_levers("prompt", b, "ft", np.ones(40), pass_fail=False, n_boot=N_BOOT)
    assert worse.verdict == "worse" and worse.test == "sign_flip+paired_bootstrap"
    assert worse.p_value == pytest.approx(1 / (N_BOOT + 1))  # no sign flip reaches a constant difference
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
    # The sign-flip test agrees with McNemar here: 5 of 20 non-zero differences, p = 2 / 32 again.
    continuous = compare_levers("a", a, "b", b, pass_fail=False, n_boot=4000)
    assert continuous.p_value == pytest.approx(0.0625, abs=0.015) and continuous.verdict == "indistinguishable"


def test_both_tests_must_agree():
    # A p-value below alpha is not enough when the interval still reaches 0.
    from advisor.stats import _verdict
    assert _verdict(0.05, -0.01, 0.11, 0.01, 0.05) == "indistinguishable"
    assert _verdict(0.05, 0.01, 0.11, 0.01, 0.05) == "better"
    assert _verdict(-0.05, -0.11, -0.01, 0.2, 0.05) == "indistinguishable"


def test_overlapping_scores_are_indistinguishable():
    rng = np.random.default_rng(9)
    a = rng.uniform(size=30)
    b = a + rng.normal(0, 0.2, size=30)
    assert compare_levers("a", a, "b", b, pass_fail=False, n_boot=N_BOOT).verdict == "indistinguishable"


def test_pair_verdict_to_dict_matches_results_schema():
    d = compare_levers("a", [1, 0, 1], "b", [0, 0, 1], pass_fail=True, n_boot=100).to_dict()
    assert set(d) == {"a", "b", "diff", "ci_low", "ci_high", "p_value", "test", "verdict", "p_holm", "mdd"}
    assert Interval(0.5, 0.4, 0.6).to_dict() == {"mean": 0.5, "ci_low": 0.4, "ci_high": 0.6}


def test_min_detectable_difference_hand_computed():
    # Differences alternate +0.5 / -0.5 over 100 examples: sd (ddof=1) = 0.5 * sqrt(100/99).
    a = np.array([1.0, 0.0] * 50)
    b = np.full(100, 0.5)
    sd = 0.5 * np.sqrt(100 / 99)
    expected = (1.959964 + 0.841621) * sd / 10
    assert min_detectable_difference(a, b) == pytest.approx(expected, rel=1e-5)


def test_min_detectable_difference_falls_back_when_no_spread():
    assert FALLBACK_SD == 1.0  # the largest SD a difference of two [0, 1] scores can have
    a = np.full(25, 0.7)
    expected = (1.959964 + 0.841621) * FALLBACK_SD / 5
    assert min_detectable_difference(a, a - 0.1) == pytest.approx(expected, rel=1e-5)


def test_examples_needed_scales_with_square():
    assert examples_needed(100, mdd=0.10, diff=0.05) == 400
    assert examples_needed(100, mdd=0.10, diff=-0.20) == 25
    assert examples_needed(100, mdd=0.10, diff=0.0) is None


def test_examples_needed_treats_noise_as_zero_and_caps():
    # A difference of 1e-16 once suggested ~3e34 examples.
    assert examples_needed(100, mdd=0.3, diff=1e-16) is None
    assert examples_needed(100, mdd=0.3, diff=1e-4) == MAX_EXAMPLES_SUGGESTED + 1


def test_examples_for_non_inferiority():
    # se 0.03 at n = 100, true difference -0.01, margin 0.05: room 0.04;
    # n * ((1.96 + 0.8416) * 0.03 / 0.04)^2 = 100 * 4.4148 = 441.5 -> 442.
    assert examples_for_non_inferiority(100, 0.03, -0.01, 0.05) == 442
    assert examples_for_non_inferiority(100, 0.03, -0.06, 0.05) is None  # trails by more than the margin


def test_seed_variance_enters_the_min_detectable_difference():
    rng = np.random.default_rng(4)
    base = rng.uniform(size=100)
    a = base + rng.normal(0, 0.05, size=100)  # example-level spread of the differences: sd ~0.05
    single = min_detectable_difference(a, base)
    seeded = min_detectable_difference(np.stack([a - 0.05, a + 0.05]), base)  # two runs 0.1 apart
    assert single == pytest.approx(2.8016 * np.std(a - base, ddof=1) / 10, rel=1e-3)
    assert seeded > 5 * single


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


def test_only_indistinguishable_pairs_are_flagged_as_inseparable():
    # prompt trails the best by 0.08, below its pair's MDD 0.10, but was told apart: not flagged (it was).
    from advisor.analysis import _too_small_to_separate
    comps = [{"a": "prompt", "b": "finetune", "diff": -0.08, "verdict": "worse", "mdd": 0.10},
             {"a": "retrieval", "b": "finetune", "diff": -0.03, "verdict": "indistinguishable", "mdd": 0.09},
             {"a": "prompt", "b": "retrieval", "diff": -0.05, "verdict": "indistinguishable", "mdd": 0.09}]
    warning = _too_small_to_separate("finetune", comps, 100)
    assert warning["message"].startswith("with 100 eval examples retrieval differs from the best lever (finetune)")
    assert "prompt" not in warning["message"] and "about 0.09" in warning["message"]
    assert _too_small_to_separate("finetune", comps[:1], 100) is None


def test_the_standard_library_tests_equal_scipy_s():
    """stats avoids importing scipy.stats on every run (3 s of a warm rerun): its exact sign test and normal
    quantiles must be scipy's, to floating point."""
    from statistics import NormalDist

    from scipy.stats import binomtest, norm

    from advisor.stats import sign_test

    for n in (1, 2, 5, 17, 40, 101, 600):
        for k in sorted({0, 1, n // 3, n // 2, (n + 1) // 2, n - 1, n}):
            assert sign_test(k, n) == pytest.approx(binomtest(k, n, 0.5).pvalue, rel=1e-9, abs=1e-300)
    for q in (0.8, 0.9, 0.95, 0.975, 0.995):
        assert NormalDist().inv_cdf(q) == pytest.approx(norm.ppf(q), rel=1e-12)

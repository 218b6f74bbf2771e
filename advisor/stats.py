"""Statistics for comparing levers: intervals, paired tests with Holm's correction, detectable differences.

Pure numpy/scipy, no I/O. Scores are per-example values in [0, 1]. A lever trained several
times (several seeds) passes a 2-D array of shape (n_seeds, n_examples). Resampling 2-5 seed
runs understates the between-seed variance, so with seeds the interval is a t interval instead:
the example-level variance of the paired differences plus each lever's between-seed variance of
its run means, with Welch-Satterthwaite degrees of freedom (k - 1 for the seed part, so two
seeds give a wide interval, as they should). A single run keeps the seeded paired bootstrap.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, replace
from statistics import NormalDist
from typing import Literal, Mapping, Sequence

import numpy as np

# The normal quantile and the exact sign test come from the standard library: importing scipy.stats costs ~3 s,
# a third of a warm rerun. Student's t (several training seeds only) imports it where it is used.
_NORMAL = NormalDist()


def _student_t():
    """scipy's Student's t, imported on first use (several training seeds only)."""
    from scipy.stats import t

    return t


def _z_sum(alpha: float, power: float) -> float:
    """z(1 - alpha/2) + z(power): the normal quantiles of a two-sided test at `alpha` with `power`."""
    return _NORMAL.inv_cdf(1 - alpha / 2) + _NORMAL.inv_cdf(power)

Verdict = Literal["better", "worse", "indistinguishable"]
Test = Literal["mcnemar+paired_bootstrap", "sign_flip+paired_bootstrap", "seed_t",
               "paired_bootstrap"]  # the last: results.json written before p-values were given to every pair

# Bootstrap replicates are drawn in blocks so memory stays at ~block * n_examples indices.
_BLOCK = 256
# SD used by min_detectable_difference when the observed paired differences have no spread:
# the largest SD a difference of two scores in [0, 1] can have (-1 or +1 with equal odds).
FALLBACK_SD = 1.0
# Differences smaller than this are floating-point noise: treated as exactly zero.
NEAR_ZERO = 1e-9
# examples_needed never suggests more than this (it returns MAX_EXAMPLES_SUGGESTED + 1 for "more").
MAX_EXAMPLES_SUGGESTED = 100_000


@dataclass(frozen=True)
class Interval:
    """A point estimate with a (1 - alpha) confidence interval."""

    mean: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class McNemar:
    """Discordant pairs (b: only A passed, c: only B passed) and the exact two-sided p-value."""

    b: int
    c: int
    p_value: float


@dataclass(frozen=True)
class PairVerdict:
    """Lever A compared with lever B on the same examples, from A's point of view."""

    a: str
    b: str
    diff: float
    ci_low: float
    ci_high: float
    p_value: float | None  # raw two-sided p of this pair's test
    test: Test
    verdict: Verdict  # from p_holm when set, else from p_value
    p_holm: float | None = None  # Holm-adjusted over every pair of the comparison
    mdd: float | None = None  # this pair's minimum detectable difference (seed variance included)

    def reversed(self) -> PairVerdict:
        """The same comparison from B's point of view."""
        flip = {"better": "worse", "worse": "better"}.get(self.verdict, self.verdict)
        return PairVerdict(self.b, self.a, -self.diff, -self.ci_high, -self.ci_low,
                           self.p_value, self.test, flip, self.p_holm, self.mdd)  # type: ignore[arg-type]

    def to_dict(self) -> dict:
        return asdict(self)


def _as_2d(scores: Sequence[float] | np.ndarray, name: str = "scores") -> np.ndarray:
    """(n,) -> (1, n); (n_seeds, n) unchanged. Rejects empty or higher-dimensional input."""
    arr = np.asarray(scores, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name}: expected shape (n,) or (n_seeds, n) with n > 0, got {arr.shape}")
    return arr


def _resampled_means(arrays: list[np.ndarray], n_boot: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Bootstrap means of each (n,) array, sharing example indices across arrays so comparisons stay paired."""
    n = arrays[0].size
    out = [np.empty(n_boot) for _ in arrays]
    for start in range(0, n_boot, _BLOCK):
        size = min(_BLOCK, n_boot - start)
        idx = rng.integers(0, n, size=(size, n))
        for arr, dest in zip(arrays, out):
            dest[start:start + size] = arr[idx].mean(axis=-1)
    return out


def _percentiles(values: np.ndarray, alpha: float) -> tuple[float, float]:
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


@dataclass(frozen=True)
class SeedT:
    """Mean difference, its standard error and Welch-Satterthwaite degrees of freedom."""

    diff: float
    se: float
    df: float

    def interval(self, alpha: float) -> Interval:
        half = float(_student_t().ppf(1 - alpha / 2, self.df)) * self.se if self.se > 0 else 0.0
        return Interval(self.diff, self.diff - half, self.diff + half)

    def p_value(self) -> float:
        if self.se == 0:
            return 1.0 if abs(self.diff) < NEAR_ZERO else 0.0
        return float(2 * _student_t().sf(abs(self.diff) / self.se, self.df))


def seed_t(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray | None = None) -> SeedT:
    """Mean of a (minus b) with a variance made of independent parts, each with its own degrees of freedom.

    The example part is var(per-example difference, seed-averaged) / n with n - 1 df; each lever with
    k > 1 runs adds var(its run means) / k with k - 1 df. The run means vary only through training
    noise (the examples are the same), so this counts seed noise once per lever; it also counts the
    seed-by-example noise a second time, divided by k * n, which is small and errs on the wide side.
    """
    a = _as_2d(a, "a")
    b = None if b is None else _as_2d(b, "b")
    arrays = [a] if b is None else [a, b]
    d = a.mean(axis=0) - (0.0 if b is None else b.mean(axis=0))
    n = d.size
    parts = [(float(d.var(ddof=1)) / n, n - 1)] if n > 1 else []
    parts += [(float(arr.mean(axis=1).var(ddof=1)) / arr.shape[0], arr.shape[0] - 1) for arr in arrays
              if arr.shape[0] > 1]
    var = sum(v for v, _ in parts)
    spread = sum(v * v / df for v, df in parts if v > 0)
    df = var * var / spread if spread > 0 else float(max(n - 1, 1))
    return SeedT(float(d.mean()), float(np.sqrt(var)), float(df))


def bootstrap_ci(scores: Sequence[float] | np.ndarray, n_boot: int = 2000, alpha: float = 0.05,
                 seed: int = 0) -> Interval:
    """Interval of the mean score: percentile bootstrap over examples; with seeds, the `seed_t` interval."""
    arr = _as_2d(scores)
    if arr.shape[0] > 1:
        return seed_t(arr).interval(alpha)
    (means,) = _resampled_means([arr[0]], n_boot, np.random.default_rng(seed))
    return Interval(float(arr.mean()), *_percentiles(means, alpha))


def _paired(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a2, b2 = _as_2d(a, "a"), _as_2d(b, "b")
    if a2.shape[1] != b2.shape[1]:
        raise ValueError(f"a and b must score the same examples: {a2.shape[1]} != {b2.shape[1]}")
    return a2, b2


def paired_bootstrap(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
                     n_boot: int = 2000, alpha: float = 0.05, seed: int = 0) -> Interval:
    """Interval of mean(a) - mean(b) on the same examples: paired percentile bootstrap for single runs,
    the `seed_t` interval when either side has several seeds."""
    a2, b2 = _paired(a, b)
    if a2.shape[0] > 1 or b2.shape[0] > 1:
        return seed_t(a2, b2).interval(alpha)
    d = a2[0] - b2[0]
    (means,) = _resampled_means([d], n_boot, np.random.default_rng(seed))
    return Interval(float(d.mean()), *_percentiles(means, alpha))


def sign_flip_test(diffs: Sequence[float] | np.ndarray, n_flips: int = 2000, seed: int = 0) -> float:
    """Two-sided paired permutation p-value: how often randomly flipping the sign of each per-example
    difference gives a mean at least as far from 0 as the observed one; (count + 1) / (n_flips + 1)."""
    d = np.asarray(diffs, dtype=float)
    observed = abs(d.mean())
    if observed < NEAR_ZERO:
        return 1.0
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, n_flips, _BLOCK):
        size = min(_BLOCK, n_flips - start)
        signs = rng.integers(0, 2, size=(size, d.size)) * 2 - 1
        hits += int(np.sum(np.abs((signs * d).mean(axis=1)) >= observed - NEAR_ZERO))
    return (hits + 1) / (n_flips + 1)


def mcnemar_exact(a_pass: Sequence[float] | np.ndarray, b_pass: Sequence[float] | np.ndarray) -> McNemar:
    """Exact McNemar test: two-sided binomial test (p = 0.5) on the discordant pairs of single runs."""
    a2, b2 = _as_2d(a_pass, "a_pass"), _as_2d(b_pass, "b_pass")
    if a2.shape[0] > 1 or b2.shape[0] > 1:
        raise ValueError("McNemar needs one run per lever; with several seeds use seed_t")
    if a2.shape != b2.shape:
        raise ValueError(f"a_pass and b_pass must cover the same examples: {a2.shape[1]} != {b2.shape[1]}")
    a_ok, b_ok = a2[0] >= 0.5, b2[0] >= 0.5
    b = int(np.sum(a_ok & ~b_ok))
    c = int(np.sum(~a_ok & b_ok))
    p = 1.0 if b + c == 0 else sign_test(b, b + c)
    return McNemar(b, c, p)


def sign_test(k: int, n: int) -> float:
    """Exact two-sided binomial test of k successes in n trials at p = 0.5 (scipy's binomtest; the distribution is
    symmetric, so the outcomes as unlikely as k are the two tails beyond it)."""
    tail = sum(math.comb(n, i) for i in range(min(k, n - k) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def _verdict(diff: float, ci_low: float, ci_high: float, p: float, alpha: float) -> Verdict:
    """Significant when p < alpha AND the interval excludes 0 on the side of the observed difference."""
    if p < alpha and diff > 0 and ci_low > 0:
        return "better"
    if p < alpha and diff < 0 and ci_high < 0:
        return "worse"
    return "indistinguishable"


def compare_levers(a_name: str, a_scores: Sequence[float] | np.ndarray, b_name: str,
                   b_scores: Sequence[float] | np.ndarray, pass_fail: bool, n_boot: int = 2000,
                   alpha: float = 0.05, seed: int = 0) -> PairVerdict:
    """Compare two levers on the same examples and give A's verdict for this pair alone (no correction).

    Single runs: paired bootstrap interval plus exact McNemar (pass/fail) or a sign-flip test
    (other scores); both must agree. Several seeds on either side: the `seed_t` interval and p-value.
    """
    a2, b2 = _paired(a_scores, b_scores)
    if a2.shape[0] > 1 or b2.shape[0] > 1:
        st = seed_t(a2, b2)
        ci, p, test = st.interval(alpha), st.p_value(), "seed_t"
    else:
        ci = paired_bootstrap(a2, b2, n_boot=n_boot, alpha=alpha, seed=seed)
        if pass_fail:
            p, test = mcnemar_exact(a2, b2).p_value, "mcnemar+paired_bootstrap"
        else:
            p, test = sign_flip_test(a2[0] - b2[0], n_flips=n_boot, seed=seed), "sign_flip+paired_bootstrap"
    mdd = min_detectable_difference(a2, b2, alpha=alpha)
    return PairVerdict(a_name, b_name, ci.mean, ci.ci_low, ci.ci_high, p, test,  # type: ignore[arg-type]
                       _verdict(ci.mean, ci.ci_low, ci.ci_high, p, alpha), None, mdd)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values: the i-th smallest of m is multiplied by m - i + 1 (i from 1),
    made monotone and capped at 1. Rejecting adjusted p < alpha keeps the family-wise error at alpha."""
    m = len(p_values)
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda i: p_values[i])):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def compare_all_pairs(scores: Mapping[str, Sequence[float] | np.ndarray], pass_fail: bool, n_boot: int = 2000,
                      alpha: float = 0.05, seed: int = 0) -> list[PairVerdict]:
    """Every pair (in the given order, a before b), with Holm-adjusted p-values deciding the verdicts."""
    names = list(scores)
    pairs = [compare_levers(a, scores[a], b, scores[b], pass_fail, n_boot=n_boot, alpha=alpha, seed=seed)
             for i, a in enumerate(names) for b in names[i + 1:]]
    adjusted = holm([v.p_value for v in pairs])  # type: ignore[misc]
    return [replace(v, p_holm=p, verdict=_verdict(v.diff, v.ci_low, v.ci_high, p, alpha))
            for v, p in zip(pairs, adjusted)]


def min_detectable_difference(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
                              alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest true mean paired difference this eval set detects with the given power (one pair, no correction).

    (q_{1-alpha/2} + q_power) * se, se being the `seed_t` standard error (example-level paired
    variance plus each lever's between-seed variance). q is the normal quantile for single runs, the
    t quantile with the Welch-Satterthwaite df with seeds. When the differences have no spread, the
    observed SD says nothing, so FALLBACK_SD = 1.0 (the largest SD of a difference of two [0, 1]
    scores) stands in: a cautious (larger) answer.
    """
    a2, b2 = _paired(a, b)
    st = seed_t(a2, b2)
    se = st.se if st.se > NEAR_ZERO else FALLBACK_SD / np.sqrt(a2.shape[1])
    if a2.shape[0] == 1 and b2.shape[0] == 1:
        return float(_z_sum(alpha, power) * se)
    t = _student_t()
    return float((t.ppf(1 - alpha / 2, st.df) + t.ppf(power, st.df)) * se)


# z_{0.975} + z_{0.8} as the textbook rounds them, and the SD of a Bernoulli with p = 0.5: the planning formula below.
# Kept rounded (2.80, where min_detectable_difference uses the exact 2.8016): the eval-size check's messages are
# computed with it, and the exact quantiles would move their second decimal for some sizes (n = 8: 0.50, not 0.49).
Z_SUM = 1.96 + 0.84
BERNOULLI_SD = 0.5


def min_detectable_difference_at(n: int) -> float:
    """Smallest difference n examples detect (alpha 0.05, power 0.8) for a Bernoulli score with p = 0.5: the
    (z_{1-alpha/2} + z_power) * se of `min_detectable_difference` before any score is seen, se = 0.5 / sqrt(n)."""
    return Z_SUM * BERNOULLI_SD / math.sqrt(n) if n > 0 else math.inf


def examples_needed(n: int, mdd: float, diff: float) -> int | None:
    """Eval-set size at which `diff` becomes detectable, scaling n by (mdd / |diff|)^2.

    None when diff is (near) 0: no size separates two levers that score the same. Capped at
    MAX_EXAMPLES_SUGGESTED + 1, which callers state as "more than MAX_EXAMPLES_SUGGESTED".
    """
    if abs(diff) < NEAR_ZERO:
        return None
    return int(min(np.ceil(n * (mdd / abs(diff)) ** 2), MAX_EXAMPLES_SUGGESTED + 1))


def examples_for_non_inferiority(n: int, se: float, diff: float, margin: float, alpha: float = 0.05,
                                 power: float = 0.8) -> int | None:
    """Eval-set size at which the (1 - alpha) interval of `diff` (simpler - best) would lie above -margin
    with the given power, if `diff` is the true difference and `se` the standard error at size n.

    None when diff <= -margin: no eval set shows a lever within the margin when it trails by more.
    Capped like examples_needed.
    """
    room = diff + margin
    if room <= NEAR_ZERO:
        return None
    need = n * (_z_sum(alpha, power) * max(se, 0.0) / room) ** 2
    return int(min(max(np.ceil(need), 1), MAX_EXAMPLES_SUGGESTED + 1))


def majority_baseline(references: Sequence[str]) -> tuple[str, float]:
    """The most common reference (stripped) and its share: what always answering it scores."""
    if not references:
        raise ValueError("majority_baseline needs at least one reference")
    label, count = Counter(r.strip() for r in references).most_common(1)[0]
    return label, count / len(references)


def looks_like_classification(references: Sequence[str], max_labels: int = 20,
                              max_label_chars: int = 40, max_label_words: int = 5) -> bool:
    """True for few distinct short outputs that repeat (at most max_labels, on average >= 2 each)."""
    labels = Counter(r.strip() for r in references)
    if len(references) < 2 or len(labels) > max_labels or 2 * len(labels) > len(references):
        return False
    return all(0 < len(lab) <= max_label_chars and len(lab.split()) <= max_label_words for lab in labels)


# ---- agreement of a judge with people, and a score's association with length ----

def cohen_kappa(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float | None:
    """Cohen's kappa of two raters' labels; None when chance agreement is already total (one label throughout)."""
    a, b = np.asarray(a), np.asarray(b)
    labels = np.union1d(a, b)
    observed = float(np.mean(a == b))
    expected = float(sum(np.mean(a == v) * np.mean(b == v) for v in labels))
    return None if expected >= 1 - NEAR_ZERO else (observed - expected) / (1 - expected)


def spearman(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float | None:
    """Spearman's rank correlation; None when either side is constant (no ranking to agree with)."""
    from scipy.stats import spearmanr

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(spearmanr(a, b).statistic)


def agreement_interval(statistic, a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
                       n_boot: int = 2000, alpha: float = 0.05, seed: int = 0) -> Interval | None:
    """`statistic(a, b)` (kappa, Spearman) with a percentile bootstrap interval over the paired items; None when
    the statistic is undefined on the data. Resamples where it is undefined are left out of the interval."""
    a, b = np.asarray(a), np.asarray(b)
    value = statistic(a, b)
    if value is None:
        return None
    rng = np.random.default_rng(seed)
    draws = [statistic(a[idx], b[idx]) for idx in rng.integers(0, len(a), size=(n_boot, len(a)))]
    kept = np.array([d for d in draws if d is not None and np.isfinite(d)])
    if len(kept) < n_boot / 2:
        return Interval(float(value), float("nan"), float("nan"))
    low, high = _percentiles(kept, alpha)
    return Interval(float(value), low, high)

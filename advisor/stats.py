"""Statistics for comparing levers: bootstrap intervals, paired tests, detectable differences.

Pure numpy/scipy, no I/O. Scores are per-example values in [0, 1]. A lever trained several
times (several seeds) passes a 2-D array of shape (n_seeds, n_examples); the bootstrap then
resamples seeds as well as examples, so training noise widens the interval.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Literal, Sequence

import numpy as np
from scipy.stats import binomtest, norm

Verdict = Literal["better", "worse", "indistinguishable"]

# Bootstrap replicates are drawn in blocks so memory stays at ~block * n_examples indices.
_BLOCK = 256
# SD used by min_detectable_difference when the observed paired differences have no spread:
# the largest SD a score in [0, 1] can have (a Bernoulli with p = 0.5).
FALLBACK_SD = 0.5


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
    p_value: float | None
    test: Literal["paired_bootstrap", "mcnemar+paired_bootstrap"]
    verdict: Verdict

    def reversed(self) -> PairVerdict:
        """The same comparison from B's point of view."""
        flip = {"better": "worse", "worse": "better"}.get(self.verdict, self.verdict)
        return PairVerdict(self.b, self.a, -self.diff, -self.ci_high, -self.ci_low,
                           self.p_value, self.test, flip)  # type: ignore[arg-type]

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
    """Bootstrap means of each (n_seeds_i, n) array, sharing example indices across arrays.

    Each replicate draws n example indices (shared, so comparisons stay paired) and, per array,
    n_seeds_i seed indices independently; the replicate mean is over the resampled grid.
    """
    n = arrays[0].shape[1]
    out = [np.empty(n_boot) for _ in arrays]
    for start in range(0, n_boot, _BLOCK):
        size = min(_BLOCK, n_boot - start)
        idx = rng.integers(0, n, size=(size, n))
        for arr, dest in zip(arrays, out):
            per_seed = arr[:, idx].mean(axis=-1)  # (n_seeds, size)
            n_seeds = arr.shape[0]
            if n_seeds == 1:
                dest[start:start + size] = per_seed[0]
            else:
                seeds = rng.integers(0, n_seeds, size=(size, n_seeds))
                dest[start:start + size] = per_seed[seeds, np.arange(size)[:, None]].mean(axis=1)
    return out


def _percentiles(values: np.ndarray, alpha: float) -> tuple[float, float]:
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def bootstrap_ci(scores: Sequence[float] | np.ndarray, n_boot: int = 2000, alpha: float = 0.05,
                 seed: int = 0) -> Interval:
    """Percentile bootstrap interval of the mean score, resampling examples (and seeds when 2-D)."""
    arr = _as_2d(scores)
    (means,) = _resampled_means([arr], n_boot, np.random.default_rng(seed))
    return Interval(float(arr.mean()), *_percentiles(means, alpha))


def paired_bootstrap(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
                     n_boot: int = 2000, alpha: float = 0.05, seed: int = 0) -> Interval:
    """Interval of mean(a) - mean(b) resampling the same examples for both (seeds independently)."""
    a2, b2 = _as_2d(a, "a"), _as_2d(b, "b")
    if a2.shape[1] != b2.shape[1]:
        raise ValueError(f"a and b must score the same examples: {a2.shape[1]} != {b2.shape[1]}")
    mean_a, mean_b = _resampled_means([a2, b2], n_boot, np.random.default_rng(seed))
    return Interval(float(a2.mean() - b2.mean()), *_percentiles(mean_a - mean_b, alpha))


def _per_example(scores: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    """One value per example: the mean over seeds."""
    return _as_2d(scores, name).mean(axis=0)


def mcnemar_exact(a_pass: Sequence[float] | np.ndarray, b_pass: Sequence[float] | np.ndarray) -> McNemar:
    """Exact McNemar test: two-sided binomial test (p = 0.5) on the discordant pairs.

    With several seeds an example passes when it passes in at least half of the seeds.
    """
    a_ok = _per_example(a_pass, "a_pass") >= 0.5
    b_ok = _per_example(b_pass, "b_pass") >= 0.5
    if a_ok.shape != b_ok.shape:
        raise ValueError(f"a_pass and b_pass must cover the same examples: {a_ok.size} != {b_ok.size}")
    b = int(np.sum(a_ok & ~b_ok))
    c = int(np.sum(~a_ok & b_ok))
    p = 1.0 if b + c == 0 else float(binomtest(b, b + c, 0.5, alternative="two-sided").pvalue)
    return McNemar(b, c, p)


def compare_levers(a_name: str, a_scores: Sequence[float] | np.ndarray, b_name: str,
                   b_scores: Sequence[float] | np.ndarray, pass_fail: bool, n_boot: int = 2000,
                   alpha: float = 0.05, seed: int = 0) -> PairVerdict:
    """Compare two levers on the same examples and give A's verdict.

    "better" when the paired-bootstrap interval lies above 0 (and, for pass/fail scores, the
    exact McNemar test agrees at level alpha); "worse" symmetrically; else "indistinguishable".
    """
    ci = paired_bootstrap(a_scores, b_scores, n_boot=n_boot, alpha=alpha, seed=seed)
    p_value: float | None = None
    significant = True
    if pass_fail:
        p_value = mcnemar_exact(a_scores, b_scores).p_value
        significant = p_value < alpha
    verdict: Verdict = "indistinguishable"
    if significant and ci.ci_low > 0:
        verdict = "better"
    elif significant and ci.ci_high < 0:
        verdict = "worse"
    test = "mcnemar+paired_bootstrap" if pass_fail else "paired_bootstrap"
    return PairVerdict(a_name, b_name, ci.mean, ci.ci_low, ci.ci_high, p_value, test, verdict)


def min_detectable_difference(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
                              alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest true mean paired difference this eval set detects with the given power.

    Normal approximation (z_{1-alpha/2} + z_power) * sd / sqrt(n), sd being the SD of the
    per-example differences (seed-averaged). When those differences have no spread (identical
    or constant scores) the observed SD says nothing, so FALLBACK_SD = 0.5, the largest SD of a
    score in [0, 1], is used instead: a conservative (larger) answer.
    """
    diffs = _per_example(a, "a") - _per_example(b, "b")
    n = diffs.size
    sd = float(diffs.std(ddof=1)) if n > 1 else 0.0
    if sd == 0.0:
        sd = FALLBACK_SD
    return float((norm.ppf(1 - alpha / 2) + norm.ppf(power)) * sd / np.sqrt(n))


def examples_needed(n: int, mdd: float, diff: float) -> int | None:
    """Eval-set size at which `diff` becomes detectable, scaling n by (mdd / |diff|)^2.

    None when diff is 0 (no size would separate two levers that score the same).
    """
    if diff == 0:
        return None
    return int(np.ceil(n * (mdd / abs(diff)) ** 2))


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

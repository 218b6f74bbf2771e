"""Data and training checks: duplicates, leakage, small or skewed eval sets, overfitting, forgetting.

Pure numpy, no I/O and no models: embeddings come in as (n, d) arrays. Each check returns a list of
warning dicts `{"code", "message", "count"?, "examples"?}` (examples: at most MAX_EXAMPLES ids), the
shape results.json keeps under "warnings" and decide.py reacts to by code.
"""
from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from typing import Mapping, Sequence

import numpy as np

from advisor.data import Document, Example
from advisor.stats import looks_like_classification, paired_bootstrap

NEAR_DUPLICATE_COSINE = 0.95
# Slack for float32 rounding, so a pair at exactly the threshold still counts.
COSINE_EPS = 1e-6
LONG_OUTPUT_WORDS = 8
SMALL_EVAL = 30
IMBALANCE_SHARE = 0.6
DEV_RISE = 0.10  # dev loss this far above its minimum by the end counts as rising
TRAIN_DEV_RATIO = 0.5  # final train loss below this fraction of final dev loss counts as a gap
MAX_EXAMPLES = 5
BLOCK_ROWS = 1024
# z_{0.975} + z_{0.8}, and the SD of a Bernoulli with p = 0.5: the min detectable difference of a small set.
Z_SUM = 1.96 + 0.84
BERNOULLI_SD = 0.5


def normalize(text: str) -> str:
    """Casefolded, whitespace collapsed: what 'the same text' means for the exact checks."""
    return " ".join(text.casefold().split())


def _warning(code: str, message: str, count: int | None = None, examples: Sequence[str] = ()) -> dict:
    w: dict = {"code": code, "message": message}
    if count is not None:
        w["count"] = int(count)
    if examples:
        w["examples"] = list(examples)[:MAX_EXAMPLES]
    return w


def _plural(n: int, noun: str) -> str:
    """'1 example', '3 examples' (the noun's last word takes the s)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _verb(n: int, singular: str, plural: str) -> str:
    return singular if n == 1 else plural


def _quote(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _unit_rows(vecs: np.ndarray | None, n: int, name: str) -> np.ndarray | None:
    """float32 rows of unit length (zero rows stay zero); checks the row count matches the examples."""
    if vecs is None:
        return None
    arr = np.asarray(vecs, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ValueError(f"{name}: expected shape ({n}, d), got {arr.shape}")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    return arr / np.where(norms > 0, norms, 1.0)


# ---------------------------------------------------------------- exact duplicates within train

def duplicate_checks(train: Sequence[Example]) -> list[dict]:
    """`duplicate_train`: examples repeating an earlier one's input and output (normalized);
    `conflicting_labels`: one normalized input with different outputs."""
    groups: dict[str, list[Example]] = defaultdict(list)
    for ex in train:
        groups[normalize(ex.input)].append(ex)
    repeats: list[str] = []
    conflicts: list[list[Example]] = []
    for members in groups.values():
        seen: set[str] = set()
        for ex in members:
            out = normalize(ex.output)
            if out in seen:
                repeats.append(ex.id)
            seen.add(out)
        if len(seen) > 1:
            conflicts.append(members)
    warnings = []
    if repeats:
        warnings.append(_warning(
            "duplicate_train",
            f"{len(repeats)} of {_plural(len(train), 'training example')} {_verb(len(repeats), 'repeats', 'repeat')} "
            f"an earlier example's input and output (e.g. {repeats[0]!r}), which weights them more in fine-tuning "
            f"and few-shot selection.",
            len(repeats), repeats))
    if conflicts:
        ids = [ex.id for members in conflicts for ex in members]
        first = conflicts[0]
        warnings.append(_warning(
            "conflicting_labels",
            f"{_plural(len(conflicts), 'training input')} {_verb(len(conflicts), 'appears', 'appear')} with "
            f"different outputs across {len(ids)} examples "
            f"(e.g. {', '.join(repr(ex.id) for ex in first[:3])}), so no model can match all of them.",
            len(conflicts), ids))
    return warnings


# ---------------------------------------------------------------- near duplicates (embeddings)

def similar_pairs(vecs: np.ndarray, threshold: float = NEAR_DUPLICATE_COSINE, groups: np.ndarray | None = None,
                  limit: int = MAX_EXAMPLES) -> tuple[int, list[tuple[int, int, float]]]:
    """Pairs i < j of unit rows with cosine >= threshold: their count and the first `limit` (i, j, cosine).

    Rows are compared in blocks of BLOCK_ROWS against the rows from the block on (upper triangle
    only), so memory stays at BLOCK_ROWS x n. Pairs with the same `groups` value are skipped (the
    exact checks already report them)."""
    n = len(vecs)
    count, first = 0, []
    for start in range(0, n, BLOCK_ROWS):
        block = vecs[start:start + BLOCK_ROWS]
        b = len(block)
        hit = (block @ vecs[start:].T) >= threshold - COSINE_EPS
        hit[:, :b] &= np.triu(np.ones((b, b), dtype=bool), k=1)  # j > i inside the diagonal block
        if groups is not None:
            hit &= groups[start:start + b, None] != groups[None, start:]
        count += int(np.count_nonzero(hit))
        if len(first) < limit:
            for r in np.flatnonzero(hit.any(axis=1)):
                for c in np.flatnonzero(hit[r]):
                    i, j = start + int(r), start + int(c)
                    first.append((i, j, float(vecs[i] @ vecs[j])))
                    if len(first) >= limit:
                        break
                if len(first) >= limit:
                    break
    return count, first


def near_duplicate_check(train: Sequence[Example], train_vecs: np.ndarray | None) -> list[dict]:
    """`near_duplicate_train`: pairs of training inputs with cosine >= 0.95 that are not exact copies."""
    vecs = _unit_rows(train_vecs, len(train), "train_vecs")
    if vecs is None or len(train) < 2:
        return []
    keys: dict[str, int] = {}
    groups = np.array([keys.setdefault(normalize(ex.input), len(keys)) for ex in train])
    count, first = similar_pairs(vecs, groups=groups)
    if not count:
        return []
    i, j, cos = first[0]
    later = list(dict.fromkeys(train[j].id for _, j, _ in first))
    return [_warning(
        "near_duplicate_train",
        f"{_plural(count, 'pair')} of training inputs {_verb(count, 'is', 'are')} near duplicates "
        f"(cosine >= {NEAR_DUPLICATE_COSINE:.2f}, e.g. {train[i].id!r} and {train[j].id!r} at {cos:.3f}), "
        f"so the set is less varied than its {len(train)} examples suggest.",
        count, later)]


# ---------------------------------------------------------------- leakage

def eval_leak_train_check(train: Sequence[Example], evals: Sequence[Example], train_vecs: np.ndarray | None,
                          eval_vecs: np.ndarray | None) -> list[dict]:
    """`eval_leak_train`: eval inputs equal (normalized) or near (cosine >= 0.95) to a training input."""
    if not train or not evals:
        return []
    train_index = {normalize(ex.input): k for k, ex in enumerate(train)}
    match = np.array([train_index.get(normalize(ex.input), -1) for ex in evals])
    tv = _unit_rows(train_vecs, len(train), "train_vecs")
    ev = _unit_rows(eval_vecs, len(evals), "eval_vecs")
    if tv is not None and ev is not None:
        for start in range(0, len(evals), BLOCK_ROWS):
            sims = ev[start:start + BLOCK_ROWS] @ tv.T
            best = sims.argmax(axis=1)
            near = sims[np.arange(len(best)), best] >= NEAR_DUPLICATE_COSINE - COSINE_EPS
            part = match[start:start + len(best)]
            part[(part < 0) & near] = best[(part < 0) & near]
    leaked = np.flatnonzero(match >= 0)
    if not leaked.size:
        return []
    first = int(leaked[0])
    ids = [evals[int(k)].id for k in leaked]
    return [_warning(
        "eval_leak_train",
        f"{leaked.size} of {_plural(len(evals), 'eval input')} ({leaked.size / len(evals):.0%}) "
        f"{_verb(int(leaked.size), 'matches', 'match')} a training input exactly or nearly "
        f"(cosine >= {NEAR_DUPLICATE_COSINE:.2f}, e.g. eval {ids[0]!r} and train {train[int(match[first])].id!r}), "
        f"and such leakage inflates fine-tuning and few-shot scores.",
        int(leaked.size), ids)]


def eval_leak_corpus_check(evals: Sequence[Example], corpus: Sequence[Document]) -> list[dict]:
    """`eval_leak_corpus`: long eval references (>= 8 words) found verbatim (normalized) in a corpus document.

    For retrieval QA a short answer (a name, a date, "6:30") sits in the corpus by design: finding
    it is the task. A reference of a sentence or more copied word for word suggests the eval set was
    cut from the corpus, so retrieval can return the answer itself and its score overstates how it
    does on new questions. Only the long references are therefore counted.
    """
    long_refs = [(ex, normalize(ex.output)) for ex in evals]
    long_refs = [(ex, ref) for ex, ref in long_refs if len(ref.split()) >= LONG_OUTPUT_WORDS]
    if not long_refs or not corpus:
        return []
    # One string, one scan per reference; normalized text has no newline, so "\n" keeps matches inside a document.
    texts = [normalize(d.text) for d in corpus]
    starts, offset = [], 0
    for t in texts:
        starts.append(offset)
        offset += len(t) + 1
    joined = "\n".join(texts)
    found: list[tuple[str, str]] = []
    for ex, ref in long_refs:
        pos = joined.find(ref)
        if pos >= 0:
            found.append((ex.id, corpus[bisect.bisect_right(starts, pos) - 1].id))
    if not found:
        return []
    return [_warning(
        "eval_leak_corpus",
        f"{len(found)} of {_plural(len(long_refs), 'eval reference')} of {LONG_OUTPUT_WORDS}+ words "
        f"{_verb(len(found), 'appears', 'appear')} verbatim in the corpus (e.g. {found[0][0]!r} in {found[0][1]!r}), "
        f"so retrieval can copy the answer and may score higher than on new questions.",
        len(found), [eid for eid, _ in found])]


# ---------------------------------------------------------------- eval size and labels

def min_detectable_difference_at(n: int) -> float:
    """Smallest difference n examples detect (alpha 0.05, power 0.8) for a Bernoulli score with p = 0.5."""
    return Z_SUM * BERNOULLI_SD / math.sqrt(n) if n > 0 else math.inf


def small_eval_check(evals: Sequence[Example]) -> list[dict]:
    """`small_eval_set`: fewer than 30 eval examples."""
    n = len(evals)
    if n >= SMALL_EVAL:
        return []
    mdd = min_detectable_difference_at(n)
    detail = (f"differences under ~{mdd:.2f} will not be detectable" if mdd < 1
              else "no difference between levers will be detectable")
    message = f"the eval set has {_plural(n, 'example')} (fewer than {SMALL_EVAL}); {detail}."
    return [_warning("small_eval_set", message, n)]


def label_checks(train: Sequence[Example], evals: Sequence[Example]) -> list[dict]:
    """`label_imbalance` for classification-like train outputs: a majority label with >= 60% of train
    or of eval, and eval labels never seen in train."""
    train_labels = [ex.output.strip() for ex in train]
    if not looks_like_classification(train_labels):
        return []
    warnings = []
    for split, labels in (("training", train_labels), ("eval", [ex.output.strip() for ex in evals])):
        if not labels:
            continue
        label, count = Counter(labels).most_common(1)[0]
        share = count / len(labels)
        if share >= IMBALANCE_SHARE:
            warnings.append(_warning(
                "label_imbalance",
                f"{_quote(label)} is {count} of the {len(labels)} {split} outputs ({share:.0%}), so always "
                f"answering it would already score {share:.2f}.", count))
    known = set(train_labels)
    unseen = [ex for ex in evals if ex.output.strip() not in known]
    if unseen:
        names = list(dict.fromkeys(ex.output.strip() for ex in unseen))
        warnings.append(_warning(
            "label_imbalance",
            f"{_plural(len(names), 'eval label')} ({', '.join(_quote(x) for x in names[:3])}) across "
            f"{_plural(len(unseen), 'eval example')} never {_verb(len(names), 'appears', 'appear')} in training, "
            f"so fine-tuning and few-shot prompting cannot learn them.",
            len(unseen), [ex.id for ex in unseen]))
    return warnings


def data_checks(train: Sequence[Example], evals: Sequence[Example], corpus: Sequence[Document] = (),
                train_vecs: np.ndarray | None = None, eval_vecs: np.ndarray | None = None) -> list[dict]:
    """Every data check in a fixed order; without embeddings the near-duplicate checks use exact text only."""
    return (duplicate_checks(train) + near_duplicate_check(train, train_vecs)
            + eval_leak_train_check(train, evals, train_vecs, eval_vecs) + eval_leak_corpus_check(evals, corpus)
            + small_eval_check(evals) + label_checks(train, evals))


# ---------------------------------------------------------------- fine-tuning risks

def _points(curve: Mapping, key: str) -> list[tuple[float, float]]:
    """(step, loss) pairs with a finite loss (a run without dev rows records NaN)."""
    return [(float(s), float(v)) for s, v in curve.get(key) or [] if v is not None and math.isfinite(v)]


def loss_gap(curve: Mapping) -> dict:
    """Final train and dev loss, best dev loss, their gap (dev - train) and whether dev loss rose >= 10%.

    Train loss is logged per step and noisy, so "final train" averages the steps since the
    previous dev evaluation (the last epoch), or the last quarter of steps with one dev point."""
    train, dev = _points(curve, "train"), _points(curve, "dev")
    final_train = final_dev = best_dev = gap = None
    rising = False
    if train:
        if len(dev) >= 2:
            window = [v for s, v in train if s > dev[-2][0]] or [train[-1][1]]
        else:
            window = [v for _, v in train[-max(1, math.ceil(len(train) / 4)):]]
        final_train = float(np.mean(window))
    if dev:
        final_dev, best_dev = dev[-1][1], min(v for _, v in dev)
        rising = final_dev > best_dev and final_dev >= (1 + DEV_RISE) * best_dev - 1e-12
    if final_train is not None and final_dev is not None:
        gap = final_dev - final_train
    return {"final_train": final_train, "final_dev": final_dev, "best_dev": best_dev, "gap": gap, "rising": rising}


def _best_step_words(curve: Mapping) -> str:
    """'step 40 (epoch 2)' for the best dev loss, using the curve's best_step and epoch boundaries."""
    step = curve.get("best_step")
    if step is None:
        dev = _points(curve, "dev")
        step = min(dev, key=lambda p: p[1])[0] if dev else None
    if step is None:
        return "an unknown step"
    epochs = [float(s) for s in curve.get("epochs") or []]
    words = f"step {int(step)}"
    return words + f" (epoch {epochs.index(float(step)) + 1})" if float(step) in epochs else words


def overfitting_check(curve: Mapping) -> tuple[dict, list[dict]]:
    """`overfitting`: dev loss ends >= 10% above its minimum, or final train loss < half the final dev loss."""
    summary = loss_gap(curve)
    if summary["final_dev"] is None:
        return summary, []
    split = summary["gap"] is not None and summary["final_train"] < TRAIN_DEV_RATIO * summary["final_dev"]
    if not (summary["rising"] or split):
        return summary, []
    final_train, final_dev, best_dev = summary["final_train"], summary["final_dev"], summary["best_dev"]
    if summary["rising"]:
        rise = final_dev / best_dev - 1 if best_dev > 0 else math.inf
        lead = f"dev loss ended {rise:.0%} above its minimum"
    else:
        lead = f"train loss ended below {TRAIN_DEV_RATIO:.0%} of the dev loss"
    losses = f"dev {final_dev:.3f}" if final_train is None else (
        f"train {final_train:.3f}, dev {final_dev:.3f}, gap {summary['gap']:.3f}")
    message = (f"the fine-tuned adapter may be overfitting: {lead} ({losses}), and the best dev loss was "
               f"{best_dev:.3f} at {_best_step_words(curve)}.")
    return summary, [_warning("overfitting", message)]


def forgetting_check(base_scores: Sequence[float] | np.ndarray, tuned_scores: Sequence[float] | np.ndarray,
                     seed: int = 0, n_boot: int = 2000) -> tuple[dict, list[dict]]:
    """`forgetting`: the fine-tuned model scores significantly lower than the base model on a guard set.

    "drop" is the paired-bootstrap interval of finetuned - base (negative when ability was lost);
    the warning fires when the whole interval lies below 0. Scores may be (n,) or (n_seeds, n)."""
    drop = paired_bootstrap(tuned_scores, base_scores, n_boot=n_boot, seed=seed)
    base, tuned = float(np.mean(base_scores)), float(np.mean(tuned_scores))
    summary = {"base": base, "finetuned": tuned, "drop": drop.to_dict()}
    if drop.ci_high >= 0:
        return summary, []
    n = np.shape(base_scores)[-1]
    return summary, [_warning(
        "forgetting",
        f"on the {n} guard examples the fine-tuned model scores {tuned:.2f} against the base model's {base:.2f} "
        f"(change {drop.mean:+.2f}, 95% CI [{drop.ci_low:+.2f}, {drop.ci_high:+.2f}]), so fine-tuning lost "
        f"some general ability.", n)]

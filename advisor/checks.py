"""Data, training and comparison checks: duplicates, leakage, small or skewed eval sets, overfitting,
forgetting, dev/eval disagreement, the majority-class baseline.

Pure numpy, no I/O and no models: embeddings come in as (n, d) arrays. Each check returns a `Checked`:
its record for results.json "checks" (`{"name", "status": passed|warning|skipped, "detail"}`, the detail
one sentence with the numbers, so a passed check says what was looked at) and the warning dicts it raised
(`{"code", "message", "count"?, "examples"?}`, examples: at most MAX_EXAMPLES ids), the shape results.json
keeps under "warnings" and decide.py reacts to by code.
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np

from advisor.data import Document, Example
from advisor.stats import looks_like_classification, min_detectable_difference_at, paired_bootstrap

NEAR_DUPLICATE_COSINE = 0.95
# Slack for float32 rounding, so a pair at exactly the threshold still counts.
COSINE_EPS = 1e-6
LEAK_MIN_WORDS = 6  # shorter eval inputs turn up in documents by chance
NEAR_VERBATIM_SHARE = 0.8  # this share of an input's word trigrams inside one document counts as copied
SMALL_EVAL = 30
IMBALANCE_SHARE = 0.6
DEV_RISE = 0.10  # dev loss this far above an earlier epoch's counts as rising
STILL_FALLING = 0.01  # the last dev loss this far below the one before counts as still falling
TRAIN_DEV_RATIO = 0.5  # train loss below this fraction of dev loss (at the kept epoch) counts as a gap
DEV_GAP_FLOOR = 0.15  # a chosen variant's dev score this far above its eval score, at least ...
DEV_GAP_SE = 2.0  # ... and more than this many standard errors of the difference, means dev misled the choice
MAX_EXAMPLES = 5
BLOCK_ROWS = 1024


PASSED, WARNING, SKIPPED = "passed", "warning", "skipped"
FINETUNE_CHECKS = ("overfitting", "forgetting")
SEPARATE_CODE = "eval_set_too_small_to_separate"  # analysis.py's warning: two levers closer than eval detects
BELOW_MAJORITY_CODE = "below_majority_baseline"  # analysis.py's warning: a lever under the majority-class baseline


@dataclass
class Checked:
    """One check's outcome: its results.json "checks" record and the warnings it raised (maybe none)."""

    name: str
    status: str  # passed | warning | skipped
    detail: str  # one sentence with the numbers; for skipped, why
    warnings: list[dict] = field(default_factory=list)
    lever: str | None = None  # set for the per-lever checks (overfitting, forgetting)

    def record(self) -> dict:
        rec = {"name": self.name, "status": self.status, "detail": self.detail}
        return {**rec, "lever": self.lever} if self.lever else rec

    def for_lever(self, lever: str) -> "Checked":
        """The same outcome as one lever's: its name leads the detail and every warning message."""
        return Checked(self.name, self.status, f"{lever}: {self.detail}",
                       [{**w, "message": f"{lever}: {w['message']}"} for w in self.warnings], lever)


def _checked(name: str, detail: str, warnings: Sequence[dict]) -> Checked:
    """Passed, or warning when the check raised a warning."""
    return Checked(name, WARNING if warnings else PASSED, detail, list(warnings))


def skipped(name: str, why: str) -> Checked:
    return Checked(name, SKIPPED, why)


def warnings_of(checked: Iterable[Checked]) -> list[dict]:
    return [w for c in checked for w in c.warnings]


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

def duplicate_checks(train: Sequence[Example]) -> Checked:
    """`duplicate_train`: examples repeating an earlier one's input and output (normalized);
    `conflicting_labels`: one normalized input with different outputs."""
    if not train:
        return skipped("duplicates", "no training examples")
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
    detail = (f"{len(repeats)} of {_plural(len(train), 'training example')} {_verb(len(repeats), 'repeats', 'repeat')} "
              f"an earlier example's input and output, and {_plural(len(conflicts), 'input')} "
              f"{_verb(len(conflicts), 'appears', 'appear')} with different outputs.")
    return _checked("duplicates", detail, warnings)


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


def near_duplicate_check(train: Sequence[Example], train_vecs: np.ndarray | None) -> Checked:
    """`near_duplicate_train`: pairs of training inputs with cosine >= 0.95 that are not exact copies."""
    vecs = _unit_rows(train_vecs, len(train), "train_vecs")
    if vecs is None:
        return skipped("near_duplicates", "no embeddings of the training inputs (only exact duplicates were checked)")
    if len(train) < 2:
        return skipped("near_duplicates", "fewer than 2 training examples")
    keys: dict[str, int] = {}
    groups = np.array([keys.setdefault(normalize(ex.input), len(keys)) for ex in train])
    count, first = similar_pairs(vecs, groups=groups)
    detail = (f"{_plural(count, 'pair')} of the {len(train)} training inputs {_verb(count, 'is', 'are')} near "
              f"duplicates (cosine >= {NEAR_DUPLICATE_COSINE:.2f}, exact copies aside).")
    if not count:
        return _checked("near_duplicates", detail, [])
    i, j, cos = first[0]
    later = list(dict.fromkeys(train[j].id for _, j, _ in first))
    return _checked("near_duplicates", detail, [_warning(
        "near_duplicate_train",
        f"{_plural(count, 'pair')} of training inputs {_verb(count, 'is', 'are')} near duplicates "
        f"(cosine >= {NEAR_DUPLICATE_COSINE:.2f}, e.g. {train[i].id!r} and {train[j].id!r} at {cos:.3f}), "
        f"so the set is less varied than its {len(train)} examples suggest.",
        count, later)])


# ---------------------------------------------------------------- leakage

def eval_leak_train_check(train: Sequence[Example], evals: Sequence[Example], train_vecs: np.ndarray | None,
                          eval_vecs: np.ndarray | None) -> Checked:
    """`eval_leak_train`: eval inputs equal (normalized) or near (cosine >= 0.95) to a training input."""
    if not train or not evals:
        return skipped("leakage_train_eval", "no training or no eval examples")
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
    how = (f"exactly or at cosine >= {NEAR_DUPLICATE_COSINE:.2f}" if tv is not None and ev is not None
           else "exactly (no embeddings, so near matches were not checked)")
    detail = (f"{leaked.size} of {_plural(len(evals), 'eval input')} {_verb(int(leaked.size), 'matches', 'match')} "
              f"a training input {how}.")
    if not leaked.size:
        return _checked("leakage_train_eval", detail, [])
    first = int(leaked[0])
    ids = [evals[int(k)].id for k in leaked]
    return _checked("leakage_train_eval", detail, [_warning(
        "eval_leak_train",
        f"{leaked.size} of {_plural(len(evals), 'eval input')} ({leaked.size / len(evals):.0%}) "
        f"{_verb(int(leaked.size), 'matches', 'match')} a training input exactly or nearly "
        f"(cosine >= {NEAR_DUPLICATE_COSINE:.2f}, e.g. eval {ids[0]!r} and train {train[int(match[first])].id!r}), "
        f"and such leakage inflates fine-tuning and few-shot scores.",
        int(leaked.size), ids)])


def _words(text: str) -> list[str]:
    """Casefolded words without punctuation: 'Can I return bread?' and 'can i return bread' match."""
    return re.findall(r"\w+", text.casefold())


def _trigrams(words: Sequence[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + 3]) for i in range(len(words) - 2)}


def eval_leak_corpus_check(evals: Sequence[Example], corpus: Sequence[Document]) -> Checked:
    """`eval_leak_corpus`: eval inputs of 6+ words found verbatim or nearly (>= 80% of their word trigrams) in one
    corpus document, which suggests the eval questions were cut from the documents.

    Answers sitting in the corpus are how retrieval QA works, not a leak: the detail counts the references
    found there as information only. A question copied from a document is the leak: retrieval then finds the
    passage by the question's own wording, which new questions will not share."""
    name = "leakage_corpus_eval"
    if not corpus:
        return skipped(name, "no corpus")
    if not evals:
        return skipped(name, "no eval examples")
    doc_words = [_words(d.text) for d in corpus]
    queries = [(ex, _trigrams(words)) for ex in evals if len(words := _words(ex.input)) >= LEAK_MIN_WORDS]
    wanted = set().union(*(grams for _, grams in queries))
    where: dict[tuple[str, ...], set[int]] = defaultdict(set)  # only the trigrams some eval input has
    for d, words in enumerate(doc_words):
        for gram in _trigrams(words) & wanted:
            where[gram].add(d)
    found: list[tuple[str, str]] = []
    for ex, grams in queries:
        need = math.ceil(NEAR_VERBATIM_SHARE * len(grams))
        # a document holding `need` of the trigrams holds one of the len - need + 1 rarest
        rare = sorted(grams, key=lambda g: len(where.get(g, ())))[: len(grams) - need + 1]
        candidates = sorted({d for g in rare for d in where.get(g, ())})
        hits = [(sum(d in where.get(g, ()) for g in grams), -d) for d in candidates]
        if hits and max(hits)[0] >= need:
            found.append((ex.id, corpus[-max(hits)[1]].id))
    joined = "\n".join(f" {' '.join(words)} " for words in doc_words)
    answered = sum(bool(ref) and f" {ref} " in joined for ref in (" ".join(_words(ex.output)) for ex in evals))
    answers = (f"{answered} of {_plural(len(evals), 'eval reference')} {_verb(answered, 'occurs', 'occur')} "
               f"in the corpus, as retrieval QA expects")
    if not queries:
        return skipped(name, f"every eval input is under {LEAK_MIN_WORDS} words, too short to tell a copied question "
                             f"from a common phrase ({answers})")
    detail = (f"{len(found)} of {_plural(len(queries), 'eval input')} of {LEAK_MIN_WORDS}+ words "
              f"{_verb(len(found), 'appears', 'appear')} verbatim or nearly (>= {NEAR_VERBATIM_SHARE:.0%} of the "
              f"input's word trigrams) in a corpus document; {answers}.")
    if not found:
        return _checked(name, detail, [])
    return _checked(name, detail, [_warning(
        "eval_leak_corpus",
        f"{len(found)} of {_plural(len(queries), 'eval input')} {_verb(len(found), 'appears', 'appear')} verbatim or "
        f"nearly in the corpus (e.g. {found[0][0]!r} in {found[0][1]!r}), which suggests the eval questions were cut "
        f"from the documents, so retrieval can find the passage by the question's own words and may score higher "
        f"than on new questions.",
        len(found), [eid for eid, _ in found])])


# ---------------------------------------------------------------- eval size and labels

def small_eval_check(evals: Sequence[Example]) -> Checked:
    """`small_eval_set`: fewer than 30 eval examples. The detail gives the difference the set can detect."""
    n = len(evals)
    mdd = min_detectable_difference_at(n)
    power = (f"differences under ~{mdd:.2f} will not be detectable" if mdd < 1
             else "no difference between levers will be detectable")
    if n >= SMALL_EVAL:
        return _checked("eval_size", f"the eval set has {_plural(n, 'example')}, so levers that differ by ~{mdd:.2f} "
                                     f"or more can be told apart (alpha 0.05, power 0.8, pass/fail scores).", [])
    message = f"the eval set has {_plural(n, 'example')} (fewer than {SMALL_EVAL}); {power}."
    return _checked("eval_size", message, [_warning("small_eval_set", message, n)])


def eval_power_check(size: Checked, warnings: Sequence[Mapping]) -> Checked:
    """The eval-size check once the levers are compared: a warning too when the best lever and another differ by
    less than the eval set detects (analysis.py's `eval_set_too_small_to_separate`, already among the warnings)."""
    close = [w for w in warnings if w.get("code") == SEPARATE_CODE]
    if size.name != "eval_size" or size.status != PASSED or not close:
        return size
    return Checked(size.name, WARNING, f"{size.detail[:-1]}, but {close[0]['message'].rstrip('.')}.", lever=size.lever)


def label_checks(train: Sequence[Example], evals: Sequence[Example]) -> Checked:
    """`label_imbalance` for classification-like train outputs: a majority label with >= 60% of train
    or of eval, and eval labels never seen in train."""
    train_labels = [ex.output.strip() for ex in train]
    if not looks_like_classification(train_labels):
        return skipped("label_imbalance", "the training outputs are free text, not class labels")
    warnings, shares = [], []
    for split, labels in (("training", train_labels), ("eval", [ex.output.strip() for ex in evals])):
        if not labels:
            continue
        label, count = Counter(labels).most_common(1)[0]
        share = count / len(labels)
        shares.append(f"{_quote(label)} is {share:.0%} of the {split} outputs")
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
    detail = (f"the most common label {' and '.join(shares)} (a warning from {IMBALANCE_SHARE:.0%}), and "
              f"{_plural(len(unseen), 'eval example')} {_verb(len(unseen), 'has', 'have')} a label never seen in "
              f"training.")
    return _checked("label_imbalance", detail, warnings)


def data_checks(train: Sequence[Example], evals: Sequence[Example], corpus: Sequence[Document] = (),
                train_vecs: np.ndarray | None = None, eval_vecs: np.ndarray | None = None) -> list[Checked]:
    """Every data check in a fixed order; without embeddings the near-duplicate checks use exact text only."""
    return [duplicate_checks(train), near_duplicate_check(train, train_vecs),
            eval_leak_train_check(train, evals, train_vecs, eval_vecs), eval_leak_corpus_check(evals, corpus),
            small_eval_check(evals), label_checks(train, evals)]


# ---------------------------------------------------------------- fine-tuning risks

def _points(curve: Mapping, key: str) -> list[tuple[float, float]]:
    """(step, loss) pairs with a finite loss (a run without dev rows records NaN)."""
    return [(float(s), float(v)) for s, v in curve.get(key) or [] if v is not None and math.isfinite(v)]


def _epoch_train(train: list[tuple[float, float]], dev: list[tuple[float, float]], k: int) -> float | None:
    """Mean train loss of the epoch that ends at dev point k: the steps since the previous dev point (train
    loss is per step and noisy), or for the first epoch its last quarter of steps."""
    end = dev[k][0]
    if k >= 1:
        window = [v for s, v in train if dev[k - 1][0] < s <= end]
    else:
        upto = [v for s, v in train if s <= end]
        window = upto[-max(1, math.ceil(len(upto) / 4)):] if upto else []
    return float(np.mean(window)) if window else None


def _kept_index(curve: Mapping, dev: list[tuple[float, float]]) -> int:
    """The dev point of the adapter that was kept: early stopping restores the best epoch (`best_step`);
    a curve without it kept the last one."""
    steps = [s for s, _ in dev]
    best = curve.get("best_step")
    return steps.index(float(best)) if best is not None and float(best) in steps else len(dev) - 1


def loss_gap(curve: Mapping) -> dict:
    """Train and dev loss at the end and at the kept epoch, whether dev loss rose >= 10% at the end (`rising`)
    or at the kept epoch (`kept_rise`, against the best earlier epoch), rose after it, or was still falling.

    Train loss is logged per step and noisy, so "final train" averages the steps since the
    previous dev evaluation (the last epoch), or the last quarter of steps with one dev point."""
    train, dev = _points(curve, "train"), _points(curve, "dev")
    summary: dict = {"final_train": None, "final_dev": None, "best_dev": None, "gap": None, "rising": False,
                     "kept_epoch": None, "kept_train": None, "kept_dev": None, "kept_rise": 0.0,
                     "rose_after": False, "still_falling": False}
    if train:
        if len(dev) >= 2:
            window = [v for s, v in train if s > dev[-2][0]] or [train[-1][1]]
        else:
            window = [v for _, v in train[-max(1, math.ceil(len(train) / 4)):]]
        summary["final_train"] = float(np.mean(window))
    if not dev:
        return summary
    final_dev, best_dev = dev[-1][1], min(v for _, v in dev)
    k = _kept_index(curve, dev)
    kept_dev, earlier_best = dev[k][1], min(v for _, v in dev[:k + 1])
    summary.update(
        final_dev=final_dev, best_dev=best_dev,
        rising=final_dev > best_dev and final_dev >= (1 + DEV_RISE) * best_dev - 1e-12,
        kept_epoch=k + 1, kept_train=_epoch_train(train, dev, k), kept_dev=kept_dev,
        kept_rise=kept_dev / earlier_best - 1 if earlier_best > 0 else 0.0,
        rose_after=any(v > kept_dev for _, v in dev[k + 1:]),
        still_falling=k == len(dev) - 1 and len(dev) >= 2 and kept_dev < (1 - STILL_FALLING) * dev[-2][1])
    if summary["final_train"] is not None:
        summary["gap"] = final_dev - summary["final_train"]
    return summary


def overfitting_check(curve: Mapping) -> tuple[dict, Checked]:
    """`overfitting`, judged at the adapter that was kept (early stopping restores the best epoch): its dev loss
    >= 10% above an earlier epoch's, or its train loss < half its dev loss while dev loss was no longer falling
    (with one dev point there is no trend: it passes).

    Dev loss rising only after the kept epoch is what early stopping is for, and a train/dev gap while dev loss
    still falls is the normal generalisation gap: both pass, the second noting that more training may help."""
    s = loss_gap(curve)
    if s["kept_dev"] is None:
        return s, skipped("overfitting", "no dev loss was recorded, so there was nothing to judge the adapter on")
    epoch, kept_dev, kept_train = s["kept_epoch"], s["kept_dev"], s["kept_train"]
    losses = f"dev loss {kept_dev:.3f}" if kept_train is None else (
        f"train loss {kept_train:.3f}, dev loss {kept_dev:.3f}")
    dev = [v for _, v in _points(curve, "dev")]
    if s["kept_rise"] >= DEV_RISE - 1e-12:
        lead = (f"the kept epoch-{epoch} adapter may be overfitting: its dev loss is {s['kept_rise']:.0%} above the "
                f"{min(dev[:epoch]):.3f} of an earlier epoch ({losses}).")
        return s, _checked("overfitting", lead, [_warning("overfitting", lead)])
    if len(dev) >= 2 and not s["still_falling"] and kept_train is not None and kept_train < TRAIN_DEV_RATIO * kept_dev:
        lead = (f"the kept epoch-{epoch} adapter may be overfitting: its train loss is below {TRAIN_DEV_RATIO:.0%} of "
                f"its dev loss ({losses}, gap {kept_dev - kept_train:.3f}) and dev loss was no longer falling.")
        return s, _checked("overfitting", lead, [_warning("overfitting", lead)])
    if s["still_falling"]:
        trend = " -> ".join(f"{v:.3f}" for v in dev[-3:])
        detail = (f"dev loss was still falling at the last epoch ({trend}), so the epoch-{epoch} adapter was kept and "
                  f"more epochs or steps may help ({losses}).")
    elif len(dev) == 1:
        detail = f"dev loss was measured once, after epoch 1, so there is no trend to judge overfitting by ({losses})."
    elif s["rose_after"]:
        detail = (f"dev loss rose after epoch {epoch} ({kept_dev:.3f} -> {max(dev[epoch:]):.3f}); "
                  f"the epoch-{epoch} adapter was kept ({losses}).")
    else:
        detail = f"the kept epoch-{epoch} adapter shows no sign of overfitting ({losses})."
    return s, _checked("overfitting", detail, [])


def forgetting_check(base_scores: Sequence[float] | np.ndarray, tuned_scores: Sequence[float] | np.ndarray,
                     seed: int = 0, n_boot: int = 2000) -> tuple[dict, Checked]:
    """`forgetting`: the fine-tuned model scores significantly lower than the base model on a guard set.

    "drop" is the paired-bootstrap interval of finetuned - base (negative when ability was lost);
    the warning fires when the whole interval lies below 0. Scores may be (n,) or (n_seeds, n)."""
    drop = paired_bootstrap(tuned_scores, base_scores, n_boot=n_boot, seed=seed)
    base, tuned = float(np.mean(base_scores)), float(np.mean(tuned_scores))
    summary = {"base": base, "finetuned": tuned, "drop": drop.to_dict()}
    n = np.shape(base_scores)[-1]
    detail = (f"on the {n} guard examples the fine-tuned model scores {tuned:.2f} against the base model's {base:.2f} "
              f"(change {drop.mean:+.2f}, 95% CI [{drop.ci_low:+.2f}, {drop.ci_high:+.2f}]).")
    if drop.ci_high >= 0:
        return summary, _checked("forgetting", detail, [])
    return summary, _checked("forgetting", detail, [_warning(
        "forgetting",
        f"on the {n} guard examples the fine-tuned model scores {tuned:.2f} against the base model's {base:.2f} "
        f"(change {drop.mean:+.2f}, 95% CI [{drop.ci_low:+.2f}, {drop.ci_high:+.2f}]), so fine-tuning lost "
        f"some general ability.", n)])


def below_majority_check(lever_means: Mapping[str, float], label: str, share: float) -> list[dict]:
    """`below_majority_baseline`: each lever whose eval mean is below the share of the most common reference,
    i.e. below what always answering that one label scores on a classification-like eval set."""
    return [_warning("below_majority_baseline",
                     f"{name} scores {mean:.2f}, below always answering {label!r} ({share:.2f}): a constant answer "
                     f"beats it; check its predicted labels before trusting it")
            for name, mean in lever_means.items() if mean < share]


# ---------------------------------------------------------------- comparison checks (after the levers ran)

def dev_eval_gap_check(levers: Sequence[Mapping], eval_totals: Mapping[str, np.ndarray]) -> Checked:
    """`dev_eval_gap`: a lever's chosen variant scored far higher on dev than on eval, so the dev split that chose it
    does not represent eval. Far: dev - eval > max(0.15, 2 standard errors of the difference), the dev standard
    error at its largest for [0, 1] scores with that mean, sqrt(m (1 - m) / n), eval's from its per-example scores.

    `levers`: results.json lever dicts (name, status, chosen, dev); `eval_totals`: each lever's per-example eval
    totals, (n,) or (n_seeds, n)."""
    compared, warnings = [], []
    for lev in levers:
        name, chosen = lev.get("name"), (lev.get("chosen") or {}).get("variant")
        row = next((r for r in lev.get("dev") or [] if r.get("variant") == chosen and r.get("dev_rows")), None)
        if lev.get("status") != "ok" or row is None or name not in eval_totals:
            continue
        totals = np.asarray(eval_totals[name], dtype=float)
        per_example = totals.mean(axis=0) if totals.ndim == 2 else totals
        dev, n_dev, score = float(row["score"]), int(row["dev_rows"]), float(per_example.mean())
        eval_var = float(per_example.var(ddof=1)) / len(per_example) if len(per_example) > 1 else 0.0
        allowed = max(DEV_GAP_FLOOR, DEV_GAP_SE * math.sqrt(max(dev * (1 - dev), 0.0) / n_dev + eval_var))
        far = dev - score > allowed
        compared.append(f"{name} {dev:.2f} on dev vs {score:.2f} on eval "
                        f"({'over' if far else 'within'} the {allowed:.2f} noise allows)")
        if far:
            warnings.append(_warning(
                "dev_eval_gap",
                f"{name}'s chosen variant ({chosen}) scored {dev:.2f} on the {n_dev} dev rows but {score:.2f} on eval, "
                f"a gap of {dev - score:.2f} where dev noise explains up to {allowed:.2f}, so the dev split does not "
                f"represent eval and the variant chosen on it may not be the best one for eval."))
    if not compared:
        return skipped("dev_eval_gap", "no lever chose among variants on dev")
    lead = ("a chosen variant scored far higher on dev than on eval" if warnings
            else "every chosen variant scored on eval within noise of its dev score")
    return _checked("dev_eval_gap", f"{lead}: {'; '.join(compared)}.", warnings)


def unrun_finetune_checks(records: Sequence[Mapping]) -> list[Checked]:
    """Skipped overfitting and forgetting records when no fine-tuning lever produced them, so the list is whole."""
    done = {r.get("name") for r in records}
    return [skipped(name, "no fine-tuned lever ran") for name in FINETUNE_CHECKS if name not in done]


def majority_baseline_check(baselines: Mapping | None, warnings: Sequence[Mapping],
                            levers: Sequence[Mapping] = ()) -> Checked:
    """Whether any lever scores below always answering the most common label (analysis.py's
    `below_majority_baseline` warnings); skipped when the eval references are not class labels."""
    base = (baselines or {}).get("majority_class")
    if not isinstance(base, Mapping) or base.get("score") is None:
        return skipped("majority_baseline", "the eval references are not class labels, so there is no majority-class "
                                            "baseline")
    share = float(base["score"])
    constant = f"always answering {base.get('label')!r} ({share:.2f})"
    means = [(lev["score"]["mean"], lev["name"]) for lev in levers if lev.get("status") == "ok"
             and isinstance(lev.get("score"), Mapping) and lev["score"].get("mean") is not None]
    below = [w for w in warnings if w.get("code") == BELOW_MAJORITY_CODE]
    if below:
        under = [f"{name} {mean:.2f}" for mean, name in means if mean < share]
        detail = (f"{len(under)} of {_plural(len(means), 'lever')} {_verb(len(under), 'scores', 'score')} below "
                  f"{constant}: {', '.join(under)}." if under
                  else "; ".join(str(w.get("message", "")).rstrip(".") for w in below) + ".")
        return Checked("majority_baseline", WARNING, detail)
    lowest = f"; the lowest, {min(means)[1]}, scores {min(means)[0]:.2f}" if means else ""
    return Checked("majority_baseline", PASSED, f"no lever scores below {constant}{lowest}.")

"""Data, training and comparison checks on constructed data: counts, ids, thresholds at the edge, the
check records (status and detail) on clean and leaky data."""
from __future__ import annotations

import hashlib
import math
import re

import numpy as np
import pytest

from advisor.checks import (
    BLOCK_ROWS,
    Checked,
    data_checks,
    dev_eval_gap_check,
    duplicate_checks,
    eval_leak_corpus_check,
    eval_leak_train_check,
    eval_power_check,
    forgetting_check,
    label_checks,
    loss_gap,
    majority_baseline_check,
    near_duplicate_check,
    normalize,
    overfitting_check,
    similar_pairs,
    small_eval_check,
    unrun_finetune_checks,
    warnings_of,
)
from advisor.data import Document, Example
from advisor.decide import FINETUNE_RISK_CODES, SMALL_EVAL_CODE

WORDS = ("apple river stone cloud amber violet copper meadow lantern harbor quartz falcon willow ember "
         "canyon orchid glacier saffron tundra marble").split()


def hashing_embed(texts: list[str], dim: int = 256) -> np.ndarray:
    """Deterministic bag-of-words embedder: each word hashed to a bucket, rows L2-normalized."""
    vectors = np.zeros((len(texts), dim))
    for row, text in enumerate(texts):
        for word in re.findall(r"\w+", text.lower()):
            vectors[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % dim] += 1.0
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def ex(id_: str, text_in: str, text_out: str = "an answer") -> Example:
    return Example(id_, text_in, text_out)


def distinct_texts(n: int, offset: int = 0) -> list[str]:
    """n inputs sharing no word pair: word i and word j from separate vocabularies."""
    return [f"{WORDS[(i + offset) % 20]}{(i + offset) // 20} question about item{i + offset}" for i in range(n)]


def unit_pair(cosine: float) -> np.ndarray:
    """Two unit vectors in 3-d with exactly this cosine."""
    return np.array([[1.0, 0.0, 0.0], [cosine, math.sqrt(1 - cosine ** 2), 0.0]])


def codes(warnings: list[dict] | Checked) -> list[str]:
    return [w["code"] for w in (warnings.warnings if isinstance(warnings, Checked) else warnings)]


def statuses(checked: list[Checked]) -> dict[str, str]:
    return {c.name: c.status for c in checked}


def one_sentence(text: str) -> bool:
    return text.endswith(".") and not re.search(r"[.!?]\s+[A-Z]", text)


# ---------------------------------------------------------------- clean data

def test_clean_data_passes_every_check_and_says_what_it_checked():
    train_in = [f"{t} and nothing else here" for t in distinct_texts(40)]
    eval_in = [f"{t} and nothing else here" for t in distinct_texts(30, offset=100)]
    train = [ex(f"t{i}", t, f"free text answer number {i}") for i, t in enumerate(train_in)]
    evals = [ex(f"e{i}", t, f"reply {i}") for i, t in enumerate(eval_in)]
    corpus = [Document("doc.md", "the reply 3 is here, and nothing else here is asked")]
    found = data_checks(train, evals, corpus, hashing_embed(train_in), hashing_embed(eval_in))
    assert warnings_of(found) == []
    assert statuses(found) == {"duplicates": "passed", "near_duplicates": "passed", "leakage_train_eval": "passed",
                               "leakage_corpus_eval": "passed", "eval_size": "passed", "label_imbalance": "skipped"}
    detail = {c.name: c.detail for c in found}
    assert detail["leakage_train_eval"] == "0 of 30 eval inputs match a training input exactly or at cosine >= 0.95."
    assert detail["duplicates"].startswith("0 of 40 training examples repeat")
    assert detail["near_duplicates"].startswith("0 pairs of the 40 training inputs are near duplicates")
    assert detail["leakage_corpus_eval"].startswith("0 of 30 eval inputs of 6+ words appear verbatim or nearly")
    assert "1 of 30 eval references occurs in the corpus, as retrieval QA expects" in detail["leakage_corpus_eval"]
    assert "30 examples" in detail["eval_size"] and "~0.26" in detail["eval_size"]
    assert detail["label_imbalance"] == "the training outputs are free text, not class labels"
    assert all(one_sentence(c.detail) for c in found if c.status != "skipped")


def test_leaky_data_warns_in_every_data_check():
    train = [ex("t0", "Which label fits this ticket about a refund", "billing"),
             ex("t1", "which label fits this ticket about a refund", "billing"),  # exact duplicate
             ex("t2", "Which label fits this ticket about a parcel", "billing"),
             ex("t3", "Which label fits this ticket about my login", "account")]
    evals = [ex("e0", "WHICH label fits this ticket about a refund", "billing"),  # copied from train
             ex("e1", "Where did the blue parcel sent on Monday go", "billing"),  # copied from the corpus
             ex("e2", "Something else entirely", "legal")]  # a label train never had
    corpus = [Document("faq.md", "Q: where did the blue parcel sent on Monday go? A: to the depot.")]
    found = data_checks(train, evals, corpus)
    assert statuses(found) == {"duplicates": "warning", "near_duplicates": "skipped", "leakage_train_eval": "warning",
                               "leakage_corpus_eval": "warning", "eval_size": "warning", "label_imbalance": "warning"}
    detail = {c.name: c.detail for c in found}
    assert detail["duplicates"].startswith("1 of 4 training examples repeats an earlier example's input and output")
    assert detail["leakage_train_eval"].startswith("1 of 3 eval inputs matches a training input exactly")
    assert detail["leakage_corpus_eval"].startswith("1 of 2 eval inputs of 6+ words appears verbatim or nearly")
    assert "'billing' is 75% of the training outputs" in detail["label_imbalance"]
    assert "1 eval example has a label never seen in training" in detail["label_imbalance"]
    assert "has 3 examples (fewer than 30)" in detail["eval_size"]
    assert codes(warnings_of(found)) == ["duplicate_train", "eval_leak_train", "eval_leak_corpus", "small_eval_set",
                                         "label_imbalance", "label_imbalance", "label_imbalance"]


def test_warnings_and_records_have_the_documented_shape():
    train = [ex("a", "Same input", "one"), ex("b", "same  INPUT", "one"), ex("c", "other", "two")]
    checked = data_checks(train, [ex("e", "new", "three")], [])
    found = warnings_of(checked)
    assert codes(found) == ["duplicate_train", "small_eval_set"]
    for w in found:
        assert set(w) <= {"code", "message", "count", "examples"}
        assert one_sentence(w["message"])
        assert len(w.get("examples", [])) <= 5
    for c in checked:
        assert set(c.record()) == {"name", "status", "detail"} and c.status in ("passed", "warning", "skipped")
        assert (c.status == "warning") == bool(c.warnings)
    assert statuses(checked)["leakage_corpus_eval"] == "skipped" and checked[3].detail == "no corpus"


def test_codes_are_the_ones_decide_reacts_to():
    assert SMALL_EVAL_CODE == codes(small_eval_check([ex("e", "x")]))[0]
    curve = {"train": [[1, 0.1], [2, 0.1]], "dev": [[1, 1.0], [2, 2.0]], "best_step": 2}  # the worse epoch was kept
    base, tuned = np.ones(40), np.zeros(40)
    found = overfitting_check(curve)[1].warnings + forgetting_check(base, tuned, seed=0, n_boot=200)[1].warnings
    assert tuple(codes(found)) == FINETUNE_RISK_CODES


# ---------------------------------------------------------------- exact duplicates

def test_normalize_casefolds_and_collapses_whitespace():
    assert normalize("  Straße\tOPENS \n at 6 ") == "strasse opens at 6"


def test_duplicates_counted_as_later_copies():
    train = [ex("a", "When do you open?", "6:30"), ex("b", "when do  you OPEN?", "6:30"),
             ex("c", "When do you open?", " 6:30 "), ex("d", "Who bakes?", "Marta"), ex("e", "Who bakes now?", "Marta")]
    (dup,) = duplicate_checks(train).warnings
    assert dup["code"] == "duplicate_train"
    assert dup["count"] == 2 and dup["examples"] == ["b", "c"]
    assert "2 of 5" in dup["message"]


def test_conflicting_labels_counts_inputs_and_lists_ids():
    train = [ex("a", "Refund please", "billing"), ex("b", "refund PLEASE", "shipping"),
             ex("c", "Where is it", "shipping"), ex("d", "where is it", "shipping"),
             ex("e", "Cancel", "account"), ex("f", "cancel", "billing"), ex("g", "cancel", "returns")]
    found = {w["code"]: w for w in duplicate_checks(train).warnings}
    assert found["conflicting_labels"]["count"] == 2  # "refund please" and "cancel"; "where is it" agrees
    assert found["conflicting_labels"]["examples"] == ["a", "b", "e", "f", "g"]
    assert found["duplicate_train"]["count"] == 1 and found["duplicate_train"]["examples"] == ["d"]


def test_no_duplicate_warning_for_distinct_inputs():
    checked = duplicate_checks([ex("a", "one two"), ex("b", "one two three")])
    assert checked.status == "passed" and checked.warnings == []


def test_examples_are_capped_at_five():
    train = [ex(f"t{i}", "the same question") for i in range(9)]
    (dup,) = duplicate_checks(train).warnings
    assert dup["count"] == 8 and dup["examples"] == ["t1", "t2", "t3", "t4", "t5"]


# ---------------------------------------------------------------- near duplicates

def test_near_duplicate_threshold_is_inclusive_at_095():
    train = [ex("a", "first"), ex("b", "second")]
    checked = near_duplicate_check(train, unit_pair(0.95))
    (w,) = checked.warnings
    assert w["code"] == "near_duplicate_train" and w["count"] == 1 and w["examples"] == ["b"]
    assert checked.status == "warning" and checked.detail.startswith("1 pair of the 2 training inputs is")
    below = near_duplicate_check(train, unit_pair(0.949))
    assert below.warnings == [] and below.status == "passed" and below.detail.startswith("0 pairs")


def test_near_duplicates_with_hashing_embedder_skip_exact_copies():
    texts = ["The bakery opens at 6:30 on Monday", "the bakery opens at 6:30 on monday!",  # same words
             "THE BAKERY OPENS AT 6:30 ON MONDAY",  # exact copy of the first after normalizing
             "Who is the head baker at the shop"]
    train = [ex(f"t{i}", t) for i, t in enumerate(texts)]
    (w,) = near_duplicate_check(train, hashing_embed(texts)).warnings
    # pairs (0,1) and (1,2); (0,2) is an exact duplicate, reported by duplicate_train instead
    assert w["count"] == 2 and w["examples"] == ["t1", "t2"]
    assert "'t0' and 't1'" in w["message"]


def test_near_duplicates_need_embeddings():
    assert near_duplicate_check([ex("a", "x"), ex("b", "y")], None).status == "skipped"
    with pytest.raises(ValueError, match="train_vecs"):
        near_duplicate_check([ex("a", "x"), ex("b", "y")], np.ones((3, 4)))


def test_similar_pairs_matches_brute_force_across_blocks():
    rng = np.random.default_rng(0)
    n = BLOCK_ROWS * 2 + 300
    vecs = rng.standard_normal((n, 3)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    vecs[n - 1] = vecs[5]  # a pair spanning the first and last blocks
    count, first = similar_pairs(vecs, threshold=0.999)
    sims = vecs @ vecs.T
    brute = int(np.count_nonzero(np.triu(sims >= 0.999 - 1e-6, k=1)))
    assert count == brute and count > 100
    assert all(i < j and sims[i, j] >= 0.999 - 1e-6 for i, j, _ in first) and len(first) == 5
    assert first[0][0] == min(np.argwhere(np.triu(sims >= 0.999 - 1e-6, k=1))[:, 0])


def test_similar_pairs_on_10k_rows():  # its speed is a benchmark's business, not a timed test's (load moves it)
    rng = np.random.default_rng(1)
    vecs = rng.standard_normal((10_000, 128)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    vecs[9_999] = vecs[3]
    vecs[7_000] = vecs[10]
    count, first = similar_pairs(vecs)
    assert count == 2 and [(i, j) for i, j, _ in first] == [(3, 9_999), (10, 7_000)]


# ---------------------------------------------------------------- leakage into eval

def test_eval_leak_train_exact_after_normalizing():
    train = [ex("t0", "Where is my order A12345?"), ex("t1", "Reset my password")]
    evals = [ex("e0", "where is my  ORDER a12345?"), ex("e1", "Change my address")]
    (w,) = eval_leak_train_check(train, evals, None, None).warnings
    assert w["code"] == "eval_leak_train" and w["count"] == 1 and w["examples"] == ["e0"]
    assert "1 of 2" in w["message"] and "'t0'" in w["message"]


def test_eval_leak_train_near_match_at_the_edge():
    train = [ex("t0", "alpha"), ex("t1", "beta")]
    evals = [ex("e0", "gamma"), ex("e1", "delta")]
    train_vecs = np.array([[1.0, 0, 0], [0, 0, 1.0]])
    at_edge, below = unit_pair(0.95)[1], unit_pair(0.94)[1]
    (w,) = eval_leak_train_check(train, evals, train_vecs, np.array([below, at_edge])).warnings
    assert w["count"] == 1 and w["examples"] == ["e1"] and "'t0'" in w["message"]
    clean = eval_leak_train_check(train, evals, train_vecs, np.array([below, below]))
    assert clean.warnings == [] and clean.status == "passed" and clean.detail.startswith("0 of 2 eval inputs")


def test_eval_leak_train_finds_matches_past_the_first_block():
    rng = np.random.default_rng(2)
    train_vecs = rng.standard_normal((50, 32))
    eval_vecs = rng.standard_normal((BLOCK_ROWS + 500, 32))
    eval_vecs[BLOCK_ROWS + 400] = train_vecs[7] * 3.0  # unnormalized input is normalized first
    train = [ex(f"t{i}", f"train {i}") for i in range(50)]
    evals = [ex(f"e{i}", f"eval {i}") for i in range(len(eval_vecs))]
    (w,) = eval_leak_train_check(train, evals, train_vecs, eval_vecs).warnings
    assert w["examples"] == [f"e{BLOCK_ROWS + 400}"] and "'t7'" in w["message"]


HANDBOOK = [Document("hours.md", "Opening hours. The bakery opens at 6:30 every weekday and closes at noon."),
            Document("faq.md", "Q: Can I return bread that I bought yesterday? A: Yes, within two days if sealed."),
            Document("staff.md", "Marta Ilves is the head baker.")]


def test_answers_in_the_corpus_are_information_not_a_leak():
    evals = [ex("hours", "At what time does the bakery open on weekdays?", "6:30"),
             ex("baker", "Who is in charge of baking at the shop?", "Marta Ilves"),
             ex("long", "What are the opening hours of the bakery?", "the bakery opens at 6:30 every weekday and")]
    checked = eval_leak_corpus_check(evals, HANDBOOK)
    assert checked.status == "passed" and checked.warnings == []
    assert checked.detail == ("0 of 3 eval inputs of 6+ words appear verbatim or nearly (>= 80% of the input's word "
                              "trigrams) in a corpus document; 3 of 3 eval references occur in the corpus, as "
                              "retrieval QA expects.")


def test_questions_cut_from_the_corpus_are_a_leak():
    evals = [ex("copied", "can I return  BREAD that I bought yesterday", "yes"),  # verbatim, punctuation aside
             ex("near", "Can I return bread that I bought the day before yesterday?", "yes"),  # 5 of 9 trigrams
             ex("edited", "Can I return bread that I bought yesterday, please?", "yes"),  # 6 of 7 trigrams: >= 80%
             ex("short", "Opening hours?", "6:30 to noon"),  # under 6 words: too short to judge
             ex("straddle", "closes at noon marta ilves is the head baker", "?")]  # spans two documents
    checked = eval_leak_corpus_check(evals, HANDBOOK)
    (w,) = checked.warnings
    assert w["code"] == "eval_leak_corpus" and w["count"] == 2 and w["examples"] == ["copied", "edited"]
    assert "'copied' in 'faq.md'" in w["message"] and "2 of 4 eval inputs" in w["message"]
    assert checked.status == "warning" and checked.detail.startswith("2 of 4 eval inputs of 6+ words appear verbatim")
    assert "3 of 5 eval references occur in the corpus" in checked.detail  # the 3 "yes": the faq says "Yes,"
    assert one_sentence(w["message"]) and one_sentence(checked.detail)


def test_eval_leak_corpus_names_the_right_document_and_skips_without_corpus():
    corpus = [Document(f"d{i}.md", f"filler {i} " * 20) for i in range(5)] + HANDBOOK
    question = ex("e", "Can I return bread that I bought yesterday?", "yes")
    (w,) = eval_leak_corpus_check([question], corpus).warnings
    assert "'faq.md'" in w["message"]
    none = eval_leak_corpus_check([question], [])
    assert none.status == "skipped" and none.detail == "no corpus" and none.warnings == []
    short = eval_leak_corpus_check([ex("e", "Hours?", "6:30")], HANDBOOK)
    assert short.status == "skipped" and "under 6 words" in short.detail


# ---------------------------------------------------------------- eval size

def test_small_eval_set_edge_and_detectable_difference():
    checked = small_eval_check([ex(f"e{i}", "x") for i in range(29)])
    (w,) = checked.warnings
    expected = (1.96 + 0.84) * 0.5 / math.sqrt(29)
    assert w["code"] == "small_eval_set" and w["count"] == 29
    assert f"~{expected:.2f}" in w["message"] and "~0.26" in w["message"]
    assert checked.status == "warning" and checked.detail == w["message"]
    enough = small_eval_check([ex(f"e{i}", "x") for i in range(30)])
    assert enough.warnings == [] and enough.status == "passed"
    assert enough.detail == ("the eval set has 30 examples, so levers that differ by ~0.26 or more can be told apart "
                             "(alpha 0.05, power 0.8, pass/fail scores).")


def test_tiny_eval_set_detects_nothing():
    (w,) = small_eval_check([ex("e0", "x")]).warnings
    assert "no difference" in w["message"] and "has 1 example " in w["message"]


def test_eval_power_turns_to_warning_when_levers_are_closer_than_it_detects():
    size = small_eval_check([ex(f"e{i}", "x") for i in range(107)])
    close = {"code": "eval_set_too_small_to_separate",
             "message": "with 107 eval examples the smallest detectable difference is about 0.11; prompt differs "
                        "from the best lever (retrieval) by less"}
    assert eval_power_check(size, []) is size and size.status == "passed"
    power = eval_power_check(size, [close])
    assert power.status == "warning" and power.warnings == []  # the warning is already among the run's warnings
    assert power.detail.startswith("the eval set has 107 examples") and power.detail.endswith("by less.")
    assert one_sentence(power.detail)
    other = duplicate_checks([ex("a", "x")])
    assert eval_power_check(other, [close]) is other


# ---------------------------------------------------------------- labels

def labelled(prefix: str, labels: list[str]) -> list[Example]:
    return [ex(f"{prefix}{i}", f"ticket {i}", lab) for i, lab in enumerate(labels)]


def test_majority_share_edge_in_train():
    train = labelled("t", ["billing"] * 6 + ["shipping"] * 2 + ["account"] * 2)
    evals = labelled("e", ["billing", "shipping", "account", "shipping"])
    checked = label_checks(train, evals)
    (w,) = checked.warnings
    assert w["code"] == "label_imbalance" and w["count"] == 6
    assert "6 of the 10 training outputs (60%)" in w["message"]
    assert checked.status == "warning" and "'billing' is 60% of the training outputs" in checked.detail
    balanced = label_checks(labelled("t", ["billing"] * 5 + ["shipping"] * 3 + ["account"] * 2), evals)
    assert balanced.warnings == [] and balanced.status == "passed"
    assert balanced.detail == ("the most common label 'billing' is 50% of the training outputs and 'shipping' is 50% "
                               "of the eval outputs (a warning from 60%), and 0 eval examples have a label never seen "
                               "in training.")


def test_majority_share_in_eval_and_unseen_labels():
    train = labelled("t", ["billing", "shipping", "account"] * 4)
    evals = labelled("e", ["billing"] * 4 + ["billing\n", "refund", "refund", "legal "])  # labels compared stripped
    found = label_checks(train, evals).warnings
    assert codes(found) == ["label_imbalance", "label_imbalance"]
    assert "5 of the 8 eval outputs (62%)" in found[0]["message"]
    assert found[1]["count"] == 3 and found[1]["examples"] == ["e5", "e6", "e7"]
    assert "2 eval labels" in found[1]["message"] and "'legal'" in found[1]["message"]


def test_free_text_outputs_skip_label_checks():
    train = [ex(f"t{i}", f"q{i}", f"a long free text answer {i}") for i in range(10)]
    checked = label_checks(train, [ex("e", "q", "something never seen")])
    assert checked.status == "skipped" and checked.warnings == []


# ---------------------------------------------------------------- overfitting

def curve(dev: list[float], train: list[float] | None = None, steps_per_epoch: int = 10,
          kept: int | None = None) -> dict:
    """One dev point per epoch and a constant train loss per epoch (default 1.0); `kept` (1-based) is the epoch
    training restored, by default the lowest dev loss, as early stopping does."""
    train = train or [1.0] * len(dev)
    steps = [[s, train[(s - 1) // steps_per_epoch]] for s in range(1, steps_per_epoch * len(dev) + 1)]
    dev_pts = [[steps_per_epoch * (k + 1), d] for k, d in enumerate(dev)]
    best = dev_pts[int(np.argmin(dev)) if kept is None else kept - 1][0]
    return {"train": steps, "dev": dev_pts, "epochs": [p[0] for p in dev_pts], "best_step": best}


def test_loss_gap_summary():
    summary = loss_gap(curve([1.2, 1.0, 1.15], train=[1.0, 0.8, 0.7]))
    assert summary == pytest.approx({"final_train": 0.7, "final_dev": 1.15, "best_dev": 1.0, "gap": 0.45,
                                     "rising": True, "kept_epoch": 2, "kept_train": 0.8, "kept_dev": 1.0,
                                     "kept_rise": 0.0, "rose_after": True, "still_falling": False})
    assert loss_gap({"train": [], "dev": []}) == {
        "final_train": None, "final_dev": None, "best_dev": None, "gap": None, "rising": False, "kept_epoch": None,
        "kept_train": None, "kept_dev": None, "kept_rise": 0.0, "rose_after": False, "still_falling": False}


def test_final_train_averages_the_last_epoch():
    c = {"train": [[1, 2.0], [2, 2.0], [3, 0.4], [4, 0.6]], "dev": [[2, 1.0], [4, 1.0]], "best_step": 2}
    assert loss_gap(c)["final_train"] == pytest.approx(0.5)
    assert loss_gap(c)["kept_train"] == pytest.approx(2.0)  # the kept epoch is the first: its own steps


def test_still_falling_dev_loss_is_no_overfitting_but_may_want_more_steps():
    """The public-task case: train far below dev while dev still falls is the normal generalisation gap."""
    summary, checked = overfitting_check(curve([0.31, 0.23, 0.20], train=[0.2, 0.08, 0.05]))
    assert checked.status == "passed" and checked.warnings == [] and summary["still_falling"]
    assert checked.detail == ("dev loss was still falling at the last epoch (0.310 -> 0.230 -> 0.200), so the epoch-3 "
                              "adapter was kept and more epochs or steps may help (train loss 0.050, dev loss 0.200).")
    # a drop under 1% is a plateau: the same gap then warns
    summary, plateau = overfitting_check(curve([0.31, 0.23, 0.2285], train=[0.2, 0.08, 0.05]))
    assert not summary["still_falling"] and codes(plateau) == ["overfitting"]
    assert "train loss is below 50% of its dev loss" in plateau.detail and "epoch-3" in plateau.detail


def test_dev_rising_after_the_kept_epoch_passes():
    """Early stopping restored epoch 2: the rise in epoch 3 is not in the adapter that is used."""
    summary, checked = overfitting_check(curve([1.5, 1.0, 1.3]))
    assert summary["rising"] and summary["rose_after"] and summary["kept_epoch"] == 2
    assert checked.status == "passed" and checked.warnings == []
    assert checked.detail.startswith("dev loss rose after epoch 2 (1.000 -> 1.300); the epoch-2 adapter was kept")


def test_kept_checkpoint_worse_than_an_earlier_one_warns_at_ten_percent():
    summary, checked = overfitting_check(curve([1.5, 1.0, 1.1], kept=3))
    (w,) = checked.warnings
    assert w["code"] == "overfitting" and checked.status == "warning" and summary["kept_rise"] == pytest.approx(0.1)
    assert "the kept epoch-3 adapter may be overfitting: its dev loss is 10% above the 1.000 of an earlier epoch" \
        in w["message"]
    assert overfitting_check(curve([1.5, 1.0, 1.09], kept=3))[1].warnings == []
    # a curve that does not say which epoch was kept is judged at its last one
    no_best = curve([1.5, 1.0, 1.1])
    del no_best["best_step"]
    assert codes(overfitting_check(no_best)[1]) == ["overfitting"]


def test_train_far_below_dev_at_the_kept_epoch_warns_when_dev_stopped_falling():
    _, checked = overfitting_check(curve([1.0, 0.9, 0.9], train=[1.0, 0.44, 0.3]))  # epoch 2 kept (first minimum)
    (w,) = checked.warnings
    assert "kept epoch-2 adapter" in w["message"] and "gap 0.460" in w["message"]
    assert overfitting_check(curve([1.0, 0.9, 0.9], train=[1.0, 0.45, 0.1]))[1].warnings == []
    # one dev point: no trend to judge by
    _, once = overfitting_check(curve([0.9], train=[0.1]))
    assert once.status == "passed" and once.detail.startswith("dev loss was measured once")


def test_no_dev_loss_skips_the_check():
    c = {"train": [[1, 0.1], [2, 0.05]], "dev": [[2, float("nan")]], "best_step": None}
    summary, checked = overfitting_check(c)
    assert checked.status == "skipped" and checked.warnings == []
    assert summary["final_dev"] is None and summary["final_train"] is not None


def test_a_lever_check_names_its_lever():
    _, checked = overfitting_check(curve([1.5, 1.0, 1.1], kept=3))
    mine = checked.for_lever("finetune")
    assert mine.record() == {"name": "overfitting", "status": "warning", "lever": "finetune",
                             "detail": "finetune: " + checked.detail}
    assert mine.warnings[0]["message"] == "finetune: " + checked.warnings[0]["message"]
    assert checked.warnings[0]["message"].startswith("the kept")  # the original is left alone
    assert [c.record() for c in unrun_finetune_checks([mine.record()])] == [
        {"name": "forgetting", "status": "skipped", "detail": "no fine-tuned lever ran"}]


# ---------------------------------------------------------------- forgetting

def test_forgetting_warns_when_the_drop_is_significant():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.5, 1.0, size=60)
    summary, checked = forgetting_check(base, base - 0.1, seed=0, n_boot=500)
    (w,) = checked.warnings
    assert w["code"] == "forgetting" and w["count"] == 60 and checked.status == "warning"
    assert checked.detail.startswith("on the 60 guard examples the fine-tuned model scores")
    assert summary["base"] == pytest.approx(base.mean())
    assert summary["finetuned"] == pytest.approx(base.mean() - 0.1)
    assert summary["drop"]["mean"] == pytest.approx(-0.1) and summary["drop"]["ci_high"] < 0
    assert "-0.10" in w["message"]


def test_no_forgetting_when_the_interval_crosses_zero():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2, size=40).astype(float)
    tuned = base.copy()
    tuned[:2] = 1 - tuned[:2]  # one example up, one down, or both the same way: noise either way
    summary, checked = forgetting_check(base, tuned, seed=0, n_boot=500)
    assert checked.warnings == [] and summary["drop"]["ci_low"] <= 0 <= summary["drop"]["ci_high"]
    assert checked.status == "passed" and "on the 40 guard examples" in checked.detail
    assert forgetting_check(base, np.clip(base + 0.2, 0, 1), n_boot=500)[1].warnings == []  # better is no loss


# ---------------------------------------------------------------- dev vs eval, majority baseline

def chose(name: str, dev: float, dev_rows: int, status: str = "ok") -> dict:
    """A lever dict as results.json has it: the chosen variant and its row among the dev scores."""
    return {"name": name, "status": status, "chosen": {"variant": f"{name} best"},
            "dev": [{"variant": f"{name} other", "score": 0.1, "dev_rows": 16},
                    {"variant": f"{name} best", "score": dev, "dev_rows": dev_rows}]}


def test_dev_eval_gap_on_both_sides_of_the_noise_threshold():
    # dev 0.5 on 16 rows: standard error sqrt(0.25 / 16) = 0.125, so the gap may reach 2 x 0.125 = 0.25
    # (eval scores constant: no eval noise)
    checked = dev_eval_gap_check([chose("prompt", 0.5, 16)], {"prompt": np.full(100, 0.24)})
    (w,) = checked.warnings
    assert w["code"] == "dev_eval_gap" and checked.status == "warning"
    assert "prompt's chosen variant (prompt best) scored 0.50 on the 16 dev rows but 0.24 on eval" in w["message"]
    assert "up to 0.25" in w["message"] and one_sentence(w["message"])
    within = dev_eval_gap_check([chose("prompt", 0.5, 16)], {"prompt": np.full(100, 0.26)})
    assert within.warnings == [] and within.status == "passed"
    assert within.detail == ("every chosen variant scored on eval within noise of its dev score: prompt 0.50 on dev "
                             "vs 0.26 on eval (within the 0.25 noise allows).")


def test_dev_eval_gap_floor_on_a_large_dev_split_and_the_handbook_case():
    # dev 0.9 on 400 rows: 2 standard errors are 0.03, so the 0.15 floor applies
    assert codes(dev_eval_gap_check([chose("retrieval", 0.9, 400)], {"retrieval": np.full(50, 0.74)})) == [
        "dev_eval_gap"]
    assert dev_eval_gap_check([chose("retrieval", 0.9, 400)], {"retrieval": np.full(50, 0.76)}).warnings == []
    # handbook-qa: 4-shot nearest scored 0.65 on 31 dev rows and 0.12 on eval; noisy eval scores widen the band
    rng = np.random.default_rng(0)
    evals = (rng.random(107) < 0.12).astype(float)
    checked = dev_eval_gap_check([chose("prompt", 0.65, 31), chose("retrieval", 0.21, 31)],
                                 {"prompt": evals, "retrieval": np.full(107, 0.17)})
    assert codes(checked) == ["dev_eval_gap"] and "prompt's" in checked.warnings[0]["message"]
    assert "retrieval 0.21 on dev vs 0.17 on eval" in checked.detail
    # seeds: (n_seeds, n) totals are averaged per example first
    two_seeds = np.stack([np.full(100, 0.0), np.full(100, 0.52)])  # mean 0.26: within 0.25 of dev 0.5
    assert dev_eval_gap_check([chose("finetune", 0.5, 16)], {"finetune": two_seeds}).status == "passed"


def test_dev_eval_gap_skips_levers_without_a_dev_choice():
    levers = [{"name": "finetune", "status": "ok", "chosen": {"variant": "LoRA"}, "dev": []},
              chose("prompt", 0.9, 16, status="skipped")]
    checked = dev_eval_gap_check(levers, {"finetune": np.zeros(10)})
    assert checked.status == "skipped" and checked.detail == "no lever chose among variants on dev"


def test_majority_baseline_check():
    levers = [{"name": "prompt", "status": "ok", "score": {"mean": 0.52}},
              {"name": "finetune", "status": "ok", "score": {"mean": 0.74}}, {"name": "x", "status": "skipped"}]
    baselines = {"majority_class": {"label": "billing", "score": 0.31}}
    passed = majority_baseline_check(baselines, [], levers)
    assert passed.status == "passed"
    assert passed.detail == ("no lever scores below always answering 'billing' (0.31); the lowest, prompt, "
                             "scores 0.52.")
    below = {"code": "below_majority_baseline", "message": "prompt scores 0.20, below always answering 'billing'"}
    warned = majority_baseline_check(baselines, [below], levers)
    assert warned.status == "warning" and warned.detail == below["message"] + "."  # no lever below by its means
    assert warned.warnings == []  # analysis already put the warning among the run's
    levers[0]["score"]["mean"] = 0.20
    assert majority_baseline_check(baselines, [below], levers).detail == (
        "1 of 2 levers scores below always answering 'billing' (0.31): prompt 0.20.")
    assert majority_baseline_check({"majority_class": None}, [], levers).status == "skipped"
    assert majority_baseline_check({}, [below], levers).status == "skipped"

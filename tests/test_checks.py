"""Data and training checks on constructed data: counts, ids, thresholds at the edge, silence on clean data."""
from __future__ import annotations

import hashlib
import math
import re
import time

import numpy as np
import pytest

from advisor.checks import (
    BLOCK_ROWS,
    data_checks,
    duplicate_checks,
    eval_leak_corpus_check,
    eval_leak_train_check,
    forgetting_check,
    label_checks,
    loss_gap,
    near_duplicate_check,
    normalize,
    overfitting_check,
    similar_pairs,
    small_eval_check,
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


def codes(warnings: list[dict]) -> list[str]:
    return [w["code"] for w in warnings]


# ---------------------------------------------------------------- clean data

def test_clean_data_gives_no_warning():
    train_in, eval_in = distinct_texts(40), distinct_texts(30, offset=100)
    train = [ex(f"t{i}", t, f"free text answer number {i}") for i, t in enumerate(train_in)]
    evals = [ex(f"e{i}", t, f"a reply with eight or more words in it {i}") for i, t in enumerate(eval_in)]
    corpus = [Document("doc.md", "a reply with eight or more words but not quite")]
    assert data_checks(train, evals, corpus, hashing_embed(train_in), hashing_embed(eval_in)) == []


def test_warnings_have_the_documented_shape():
    train = [ex("a", "Same input", "one"), ex("b", "same  INPUT", "one"), ex("c", "other", "two")]
    found = data_checks(train, [ex("e", "new", "three")], [])
    assert codes(found) == ["duplicate_train", "small_eval_set"]
    for w in found:
        assert set(w) <= {"code", "message", "count", "examples"}
        assert w["message"].endswith(".") and not re.search(r"[.!?]\s+[A-Z]", w["message"])  # one sentence
        assert len(w.get("examples", [])) <= 5


def test_codes_are_the_ones_decide_reacts_to():
    assert SMALL_EVAL_CODE == codes(small_eval_check([ex("e", "x")]))[0]
    curve = {"train": [[1, 0.1]], "dev": [[1, 1.0], [2, 2.0]], "best_step": 1}
    base, tuned = np.ones(40), np.zeros(40)
    found = overfitting_check(curve)[1] + forgetting_check(base, tuned, seed=0, n_boot=200)[1]
    assert tuple(codes(found)) == FINETUNE_RISK_CODES


# ---------------------------------------------------------------- exact duplicates

def test_normalize_casefolds_and_collapses_whitespace():
    assert normalize("  Straße\tOPENS \n at 6 ") == "strasse opens at 6"


def test_duplicates_counted_as_later_copies():
    train = [ex("a", "When do you open?", "6:30"), ex("b", "when do  you OPEN?", "6:30"),
             ex("c", "When do you open?", " 6:30 "), ex("d", "Who bakes?", "Marta"), ex("e", "Who bakes now?", "Marta")]
    (dup,) = duplicate_checks(train)
    assert dup["code"] == "duplicate_train"
    assert dup["count"] == 2 and dup["examples"] == ["b", "c"]
    assert "2 of 5" in dup["message"]


def test_conflicting_labels_counts_inputs_and_lists_ids():
    train = [ex("a", "Refund please", "billing"), ex("b", "refund PLEASE", "shipping"),
             ex("c", "Where is it", "shipping"), ex("d", "where is it", "shipping"),
             ex("e", "Cancel", "account"), ex("f", "cancel", "billing"), ex("g", "cancel", "returns")]
    found = {w["code"]: w for w in duplicate_checks(train)}
    assert found["conflicting_labels"]["count"] == 2  # "refund please" and "cancel"; "where is it" agrees
    assert found["conflicting_labels"]["examples"] == ["a", "b", "e", "f", "g"]
    assert found["duplicate_train"]["count"] == 1 and found["duplicate_train"]["examples"] == ["d"]


def test_no_duplicate_warning_for_distinct_inputs():
    assert duplicate_checks([ex("a", "one two"), ex("b", "one two three")]) == []


def test_examples_are_capped_at_five():
    train = [ex(f"t{i}", "the same question") for i in range(9)]
    (dup,) = duplicate_checks(train)
    assert dup["count"] == 8 and dup["examples"] == ["t1", "t2", "t3", "t4", "t5"]


# ---------------------------------------------------------------- near duplicates

def test_near_duplicate_threshold_is_inclusive_at_095():
    train = [ex("a", "first"), ex("b", "second")]
    (w,) = near_duplicate_check(train, unit_pair(0.95))
    assert w["code"] == "near_duplicate_train" and w["count"] == 1 and w["examples"] == ["b"]
    assert near_duplicate_check(train, unit_pair(0.949)) == []


def test_near_duplicates_with_hashing_embedder_skip_exact_copies():
    texts = ["The bakery opens at 6:30 on Monday", "the bakery opens at 6:30 on monday!",  # same words
             "THE BAKERY OPENS AT 6:30 ON MONDAY",  # exact copy of the first after normalizing
             "Who is the head baker at the shop"]
    train = [ex(f"t{i}", t) for i, t in enumerate(texts)]
    (w,) = near_duplicate_check(train, hashing_embed(texts))
    # pairs (0,1) and (1,2); (0,2) is an exact duplicate, reported by duplicate_train instead
    assert w["count"] == 2 and w["examples"] == ["t1", "t2"]
    assert "'t0' and 't1'" in w["message"]


def test_near_duplicates_need_embeddings():
    assert near_duplicate_check([ex("a", "x"), ex("b", "y")], None) == []
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


def test_similar_pairs_on_10k_rows_is_fast():
    rng = np.random.default_rng(1)
    vecs = rng.standard_normal((10_000, 128)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    vecs[9_999] = vecs[3]
    vecs[7_000] = vecs[10]
    t0 = time.perf_counter()
    count, first = similar_pairs(vecs)
    assert time.perf_counter() - t0 < 3.0
    assert count == 2 and [(i, j) for i, j, _ in first] == [(3, 9_999), (10, 7_000)]


# ---------------------------------------------------------------- leakage into eval

def test_eval_leak_train_exact_after_normalizing():
    train = [ex("t0", "Where is my order A12345?"), ex("t1", "Reset my password")]
    evals = [ex("e0", "where is my  ORDER a12345?"), ex("e1", "Change my address")]
    (w,) = eval_leak_train_check(train, evals, None, None)
    assert w["code"] == "eval_leak_train" and w["count"] == 1 and w["examples"] == ["e0"]
    assert "1 of 2" in w["message"] and "'t0'" in w["message"]


def test_eval_leak_train_near_match_at_the_edge():
    train = [ex("t0", "alpha"), ex("t1", "beta")]
    evals = [ex("e0", "gamma"), ex("e1", "delta")]
    train_vecs = np.array([[1.0, 0, 0], [0, 0, 1.0]])
    at_edge, below = unit_pair(0.95)[1], unit_pair(0.94)[1]
    (w,) = eval_leak_train_check(train, evals, train_vecs, np.array([below, at_edge]))
    assert w["count"] == 1 and w["examples"] == ["e1"] and "'t0'" in w["message"]
    assert eval_leak_train_check(train, evals, train_vecs, np.array([below, below])) == []


def test_eval_leak_train_finds_matches_past_the_first_block():
    rng = np.random.default_rng(2)
    train_vecs = rng.standard_normal((50, 32))
    eval_vecs = rng.standard_normal((BLOCK_ROWS + 500, 32))
    eval_vecs[BLOCK_ROWS + 400] = train_vecs[7] * 3.0  # unnormalized input is normalized first
    train = [ex(f"t{i}", f"train {i}") for i in range(50)]
    evals = [ex(f"e{i}", f"eval {i}") for i in range(len(eval_vecs))]
    (w,) = eval_leak_train_check(train, evals, train_vecs, eval_vecs)
    assert w["examples"] == [f"e{BLOCK_ROWS + 400}"] and "'t7'" in w["message"]


def test_eval_leak_corpus_counts_only_long_references():
    corpus = [Document("hours.md", "Opening hours. The bakery opens at 6:30 every weekday and closes at noon."),
              Document("staff.md", "Marta Ilves is the head baker.")]
    evals = [ex("long", "q", "the bakery  opens at 6:30 every WEEKDAY and"),  # 8 words, verbatim
             ex("seven", "q", "The bakery opens at 6:30 every weekday"),  # 7 words: a short answer
             ex("short", "q", "Marta Ilves"),
             ex("absent", "q", "the bakery opens at seven every weekday and closes late"),
             ex("straddle", "q", "closes at noon. marta ilves is the head baker.")]  # spans two documents
    (w,) = eval_leak_corpus_check(evals, corpus)
    assert w["code"] == "eval_leak_corpus" and w["count"] == 1 and w["examples"] == ["long"]
    assert "'hours.md'" in w["message"] and "1 of 3" in w["message"]


def test_eval_leak_corpus_names_the_right_document():
    corpus = [Document(f"d{i}.md", f"filler {i} " * 20) for i in range(5)] + \
             [Document("faq.md", "Q: can I return bread? A: yes, within two days if it is still sealed.")]
    (w,) = eval_leak_corpus_check([ex("e", "q", "yes, within two days if it is still sealed.")], corpus)
    assert "'faq.md'" in w["message"]
    assert eval_leak_corpus_check([ex("e", "q", "yes, within two days if it is still sealed.")], []) == []


# ---------------------------------------------------------------- eval size

def test_small_eval_set_edge_and_detectable_difference():
    (w,) = small_eval_check([ex(f"e{i}", "x") for i in range(29)])
    expected = (1.96 + 0.84) * 0.5 / math.sqrt(29)
    assert w["code"] == "small_eval_set" and w["count"] == 29
    assert f"~{expected:.2f}" in w["message"] and "~0.26" in w["message"]
    assert small_eval_check([ex(f"e{i}", "x") for i in range(30)]) == []


def test_tiny_eval_set_detects_nothing():
    (w,) = small_eval_check([ex("e0", "x")])
    assert "no difference" in w["message"] and "has 1 example " in w["message"]


# ---------------------------------------------------------------- labels

def labelled(prefix: str, labels: list[str]) -> list[Example]:
    return [ex(f"{prefix}{i}", f"ticket {i}", lab) for i, lab in enumerate(labels)]


def test_majority_share_edge_in_train():
    train = labelled("t", ["billing"] * 6 + ["shipping"] * 2 + ["account"] * 2)
    evals = labelled("e", ["billing", "shipping", "account", "shipping"])
    (w,) = label_checks(train, evals)
    assert w["code"] == "label_imbalance" and w["count"] == 6
    assert "6 of the 10 training outputs (60%)" in w["message"]
    balanced = labelled("t", ["billing"] * 5 + ["shipping"] * 3 + ["account"] * 2)
    assert label_checks(balanced, evals) == []


def test_majority_share_in_eval_and_unseen_labels():
    train = labelled("t", ["billing", "shipping", "account"] * 4)
    evals = labelled("e", ["billing"] * 4 + ["billing\n", "refund", "refund", "legal "])  # labels compared stripped
    found = label_checks(train, evals)
    assert codes(found) == ["label_imbalance", "label_imbalance"]
    assert "5 of the 8 eval outputs (62%)" in found[0]["message"]
    assert found[1]["count"] == 3 and found[1]["examples"] == ["e5", "e6", "e7"]
    assert "2 eval labels" in found[1]["message"] and "'legal'" in found[1]["message"]


def test_free_text_outputs_skip_label_checks():
    train = [ex(f"t{i}", f"q{i}", f"a long free text answer {i}") for i in range(10)]
    assert label_checks(train, [ex("e", "q", "something never seen")]) == []


# ---------------------------------------------------------------- overfitting

def curve(dev: list[float], train_final: float = 0.9, steps_per_epoch: int = 10) -> dict:
    """A curve with constant train loss per epoch (1.0, then train_final) and one dev point per epoch."""
    n = len(dev)
    train = [[s, 1.0 if s <= steps_per_epoch * (n - 1) else train_final] for s in range(1, steps_per_epoch * n + 1)]
    dev_pts = [[steps_per_epoch * (k + 1), d] for k, d in enumerate(dev)]
    best = dev_pts[int(np.argmin(dev))][0]
    return {"train": train, "dev": dev_pts, "epochs": [p[0] for p in dev_pts], "best_step": best}


def test_loss_gap_summary():
    summary = loss_gap(curve([1.2, 1.0, 1.15], train_final=0.7))
    assert summary == pytest.approx({"final_train": 0.7, "final_dev": 1.15, "best_dev": 1.0, "gap": 0.45,
                                     "rising": True})
    assert loss_gap({"train": [], "dev": []}) == {"final_train": None, "final_dev": None, "best_dev": None,
                                                  "gap": None, "rising": False}


def test_final_train_averages_the_last_epoch():
    c = {"train": [[1, 2.0], [2, 2.0], [3, 0.4], [4, 0.6]], "dev": [[2, 1.0], [4, 1.0]], "best_step": 2}
    assert loss_gap(c)["final_train"] == pytest.approx(0.5)


def test_dev_rise_of_ten_percent_warns_nine_does_not():
    summary, (w,) = overfitting_check(curve([1.5, 1.0, 1.1]))
    assert w["code"] == "overfitting" and summary["rising"]
    assert "10% above its minimum" in w["message"] and "step 20 (epoch 2)" in w["message"]
    assert "gap 0.200" in w["message"]
    summary, found = overfitting_check(curve([1.5, 1.0, 1.09]))
    assert found == [] and not summary["rising"]


def test_train_far_below_dev_warns():
    _, (w,) = overfitting_check(curve([1.0, 0.9, 0.9], train_final=0.44))
    assert "below 50% of the dev loss" in w["message"] and "gap 0.460" in w["message"]
    assert overfitting_check(curve([1.0, 0.9, 0.9], train_final=0.45))[1] == []


def test_no_dev_loss_no_warning():
    c = {"train": [[1, 0.1], [2, 0.05]], "dev": [[2, float("nan")]], "best_step": None}
    summary, found = overfitting_check(c)
    assert found == [] and summary["final_dev"] is None and summary["final_train"] is not None


# ---------------------------------------------------------------- forgetting

def test_forgetting_warns_when_the_drop_is_significant():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.5, 1.0, size=60)
    summary, (w,) = forgetting_check(base, base - 0.1, seed=0, n_boot=500)
    assert w["code"] == "forgetting" and w["count"] == 60
    assert summary["base"] == pytest.approx(base.mean())
    assert summary["finetuned"] == pytest.approx(base.mean() - 0.1)
    assert summary["drop"]["mean"] == pytest.approx(-0.1) and summary["drop"]["ci_high"] < 0
    assert "-0.10" in w["message"]


def test_no_forgetting_when_the_interval_crosses_zero():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2, size=40).astype(float)
    tuned = base.copy()
    tuned[:2] = 1 - tuned[:2]  # one example up, one down, or both the same way: noise either way
    summary, found = forgetting_check(base, tuned, seed=0, n_boot=500)
    assert found == [] and summary["drop"]["ci_low"] <= 0 <= summary["drop"]["ci_high"]
    assert forgetting_check(base, np.clip(base + 0.2, 0, 1), n_boot=500)[1] == []  # better is not forgetting

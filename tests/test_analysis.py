"""analyse(): from per-example scores to verdicts and warnings, with no model work."""
from __future__ import annotations

import numpy as np

from advisor.analysis import analyse
from advisor.compare import load
from conftest import write_task


def _lever(name: str, passed: int, n: int) -> dict:
    scores = np.array([1.0] * passed + [0.0] * (n - passed))
    cost = {"input_tokens_per_call": 100.0, "output_tokens_per_call": 5.0, "seconds_per_call": 0.1,
            "train_seconds": 0.0, "index_seconds": 0.0}
    return {"name": name, "status": "ok", "chosen": {"variant": "v"}, "details": {}, "cost": cost,
            "_scores": {"total": scores, "correct_label": scores}, "_predictions": ["x"] * n}


def _warnings(tmp_path, counts: dict[str, int], n: int = 40) -> list[dict]:
    loaded = load(write_task(tmp_path, "smollm2-135m", rubric="classification", n_eval=n, n_train=30, repeat=3))
    assert len(loaded.eval) == n
    warnings: list[dict] = []
    analyse([_lever(k, v, n) for k, v in counts.items()], loaded.rubric, loaded.eval, loaded.task, warnings)
    return warnings


def test_close_weak_levers_do_not_make_a_clear_winner_look_inseparable(tmp_path):
    # finetune 38/40 is far ahead; prompt and retrieval (10 vs 11 of 40) are close to each other only.
    warnings = _warnings(tmp_path, {"prompt": 10, "retrieval": 11, "finetune": 38})
    assert not [w for w in warnings if w["code"] == "eval_set_too_small_to_separate"]


def test_a_runner_up_close_to_the_best_is_flagged(tmp_path):
    warnings = _warnings(tmp_path, {"prompt": 10, "retrieval": 36, "finetune": 38})
    (w,) = [w for w in warnings if w["code"] == "eval_set_too_small_to_separate"]
    assert "retrieval differs from the best lever (finetune) by less" in w["message"]


def test_levers_below_the_majority_baseline_are_flagged(tmp_path):
    # 4 answers repeat evenly over 40 eval rows: always answering one scores 0.25; prompt (4/40) is below it
    warnings = _warnings(tmp_path, {"prompt": 4, "retrieval": 11, "finetune": 38})
    flagged = [w for w in warnings if w["code"] == "below_majority_baseline"]
    assert len(flagged) == 1 and flagged[0]["message"].startswith("prompt scores 0.10, below always answering ")
    assert "(0.25)" in flagged[0]["message"]


def test_below_majority_check_is_strict():
    from advisor.checks import below_majority_check

    found = below_majority_check({"prompt": 0.05, "finetune": 0.25, "retrieval": 0.4}, "HUM", 0.25)
    assert [w["message"].split()[0] for w in found] == ["prompt"]
    assert found[0]["message"].startswith("prompt scores 0.05, below always answering 'HUM' (0.25)")
    assert below_majority_check({"prompt": 0.3}, "HUM", 0.25) == []

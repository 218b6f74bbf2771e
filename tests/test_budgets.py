"""Budgets that shape a score are counted in steps, never minutes; the minutes limit is a safety net that marks a
lever undertrained."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from advisor.backends.local import LocalBackend
from advisor.backends.training import TrainConfig, train_lora
from advisor.cli import main
from advisor.progress import Reporter

from conftest import write_task

QUESTIONS = [("When does the bakery open?", "6:30"), ("Who is the head baker?", "Marta Ilves"),
             ("What is the signature loaf?", "Dockside Sourdough"), ("Which day is it closed?", "Sunday")]
PAIRS = [([{"role": "user", "content": f"{opener}{q}"}], a) for opener in ("", "Hi, ", "Q: ", "So, ", "Hey ")
         for q, a in QUESTIONS]
TRAIN, DEV = PAIRS[:16], PAIRS[16:]  # 16 rows in batches of 4: 4 steps an epoch


def _train(tiny_model: Path, work: Path, **overrides):
    cfg = TrainConfig(**{**dict(rank=4, alpha=8, epochs=3, lr=5e-3, batch_size=4, patience=5, seed=1), **overrides})
    return train_lora(LocalBackend(tiny_model, device="cpu"), TRAIN, DEV, cfg, work, Reporter())


def test_a_step_budget_ends_the_schedule_mid_epoch(tiny_model, tmp_path):
    result = _train(tiny_model, tmp_path / "w", max_steps=6)
    assert (result.steps, result.planned_steps, result.stopped_by) == (6, 6, "step_budget")
    assert result.epochs_run == 2 and [s for s, _ in result.loss_curve["dev"]] == [4, 6]  # dev judged at the end
    assert not result.cut_short
    again = _train(tiny_model, tmp_path / "w2", max_steps=6)  # no clock involved: the same curve twice
    assert again.loss_curve == result.loss_curve


def test_a_budget_above_the_epochs_changes_nothing(tiny_model, tmp_path):
    result = _train(tiny_model, tmp_path / "w", max_steps=100)
    assert (result.steps, result.planned_steps, result.stopped_by) == (12, 12, "epochs")


def test_the_safety_net_marks_training_cut_short(tiny_model, tmp_path):
    result = _train(tiny_model, tmp_path / "w", max_train_minutes=1e-9)
    assert result.stopped_by == "time_limit" and result.steps == 1 and result.planned_steps == 12
    assert result.cut_short


def test_undertrained_lever_in_results_and_report(tmp_path, tiny_model):
    task = write_task(tmp_path / "task", str(tiny_model), corpus=False)
    run = CliRunner().invoke(main, ["compare", str(task), "--out", str(tmp_path / "run"), "--levers",
                                    "prompt,finetune", "--max-train-minutes", "1e-9"], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    lever = {lev["name"]: lev for lev in results["levers"]}
    assert lever["prompt"]["undertrained"] is False
    ft, planned = lever["finetune"], 2 * math.ceil(results["task"]["sizes"]["train"] / 4)  # epochs 2, batch 4
    assert ft["undertrained"] is True and ft["details"]["planned_steps"] == planned and ft["details"]["steps"] == 1
    assert ft["undertrained_note"].startswith(f"train finetune to its {planned} steps")
    page = (tmp_path / "run" / "report.html").read_text()
    assert 'badge-undertrained' in page and "a lower bound: train finetune to its" in page
    assert "undertrained (a lower bound)" in (tmp_path / "run" / "report.md").read_text()
    assert {c["name"] for c in results["checks"]} >= {"leakage_train_eval", "overfitting", "dev_eval_gap"}
    assert "risks" in ft and "train finetune to its" in " ".join(results["recommendation"]["what_would_change"])


def test_a_step_budget_from_task_yaml_is_honoured(tmp_path, tiny_model):
    task = write_task(tmp_path / "task", str(tiny_model), extra="")
    task.write_text(task.read_text().replace("batch_size: 4\n", "batch_size: 4\n    max_steps: 3\n")
                    + "seed: 0\n")
    task.write_text(task.read_text().replace("levers:\n", "levers:\n  retrieval+finetune:\n    max_steps: 2\n"))
    run = CliRunner().invoke(main, ["compare", str(task), "--out", str(tmp_path / "run"), "--levers",
                                    "finetune,retrieval+finetune"], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    lever = {lev["name"]: lev for lev in json.loads((tmp_path / "run" / "results.json").read_text())["levers"]}
    assert lever["finetune"]["details"]["steps"] == 3 and lever["retrieval+finetune"]["details"]["steps"] == 2
    assert not lever["finetune"]["undertrained"] and not lever["retrieval+finetune"]["undertrained"]


# --- dev score checks: stop when the score has settled ------------------------------------------------------

def test_score_checks_fall_every_half_epoch_and_at_the_end():
    from advisor.backends.training import score_checks

    assert score_checks(10, 30) == [5, 10, 15, 20, 25, 30]
    assert score_checks(7, 21) == [4, 7, 11, 14, 18, 21]  # each epoch's end is a check
    assert score_checks(4, 9) == [2, 4, 6, 8, 9]  # a step budget mid-epoch: its last step too
    assert score_checks(10, 15) == [] and score_checks(10, 10) == []  # under 2 epochs: nothing to save


class Scripted:
    """A dev scorer that answers a scripted mean score per check over `rows` dev rows, counting its calls."""

    def __init__(self, means, rows=4):
        self.means, self.calls, self.rows = list(means), 0, rows

    def __call__(self, model):
        from peft import get_peft_model_state_dict

        assert not model.training  # scored in eval mode (no dropout), then back to training
        self.seen = getattr(self, "seen", []) + [{k: v.clone() for k, v in get_peft_model_state_dict(model).items()}]
        mean = self.means[min(self.calls, len(self.means) - 1)]
        self.calls += 1
        return [mean] * self.rows


def _scored(tiny_model, work, means, rows=4, **overrides):
    scorer = Scripted(means, rows)
    cfg = TrainConfig(**{**dict(rank=4, alpha=8, epochs=3, lr=5e-3, batch_size=4, patience=5, seed=1), **overrides})
    return train_lora(LocalBackend(tiny_model, device="cpu"), TRAIN, DEV, cfg, work, Reporter(),
                      dev_scorer=scorer), scorer


def test_training_stops_at_the_first_check_without_a_gain(tiny_model, tmp_path):
    result, scorer = _scored(tiny_model, tmp_path / "w", [0.25, 0.75, 0.75])  # 4 steps an epoch: checks 2, 4, 6...
    assert (result.stopped_by, result.steps, scorer.calls) == ("dev_score", 6, 3)
    assert result.loss_curve["dev_score"] == [[2, 0.25], [4, 0.75], [6, 0.75]]
    assert [s for s, _ in result.loss_curve["dev"]] == [2, 4, 6]  # the dev loss at every check
    assert result.loss_curve["best_step"] == 4 and result.best_epoch == 1
    from safetensors.torch import load_file

    kept = load_file(str(result.adapter_dir / "adapter_model.safetensors"))
    assert kept.keys() == scorer.seen[1].keys()
    assert all(torch.equal(kept[k], scorer.seen[1][k]) for k in kept)  # the adapter kept: the best check's weights
    assert not all(torch.equal(kept[k], scorer.seen[2][k]) for k in kept)  # not the last one's


def test_a_gain_of_one_dev_row_is_not_a_gain(tiny_model, tmp_path):
    result, _ = _scored(tiny_model, tmp_path / "w", [0.5, 0.75])  # +0.25 = one of 4 rows: noise, settled
    assert (result.stopped_by, result.steps, result.loss_curve["best_step"]) == ("dev_score", 4, 2)


def test_a_rising_score_runs_the_whole_schedule_and_keeps_the_last(tiny_model, tmp_path):
    result, scorer = _scored(tiny_model, tmp_path / "w", [0.0, 0.2, 0.4, 0.6, 0.8, 0.8], rows=10)
    assert (result.stopped_by, result.steps, scorer.calls) == ("epochs", 12, 6)  # the last check cannot stop it
    assert result.loss_curve["best_step"] == 10  # 0.8 at step 12 ties 0.8 at step 10: the earlier is kept


def test_no_checks_when_turned_off_or_under_two_epochs(tiny_model, tmp_path):
    off, scorer = _scored(tiny_model, tmp_path / "off", [0.5], stop_on_score=False)
    short, scorer2 = _scored(tiny_model, tmp_path / "short", [0.5], max_steps=6)
    assert scorer.calls == scorer2.calls == 0 and "dev_score" not in off.loss_curve
    assert (off.steps, short.steps) == (12, 6)


def test_a_run_stopped_by_the_score_resumes_as_stopped(tiny_model, tmp_path):
    first, _ = _scored(tiny_model, tmp_path / "w", [0.25, 0.75, 0.75])
    (tmp_path / "w" / "adapter").rename(tmp_path / "kept")  # resume reads the checkpoint, not the adapter
    again, scorer = _scored(tiny_model, tmp_path / "w", [0.0])
    assert scorer.calls == 0 and (again.stopped_by, again.steps) == ("dev_score", 6)
    assert again.loss_curve["best_step"] == 4


def test_the_finetune_lever_keeps_the_adapter_whose_dev_score_it_recorded(tmp_path, tiny_model):
    """Through the CLI: score checks ran on dev with the eval-time prompt, and the adapter kept, asked dev again
    through the ordinary saved-adapter path, scores what the check recorded at its step."""
    from advisor.compare import load
    from advisor.data import split_dev
    from advisor.levers.base import chat

    task = write_task(tmp_path / "task", str(tiny_model), corpus=False)  # 16 train rows: 4 steps an epoch, 2 epochs
    run = CliRunner().invoke(main, ["compare", str(task), "--out", str(tmp_path / "run"), "--levers", "finetune"],
                             catch_exceptions=False)
    assert run.exit_code == 0, run.output
    lever = json.loads((tmp_path / "run" / "results.json").read_text())["levers"][0]
    curve, details = lever["details"]["loss_curve"], lever["details"]
    assert [s for s, _ in curve["dev_score"]] == [s for s, _ in curve["dev"]] == [2, 4, 6, 8][:len(curve["dev"])]
    recorded = dict((s, v) for s, v in curve["dev_score"])
    assert details["best_dev_score"] == recorded[curve["best_step"]] == max(recorded.values())
    if details["stopped_by"] == "dev_score":
        assert len(recorded) < 4
    loaded = load(task)
    _, dev = split_dev(loaded.train, loaded.task.data.dev_size, loaded.task.seed)
    backend = LocalBackend(tiny_model, device="cpu")
    with backend.adapter(tmp_path / "run" / lever["artifacts"]["adapter"]):
        gens = backend.generate([chat("", "user", e.input) for e in dev], 6, on_done=lambda *a: None)
    again = loaded.rubric.score([g.text for g in gens], [e.output for e in dev], inputs=[e.input for e in dev])
    assert sum(again["total"]) / len(dev) == pytest.approx(recorded[curve["best_step"]], abs=1e-4)

"""Budgets that shape a score are counted in steps, never minutes; the minutes limit is a safety net that marks a
lever undertrained."""
from __future__ import annotations

import json
import math
from pathlib import Path

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

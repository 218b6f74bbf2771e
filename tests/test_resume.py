"""Killed runs resume: SIGKILL mid-training and mid-generation, rerun, same results as an uninterrupted run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor.cli import main
from advisor.runs import read_jsonl

from conftest import build_tiny_model, write_task


@pytest.fixture(scope="module")
def wider_model(tmp_path_factory) -> Path:
    """Slow enough per step (~tens of ms) that a kill lands mid-run."""
    return build_tiny_model(tmp_path_factory.mktemp("wider"), hidden=256, layers=4)


def _task(folder: Path, model: Path, levers: str) -> Path:
    task = write_task(folder, str(model), corpus=False, n_train=160, n_eval=40, repeat=6,
                      extra="seed: 3\n")
    text = task.read_text().replace("epochs: 2", "epochs: 3\n    patience: 5").replace(
        "max_new_tokens: 6", "max_new_tokens: 8\n  batch_size: 1")
    task.write_text(text)
    return task


def _run(task: Path, out: Path):
    result = CliRunner().invoke(main, ["compare", str(task), "--out", str(out), "--levers", _run.levers],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _kill_when(task: Path, out: Path, levers: str, ready, timeout: float = 240) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "advisor.cli", "compare", str(task), "--out", str(out),
                             "--levers", levers], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            assert proc.poll() is None, "the run finished before it could be killed"
            assert time.monotonic() < deadline, "timed out waiting for the kill point"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _predictions(out: Path, lever: str) -> list:
    return [(r["id"], r["prediction"], r["scores"]["total"]) for r in read_jsonl(out / "predictions" / f"{lever}.jsonl")]


def test_kill_mid_training_resumes_from_checkpoint(tmp_path, wider_model):
    task = _task(tmp_path / "task", wider_model, "finetune")
    _run.levers = "finetune"
    _run(task, tmp_path / "reference")

    out = tmp_path / "killed"
    states = lambda: list(out.glob("finetune/*/checkpoint/state.json"))  # noqa: E731
    _kill_when(task, out, "finetune", lambda: bool(states()))
    state = json.loads(states()[0].read_text())
    assert state["epoch"] < 3, "killed too late: training had finished"
    assert not (out / "results.json").exists()

    result = _run(task, out)
    assert f"resuming LoRA training after epoch {state['epoch']}" in result.output
    assert _predictions(out, "finetune") == _predictions(tmp_path / "reference", "finetune")
    ref = json.loads((tmp_path / "reference" / "results.json").read_text())["levers"][0]["details"]["loss_curve"]
    got = json.loads((out / "results.json").read_text())["levers"][0]["details"]["loss_curve"]
    assert got == ref


def test_kill_mid_generation_resumes_at_next_example(tmp_path, wider_model):
    task = _task(tmp_path / "task", wider_model, "prompt")
    _run.levers = "prompt"
    _run(task, tmp_path / "reference")

    out = tmp_path / "killed"
    cache = out / "cache" / "generations.jsonl"
    lines = lambda: cache.read_text().count("\n") if cache.exists() else 0  # noqa: E731
    _kill_when(task, out, "prompt", lambda: lines() >= 25)
    saved = lines()
    total = (tmp_path / "reference" / "cache" / "generations.jsonl").read_text().count("\n")
    assert 25 <= saved < total

    _run(task, out)
    valid = [line for line in cache.read_text().splitlines() if line.startswith("{") and line.endswith("}")]
    assert len(valid) == total, "the rerun generated again what the killed run had saved"
    assert _predictions(out, "prompt") == _predictions(tmp_path / "reference", "prompt")


def test_max_train_minutes_stops_cleanly_and_says_so(tmp_path, wider_model):
    task = _task(tmp_path / "task", wider_model, "finetune")
    result = CliRunner().invoke(main, ["compare", str(task), "--out", str(tmp_path / "run"), "--levers", "finetune",
                                       "--max-train-minutes", "1e-9"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    lever = results["levers"][0]
    assert lever["status"] == "ok" and lever["details"]["stopped_by"] == "time_limit"
    assert lever["details"]["steps"] < 3 * 35
    assert any(w["code"] == "train_time_limit" for w in results["warnings"])
    assert "train_time_limit" in (tmp_path / "run" / "report.html").read_text()

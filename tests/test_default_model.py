"""The real bundled default model (SmolLM2-135M-Instruct from its GGUF) end to end on a very small task."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from advisor.cli import main

from conftest import write_task

pytestmark = pytest.mark.slow


def test_default_model_three_levers(tmp_path):
    task = write_task(tmp_path / "task", "smollm2-135m", n_train=20, n_eval=6,
                      extra="")
    task.write_text(task.read_text().replace("epochs: 2", "epochs: 1").replace("max_new_tokens: 6", "max_new_tokens: 12"))
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["compare", str(task), "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert "SmolLM2-135M-Instruct" in results["model"]["id"] and results["model"]["parameters"] > 100_000_000
    by_name = {lev["name"]: lev for lev in results["levers"]}
    assert all(lev["status"] == "ok" for lev in by_name.values())
    # with the gold one-line document in its context the real model finds the answer in some rows
    assert by_name["retrieval"]["criteria"]["contains_answer"] > 0
    preds = [json.loads(line)["prediction"] for line in (out / "predictions" / "prompt.jsonl").read_text().splitlines()]
    assert all(p.strip() for p in preds), "generation must stop on <|im_end|> with text before it"
    assert (out / "report.html").is_file()

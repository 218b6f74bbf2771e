"""The shipped examples: they validate, and their measured runs still lead to the expected recommendation.

The measured runs (`examples/<name>/measured/results.json`) come from `python benchmarks/examples.py`, which
reruns every example on the default model and fails when a recommendation changes; this test re-decides the
stored comparison, so a change to the decision rules that flips an example fails here, in seconds."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor.analysis import recommend_from_results
from advisor.compare import load

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EXPECTED = json.loads((EXAMPLES / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_validates(name):
    loaded = load(EXAMPLES / name / "task.yaml")
    assert len(loaded.eval) >= 100 and len(loaded.train) >= 250
    assert (EXAMPLES / name / "README.md").is_file()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_measured_recommendation_holds(name):
    path = EXAMPLES / name / "measured" / "results.json"
    if not path.is_file():
        pytest.skip(f"{name} has no measured run yet (python benchmarks/examples.py {name})")
    results = json.loads(path.read_text())
    assert results["recommendation"]["lever"] == EXPECTED[name]
    again = recommend_from_results(results["levers"], results["comparisons"], results["warnings"],
                                   results["min_detectable_difference"], results["task"]["sizes"]["eval"],
                                   results["cost_model"].get("min_yearly_saving", 0.0))
    assert again.lever == EXPECTED[name], again.reasons

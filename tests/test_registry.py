"""The lever registry: adding a lever is one module plus one register() call; the decision, costs, analysis, charts
and report follow its traits with no edits of their own."""
from __future__ import annotations

import copy
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from advisor import charts
from advisor.compare import check_levers_enabled, check_something_runs, load
from advisor.costs import LeverCost, LeverUsage, Prices, break_even_table, lever_costs
from advisor.decide import LeverSummary, recommend
from advisor.errors import UserError
from advisor.levers import registry
from advisor.levers.base import Prepared
from advisor.report import render_report
from advisor.spec import LeverOptions
from advisor.stats import PairVerdict
from report_fixture import make_predictions, make_results


class EchoLever:
    """The fifth lever of these tests: answers with the training output of the nearest input (never run here)."""

    name = "echo"

    def skip_reason(self, bench) -> str | None:
        return None

    def prepare(self, bench) -> Prepared:
        return Prepared([])


# Between finetune (2) and retrieval+finetune (3); its options live under levers.prompt for these tests.
ECHO = registry.LeverTraits("echo", 2.7, "prompt", __name__, "EchoLever")


@pytest.fixture
def fresh(monkeypatch):
    """A copy of the registry that the test may add to; the real one is back afterwards."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    return registry


@pytest.fixture
def echo(fresh):
    return fresh.register(ECHO)


def ok(name: str, mean: float, half: float = 0.05, **kw) -> LeverSummary:
    return LeverSummary(name, "ok", mean, round(mean - half, 4), round(mean + half, 4), **kw)


def same(a: str, b: str, diff: float = 0.01) -> PairVerdict:
    return PairVerdict(a, b, diff, diff - 0.02, diff + 0.02, None, "paired_bootstrap", "indistinguishable")


# The registry itself.

def test_builtin_levers_in_simplicity_order_with_their_traits():
    assert registry.names() == ["prompt", "retrieval", "finetune", "preference", "retrieval+finetune"]
    assert [registry.simplicity_rank(n) for n in registry.names()] == [0, 1, 2, 2.5, 3]
    assert [n for n in registry.names() if registry.trains_weights(n)] == ["finetune", "preference",
                                                                           "retrieval+finetune"]
    assert [n for n in registry.names() if registry.uses_retrieval(n)] == ["retrieval", "retrieval+finetune"]
    assert registry.traits("retrieval+finetune").options == "combined"
    for name in registry.names():  # every lever's options are a field of levers: in task.yaml
        assert registry.traits(name).options in LeverOptions.model_fields
    assert registry.find("nope") is None and not registry.trains_weights("nope") and not registry.uses_retrieval("nope")
    with pytest.raises(KeyError, match="unknown lever 'nope'"):
        registry.traits("nope")


def test_lever_classes_are_built_lazily_by_name():
    for name in ("prompt", "retrieval"):
        assert registry.lever(name).name == name
    assert registry.lever("prompt") is not registry.lever("prompt")  # a new instance each time


def test_the_decision_never_imports_torch_or_a_lever_module():
    code = ("import sys, advisor.decide, advisor.costs, advisor.levers.registry; "
            "bad = [m for m in ('torch', 'advisor.levers.finetune', 'advisor.levers.prompt') if m in sys.modules]; "
            "sys.exit(str(bad) if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_register_refuses_a_taken_name_or_rank(fresh):
    with pytest.raises(ValueError, match="'prompt' is already registered"):
        fresh.register(replace(ECHO, name="prompt"))
    with pytest.raises(ValueError, match="rank 2 of 'finetune'"):
        fresh.register(replace(ECHO, rank=2))
    fresh.register(ECHO)
    assert fresh.names() == ["prompt", "retrieval", "finetune", "preference", "echo", "retrieval+finetune"]
    assert isinstance(fresh.lever("echo"), EchoLever)


# A fifth lever, registered: nothing else is edited.

def test_decision_places_a_new_lever_by_its_rank(echo):
    levers = [ok("retrieval+finetune", 0.80), ok("echo", 0.80)]
    rec = recommend(levers, [same("retrieval+finetune", "echo")])
    assert rec.lever == "echo"  # equally good and simpler than retrieval+finetune
    assert any(r.startswith("echo and retrieval+finetune are indistinguishable") and r.endswith(
        "echo is chosen because it is simpler.") for r in rec.reasons), rec.reasons
    rec = recommend([ok("finetune", 0.80), ok("echo", 0.80)], [same("finetune", "echo")])
    assert rec.lever == "finetune"  # finetune (2) is simpler than echo (2.7)


def test_an_unregistered_name_comes_after_every_registered_lever(fresh):
    rec = recommend([ok("retrieval+finetune", 0.80), ok("echo", 0.80)], [same("retrieval+finetune", "echo")])
    assert rec.lever == "retrieval+finetune"  # echo is not registered here: it goes last


def test_training_risks_and_reasons_follow_trains_weights(echo):
    levers = [ok("prompt", 0.5), ok("echo", 0.8)]
    rec = recommend(levers, [], warnings=["overfitting"])
    assert not any("echo carries risk" in r for r in rec.reasons)  # old global warnings mark weight trainers only
    crit = [ok("prompt", 0.5, criteria={"a": 0.3, "b": 0.3}), ok("echo", 0.8, criteria={"a": 0.95, "b": 0.32})]
    rec = recommend(crit, [])
    line = next(r for r in rec.reasons if r.startswith("echo fixed a"))
    assert line == "echo fixed a (30% -> 95%) over prompt but not b (30% -> 32%)."  # no fine-tuning clause
    registry._REGISTRY["echo"] = replace(ECHO, trains_weights=True)
    rec = recommend(levers, [], warnings=["overfitting"])
    assert "echo carries risk: overfitting." in rec.reasons
    line = next(r for r in recommend(crit, []).reasons if r.startswith("echo fixed a"))
    assert line.endswith("but not b (30% -> 32%): fine-tuning changes behaviour (format, style); what it left may be "
                         "missing knowledge, which retrieval supplies.")


def test_break_even_is_stated_for_levers_that_train_weights(echo):
    prices = Prices(machine_cost_per_hour=3.6, calls_per_month=1000)
    usage = {"prompt": LeverUsage(400, 20, 0.5), "echo": LeverUsage(50, 20, 0.1, one_off_seconds=100),
             "finetune": LeverUsage(60, 20, 0.1, one_off_seconds=600)}
    costs = {name: lever_costs(u, prices) for name, u in usage.items()}
    assert costs["echo"].one_off_cost == pytest.approx(0.1)  # one-off work is priced whatever the lever
    rows = break_even_table(costs)
    assert {r["lever"] for r in rows} == {"finetune"} and "echo" in {r["versus"] for r in rows}
    registry._REGISTRY["echo"] = replace(ECHO, trains_weights=True)
    rows = break_even_table(costs)
    assert [r["lever"] for r in rows] == ["finetune", "finetune", "echo", "echo"]  # in simplicity order
    assert [r["versus"] for r in rows if r["lever"] == "echo"] == ["prompt", "finetune"]
    assert isinstance(costs["echo"], LeverCost)


def test_report_and_charts_show_a_new_lever(echo, tmp_path: Path):
    results = make_results()
    lever = copy.deepcopy(results["levers"][0])  # the prompt lever, renamed
    lever.update(name="echo", score={"mean": 0.61, "ci_low": 0.55, "ci_high": 0.67},
                 artifacts={"predictions": "predictions/echo.jsonl"})
    results["levers"].append(lever)
    results["recommendation"]["lever"] = "echo"
    html_path, md_path = render_report(results, make_predictions(results), tmp_path)
    page = html_path.read_text(encoding="utf-8")
    assert 'data-lever="echo"' in page and "How to deploy echo" in page
    assert "echo" in md_path.read_text(encoding="utf-8")
    svg = charts.report_charts(results)["scoreboard"]
    assert svg and "echo" in svg
    assert charts.lever_color("echo", 4) == charts._EXTRA_COLORS[0]  # no colour of its own: a spare one
    registry._REGISTRY["echo"] = replace(ECHO, color="#56B4E9")
    assert charts.lever_color("echo", 3) == "#56B4E9"
    assert charts.lever_color("finetune") == "#009E73"


def test_levers_option_names_registered_levers_only(echo, tmp_path: Path):
    with pytest.raises(UserError, match=r"--levers: unknown lever 'ecko' \(hint: did you mean 'echo'"):
        load(tmp_path / "task.yaml", levers=["ecko"])
    with pytest.raises(UserError, match=r"--levers: unknown lever 'promt' \(hint: did you mean 'prompt'"):
        load(tmp_path / "task.yaml", levers=["promt"])


def test_enabled_and_can_run_checks_read_traits(echo, tmp_path: Path):
    from conftest import write_task
    from advisor.spec import load_task

    task = load_task(write_task(tmp_path / "t", "smollm2-135m", corpus=False))
    check_levers_enabled(task, ["echo"], explicit=True)  # levers.prompt is enabled, and so is echo
    check_something_runs(task, ["echo"], has_corpus=False)
    registry._REGISTRY["echo"] = replace(ECHO, needs_corpus=True)
    with pytest.raises(UserError, match=r"no lever can run \(echo: no data.corpus\)"):
        check_something_runs(task, ["echo"], has_corpus=False)
    task.levers.prompt.enabled = False
    with pytest.raises(UserError, match=r"every lever chosen \(echo\) is disabled"):
        check_levers_enabled(task, ["echo"], explicit=True)

"""CI gates: `--fail-under SCORE` (exit 3 after everything is written) and `--junit PATH` on compare and report."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from junitparser import JUnitXml, Properties

from advisor.cli import GATE_FAILED, main
from advisor.gate import check_fail_under, junit_cases
from advisor.junit import write_junit
from bad_inputs import one_error_line, run_in
from conftest import write_task
from report_fixture import make_results

CRITERIA = ("label", "answer", "similarity")  # report_fixture's rubric


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def parse_junit(path: Path) -> dict[str, dict]:
    """Each testcase by name: its classname, state (passed/failed/skipped), message, system-out and properties,
    read back with junitparser (the acceptance test: a JUnit parser reads the file)."""
    xml = JUnitXml.fromfile(str(path))
    suites = list(xml)
    assert len(suites) == 1
    cases = {}
    for case in suites[0]:
        assert case.name not in cases, case.name
        state = "failed" if case.is_failure else "skipped" if case.is_skipped else "passed" if case.is_passed else "?"
        props = case.child(Properties)
        cases[case.name] = {"classname": case.classname, "state": state,
                            "message": case.result[0].message if case.result else None,
                            "out": case.system_out or "",
                            "props": {p.name: p.value for p in props} if props is not None else {}}
    return cases


# --- the pure functions, on a stored results dict (no model) ------------------------------------------------


def test_gate_uses_the_recommended_levers_mean():
    results = make_results()  # recommends finetune at 0.741 [0.679, 0.802] on 60 eval examples
    failed = check_fail_under(results, 0.9)
    assert not failed.passed and failed.lever == "finetune"
    assert failed.message == ("recommended lever finetune scores 0.741 [95% CI 0.679, 0.802] on 60 eval examples, "
                              "is under --fail-under 0.9")
    assert check_fail_under(results, 0.5).passed
    assert check_fail_under(results, 0.741).passed  # a score equal to the threshold passes
    assert check_fail_under(results, 0.0).passed
    # the mean decides, not the interval: 0.70 is inside it and above its lower bound
    assert check_fail_under(results, 0.70).passed and not check_fail_under(results, 0.75).passed


def test_gate_message_never_hides_a_near_miss():
    results = make_results()
    results["levers"][2]["score"]["mean"] = 0.79996
    verdict = check_fail_under(results, 0.8)
    assert not verdict.passed and "scores 0.79996 [95% CI" in verdict.message, verdict.message


def test_gate_says_an_undertrained_score_is_a_lower_bound():
    results = make_results()
    results["levers"][2]["undertrained"] = True
    verdict = check_fail_under(results, 0.9)
    assert verdict.message.endswith("; it is undertrained, so this is a lower bound"), verdict.message
    case = next(c for c in junit_cases(results, verdict) if c.name == "finetune")
    assert case.status == "failed" and "lower bound" in case.output


def test_help_says_the_gate_compares_the_mean():
    for command in ("compare", "report"):
        text = " ".join(run_cli(command, "--help").output.split())
        assert "--fail-under SCORE" in text and "recommended lever's mean eval score" in text
        assert "--junit PATH" in text


def test_gate_fails_when_nothing_could_be_recommended():
    results = make_results()
    for lever in results["levers"]:
        lever.update(status="skipped", reason="failed to load", score=None)
    results["recommendation"] = {"lever": None, "confidence": "none",
                                 "reasons": ["No lever ran successfully, so there is nothing to recommend."],
                                 "what_would_change": []}
    verdict = check_fail_under(results, 0.0)
    assert not verdict.passed and verdict.lever is None
    assert "no lever could be recommended" in verdict.message
    cases = {c.name: c for c in junit_cases(results, verdict)}
    assert cases["recommendation"].status == "failed" and cases["recommendation"].message == verdict.message
    assert {c.status for n, c in cases.items() if n != "recommendation"} == {"skipped"}


def test_gate_fails_on_a_recommended_lever_without_a_score():
    results = make_results()
    results["levers"][2]["score"]["mean"] = None  # a hand-edited results.json, read back by `advise report`
    verdict = check_fail_under(results, 0.1)
    assert not verdict.passed and "has no score" in verdict.message


def test_junit_file_parses_with_one_case_per_lever_and_criterion(tmp_path):
    results = make_results()  # 3 levers ran, retrieval+finetune skipped
    path = tmp_path / "junit.xml"
    write_junit(path, results["task"]["name"], junit_cases(results, check_fail_under(results, 0.9)))
    cases = parse_junit(path)
    levers = ["prompt", "retrieval", "finetune", "retrieval+finetune"]
    assert list(cases) == [n for lev in levers for n in (lev, *(f"{lev} / {c}" for c in CRITERIA))] + ["recommendation"]
    assert {c["classname"] for c in cases.values()} == {"support-triage"}
    # only the recommended lever fails, with the gate's line
    assert [n for n, c in cases.items() if c["state"] == "failed"] == ["finetune"]
    assert "is under --fail-under 0.9" in cases["finetune"]["message"]
    assert cases["finetune"]["props"]["recommended"] == "true" and cases["prompt"]["props"]["recommended"] == "false"
    assert cases["finetune"]["props"]["score"] == "0.741" and float(cases["finetune"]["props"]["ci_low"]) == 0.679
    assert "cost_per_1k_calls" in cases["finetune"]["props"]
    # the skipped lever and its criteria say why
    skipped = [n for n, c in cases.items() if c["state"] == "skipped"]
    assert skipped == ["retrieval+finetune", *(f"retrieval+finetune / {c}" for c in CRITERIA)]
    assert "time budget" in cases["retrieval+finetune"]["message"]
    # a criterion case: its mean and interval as output and properties
    crit = cases["prompt / label"]
    assert crit["state"] == "passed" and crit["out"].startswith("mean 0.550 [95% CI 0.460, 0.640]")
    assert {"score", "ci_low", "ci_high", "cost_per_1k_calls"} <= set(crit["props"])
    # the recommendation, with the gate's verdict
    rec = cases["recommendation"]
    assert rec["state"] == "passed"
    assert rec["props"] == {"lever": "finetune", "confidence": "likely", "fail_under": "0.9"}
    assert rec["out"].startswith("recommend finetune (confidence: likely)") and "gate: failed" in rec["out"]


def test_junit_without_a_gate_has_no_failures(tmp_path):
    results = make_results()
    path = tmp_path / "junit.xml"
    write_junit(path, "support-triage", junit_cases(results))
    cases = parse_junit(path)
    assert {c["state"] for c in cases.values()} == {"passed", "skipped"}
    assert "fail_under" not in cases["recommendation"]["props"]


def test_junit_carries_hostile_names_as_text(tmp_path):
    results = make_results()
    results["task"]["name"] = "t\x1b[31m<&>\x00"
    results["levers"][0]["name"] = "prompt\x07]]>"
    path = tmp_path / "junit.xml"
    write_junit(path, results["task"]["name"], junit_cases(copy.deepcopy(results), check_fail_under(results, 1.0)))
    cases = parse_junit(path)
    assert "prompt\\x07]]>" in cases and cases["prompt\\x07]]>"]["classname"] == "t\\x1b[31m<&>\\x00"


# --- through the CLI, on the tiny model --------------------------------------------------------------------


@pytest.fixture(scope="module")
def prompt_run(tmp_path_factory, tiny_model):
    """A finished `--levers prompt` run; later commands on the same --out reuse its caches."""
    folder = tmp_path_factory.mktemp("gate")
    task = write_task(folder / "task", str(tiny_model))
    out = folder / "run"
    result = run_cli("compare", str(task), "--out", str(out), "--levers", "prompt")
    assert result.exit_code == 0, result.output
    return task, out


def test_fail_under_exits_3_after_writing_everything(prompt_run, tmp_path):
    task, _ = prompt_run
    out, junit = tmp_path / "run", tmp_path / "ci" / "junit.xml"
    result = CliRunner().invoke(main, ["compare", str(task), "--out", str(out), "--levers", "prompt",
                                       "--fail-under", "1.0", "--junit", str(junit)])
    assert result.exit_code == GATE_FAILED == 3, result.output
    assert "Traceback" not in result.output
    gate_lines = [line for line in result.output.splitlines() if line.startswith("gate failed:")]
    assert len(gate_lines) == 1, result.output
    assert "recommended lever prompt scores" in gate_lines[0] and "[95% CI" in gate_lines[0]
    assert gate_lines[0].endswith("is under --fail-under 1")
    for name in ("results.json", "report.html", "report.md", "predictions/prompt.jsonl"):
        assert (out / name).is_file(), name
    results = json.loads((out / "results.json").read_text())
    assert results["recommendation"]["lever"] == "prompt"
    cases = parse_junit(junit)
    criteria = [c["name"] for c in results["rubric"]["criteria"]]
    assert list(cases) == ["prompt", *(f"prompt / {c}" for c in criteria), "recommendation"]
    assert cases["prompt"]["state"] == "failed" and cases["prompt"]["message"] == gate_lines[0][len("gate failed: "):]
    assert float(cases["prompt"]["props"]["score"]) == pytest.approx(results["levers"][0]["score"]["mean"], abs=1e-5)
    assert {cases[f"prompt / {c}"]["state"] for c in criteria} == {"passed"}


def test_fail_under_zero_passes(prompt_run, tmp_path):
    task, out = prompt_run
    junit = tmp_path / "junit.xml"
    result = run_cli("compare", str(task), "--out", str(out), "--levers", "prompt", "--fail-under", "0",
                     "--junit", str(junit))
    assert result.exit_code == 0, result.output
    assert "gate passed: recommended lever prompt scores" in result.output
    cases = parse_junit(junit)
    assert {c["state"] for c in cases.values()} == {"passed"}


def test_report_gates_a_stored_run(prompt_run, tmp_path):
    _, out = prompt_run
    junit = tmp_path / "junit.xml"
    result = CliRunner().invoke(main, ["report", str(out), "--fail-under", "1", "--junit", str(junit)])
    assert result.exit_code == 3, result.output
    assert "gate failed: recommended lever prompt scores" in result.output
    assert parse_junit(junit)["prompt"]["state"] == "failed"
    assert run_cli("report", str(out), "--fail-under", "0").exit_code == 0
    assert run_cli("report", str(out)).exit_code == 0  # no gate, no JUnit: as before


@pytest.mark.parametrize("value", ["1.5", "-0.1", "nan", "inf", "high"])
@pytest.mark.parametrize("command", ["compare", "report"])
def test_fail_under_out_of_range_is_one_line(tmp_path, monkeypatch, value, command):
    target = "task.yaml" if command == "compare" else "run"
    line = one_error_line(run_in(tmp_path, monkeypatch, command, target, "--fail-under", value))
    assert line.startswith("error: --fail-under: "), line


def test_unwritable_junit_path_is_one_line_before_any_work(tiny_task, tmp_path, monkeypatch):
    (tmp_path / "afile").write_text("in the way\n")
    line = one_error_line(run_in(tmp_path, monkeypatch, "compare", str(tiny_task), "--out", "run", "--levers", "prompt",
                                 "--junit", "afile/junit.xml"))
    assert "afile" in line and "is a file, expected a folder" in line, line
    assert not (tmp_path / "run").exists()  # refused before the run folder or any model work
    (tmp_path / "folder").mkdir()
    line = one_error_line(run_in(tmp_path, monkeypatch, "compare", str(tiny_task), "--junit", "folder"))
    assert "is a folder, expected a file path" in line, line
    line = one_error_line(run_in(tmp_path, monkeypatch, "compare", str(tiny_task), "--junit", ""))
    assert "--junit" in line and "empty path" in line, line


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_folder_that_takes_no_files_is_refused_before_any_work(tiny_task, tmp_path, monkeypatch):
    """/proc is a writable folder to root, yet no file can be created in it: tried with a temporary file, up front."""
    line = one_error_line(run_in(tmp_path, monkeypatch, "compare", str(tiny_task), "--out", "run", "--junit",
                                 "/proc/junit.xml"))
    assert line.startswith("error: /proc: cannot write:"), line
    assert not (tmp_path / "run").exists()
    line = one_error_line(run_in(tmp_path, monkeypatch, "compare", str(tiny_task), "--junit", "j" * 300 + ".xml"))
    assert "cannot write: File name too long" in line, line


def test_unwritable_junit_path_on_report(prompt_run, tmp_path, monkeypatch):
    _, out = prompt_run
    (tmp_path / "afile").write_text("in the way\n")
    line = one_error_line(run_in(tmp_path, monkeypatch, "report", str(out), "--junit", "afile/sub/junit.xml"))
    assert "is a file, expected a folder" in line, line

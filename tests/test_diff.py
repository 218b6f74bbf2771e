"""`advise diff RUN_A RUN_B`: paired per-lever differences, flipped examples, setup changes, the regression gate."""
from __future__ import annotations

import copy
import errno
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor import runs
from advisor.cli import main
from advisor.diff import FLIP_MIN_CHANGE, PASS_MARK, diff_runs
from advisor.runs import write_json, write_jsonl
from bad_inputs import one_error_line, run_in
from conftest import write_task
from report_fixture import XSS_SCRIPT, make_predictions, make_results

WORSE = "prompt"  # the lever made worse in run B


def store_run(folder: Path, results: dict, predictions: dict[str, list[dict]]) -> Path:
    """A run folder as `advise compare` writes it: results.json and predictions/<lever>.jsonl."""
    write_json(folder / "results.json", results)
    for name, rows in predictions.items():
        write_jsonl(folder / "predictions" / f"{name}.jsonl", rows)
    return folder


def worse_copy(results: dict, predictions: dict[str, list[dict]], n: int = 30) -> tuple[dict, dict]:
    """Run B: the prompt lever answers the first `n` examples wrong, and the setup changed (eval hash, model id,
    recommendation)."""
    b, preds = copy.deepcopy(results), copy.deepcopy(predictions)
    for rec in preds[WORSE][:n]:
        rec["prediction"] = "B got this one wrong"
        rec["scores"] = {"label": 0.0, "answer": 0.05, "similarity": 0.1, "total": 0.5 * 0 + 0.3 * 0.05 + 0.2 * 0.1}
    b["task"]["hashes"]["eval"] = "sha256:0000deadbeef"
    b["model"]["id"] = "SmolLM2-360M-Instruct"
    b["recommendation"]["lever"] = "retrieval"
    return b, preds


def flipped(a_rows: list[dict], b_rows: list[dict]) -> list[str]:
    """Ids whose total went from pass to fail under the documented rule."""
    b_total = {r["id"]: r["scores"]["total"] for r in b_rows}
    return [r["id"] for r in a_rows if r["scores"]["total"] >= PASS_MARK > b_total[r["id"]]
            and r["scores"]["total"] - b_total[r["id"]] >= FLIP_MIN_CHANGE]


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    a = make_results()
    a_preds = make_predictions(a)
    b, b_preds = worse_copy(a, a_preds)
    store_run(tmp_path / "a", a, a_preds)
    store_run(tmp_path / "b", b, b_preds)
    ids = flipped(a_preds[WORSE], b_preds[WORSE])
    assert 3 <= len(ids) <= 20  # all named in the gate's line (it names up to 20)
    return tmp_path / "a", tmp_path / "b", ids


def test_regression_exits_3_and_names_the_flipped_examples(two_runs, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, ids = two_runs
    result = run_in(tmp_path, monkeypatch, "diff", "a", "b", "--fail-on-regression")
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    gate = [line for line in result.output.splitlines() if line.startswith("gate failed:")]
    assert len(gate) == 1 and gate[0].startswith("gate failed: prompt is worse in B: "), result.output
    for i in ids:
        assert i in gate[0]
    # only the lever that got worse is flagged
    assert "retrieval is worse" not in result.output and "finetune is worse" not in result.output
    md = (tmp_path / "b" / "diff.md").read_text()
    assert "**1 lever significantly worse in B:** prompt" in md
    for i in ids:
        assert f"`{i}`" in md
    rows = {line.split("|")[1].strip(): line for line in md.splitlines() if line.startswith("| ")}
    assert "| worse |" in rows["prompt"]
    assert "| indistinguishable |" in rows["retrieval"] and "| indistinguishable |" in rows["finetune"]
    assert "not compared: skipped in both" in rows["retrieval+finetune"]
    # setup changes and the recommendation, in the terminal and in diff.md
    for text in (result.output, md):
        assert "model.id" in text and "SmolLM2-360M-Instruct" in text
        assert "task.hashes.eval" in text and "sha256:0000deadbeef" in text
    assert "recommendation changed: finetune (likely) in A, retrieval (likely) in B" in result.output
    assert "**Recommendation changed:** `finetune` (likely) in A, `retrieval` (likely) in B." in md
    data = json.loads((tmp_path / "b" / "diff.json").read_text())
    assert data["regressions"] == ["prompt"] and data["recommendation"]["changed"] is True
    prompt = next(lev for lev in data["levers"] if lev["name"] == "prompt")
    assert prompt["regressed_ids"] == ids and prompt["n_regressed"] == len(ids) and prompt["n_fixed"] == 0
    assert prompt["diff"] < 0 and prompt["ci_high"] < 0 and prompt["p_holm"] < 0.05


def test_the_html_is_self_contained_and_escaped(two_runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, ids = two_runs
    assert run_in(tmp_path, monkeypatch, "diff", "a", "b").exit_code == 0  # no gate: a regression is reported only
    page = (tmp_path / "b" / "diff.html").read_text()
    assert XSS_SCRIPT not in page and "<script" not in page  # a planted input is shown as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "http://" not in page and "https://" not in page and " src=" not in page  # no external asset
    assert "script-src 'none'" in page
    for i in ids:
        assert f"<code>{i}</code>" in page
    assert "B got this one wrong" in page and "Recommendation changed:" in page


def test_junit_file_parses_with_a_failure_for_the_worse_lever(two_runs, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    junitparser = pytest.importorskip("junitparser")
    result = run_in(tmp_path, monkeypatch, "diff", "a", "b", "--junit", "out/junit.xml")
    assert result.exit_code == 0, result.output  # --junit alone never changes the exit code
    xml = junitparser.JUnitXml.fromfile(str(tmp_path / "out" / "junit.xml"))
    cases = [case for suite in xml for case in suite]
    # 4 levers + 3 compared levers x 3 criteria
    assert len(cases) == 4 + 3 * 3
    status = {case.name: ("failed" if any(isinstance(r, junitparser.Failure) for r in case.result) else
                          "skipped" if any(isinstance(r, junitparser.Skipped) for r in case.result) else "passed")
              for case in cases}
    assert [name for name, s in status.items() if s == "failed"] == ["prompt"]
    assert status["retrieval"] == status["finetune"] == "passed"
    assert status["retrieval+finetune"] == "skipped"
    assert status["prompt / label"] == "passed" and status["finetune / answer"] == "passed"
    prompt = next(case for case in cases if case.name == "prompt")
    props = {p.name: p.value for p in prompt.child(junitparser.Properties)}
    assert props["verdict"] == "worse" and float(props["diff"]) < 0 and float(props["ci_high"]) < 0
    assert float(props["a"]) > float(props["b"])
    crit = next(case for case in cases if case.name == "prompt / answer")
    assert {"a", "b", "diff", "ci_low", "ci_high"} <= {p.name for p in crit.child(junitparser.Properties)}
    assert "B - A" in (crit.system_out or "") and "B - A" in (prompt.system_out or "")


def test_no_regression_exits_0(two_runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, ids = two_runs
    same = run_in(tmp_path, monkeypatch, "diff", "a", "a", "--fail-on-regression", "--out", "same")
    assert same.exit_code == 0, same.output
    assert "gate passed: no lever is significantly worse in B (3 compared)" in same.output
    assert "setup: unchanged" in same.output and "recommendation unchanged: finetune (likely)" in same.output
    assert "pass -> fail" not in same.output
    assert "No example flipped." in (tmp_path / "same" / "diff.md").read_text()
    assert "RUN_A and RUN_B are the same folder (a)" in same.output  # a slip worth a warning, not an error
    # B -> A: prompt got better; the examples flip back and nothing fails
    better = run_in(tmp_path, monkeypatch, "diff", "b", "a", "--fail-on-regression", "--out", "better")
    assert better.exit_code == 0, better.output
    assert f"prompt: fail -> pass: {ids[0]}" in better.output
    data = json.loads((tmp_path / "better" / "diff.json").read_text())
    prompt = next(lev for lev in data["levers"] if lev["name"] == "prompt")
    assert prompt["verdict"] == "better" and prompt["fixed_ids"] == ids and data["regressions"] == []


def test_levers_option_restricts_the_diff_and_the_gate(two_runs, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_in(tmp_path, monkeypatch, "diff", "a", "b", "--levers", "retrieval,finetune", "--fail-on-regression")
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "b" / "diff.json").read_text())
    assert [lev["name"] for lev in data["levers"]] == ["retrieval", "finetune"]
    line = one_error_line(run_in(tmp_path, monkeypatch, "diff", "a", "b", "--levers", "promt"))
    assert line.startswith("error: --levers: 'promt' is in neither run (hint: did you mean 'prompt'"), line


def test_levers_in_one_run_or_skipped_in_one_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = make_results(skipped=False)
    a_preds = make_predictions(a)
    b, b_preds = copy.deepcopy(a), copy.deepcopy(a_preds)
    finetune = next(lev for lev in b["levers"] if lev["name"] == "finetune")
    finetune.clear()
    finetune.update(name="finetune", status="skipped", reason="no model weights to train")
    del b_preds["finetune"]
    b["levers"] = [lev for lev in b["levers"] if lev["name"] != "retrieval+finetune"]
    del b_preds["retrieval+finetune"]
    store_run(tmp_path / "a", a, a_preds)
    store_run(tmp_path / "b", b, b_preds)
    result = run_in(tmp_path, monkeypatch, "diff", "a", "b", "--junit", "j.xml")
    assert result.exit_code == 0, result.output
    md = (tmp_path / "b" / "diff.md").read_text()
    assert "not compared: skipped in B: no model weights to train" in md
    assert "not compared: only in A" in md
    assert "`levers[finetune].status` | ok | skipped" in md
    junitparser = pytest.importorskip("junitparser")
    cases = {case.name: case for suite in junitparser.JUnitXml.fromfile(str(tmp_path / "j.xml")) for case in suite}
    assert any(isinstance(r, junitparser.Skipped) for r in cases["finetune"].result)
    assert any(isinstance(r, junitparser.Skipped) for r in cases["retrieval+finetune"].result)


def test_shared_ids_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Examples only in one run are counted and left out; the rest are paired by id, not by position."""
    a = make_results()
    a_preds = make_predictions(a)
    b, b_preds = copy.deepcopy(a), copy.deepcopy(a_preds)
    for name in b_preds:
        rows = b_preds[name][10:]  # the first 10 only in A
        rows.reverse()  # another order: pairing is by id
        rows.append({**rows[0], "id": "new-1"})  # one only in B
        b_preds[name] = rows
    store_run(tmp_path / "a", a, a_preds)
    store_run(tmp_path / "b", b, b_preds)
    result = run_in(tmp_path, monkeypatch, "diff", "a", "b", "--fail-on-regression")
    assert result.exit_code == 0, result.output
    assert "eval ids: 50 in both runs, 10 only in A, 1 only in B" in result.output
    data = json.loads((tmp_path / "b" / "diff.json").read_text())
    for lev in data["levers"][:3]:
        assert lev["n_shared"] == 50 and lev["diff"] == 0 and lev["n_regressed"] == lev["n_fixed"] == 0


def test_flip_rule_on_continuous_totals() -> None:
    """0.49 -> 0.51 moved less than FLIP_MIN_CHANGE: no flip; 0.45 -> 0.60 and 0.8 -> 0.2 flip; 0.9 -> 0.6 does not
    cross the pass mark."""
    a = make_results()
    a["levers"] = a["levers"][:1]
    totals = {"e1": (0.49, 0.51), "e2": (0.45, 0.60), "e3": (0.8, 0.2), "e4": (0.9, 0.6)}

    def preds(side: int) -> dict:
        return {"prompt": [{"id": i, "input": "q", "reference": "r", "prediction": "p",
                            "scores": {"answer": t[side], "total": t[side]}} for i, t in totals.items()]}

    d = diff_runs(a, preds(0), copy.deepcopy(a), preds(1))
    lev = d.levers[0]
    assert lev.status == "compared" and lev.n_shared == 4 and lev.n_changed == 4
    assert lev.regressed_ids == ["e3"] and lev.fixed_ids == ["e2"]
    assert lev.test == "sign_flip+paired_bootstrap"  # the fixture's rubric is not a single pass/fail criterion


def test_pass_fail_rubric_uses_mcnemar() -> None:
    a = make_results()
    a["levers"] = a["levers"][:1]
    a["rubric"]["criteria"] = [{"name": "label", "scorer": "exact_match", "weight": 1, "pass_fail": True}]
    rows = [{"id": f"e{i}", "prediction": "x", "scores": {"label": 1.0, "total": 1.0}} for i in range(40)]
    worse = [dict(r, scores={"label": 0.0, "total": 0.0}) if i < 20 else r for i, r in enumerate(rows)]
    d = diff_runs(a, {"prompt": rows}, copy.deepcopy(a), {"prompt": worse})
    lev = d.levers[0]
    assert d.pass_fail and lev.test == "mcnemar+paired_bootstrap" and lev.verdict == "worse"
    assert lev.n_regressed == 20 and d.regressions() == [lev]
    assert lev.criteria[0].test == "mcnemar+paired_bootstrap"
    assert d.warnings == []
    b = copy.deepcopy(a)
    b["rubric"]["criteria"][0]["weight"] = 2
    changed = diff_runs(a, {"prompt": rows}, b, {"prompt": rows})
    assert changed.warnings[0].startswith("the rubric changed (rubric.criteria[label].weight)")
    assert [(c.section, c.field, c.a, c.b) for c in changed.setup] == [("rubric", "rubric.criteria[label].weight",
                                                                        "1", "2")]


# ---- one-line errors (exit 2, no traceback) ----

def test_missing_run_folder(two_runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    line = one_error_line(run_in(tmp_path, monkeypatch, "diff", "a", "nope"))
    assert line.startswith("error: nope: run folder not found"), line


def test_folder_without_results(two_runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty").mkdir()
    line = one_error_line(run_in(tmp_path, monkeypatch, "diff", "empty", "b"))
    assert line.startswith("error: empty/results.json: not found"), line


def test_damaged_predictions_are_named(two_runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "b" / "predictions" / "retrieval.jsonl").write_text('{"id": "x", "prediction": 3, "scores": {}}\n')
    line = one_error_line(run_in(tmp_path, monkeypatch, "diff", "a", "b"))
    assert line.startswith("error: b/predictions/retrieval.jsonl: line 1: prediction: must be a string"), line


def test_no_shared_eval_ids(two_runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = json.loads((tmp_path / "b" / "results.json").read_text())
    other = {name: [dict(r, id=f"other-{r['id']}") for r in runs.read_jsonl(tmp_path / "b" / "predictions" /
                                                                            f"{name}.jsonl")]
             for name in ("prompt", "retrieval", "finetune")}
    store_run(tmp_path / "c", results, other)
    line = one_error_line(run_in(tmp_path, monkeypatch, "diff", "a", "c"))
    assert line.startswith("error: a and c share no eval id (A has e.g. 'ex-000', B 'other-ex-000')"), line
    assert "(hint: diff two runs of the same eval set" in line
    assert not (tmp_path / "c" / "diff.html").exists()


def test_duplicate_ids_are_refused(two_runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "b" / "predictions" / "prompt.jsonl"
    rows = runs.read_jsonl(path)
    write_jsonl(path, rows + rows[:1])
    line = one_error_line(run_in(tmp_path, monkeypatch, "diff", "a", "b"))
    where = f"error: b/predictions/prompt.jsonl: record {len(rows) + 1}"
    assert line.startswith(f"{where}: id 'ex-000' appears twice"), line


def test_out_that_is_a_file(two_runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "out.txt").write_text("x")
    for out in ("out.txt", "out.txt/diff"):
        line = one_error_line(run_in(tmp_path, monkeypatch, "diff", "a", "b", "--out", out))
        assert line.startswith("error: out.txt: is a file, expected a folder (hint: --out names the folder"), line
    line = one_error_line(run_in(tmp_path, monkeypatch, "diff", "a", "b", "--junit", "a"))
    assert line.startswith("error: a: is a folder, expected a file path for the JUnit XML"), line


@pytest.mark.parametrize("code, words", [(errno.EROFS, "Read-only file system"), (errno.EACCES, "Permission denied"),
                                         (errno.ENOSPC, "No space left on device")])
def test_unwritable_out(code: int, words: str, two_runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_replace(src, dst):
        raise OSError(code, os.strerror(code), str(src))

    monkeypatch.setattr(runs.os, "replace", failing_replace)
    line = one_error_line(run_in(tmp_path, monkeypatch, "diff", "a", "b", "--out", "ro"))
    assert line.startswith("error: ro/diff.html: cannot write: ") and words in line, line
    assert not [p for p in (tmp_path / "ro").iterdir() if p.name.endswith(".tmp")]


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root writes anywhere")
def test_read_only_out_folder(two_runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o500)
    try:
        line = one_error_line(run_in(tmp_path, monkeypatch, "diff", "a", "b", "--out", "ro"))
    finally:
        (tmp_path / "ro").chmod(0o700)
    assert line.startswith("error: ro: is not writable"), line


def test_gate_with_nothing_to_compare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = make_results()
    a_preds = make_predictions(a)
    b, b_preds = copy.deepcopy(a), copy.deepcopy(a_preds)
    a["levers"] = [lev for lev in a["levers"] if lev["name"] == "prompt"]
    b["levers"] = [lev for lev in b["levers"] if lev["name"] == "finetune"]
    store_run(tmp_path / "a", a, {"prompt": a_preds["prompt"]})
    store_run(tmp_path / "b", b, {"finetune": b_preds["finetune"]})
    assert run_in(tmp_path, monkeypatch, "diff", "a", "b").exit_code == 0  # a report of what differs
    line = one_error_line(run_in(tmp_path, monkeypatch, "diff", "a", "b", "--fail-on-regression"))
    assert line.startswith("error: --fail-on-regression: no lever ran in both runs"), line


# ---- two real runs of the tiny model ----

def test_two_identical_tiny_runs_diff_clean(tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    task = write_task(tmp_path / "task", str(tiny_model), corpus=False)
    for out in ("run1", "run2"):
        result = CliRunner().invoke(main, ["compare", str(task), "--out", str(tmp_path / out), "--levers", "prompt"],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["diff", str(tmp_path / "run1"), str(tmp_path / "run2"), "--fail-on-regression",
                                       "--junit", str(tmp_path / "junit.xml")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "gate passed: no lever is significantly worse in B (1 compared)" in result.output
    data = json.loads((tmp_path / "run2" / "diff.json").read_text())
    (prompt,) = data["levers"]
    assert prompt["status"] == "compared" and prompt["n_shared"] == 8
    assert prompt["diff"] == 0 and prompt["n_changed"] == prompt["n_regressed"] == prompt["n_fixed"] == 0
    assert data["recommendation"]["changed"] is False
    assert data["setup"] == [], data["setup"]  # same task, model, data and environment
    assert "setup: unchanged" in result.output


def test_hostile_ids_and_texts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids with rich markup and terminal escapes, a megabyte prediction: printed as text, bounded, no escape codes."""
    a = make_results()
    a_preds = make_predictions(a)
    b, b_preds = worse_copy(a, a_preds)
    for preds in (a_preds, b_preds):
        for name in preds:
            preds[name][0]["id"] = "[/bold]\x1b[31mred"
            preds[name][2]["id"] = f"<b>{XSS_SCRIPT}"
    b_preds[WORSE][0]["prediction"] = "Q" * 1_000_000
    store_run(tmp_path / "a", a, a_preds)
    store_run(tmp_path / "b", b, b_preds)
    result = run_in(tmp_path, monkeypatch, "diff", "a", "b", "--fail-on-regression")
    assert result.exit_code == 3, result.output
    assert "\x1b" not in result.output and "[/bold]\\x1b[31mred" in result.output
    page, md = (tmp_path / "b" / "diff.html").read_text(), (tmp_path / "b" / "diff.md").read_text()
    assert "<script" not in page and "<b>" not in page and "\x1b" not in page + md
    assert f"`<b>{XSS_SCRIPT}`" in md  # in md an id is a code span: shown as typed, never rendered
    assert "Q" * 2_001 not in page and "Q" * 2_001 not in md and "more chars" in page

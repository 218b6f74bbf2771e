"""Every case in the bad-input corpus exits 2 with one line naming the file and the field or line, and a hint."""
from __future__ import annotations

from pathlib import Path

import pytest

from advisor.compare import load
from advisor.errors import UserError

from bad_inputs.cases import BASE_YAML, CASES, Case, materialize
from bad_inputs import run_in




def test_corpus_size():
    assert len(CASES) >= 35
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_input(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    materialize(case, tmp_path)
    args = case.args or ("task.yaml",)
    result = run_in(tmp_path, monkeypatch, case.command, *args)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert len(lines) == 1, result.output
    line = lines[0]
    assert line.startswith("error: "), line
    named = ": ".join(p for p in (case.file, case.where) if p)
    assert line.startswith(f"error: {named}: "), line
    assert case.hint in line, line


@pytest.mark.parametrize("args, expected", [
    (("validate",), "error: Missing argument 'TASK_FILE'."),
    (("compare", "task.yaml", "--lmit", "3"), "error: No such option '--lmit'. (Did you mean one of: '--junit', '--limit'?)"),
    (("compare", "task.yaml", "--limit", "many"), "error: --limit: 'many' is not a valid integer range."),
    (("compar", "task.yaml"), "error: No such command 'compar'. Did you mean 'compare'?"),
    (("compare", "task.yaml", "--out", ""), "error: --out: is an empty path"),  # '' would be the current folder
    (("compare", "task.yaml", "--levers", " , "), "error: --levers: names no lever"),  # '' used to mean all levers
    (("compare", "task.yaml", "--max-train-minutes", "nan"), "error: --max-train-minutes: must be a finite number"),
    (("report", ""), "error: RUN_DIR: is an empty path"),
    (("init", ""), "error: DIRECTORY: is an empty path"),
    (("validate", " "), "error: TASK_FILE: is an empty path"),
])
def test_usage_errors_are_one_line(args: tuple[str, ...], expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """click's own usage errors (normally usage + blank line + error) are one line too, still exit 2."""
    result = run_in(tmp_path, monkeypatch, *args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [result.output.strip()]
    assert result.output.startswith(expected), result.output
    assert "--help`)" in result.output


# ---- positive controls: valid tasks pass `validate`, with their warnings ----

def test_valid_task_prints_ok_and_warnings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    materialize(Case("valid", None, None), tmp_path)
    result = run_in(tmp_path, monkeypatch, "validate", "task.yaml")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "ok task.yaml: 24 train, 8 eval, 3 corpus documents, rubric 'short_answer_qa' (4 criteria)"
    assert lines[1] == ("warning small_eval_set: the eval set has 8 examples (fewer than 30); "
                        "differences under ~0.49 will not be detectable.")
    assert all(line.startswith("warning ") for line in lines[1:])


def test_valid_csv_train(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    csv = "id,input,output,context_ids\n" + "".join(f'c{i},"Question {i}, please",answer {i},hours.md\n' for i in range(24))
    materialize(Case("csv", None, None, edits=(("train: data/train.jsonl", "train: data/train.csv"),),
                     files={"data/train.csv": csv}), tmp_path)
    result = run_in(tmp_path, monkeypatch, "validate", "task.yaml")
    assert result.exit_code == 0, result.output
    assert "24 train" in result.output


def test_top_k_larger_than_corpus_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """k beyond the corpus still works (retrieval returns every chunk), so it warns and names the field."""
    materialize(Case("big_k", None, None, edits=(("top_k: [2]", "top_k: [2, 50]"),)), tmp_path)
    result = run_in(tmp_path, monkeypatch, "validate", "task.yaml")
    assert result.exit_code == 0, result.output
    warning = [line for line in result.output.splitlines() if "top_k_exceeds_corpus" in line]
    assert warning == ["warning top_k_exceeds_corpus: levers.retrieval.top_k (line 12): k=50 is more chunks than the "
                       "3 corpus documents make; retrieval will give every chunk"]


def test_top_k_within_a_long_corpus_is_quiet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    long_doc = "The bakery opens at 6:30 on weekdays. " * 200
    materialize(Case("long", None, None, edits=(("top_k: [2]", "top_k: [2, 50]"),), files={"docs/long.md": long_doc}),
                tmp_path)
    result = run_in(tmp_path, monkeypatch, "validate", "task.yaml")
    assert result.exit_code == 0, result.output
    assert "top_k_exceeds_corpus" not in result.output


def test_library_load_rejects_limit_zero(tmp_path: Path):
    """The CLI stops `--limit 0` in click; a notebook calling `load` gets the same one-line error."""
    task = materialize(Case("valid", None, None), tmp_path)
    with pytest.raises(UserError, match=r"^--limit: must be at least 1, got 0"):
        load(task, limit=0)


def test_base_yaml_is_valid_and_line_numbers_hold():
    lines = BASE_YAML.splitlines()
    assert lines[13] == "    rank: 8" and lines[16] == "seed: 0"  # lines 14 and 17, as the cases expect


def test_corpus_too_large_for_memory_is_refused_up_front(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    materialize(Case("valid", None, None), tmp_path)
    monkeypatch.setattr("advisor.compare.free_ram", lambda: 4 * 2**30 + 1000)  # 1000 bytes spare
    result = run_in(tmp_path, monkeypatch, "validate", "task.yaml")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output
    assert lines[0].startswith("error: task.yaml: data.corpus (line ") and "GiB" in lines[0]
    monkeypatch.setattr("advisor.compare.free_ram", lambda: 64 * 2**30)
    assert run_in(tmp_path, monkeypatch, "validate", "task.yaml").exit_code == 0

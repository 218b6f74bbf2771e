"""`advise report` on hostile run folders, report.md / report.html safety, bounded strings, one CLI error path.

Every broken run folder exits 2 with one line naming the file and the field; every user string lands in the
reports as bounded, escaped text with credentials redacted; OSErrors from user paths are one line, real bugs
keep their tracebacks.
"""
from __future__ import annotations

import errno
import inspect
import json
import os
import re
from pathlib import Path
from typing import Callable

import pytest
from markdown_it import MarkdownIt

from advisor import cli, report, runs
from advisor.errors import UserError
from report_fixture import make_predictions, make_results
from bad_inputs import one_error_line, run_in

RERUN = "rerun `advise compare`"


def store_run(folder: Path, results: dict | None = None, predictions: dict | None = None) -> Path:
    """A run folder as `advise compare` leaves it: results.json and predictions/<lever>.jsonl."""
    results = make_results() if results is None else results
    predictions = make_predictions(make_results()) if predictions is None else predictions
    (folder / "predictions").mkdir(parents=True, exist_ok=True)
    for lever, rows in predictions.items():
        (folder / "predictions" / f"{lever}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "results.json").write_text(json.dumps(results))
    return folder






# ---- hostile results.json: every case one line naming results.json and the field ----

def _set(path: str, value: object) -> Callable[[dict], None]:
    """A mutation that sets results[path] (dotted, with [i] for list items) to `value`."""
    def apply(results: dict) -> None:
        keys = [int(k) if k.isdigit() else k for k in re.findall(r"[^.\[\]]+", path)]
        target = results
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return apply


def _drop(path: str) -> Callable[[dict], None]:
    def apply(results: dict) -> None:
        *head, last = path.split(".")
        target = results
        for key in head:
            target = target[int(key)] if key.isdigit() else target[key]
        del target[last]
    return apply


SHAPE_CASES = [  # (id, mutation, field named, words in the message)
    ("levers-not-a-list", _set("levers", {"prompt": 1}), "levers", "must be a list"),
    ("lever-a-string", _set("levers[0]", "prompt"), "levers[0]", "must be an object"),
    ("lever-without-name", _drop("levers.0.name"), "levers[0].name", "missing"),
    ("lever-name-a-number", _set("levers[2].name", 12), "levers[2].name", "must be a string"),
    ("score-mean-a-string", _set("levers[1].score.mean", "0.7"), "levers[1].score.mean", "must be a number"),
    ("score-mean-a-bool", _set("levers[1].score.mean", True), "levers[1].score.mean", "must be a number"),
    ("score-a-list", _set("levers[1].score", [0.5, 0.4]), "levers[1].score", "must be an object"),
    ("ok-lever-without-score", _drop("levers.0.score"), "levers[0].score", "missing"),
    ("recommendation-missing", _drop("recommendation"), "recommendation", "missing"),
    ("recommendation-null", _set("recommendation", None), "recommendation", "must be an object"),
    ("reasons-a-string", _set("recommendation.reasons", "it is best"), "recommendation.reasons", "must be a list"),
    ("reason-a-number", _set("recommendation.reasons[1]", 3), "recommendation.reasons[1]", "must be a string"),
    ("task-missing", _drop("task"), "task", "missing"),
    ("task-name-null", _set("task.name", None), "task.name", "must be a string"),
    ("warnings-an-object", _set("warnings", {"code": "x"}), "warnings", "must be a list"),
    ("warning-message-a-list", _set("warnings[0].message", ["a"]), "warnings[0].message", "must be a string"),
    ("criteria-value-a-string", _set("levers[0].criteria.label", "high"), "levers[0].criteria.label",
     "must be a number"),
    ("cost-a-number", _set("levers[2].cost", 3), "levers[2].cost", "must be an object"),
    ("comparison-without-a", _drop("comparisons.0.a"), "comparisons[0].a", "missing"),
    ("check-an-int", _set("checks[1]", 7), "checks[1]", "must be an object"),
    ("rubric-criteria-a-string", _set("rubric.criteria", "label,answer"), "rubric.criteria", "must be a list"),
    ("break-even-row-a-string", _set("cost_model.break_even[0]", "x"), "cost_model.break_even[0]",
     "must be an object"),
    ("timings-text", _set("timings.total", "long"), "timings.total", "must be a number"),
    ("packages-a-list", _set("environment.packages", ["torch"]), "environment.packages", "must be an object"),
    ("schema-version-text", _set("schema_version", "1"), "schema_version", "must be a whole number"),
    ("huge-int", _set("levers[0].score.mean", 10**400), "levers[0].score.mean", "too large"),
    ("predictions-path-a-number", _set("levers[0].artifacts.predictions", 3), "levers[0].artifacts.predictions",
     "must be a path"),
    ("predictions-path-missing", _drop("levers.1.artifacts.predictions"), "levers[1].artifacts.predictions",
     "missing"),
    ("ok-lever-without-cost", _drop("levers.2.cost"), "levers[2].cost", "missing (the lever ran"),
    ("status-unknown", _set("levers[0].status", "done"), "levers[0].status", "'ok' or 'skipped'"),
    ("check-without-status", _drop("checks.0.status"), "checks[0].status", "missing"),
    ("verdict-unknown", _set("comparisons[0].verdict", "<b>x</b>"), "comparisons[0].verdict", "'better'"),
    ("sizes-a-float", _set("task.sizes.eval", 60.0), "task.sizes.eval", "must be a whole number"),
]


@pytest.mark.parametrize("mutate, field, words", [c[1:] for c in SHAPE_CASES], ids=[c[0] for c in SHAPE_CASES])
def test_wrong_shapes_name_the_field(mutate, field: str, words: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    results = make_results()
    mutate(results)
    store_run(tmp_path / "run", results)
    line = one_error_line(run_in(tmp_path, monkeypatch, "report", "run"))
    assert line.startswith(f"error: run/results.json: {field}: "), line
    assert words in line and RERUN in line, line
    assert not (tmp_path / "run" / "report.html").exists()  # checked before anything is rendered


def test_other_schema_version_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = make_results()
    results["schema_version"] = 7
    store_run(tmp_path / "run", results)
    line = one_error_line(run_in(tmp_path, monkeypatch, "report", "run"))
    assert line.startswith("error: run/results.json: schema_version: is 7; this version of advise reads 1"), line


@pytest.mark.parametrize("content, where, words", [
    (b"[]", None, "must hold a JSON object, not a list"),
    (b"{}", "schema_version", "missing"),
    (b"null", None, "not null"),
    (b"42", None, "not a number"),
    (b'"results"', None, "not a string"),
    (b"", "line 1", "not valid JSON"),
    (b'{"schema_version": 1, "task": {', "line 1", "not valid JSON"),
    ('{"task": "caf\u00e9"}'.encode("latin-1"), "line 1", "not valid UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, None, "nested too deeply"),
    (b'{"a":' * 200 + b"1" + b"}" * 200, None, "nested more than 64 levels"),
    (b'{"schema_version": ' + b"9" * 5000 + b"}", None, "thousands of digits"),
], ids=["list", "empty-object", "null", "number", "string", "empty-file", "truncated", "latin-1", "deep-100k",
        "deep-200", "5000-digits"])
def test_results_json_not_a_run_record(content: bytes, where: str | None, words: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    run = store_run(tmp_path / "run")
    (run / "results.json").write_bytes(content)
    line = one_error_line(run_in(tmp_path, monkeypatch, "report", "run"))
    named = "run/results.json" + (f": {where}" if where else "")
    assert line.startswith(f"error: {named}"), line
    assert words in line and RERUN in line, line


def test_huge_results_json_is_refused_quickly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = store_run(tmp_path / "run")
    with open(run / "results.json", "wb") as fh:
        fh.truncate(runs.MAX_RESULTS_BYTES + 1)  # sparse: costs no disk
    line = one_error_line(run_in(tmp_path, monkeypatch, "report", "run"))
    assert line.startswith("error: run/results.json: file is larger than the 16 MiB limit"), line


@pytest.mark.parametrize("make, expected", [
    (lambda d: None, "error: run: run folder not found (hint: pass the folder `advise compare` wrote"),
    (lambda d: d.write_text("x"), "error: run: is not a folder"),
    (lambda d: os.mkfifo(d), "error: run: is not a folder"),
    (lambda d: d.mkdir(), "error: run/results.json: not found (hint: run `advise compare` first"),
    (lambda d: (d.mkdir(), os.mkfifo(d / "results.json")), "error: run/results.json: is a named pipe (FIFO)"),
    (lambda d: (d.mkdir(), (d / "results.json").mkdir()), "error: run/results.json: is a folder"),
], ids=["missing", "a-file", "a-fifo", "no-results", "results-fifo", "results-folder"])
def test_run_folder_itself(make, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make(tmp_path / "run")
    assert one_error_line(run_in(tmp_path, monkeypatch, "report", "run")).startswith(expected)


# ---- predictions files ----

@pytest.mark.parametrize("content, where, words", [
    ("not json at all\n", "line 1", "not valid JSON"),
    ('{"id": "a", "prediction": "x", "scores": {"total": 1}}\n[1, 2]\n', "line 2", "must be a JSON object"),
    ('{"prediction": "x", "scores": {"total": 1}}\n', "line 1: id", "missing"),
    ('{"id": true, "prediction": "x", "scores": {}}\n', "line 1: id", "must be a string"),
    ('{"id": "a", "scores": {"total": 1}}\n', "line 1: prediction", "missing"),
    ('{"id": "a", "prediction": 5, "scores": {}}\n', "line 1: prediction", "must be a string"),
    ('{"id": "a", "prediction": "x", "scores": "high"}\n', "line 1: scores", "must be an object"),
    ('{"id": "a", "prediction": "x", "scores": {"total": "1"}}\n', "line 1: scores.total", "must be a number"),
    ('{"id": "a", "prediction": "x", "scores": ' + "[" * 50_000 + "]" * 50_000 + "}\n", "line 1",
     "nested too deeply"),
], ids=["not-jsonl", "row-a-list", "no-id", "id-bool", "no-prediction", "prediction-number", "scores-string",
        "score-text", "deep-row"])
def test_bad_prediction_rows_name_file_and_line(content: str, where: str, words: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    run = store_run(tmp_path / "run")
    (run / "predictions" / "retrieval.jsonl").write_text(content)
    line = one_error_line(run_in(tmp_path, monkeypatch, "report", "run"))
    assert line.startswith(f"error: run/predictions/retrieval.jsonl: {where}: "), line
    assert words in line, line


@pytest.mark.parametrize("damage, words", [
    (lambda p: p.unlink(), "not found"),
    (lambda p: (p.unlink(), os.mkfifo(p)), "is a named pipe (FIFO)"),
    (lambda p: p.write_bytes(b'{"id": "caf\xe9"}\n'), "not valid UTF-8"),
], ids=["missing", "fifo", "latin-1"])
def test_missing_or_unreadable_predictions_file(damage, words: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    run = store_run(tmp_path / "run")
    damage(run / "predictions" / "prompt.jsonl")
    line = one_error_line(run_in(tmp_path, monkeypatch, "report", "run"))
    assert line.startswith("error: run/predictions/prompt.jsonl: ") and words in line, line
    assert RERUN in line, line


@pytest.mark.parametrize("path", ["../../../../etc/passwd", "/etc/hostname", "/dev/zero", "predictions/../../x.jsonl",
                                  "", "link/prompt.jsonl"])
def test_predictions_path_must_stay_inside_the_run(path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = make_results()
    results["levers"][0]["artifacts"]["predictions"] = path
    run = store_run(tmp_path / "run", results)
    (tmp_path / "x.jsonl").write_text((run / "predictions" / "prompt.jsonl").read_text())
    (run / "link").symlink_to(tmp_path)  # a symlink that leaves the run folder
    line = one_error_line(run_in(tmp_path, monkeypatch, "report", "run"))
    assert line.startswith("error: run/results.json: levers[0].artifacts.predictions: "), line
    assert "outside the run folder" in line or "relative to the run folder" in line, line


def test_symlinked_predictions_file_that_escapes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = store_run(tmp_path / "run")
    (tmp_path / "elsewhere.jsonl").write_text((run / "predictions" / "prompt.jsonl").read_text())
    (run / "predictions" / "prompt.jsonl").unlink()
    (run / "predictions" / "prompt.jsonl").symlink_to(tmp_path / "elsewhere.jsonl")
    line = one_error_line(run_in(tmp_path, monkeypatch, "report", "run"))
    assert "levers[0].artifacts.predictions: 'predictions/prompt.jsonl' points outside the run folder" in line


def test_a_good_run_rerenders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = store_run(tmp_path / "run")
    (run / "cache").mkdir()
    (run / "predictions" / "inner.jsonl").symlink_to("prompt.jsonl")  # a symlink inside the run is fine
    results = json.loads((run / "results.json").read_text())
    results["levers"][0]["artifacts"]["predictions"] = "cache/../predictions/inner.jsonl"
    (run / "results.json").write_text(json.dumps(results))
    result = run_in(tmp_path, monkeypatch, "report", "run")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("wrote run/report.html and run/report.md")
    assert "Use <strong>finetune</strong> for support-triage" in (run / "report.html").read_text()


# ---- report.md: user strings are plain text ----

PAYLOADS = [
    "![pixel](http://evil.example/p.png)",
    '<img src="https://evil.example/i.png">',
    "<script>alert(1)</script>",
    "[log in](https://evil.example/login)",
    "<https://evil.example/auto>",
    "`` ` <img src=http://evil.example/b.png> ` ``",
    "a | b\n| c | d |\n\n# Heading\n\n![x](http://evil.example/h.png)",
    "<!-- hidden --> **bold** _em_ ~~gone~~",
    "&lt;img src=http://evil.example/e.png&gt;",
    "[a]: http://evil.example/ref.png\n\n![a][a]",
    "1. list\n- item\n> quote",
    "$\\href{http://evil.example}{x}$ and $y$",
]
PLACES: dict[str, Callable[[dict, str], None]] = {
    "task name": lambda r, p: r["task"].__setitem__("name", p),
    "recommended lever": lambda r, p: _rename_lever(r, "finetune", p, recommended=True),
    "other lever": lambda r, p: _rename_lever(r, "retrieval", p),
    "criterion": lambda r, p: _rename_criterion(r, p),
    "reason": lambda r, p: r["recommendation"]["reasons"].append(p),
    "what would change": lambda r, p: r["recommendation"]["what_would_change"].append(p),
    "warning code and message": lambda r, p: r["warnings"].append({"code": p, "message": p}),
    "check": lambda r, p: r["checks"].append({"name": p, "status": "warning", "detail": p, "lever": p}),
    "skip reason": lambda r, p: r["levers"][3].__setitem__("reason", p),
    "model id": lambda r, p: r["model"].__setitem__("id", p),
    "baseline label": lambda r, p: r["baselines"]["majority_class"].__setitem__("label", p),
    "test": lambda r, p: r["comparisons"][0].update(test=p),  # a verdict is one of three words (advisor.results)
    "break-even sentence": lambda r, p: r["cost_model"]["break_even"][0].__setitem__("sentence", p),
    "created": lambda r, p: r.__setitem__("created", p),
}


def _rename_lever(results: dict, old: str, new: str, recommended: bool = False) -> None:
    for lever in results["levers"]:
        if lever["name"] == old:
            lever["name"] = new
    for comparison in results["comparisons"]:
        for side in ("a", "b"):
            if comparison[side] == old:
                comparison[side] = new
    if recommended:
        results["recommendation"]["lever"] = new


def _rename_criterion(results: dict, new: str) -> None:
    results["rubric"]["criteria"][0]["name"] = new
    for lever in results["levers"]:
        if lever.get("criteria"):
            lever["criteria"][new] = lever["criteria"].pop("label")


def markdown_html(md: str) -> str:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(md)


def table_shapes(html: str) -> list[tuple[int, set[int]]]:
    """(header cells, set of body-row cell counts) per table."""
    shapes = []
    for table in re.findall(r"<table>.*?</table>", html, re.S):
        head, body = table.split("</thead>")
        shapes.append((len(re.findall(r"<th[ >]", head)), {len(re.findall(r"<td[ >]", row))
                                                           for row in re.findall(r"<tr>.*?</tr>", body, re.S)}))
    return shapes


@pytest.fixture
def no_charts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip matplotlib where a test is about text (charts escape their own text: test_report.py)."""
    monkeypatch.setattr(report.charts, "report_charts",
                        lambda results: {"scoreboard": None, "criteria": None, "break_even": None, "loss": {}})


@pytest.mark.parametrize("place", list(PLACES))
def test_markdown_prints_user_strings_as_text(place: str, tmp_path: Path, no_charts: None) -> None:
    clean = markdown_html(report.render_report(make_results(), {}, tmp_path / "clean")[1].read_text())
    for i, payload in enumerate(PAYLOADS):
        results = make_results()
        PLACES[place](results, payload)
        html_path, md_path = report.render_report(results, {}, tmp_path / str(i))
        md = md_path.read_text()
        rendered = markdown_html(md)
        assert "<img" not in rendered and "<script" not in rendered and "<!--" not in rendered, (payload, md)
        assert "evil.example" not in "".join(re.findall(r'href="[^"]*"', rendered)), (payload, md)
        assert "<del>" not in rendered and "<s>" not in rendered, (payload, md)
        assert rendered.count("<h1>") == 1 and rendered.count("<h2>") == clean.count("<h2>"), (payload, md)
        assert rendered.count("<blockquote>") == clean.count("<blockquote>"), (payload, md)
        assert rendered.count("<li>") - clean.count("<li>") <= 1, (payload, md)  # an added reason is one item
        assert table_shapes(rendered) == table_shapes(clean), (payload, md)  # no pipe or newline breaks a table
        assert "\\://" in md or "://" not in re.sub(r"`+[^`]*`+", "", md), md  # bare URLs not autolinked
        page = html_path.read_text()
        assert "evil.example/p.png\"" not in page and "<img" not in page and "<script>alert" not in page


def test_backticks_cannot_close_a_code_span() -> None:
    for value in ["a`b", "``x``", "`", "ends with `", "```` <img src=x> ````"]:
        span = report.md_code(value)
        rendered = markdown_html(f"use {span} now")
        assert rendered.count("<code>") == 1, (value, span, rendered)
        inner = re.search(r"<code>(.*)</code>", rendered).group(1)
        assert inner.strip() == value.replace("<", "&lt;").replace(">", "&gt;").strip(), (value, span, rendered)


@pytest.mark.parametrize("text", ["plain words", "snake_case_name", "price $0.43", "a < b > c", "C:\\path\\x",
                                  "50% * 2", "#1 pick", "- dash", "1. first", "x | y", "[not a link]", "www.example.com",
                                  "tab\tand\nnewline"])
def test_md_text_renders_as_typed(text: str) -> None:
    """Escaping changes how the source looks, never what a reader sees."""
    rendered = markdown_html(f"- {report.md_text(text)}")
    shown = re.sub(r"<[^>]+>", "", rendered).strip()
    shown = shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("&quot;", '"')
    assert shown == " ".join(text.split()), (text, report.md_text(text), rendered)


def test_every_template_is_escaped() -> None:
    env = report._environment()
    html_templates = [t for t in env.list_templates() if t.endswith(".html.j2")]
    assert html_templates
    for name in html_templates:
        assert env.get_template(name).render.__self__.environment.autoescape is True  # type: ignore[attr-defined]
    md_env = report._md_environment()
    assert md_env.finalize("<b>[x](http://e)") == "&lt;b&gt;\\[x](http\\://e)"  # a raw string is escaped on output


# ---- bounded strings: a 1 MB value is shown truncated, once ----

BIG = "Q" * 1_000_000


@pytest.mark.parametrize("where", ["prediction", "input", "reference", "task name", "lever name", "reason",
                                   "warning message", "model id", "details value", "instruction", "criterion",
                                   "baseline label", "check detail"])
def test_a_megabyte_string_is_cut(where: str, tmp_path: Path, no_charts: None) -> None:
    results = make_results()
    predictions = make_predictions(make_results())
    if where in ("prediction", "input", "reference"):
        for rows in predictions.values():
            rows[4][where] = BIG  # row 4 is among the evidence rows
    elif where == "details value":
        results["levers"][1]["details"]["note"] = BIG
    elif where == "instruction":
        results["task"]["instruction"] = BIG
        results["levers"][0]["artifacts"]["instruction"] = BIG
    else:
        PLACES[{"task name": "task name", "lever name": "other lever", "reason": "reason",
                "warning message": "warning code and message", "model id": "model id", "criterion": "criterion",
                "baseline label": "baseline label", "check detail": "check"}[where]](results, BIG)
    html_path, md_path = report.render_report(results, predictions, tmp_path)
    for text in (html_path.read_text(), md_path.read_text()):
        assert len(text) < 600_000, len(text)
        longest = max((len(m) for m in re.findall(r"Q+", text)), default=0)
        assert longest <= report.PROMPT_CHARS, longest
    html = html_path.read_text()
    assert "more chars)" in html, where


def test_megabyte_names_with_charts(tmp_path: Path) -> None:
    results = make_results()
    _rename_lever(results, "finetune", "F" * 1_000_000, recommended=True)
    _rename_criterion(results, "C" * 1_000_000)
    html_path, md_path = report.render_report(results, make_predictions(make_results()), tmp_path)
    assert max(len(m) for m in re.findall(r"F+", html_path.read_text())) == report.NAME_CHARS


def test_clip_says_how_much_was_cut() -> None:
    assert report.clip("abc", 5) == "abc"
    assert report.clip("x" * 2_500, 2_000) == "x" * 2_000 + "… (500 more chars)"


# ---- credentials never reach a report ----

@pytest.mark.parametrize("field, value, secret", [
    ("id", "http://alice:s3cretPassw0rd@models.internal/v1", "s3cretPassw0rd"),
    ("source", "https://bob:hunter2hunter2@api.example.com/v1", "hunter2hunter2"),
    ("id", "sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX1234", "ABCDEFGHIJKLMNOPQRSTUVWX1234"),
    ("source", "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123", "AbCdEfGhIjKlMnOpQrStUvWxYz0123"),
    ("base_url", "http://u:topsecretvalue1@127.0.0.1:8000/v1", "topsecretvalue1"),
])
def test_credentials_are_redacted(field: str, value: str, secret: str, tmp_path: Path, no_charts: None) -> None:
    results = make_results()
    results["model"][field] = value
    results["recommendation"]["reasons"].append(f"the endpoint {value} answered")
    html_path, md_path = report.render_report(results, make_predictions(make_results()), tmp_path)
    for text in (html_path.read_text(), md_path.read_text()):
        assert secret not in text


# ---- one error path for the CLI; OSErrors from user paths are one line, bugs keep tracebacks ----

def test_no_command_catches_user_errors_itself() -> None:
    source = inspect.getsource(cli)
    assert source.count("except UserError") == 1  # the one in _OneLineErrors.invoke
    assert "except Exception" not in source


def test_a_bug_still_shows_its_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store_run(tmp_path / "run")

    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(report, "render_report", broken)
    result = run_in(tmp_path, monkeypatch, "report", "run")
    assert result.exit_code == 1 and isinstance(result.exception, KeyError)


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "No space left on device"),
                                         (errno.EROFS, "Read-only file system"),
                                         (errno.EACCES, "Permission denied")])
def test_report_write_errors_are_one_line(code: int, words: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    store_run(tmp_path / "run")

    def failing_replace(src, dst):
        raise OSError(code, os.strerror(code), str(src))

    monkeypatch.setattr(runs.os, "replace", failing_replace)
    line = one_error_line(run_in(tmp_path, monkeypatch, "report", "run"))
    assert line.startswith("error: run/report.html: cannot write: ") and words in line, line
    assert not [p for p in (tmp_path / "run").iterdir() if p.name.endswith(".tmp")]  # no temp file left


def test_report_html_that_is_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (store_run(tmp_path / "run") / "report.html").mkdir()
    line = one_error_line(run_in(tmp_path, monkeypatch, "report", "run"))
    assert line.startswith("error: run/report.html: cannot write: Is a directory"), line


def test_compare_out_that_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Checked after the task loads (seconds) and before any model work; the default runs/NAME too."""
    (tmp_path / "out.txt").write_text("x")
    run_in(tmp_path, monkeypatch, "init", "task")
    for args in (("--out", "out.txt"), ("--out", "out.txt/run")):
        line = one_error_line(run_in(tmp_path, monkeypatch, "compare", "task/task.yaml", *args))
        assert line.startswith("error: out.txt: is a file, expected a folder (hint: the run folder (--out"), line
    (tmp_path / "runs").write_text("x")
    line = one_error_line(run_in(tmp_path, monkeypatch, "compare", "task/task.yaml"))
    assert line.startswith("error: runs: is a file, expected a folder"), line


def test_init_into_a_non_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mine" / "data").mkdir(parents=True)
    (tmp_path / "mine" / "data" / "train.jsonl").write_text('{"input": "mine", "output": "kept"}\n')
    line = one_error_line(run_in(tmp_path, monkeypatch, "init", "mine"))
    assert line.startswith("error: mine: is not empty (it holds 'data')") and "choose a new or empty folder" in line
    assert (tmp_path / "mine" / "data" / "train.jsonl").read_text() == '{"input": "mine", "output": "kept"}\n'
    (tmp_path / "fresh" / ".git").mkdir(parents=True)  # hidden entries do not count
    assert run_in(tmp_path, monkeypatch, "init", "fresh").exit_code == 0


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "No space left on device"),
                                         (errno.EROFS, "Read-only file system")])
def test_init_write_errors_are_one_line(code: int, words: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_replace(src, dst):
        raise OSError(code, os.strerror(code), str(src))

    monkeypatch.setattr(runs.os, "replace", failing_replace)
    line = one_error_line(run_in(tmp_path, monkeypatch, "init", "new"))
    assert "cannot write: " in line and words in line, line


def test_console_output_is_not_rich_markup(capsys: pytest.CaptureFixture) -> None:
    """A warning or reason holding `[/bold]` is printed as text (rich would raise MarkupError on it)."""
    cli._print_warnings([{"code": "dup[/bold]", "message": "row '[/]' and [red]x[/red]"}])
    err = capsys.readouterr().err
    assert "dup[/bold]" in err and "[red]x[/red]" in err
    results = make_results()
    results["task"]["name"] = "t[/x]"
    results["baselines"]["majority_class"]["label"] = "[/bold]" * 1000
    table = cli.summary_table(results)
    cli.console.print(table)
    assert "t[/x]" in capsys.readouterr().err


def test_run_record_reader_accepts_what_compare_writes(tmp_path: Path) -> None:
    """The shape check is not stricter than the writer: the fixture and sparse-but-valid records pass."""
    for results in (make_results(), make_results(skipped=False, cost_model=False, loss_curve=False, baselines=False,
                                                 retrieval_details=False)):
        run = store_run(tmp_path / "ok", results, make_predictions(results))
        got = runs.read_results(run)
        assert got == results
        assert set(runs.read_predictions(run, got)) == {lv["name"] for lv in results["levers"] if lv["status"] == "ok"}
    sparse = make_results(cost_model=False)  # what compare writes without prices: a cost_model of nulls
    del sparse["checks"]  # runs before checks were recorded
    sparse["levers"][0].pop("wall_seconds", None)
    sparse["baselines"] = {"majority_class": None}
    sparse["recommendation"] = {"lever": None, "confidence": "toss-up", "reasons": [], "what_would_change": []}
    sparse["comparisons"][0]["p_value"] = float("nan")
    runs.check_results(sparse, tmp_path / "results.json")
    with pytest.raises(UserError, match="schema_version: missing"):
        runs.check_results({}, tmp_path / "results.json")


def test_cutting_twice_counts_from_the_original() -> None:
    """A 1 MB value cut for results and again by a template says how much of the original was left out."""
    from advisor.report import clip

    once = clip("Z" * 1_000_000, 10_000)
    assert once.endswith("… (990,000 more chars)") and clip(once, 10_000) == once
    assert clip(once, 200) == "Z" * 200 + "… (999,800 more chars)"


def test_summary_table_shows_control_characters_escaped() -> None:
    """A results.json from anywhere cannot send terminal escapes through the summary table or the reasons."""
    from rich.console import Console

    results = make_results()
    results["task"]["name"] = "evil\x1b[2J\x07[bold]name"
    results["recommendation"]["reasons"] = ["a reason \x1b]0;title\x07 with escapes"]
    results["warnings"] = [{"code": "w\x1b[31m", "message": "m\x1b[0m"}]
    console = Console(record=True, width=200, force_terminal=False)
    console.print(cli.summary_table(results))
    for reason in results["recommendation"]["reasons"]:
        console.print(f"  - {cli._text(reason)}")
    text = console.export_text()
    assert "\x1b" not in text and "\x07" not in text
    assert "evil\\x1b[2J\\x07[bold]name" in text and "\\x1b]0;title" in text

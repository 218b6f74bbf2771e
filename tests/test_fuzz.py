"""Property-based tests (Hypothesis): mutated task.yaml, JSONL, CSV, corpus, rubric and results.json inputs never
give exit 1, a hang or a silent change of meaning.

Each property runs a fixed, derandomized example budget in CI (ADVISE_FUZZ_EXAMPLES raises it for a longer local
campaign). Every example runs under an alarm: a hang is a failure, not a stuck test run.
"""
from __future__ import annotations

import csv
import io
import json
import os
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.cli import main
from advisor.data import load_corpus, load_examples
from advisor.errors import UserError
from advisor.scoring.rubric import load_rubric
from advisor.spec import load_task

from bad_inputs.cases import BASE_YAML, DOCS, EVAL, TRAIN
from report_fixture import make_predictions, make_results

EXAMPLES = int(os.environ.get("ADVISE_FUZZ_EXAMPLES", "200"))
SECONDS_PER_EXAMPLE = 20  # "within seconds": generous for a loaded 2-core machine; a hang takes forever
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])


class Hang(Exception):
    pass


@contextmanager
def alarm(seconds: int = SECONDS_PER_EXAMPLE) -> Iterator[None]:
    def ring(signum, frame):  # type: ignore[no-untyped-def]
        raise Hang(f"took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@contextmanager
def task_folder(task_text: str | bytes = BASE_YAML, files: dict[str, str | bytes] | None = None) -> Iterator[Path]:
    """A valid task folder (the bad-input corpus's base) with `task.yaml` and `files` replaced."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for rel, content in {"data/train.jsonl": TRAIN, "data/eval.jsonl": EVAL, **DOCS, **(files or {})}.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(content if isinstance(content, bytes) else content.encode())
        (root / "task.yaml").write_bytes(task_text if isinstance(task_text, bytes) else task_text.encode())
        yield root


def validate(root: Path) -> tuple[int, list[str]]:
    """`advise validate task.yaml` run from `root`: exit code and the non-blank output lines."""
    cwd = os.getcwd()
    os.chdir(root)
    try:
        with alarm():
            result = CliRunner().invoke(main, ["validate", "task.yaml"])
    finally:
        os.chdir(cwd)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback: the property fails with the real one
    return result.exit_code, [line for line in result.output.splitlines() if line.strip()]


def assert_one_line_error(code: int, lines: list[str]) -> None:
    assert code in (0, 2), (code, lines)
    if code == 2:
        assert len(lines) == 1, lines
        assert lines[0].startswith("error: "), lines
        assert ": " in lines[0][7:], lines  # names a file (or option) before the message


# ---- task.yaml ----

_YAML_NOISE = list("{}[]:,&*!|>'\"%@`#-?\n\t ") + ["\n  ", ": ", "- ", "&a ", "*a", "<<: ", "!!python/object ",
                                                    "~", ".inf", "yes", "no", "1e400", "9" * 60, "\x00", "\ud800",
                                                    "\u2028", "\r", "\ufeff"]


@st.composite
def mutated_yaml(draw: st.DrawFn) -> str:
    text = BASE_YAML
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["insert", "delete", "replace", "duplicate_line", "drop_line", "swap_lines"]))
        lines = text.split("\n")
        if op in ("duplicate_line", "drop_line", "swap_lines") and len(lines) > 2:
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            if op == "duplicate_line":
                lines.insert(j, lines[i])
            elif op == "drop_line":
                del lines[i]
            else:
                lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
            continue
        pos = draw(st.integers(0, len(text)))
        end = min(len(text), pos + draw(st.integers(0, 12)))
        noise = draw(st.one_of(st.sampled_from(_YAML_NOISE), st.text(max_size=8)))
        text = (text[:pos] + noise + text[pos:] if op == "insert" else text[:pos] + text[end:] if op == "delete"
                else text[:pos] + noise + text[end:])
    return text


@FUZZ
@given(mutated_yaml())
def test_mutated_task_yaml_is_accepted_or_one_line(text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    with task_folder(data) as root:
        code, lines = validate(root)
    assert_one_line_error(code, lines)


def _base() -> dict:
    return yaml.safe_load(BASE_YAML)


@FUZZ
@given(st.sampled_from(["block", "flow", "sorted", "comments", "crlf", "bom", "utf16"]), st.randoms())
def test_rewriting_task_yaml_keeps_its_meaning(style: str, rnd) -> None:  # type: ignore[no-untyped-def]
    """The same mapping written in another style (flow, key order, comments, CRLF, BOM, UTF-16) means the same task."""
    data = _base()
    keys = list(data)
    rnd.shuffle(keys)
    shuffled = {k: data[k] for k in keys}
    text = yaml.safe_dump(shuffled, default_flow_style=style == "flow", sort_keys=style == "sorted")
    if style == "comments":
        text = "\n".join(f"{line}  # note {i}" if line.strip() and not line.rstrip().endswith(":") else line
                         for i, line in enumerate(text.split("\n")))
    raw = (text.replace("\n", "\r\n").encode() if style == "crlf" else b"\xef\xbb\xbf" + text.encode() if style == "bom"
           else text.encode("utf-16") if style == "utf16" else text.encode())
    with task_folder(raw) as root:
        with alarm():
            got = load_task(root / "task.yaml")
        with task_folder() as ref_root:
            want = load_task(ref_root / "task.yaml")
    assert got.model_dump(exclude={"task_file"}) == want.model_dump(exclude={"task_file"})


_TYPED_FIELDS = [("seed: 0", "seed: {}"), ("    rank: 8", "    rank: {}"), ("    epochs: 2", "    epochs: {}"),
                 ("    top_k: [2]", "    top_k: {}"), ("    shots: [0, 2]", "    shots: {}")]
_WRONG_VALUES = ["yes", "no", "true", "on", ".inf", "-.inf", ".nan", "1.5", "'8'", "[]", "{}", "null", "~", "-1",
                 "0x10", "1e400", "99999999999999999999999", "abc", "[yes]", "[.nan]", "[1.5]", "[-1]"]


@FUZZ
@given(st.sampled_from(_TYPED_FIELDS), st.sampled_from(_WRONG_VALUES))
def test_wrong_typed_values_are_refused_not_coerced(field: tuple[str, str], value: str) -> None:
    """A bool, float, infinity, string or null where a whole number (or list of them) belongs is an error; YAML's
    `yes` is never read as 1 and `1.5` never rounded."""
    old, new = field
    with task_folder(BASE_YAML.replace(old, new.format(value), 1)) as root:
        code, lines = validate(root)
    assert_one_line_error(code, lines)
    if code == 0:  # only a whole number in another spelling (hex, a quoted number) may pass
        assert value in ("0x10", "'8'"), (value, lines)


@FUZZ
@given(st.sampled_from([line for line in BASE_YAML.splitlines() if ":" in line and not line.startswith(" " * 4)]))
def test_duplicate_keys_are_refused(line: str) -> None:
    """A key written twice in the same mapping is refused (YAML would keep only the last one)."""
    text = BASE_YAML.replace(line + "\n", line + "\n" + line + "\n", 1) if not line.endswith(":") else \
        BASE_YAML.replace(line + "\n", f"{line} {{}}\n{line}\n", 1)
    with task_folder(text) as root:
        code, lines = validate(root)
    assert code == 2, lines
    assert "duplicate key" in lines[0], lines


# ---- JSONL rows ----

_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                       st.text(max_size=20))
_json_value = st.recursive(_json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                                 st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                           max_leaves=8)
_row = st.fixed_dictionaries({}, optional={
    "id": st.one_of(st.text(max_size=6), st.integers(-5, 5), _json_value),
    "input": st.one_of(st.text(min_size=1, max_size=30), _json_value),
    "output": st.one_of(st.text(min_size=1, max_size=30), _json_value),
    "messages": st.one_of(_json_value, st.lists(st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "system", "tool", ""]), "content": st.one_of(st.text(max_size=12), _json_value)}),
        max_size=4)),
    "context_ids": st.one_of(st.lists(st.text(max_size=5), max_size=2), _json_value),
})


def _load_rows(text: str | bytes, suffix: str = ".jsonl"):  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"rows{suffix}"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        with alarm():
            try:
                return load_examples(path, "data.train")
            except UserError as err:
                assert "\n" not in str(err)
                return err


def _assert_clean(examples: list) -> None:  # type: ignore[type-arg]
    assert len({e.id for e in examples}) == len(examples)
    for e in examples:
        for text in (e.id, e.input, e.output, *e.context_ids):
            assert isinstance(text, str)
            text.encode("utf-8")  # no lone surrogates left to crash a later write
        assert e.input.strip() and e.output.strip()


@FUZZ
@given(st.lists(_row, min_size=1, max_size=5))
def test_jsonl_rows_load_or_fail_on_one_line(rows: list[dict]) -> None:
    lines = [json.dumps(r, ensure_ascii=bool(len(rows) % 2)) for r in rows]  # NaN, Infinity, \ud800 escapes included
    got = _load_rows("\n".join(lines) + "\n")
    if isinstance(got, UserError):
        return
    for row in rows:  # NaN and Infinity are not JSON: never read as the strings 'NaN' / 'Infinity'
        json.dumps(row, allow_nan=False)
    _assert_clean(got)
    assert len(got) == len(rows)  # no row silently dropped or merged
    for row, ex in zip(rows, got):
        if isinstance(row.get("input"), str) and "messages" not in row:
            assert ex.input == row["input"]
        if isinstance(row.get("output"), str) and "messages" not in row:
            assert ex.output == row["output"]


@FUZZ
@given(st.binary(max_size=6), st.integers(0, len(TRAIN)), st.integers(0, 8))
def test_mutated_jsonl_bytes(noise: bytes, pos: int, cut: int) -> None:
    raw = TRAIN.encode()
    got = _load_rows(raw[:pos] + noise + raw[pos + cut:])
    if not isinstance(got, UserError):
        _assert_clean(got)


_cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x00"), min_size=1,
                max_size=25).filter(lambda s: s.strip())


@FUZZ
@given(st.lists(st.tuples(_cell, _cell), min_size=1, max_size=6))
def test_csv_round_trip(rows: list[tuple[str, str]]) -> None:
    """Any rows a CSV writer writes (quotes, commas, newlines inside fields) load back exactly."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["input", "output"])
    writer.writerows(rows)
    got = _load_rows(buf.getvalue(), ".csv")
    assert not isinstance(got, UserError), got
    assert [(e.input, e.output) for e in got] == rows


@FUZZ
@given(st.lists(st.tuples(_cell, _cell), min_size=2, max_size=6), st.data())
def test_csv_with_a_quote_removed_never_merges_rows_silently(rows: list[tuple[str, str]], data) -> None:  # type: ignore[no-untyped-def]
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL)
    writer.writerow(["input", "output"])
    writer.writerows(rows)
    text = buf.getvalue()
    quotes = [i for i, c in enumerate(text) if c == '"']
    i = data.draw(st.sampled_from(quotes))
    got = _load_rows(text[:i] + text[i + 1:], ".csv")
    if not isinstance(got, UserError):
        _assert_clean(got)
        assert len(got) == len(rows), "a broken quote merged rows without an error"


# ---- corpus ----

@FUZZ
@given(st.lists(st.fixed_dictionaries({}, optional={"id": st.one_of(st.sampled_from(["a", "b"]), _json_value),
                                                     "text": st.one_of(st.text(max_size=15), _json_value)}),
                min_size=1, max_size=5))
def test_corpus_rows_load_or_fail_on_one_line(rows: list[dict]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "docs.jsonl"
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
        with alarm():
            try:
                docs = load_corpus([path])
            except UserError as err:
                assert "\n" not in str(err)
                return
    assert len({d.id for d in docs}) == len(docs)
    assert all(isinstance(d.id, str) and isinstance(d.text, str) and d.text.strip() for d in docs)
    for d in docs:
        (d.id + d.text).encode("utf-8")


# ---- rubrics ----

_criterion = st.fixed_dictionaries({}, optional={
    "name": st.one_of(st.text(max_size=10), _json_value),
    "scorer": st.one_of(st.sampled_from(["exact_match", "contains", "regex", "token_f1", "chrf", "length_bounds",
                                         "keyword_coverage", "not_contains", "json_valid", "json_schema",
                                         "json_field_f1", "nope"]), _json_value),
    "weight": st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(), _json_value),
    "options": st.one_of(st.dictionaries(st.sampled_from(["pattern", "normalize", "min_words", "max_words", "keywords",
                                                           "phrases", "schema", "fields", "lenient", "word_order"]),
                                         _json_value, max_size=2), _json_value),
})


@FUZZ
@given(st.one_of(st.lists(_criterion, max_size=3), _json_value))
def test_inline_rubrics_load_or_fail_on_one_line(value: object) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with alarm():
            try:
                rubric = load_rubric(value, Path(tmp), Path(tmp) / "task.yaml")
            except UserError as err:
                assert "\n" not in str(err)
                return
    if rubric.check_references(["yes", "no"]) is not None:
        return  # a reference this rubric cannot score: refused when the task loads (compare.load)
    weights = rubric.weights()
    assert abs(sum(weights.values()) - 1) < 1e-9 and all(0 <= w <= 1 for w in weights.values())
    scores = rubric.score(["yes", "{\"a\": 1}"], ["yes", "no"])
    assert all(0 <= s <= 1 for s in scores["total"])


# ---- advise report on a tampered run folder ----

def _tamper(value: object, data: st.DataObject, depth: int = 0) -> object:
    """`value` with one node replaced by another JSON value, deleted, or left alone."""
    if isinstance(value, dict) and value and depth < 6:
        key = data.draw(st.sampled_from(sorted(value)))
        action = data.draw(st.sampled_from(["descend", "descend", "delete", "replace"]))
        out = dict(value)
        if action == "delete":
            del out[key]
        elif action == "replace":
            out[key] = data.draw(_json_value)
        else:
            out[key] = _tamper(value[key], data, depth + 1)
        return out
    if isinstance(value, list) and value and depth < 6:
        i = data.draw(st.integers(0, len(value) - 1))
        out_list = list(value)
        out_list[i] = _tamper(value[i], data, depth + 1) if data.draw(st.booleans()) else data.draw(_json_value)
        return out_list
    return data.draw(_json_value)


@FUZZ
@given(st.data())
def test_report_on_tampered_results(data: st.DataObject) -> None:
    results = _tamper(make_results(), data)
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        (run / "predictions").mkdir(parents=True)
        for name, rows in make_predictions(make_results()).items():
            (run / "predictions" / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (run / "results.json").write_text(json.dumps(results))
        with alarm(60):
            result = CliRunner().invoke(main, ["report", str(run)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code in (0, 2), lines
    if result.exit_code == 2:
        assert len(lines) == 1 and lines[0].startswith("error: "), lines


def test_budget_is_fixed() -> None:
    """CI runs a fixed example budget (derandomized): the same examples on every machine."""
    assert FUZZ.derandomize and FUZZ.max_examples == EXAMPLES


"""Hostile rubrics, scorer options, JSON Schemas and chart labels: one clean line (exit 2) or a correct result, fast.

Issue 11 ("Unbreakable inputs"), the scoring part: rubric and schema files are read like every user file; the
regex scorer runs on RE2 (linear time, so `^(a+)+$` cannot hang a run); a JSON Schema never fetches anything and
its refs are checked at load time; chart labels are drawn as typed (no mathtext).
"""
from __future__ import annotations

import os
import re
import socket
import time
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from advisor.charts import MAX_LABEL_CHARS, criteria_chart, loss_curve_chart, scoreboard_chart
from advisor.errors import UserError
from advisor.scoring import Criterion, Rubric, load_rubric, make_scorer
from advisor.scoring.patterns import MAX_PATTERN_CHARS, compile_pattern, compile_phrase

from bad_inputs.cases import Case, materialize
from click.testing import Result

from bad_inputs import one_error_line, run_in

OK_RUBRIC = "name: mine\ncriteria:\n  - {scorer: exact_match}\n"
BOMB = "".join(f"{k}: &{k} [{', '.join([f'*{p}'] * 10 if p else ['x'] * 10)}]\n"
               for p, k in zip(["", "a", "b", "c", "d"], "abcde")) + "f: [" + ", ".join(["*e"] * 10) + "]\n"






def validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rubric: str, files: dict | None = None,
             special=None) -> Result:  # type: ignore[no-untyped-def]
    """`advise validate task.yaml` on the valid test task with `rubric:` replaced by `rubric` (a YAML value)."""
    materialize(Case("hostile", None, None, edits=(("rubric: short_answer_qa\n", f"rubric: {rubric}\n"),),
                     files=files or {}), tmp_path)
    if special:
        special(tmp_path)
    return run_in(tmp_path, monkeypatch, "validate", "task.yaml")


def inline(*criteria: str) -> str:
    return "\n" + "".join(f"  - {c}\n" for c in criteria)


def load_error(value: object, base_dir: Path = Path(".")) -> str:
    with pytest.raises(UserError) as info:
        load_rubric(value, base_dir, "task.yaml")
    text = str(info.value)
    assert "\n" not in text
    return text


def fifo(name: str):  # type: ignore[no-untyped-def]
    return lambda d: os.mkfifo(d / name)


def symlink(name: str, target: str):  # type: ignore[no-untyped-def]
    return lambda d: os.symlink(target, d / name)


def loop(name: str):  # type: ignore[no-untyped-def]
    def make(d: Path) -> None:
        os.symlink(d / f"{name}.other", d / name)
        os.symlink(d / name, d / f"{name}.other")
    return make


def folder(name: str):  # type: ignore[no-untyped-def]
    return lambda d: (d / name).mkdir()


# ---- rubric files ----

@pytest.mark.parametrize("files, special, expected", [
    ({}, fifo("mine.yaml"), "error: task.yaml: rubric (line 7): mine.yaml is a named pipe (FIFO)"),
    ({}, symlink("mine.yaml", "/dev/zero"), "error: task.yaml: rubric (line 7): mine.yaml is a device"),
    ({}, loop("mine.yaml"), "error: task.yaml: rubric (line 7): mine.yaml is a symlink loop"),
    ({}, folder("mine.yaml"), "error: task.yaml: rubric (line 7): mine.yaml is a folder, not a file"),
    ({"mine.yaml": b"name: caf\xe9\ncriteria:\n  - {scorer: exact_match}\n"}, None,
     "error: mine.yaml: line 1: not valid UTF-8 (byte 0xe9) (hint: re-save the file as UTF-8"),
    ({"mine.yaml": "name: a\nname: b\ncriteria:\n  - {scorer: exact_match}\n"}, None,
     "error: mine.yaml: line 2: duplicate key 'name' (also on line 1)"),
    ({"mine.yaml": BOMB + OK_RUBRIC}, None, "error: mine.yaml: line 5: expands to more than 100,000 values"),
    ({"mine.yaml": "name: x\ncriteria: " + "[" * 3000 + "]" * 3000 + "\n"}, None, "error: mine.yaml: "),
    ({"mine.yaml": "name: x\ncriteria:\n  - {scorer: exact_match, weight: " + "9" * 5000 + "}\n"}, None,
     "error: mine.yaml: line 3: a number with 5000 digits"),
    ({"mine.yaml": OK_RUBRIC + "# " + "x" * (2 << 20) + "\n"}, None,
     "error: mine.yaml: file is larger than the 1 MiB limit"),
    ({"mine.yaml": OK_RUBRIC + "\x00\n"}, None, "error: mine.yaml: line 4: contains a NUL character"),
], ids=["fifo", "dev_zero", "symlink_loop", "folder", "latin1", "duplicate_key", "alias_bomb", "deep_nesting",
        "huge_number", "too_big", "nul"])
def test_hostile_rubric_file(files, special, expected, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    start = time.monotonic()
    line = one_error_line(validate(tmp_path, monkeypatch, "mine.yaml", files, special))
    assert line.startswith(expected), line
    assert "(hint: " in line
    assert time.monotonic() - start < 20


@pytest.mark.parametrize("content", [OK_RUBRIC.encode("utf-16"), OK_RUBRIC.replace("\n", "\r").encode(),
                                     b"\xef\xbb\xbf" + OK_RUBRIC.replace("\n", "\r\n").encode()],
                         ids=["utf16_bom", "cr_only", "utf8_bom_crlf"])
def test_rubric_file_encodings_still_load(content: bytes, tmp_path: Path):
    (tmp_path / "mine.yaml").write_bytes(content)
    rubric = load_rubric("mine.yaml", tmp_path, "task.yaml")
    assert rubric.name == "mine" and [c.name for c in rubric.criteria] == ["exact_match"]


def test_rubric_path_with_nul_or_huge_length(tmp_path: Path):
    assert load_error("mi\x00ne.yaml", tmp_path).startswith("task.yaml: rubric: the rubric path contains a NUL")
    long = load_error("a/" * 3000 + "x.yaml", tmp_path)
    assert long.startswith("task.yaml: rubric: rubric file not found: ") and len(long) < 400


# ---- schema files ----

SCHEMA_FILE = inline("{scorer: json_schema, options: {schema_file: s.json}}")
SCHEMA_YAML = inline("{scorer: json_schema, options: {schema_file: s.yaml}}")


@pytest.mark.parametrize("rubric, files, special, expected", [
    (SCHEMA_FILE, {}, fifo("s.json"), "error: task.yaml: rubric[0].options.schema_file (line 8): schema file "),
    (SCHEMA_FILE, {}, symlink("s.json", "/dev/zero"), "error: task.yaml: rubric[0].options.schema_file (line 8)"),
    (SCHEMA_FILE, {}, loop("s.json"), "error: task.yaml: rubric[0].options.schema_file (line 8)"),
    (SCHEMA_FILE, {}, folder("s.json"), "error: task.yaml: rubric[0].options.schema_file (line 8)"),
    (SCHEMA_FILE, {"s.json": b'{"description": "caf\xe9"}'}, None, "error: s.json: line 1: not valid UTF-8"),
    (SCHEMA_FILE, {"s.json": '{"maximum": NaN}'}, None, "error: s.json: invalid JSON Schema file: NaN is not JSON"),
    (SCHEMA_FILE, {"s.json": '{"maximum": 1e999}'}, None, "error: s.json: invalid JSON Schema file: the number"),
    (SCHEMA_FILE, {"s.json": '{"maximum": ' + "9" * 5000 + "}"}, None,
     "error: s.json: invalid JSON Schema file: a number with 5000 digits"),
    (SCHEMA_FILE, {"s.json": '{"not": ' * 5000 + "{}" + "}" * 5000}, None, "error: s.json: nested too deeply"),
    (SCHEMA_FILE, {"s.json": '{"not": ' * 80 + "{}" + "}" * 80}, None,
     "error: s.json: the schema is nested more than 64 levels deep"),
    (SCHEMA_FILE, {"s.json": '{"type": "object", "type": "array"}'}, None,
     "error: s.json: invalid JSON Schema file: duplicate key 'type'"),
    (SCHEMA_FILE, {"s.json": '{"type": "object",\n "x": }'}, None, "error: s.json: line 2: invalid JSON"),
    (SCHEMA_FILE, {"s.json": '{"type": "' + "strin" * 5000 + '"}'}, None, "error: s.json: type: invalid JSON Schema"),
    (SCHEMA_YAML, {"s.yaml": "type: object\ntype: array\n"}, None, "error: s.yaml: line 2: duplicate key 'type'"),
    (SCHEMA_YAML, {"s.yaml": BOMB}, None, "error: s.yaml: line 5: expands to more than 100,000 values"),
], ids=["fifo", "dev_zero", "symlink_loop", "folder", "latin1", "nan", "infinity", "huge_int", "json_too_deep",
        "schema_too_deep", "json_duplicate_key", "json_syntax", "huge_bad_type", "yaml_duplicate_key", "yaml_bomb"])
def test_hostile_schema_file(rubric, files, special, expected, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    line = one_error_line(validate(tmp_path, monkeypatch, rubric, files, special))
    assert line.startswith(expected), line
    assert "(hint: " in line and len(line) < 600


@pytest.mark.parametrize("content, name", [(b'\xff\xfe' + '{"type": "object"}'.encode("utf-16-le"), "s.json"),
                                           (b'{\r"type": "object"\r}', "s.json"), (b"type: object\r\n", "s.yaml")])
def test_schema_file_encodings_still_load(content: bytes, name: str, tmp_path: Path):
    (tmp_path / name).write_bytes(content)
    scorer = make_scorer("json_schema", schema_file=str(tmp_path / name))
    assert scorer.score_batch(['{"a": 1}', "[1]"], ["", ""]) == [1.0, 0.0]


# ---- the regex scorer: RE2, linear time, Python meaning kept ----

@pytest.mark.parametrize("pattern, text, fullmatch", [
    ("^(a+)+$", "a" * 5000 + "b", False), ("^(a|aa)+$", "a" * 5000 + "b", False), ("(x*)*y", "x" * 5000, True),
    (r"^(\w+\s?)*$", "word " * 2000 + "!", False), ("(.*a){25}", "a" * 24 + "b" * 5000, False),
])
def test_catastrophic_patterns_score_in_linear_time(pattern: str, text: str, fullmatch: bool):
    scorer = make_scorer("regex", pattern=pattern, fullmatch=fullmatch)
    start = time.monotonic()
    assert scorer.score_batch([text] * 200, [""] * 200) == [0.0] * 200
    assert time.monotonic() - start < 5  # Python's re: hours for one row


@pytest.mark.parametrize("pattern, fragment", [
    (r"(\w+) \1", "invalid escape sequence"), (r"foo(?=bar)", "invalid perl operator"),
    (r"(?<!x)foo", "invalid perl operator"), (r"(?>a+)b", "invalid perl operator"), ("a++", "bad repetition"),
    ("(a{1000}){1000}", "invalid repetition size"), ("(unclosed", "missing )"),
])
def test_patterns_re2_cannot_run_are_refused_with_the_re2_hint(pattern: str, fragment: str, tmp_path: Path):
    message = load_error([{"scorer": "regex", "options": {"pattern": pattern}}], tmp_path)
    assert message.startswith("task.yaml: rubric[0].options.pattern: invalid regular expression "), message
    assert fragment in message
    assert "(hint: the regex scorer uses RE2 syntax: no backreferences" in message


def test_pattern_length_is_bounded_and_secrets_not_echoed(tmp_path: Path):
    long = load_error([{"scorer": "regex", "options": {"pattern": "a" * (MAX_PATTERN_CHARS + 1)}}], tmp_path)
    assert f"the pattern has {MAX_PATTERN_CHARS + 1:,} characters" in long and len(long) < 300
    key = "sk-" + "abcdefghij0123456789" * 2
    secret = load_error([{"scorer": "regex", "options": {"pattern": key + "((("}}], tmp_path)
    assert key not in secret and "looks like a secret" in secret


@pytest.mark.parametrize("pattern, texts", [
    (r"^\w+$", ["привет", "hello", "a b"]), (r"^\d+$", ["٣٤", "12", "x"]), (r"^yes$", ["yes\n", "yes", "yes\n\n"]),
    (r"end\Z", ["the end", "the end\n"]), (r"^a{,2}$", ["aa", "aaa", "a{,2}"]), (r"caf\u00e9", ["café"]),
    (r"\N{DIGIT ONE}", ["1"]), (r"[\w-]+@x", ["é-a@x", "!@x"]), (r"[]a]", ["]", "b"]), (r"[^]a]", ["]", "b"]),
    (r"\s", ["\u3000", "\xa0", "x"]), (r"[\b]", ["\x08", "b"]), (r"\bcat\b", ["a cat!", "concat"]),
    (r"(?i)CAT", ["cat"]), (r"a]b", ["a]b"]), (r"^\W+$", ["!!", "é"]), (r"(?P<y>\d{4})-(?P<m>\d\d)", ["2024-05"]),
    (r"\x41\101", ["AA"]), (r"\{,2\}", ["{,2}"]), (r"[\d.]+%", ["3.5%", "%"]),
])
def test_valid_patterns_keep_their_python_meaning(pattern: str, texts: list[str]):
    python, ours = re.compile(pattern), compile_pattern(pattern)
    for text in texts:
        assert ours.matches(text) == (python.search(text) is not None), (pattern, text)


def test_regex_options_ignore_case_and_fullmatch_unchanged():
    scorer = make_scorer("regex", pattern=r"\d{4}-\d{2}", fullmatch=True, ignore_case=True)
    assert scorer.score_batch([" 2024-01 ", "x2024-01", "2024-1"], [""] * 3) == [1.0, 0.0, 0.0]
    folded = make_scorer("regex", pattern="straße|ÉTÉ", ignore_case=True)
    assert folded.score_batch(["STRAßE", "été", "strasse"], [""] * 3) == [1.0, 1.0, 0.0]
    assert make_scorer("regex", pattern="a").score_batch(["a\ud800"], [""]) == [1.0]  # a lone surrogate: no crash


@pytest.mark.parametrize("phrase, texts", [
    ("café", ["un café.", "cafés", "CAFÉ"]), ("C++", ["I like C++.", "C+++"]), ("new  york", ["New\tYork", "newyork"]),
    ("a_b", ["x a_b y", "xa_b"]), ("$5", ["costs $5 now", "$50"]),
])
def test_phrases_match_whole_words_as_before(phrase: str, texts: list[str]):
    body = r"\s+".join(re.escape(word) for word in phrase.split())
    python = re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)
    for text in texts:
        assert compile_phrase(phrase).matches(text) == (python.search(text) is not None), (phrase, text)


def test_phrase_options_are_bounded(tmp_path: Path):
    start = time.monotonic()
    scorer = make_scorer("keyword_coverage", keywords=["a " * 400 + "b"])
    assert scorer.score_batch(["a " * 200_000], [""]) == [0.0]
    assert time.monotonic() - start < 5
    too_long = load_error([{"scorer": "keyword_coverage", "options": {"keywords": ["x" * 5000]}}], tmp_path)
    assert too_long.startswith("task.yaml: rubric[0].options.keywords[0]: cannot be matched: 5,000 characters")
    many = load_error([{"scorer": "not_contains", "options": {"phrases": [f"w{i}" for i in range(5000)]}}], tmp_path)
    assert many.startswith("task.yaml: rubric[0].options.phrases: 5,000 phrases; the limit is 1,000")


# ---- JSON Schema: refs stay inside the schema, nothing is fetched, patterns run on RE2 ----

@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def refuse(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("network access during scoring")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("schema, where, fragment", [
    ({"$ref": "http://127.0.0.1:9/schema.json"}, "options.schema.$ref", "points outside the schema"),
    ({"properties": {"a": {"$ref": "https://example.invalid/x.json#/a"}}}, "options.schema.properties.a.$ref",
     "points outside the schema"),
    ({"$ref": "file:///etc/passwd"}, "options.schema.$ref", "points outside the schema"),
    ({"$ref": "other.json"}, "options.schema.$ref", "points outside the schema"),
    ({"$ref": "urn:example:thing"}, "options.schema.$ref", "points outside the schema"),
    ({"$dynamicRef": "https://example.invalid/x"}, "options.schema.$dynamicRef", "points outside the schema"),
    ({"$ref": "#/definitions/nope"}, "options.schema.$ref", "points to nothing in the schema"),
    ({"allOf": [{}], "items": {"$ref": "#/allOf/5"}}, "options.schema.items.$ref", "points to nothing"),
    ({"$ref": "#nope"}, "options.schema.$ref", "names no $anchor"),
    ({"$schema": "http://json-schema.org/draft-99/schema#"}, "options.schema.$schema", "unknown JSON Schema draft"),
    ({"$schema": ["x"]}, "options.schema.$schema", "unknown JSON Schema draft"),
    ({"items": {"$schema": "http://json-schema.org/draft-07/schema#"}}, "options.schema.items.$schema",
     "only allowed at the top"),
    ({"properties": {"a": {"pattern": r"(\w)\1"}}}, "options.schema.properties.a.pattern", "cannot be matched"),
    ({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}, "options.schema",
     "refers to itself without end"),
])
def test_schema_refs_and_drafts_checked_at_load_time(schema: dict, where: str, fragment: str, tmp_path: Path,
                                                    no_network: None):
    message = load_error([{"scorer": "json_schema", "options": {"schema": schema}}], tmp_path)
    assert message.startswith(f"task.yaml: rubric[0].{where}: "), message
    assert fragment in message and "(hint: " in message and len(message) < 500


def test_huge_remote_ref_is_bounded(tmp_path: Path, no_network):  # type: ignore[no-untyped-def]
    message = load_error([{"scorer": "json_schema", "options": {"schema": {"$ref": "http://x/" + "y" * 100_000}}}])
    assert "points outside the schema" in message and len(message) < 400


def test_schema_file_refs_name_the_schema_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None):
    files = {"s.yaml": "type: object\nproperties:\n  a:\n    $ref: 'https://example.invalid/a.json'\n"}
    line = one_error_line(validate(tmp_path, monkeypatch, SCHEMA_YAML, files))
    assert line.startswith("error: s.yaml: properties.a.$ref (line 4): $ref 'https://example.invalid/a.json' "
                           "points outside the schema"), line


@pytest.mark.parametrize("schema, good, bad", [
    ({"$defs": {"n": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/n"}}}, '{"a": 1}', '{"a": "x"}'),
    ({"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}}, "required": ["kids"]},
     '{"kids": [{"kids": []}]}', '{"kids": [{}]}'),
    ({"$defs": {"a/b": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/a~1b"}}}, '{"a": 1}', '{"a": 1.5}'),
    ({"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"s": {"type": "string"}},
      "properties": {"a": {"$ref": "#/definitions/s"}}}, '{"a": "x"}', '{"a": 2}'),
    ({"$defs": {"s": {"$anchor": "str", "type": "string"}}, "properties": {"a": {"$ref": "#str"}}}, '{"a": "x"}',
     '{"a": 2}'),
    ({"default": {"$ref": "http://x/y"}, "properties": {"$ref": {"type": "string"}}}, '{"$ref": "x"}', '{"$ref": 1}'),
    ({"patternProperties": {"^x-": {"type": "integer"}}, "additionalProperties": False}, '{"x-a": 1}', '{"y": 1}'),
    ({"propertyNames": {"pattern": "^[a-z]+$"}}, '{"abc": 1}', '{"ABC": 1}'),
])
def test_valid_local_schemas_still_work_offline(schema, good, bad, no_network):  # type: ignore[no-untyped-def]
    assert make_scorer("json_schema", schema=schema).score_batch([good, bad], ["", ""]) == [1.0, 0.0]


def test_schema_patterns_run_in_linear_time(no_network):  # type: ignore[no-untyped-def]
    scorer = make_scorer("json_schema", schema={
        "properties": {"a": {"type": "string", "pattern": "^(a+)+$"}},
        "patternProperties": {"^(b|bb)+$": {}}, "additionalProperties": False})
    rows = ['{"a": "%s"}' % ("a" * 5000 + "c"), '{"%s": 1}' % ("b" * 5000 + "c"), '{"a": "aaa", "bb": 1}']
    start = time.monotonic()
    assert scorer.score_batch(rows * 50, [""] * 150) == [0.0, 0.0, 1.0] * 50
    assert time.monotonic() - start < 5


def test_deep_prediction_is_invalid_not_a_crash():
    scorer = make_scorer("json_schema", schema={"items": {"$ref": "#"}, "type": "array"})
    assert scorer.score_batch(["[" * 900 + "]" * 900, "[[]]"], ["", ""]) == [0.0, 1.0]


@pytest.mark.parametrize("prediction", ["{" * 200_000, "```" + "a" * 200_000, "```" + " " * 200_000 + "x",
                                        "{" * 5000 + '{"a": 1', "`" * 300_000])
def test_lenient_json_on_hostile_predictions_is_fast(prediction: str):
    start = time.monotonic()
    for name in ("json_valid", "json_schema", "json_field_f1"):
        options = {"lenient": True} if name == "json_valid" else {"schema": {}} if name == "json_schema" else {}
        assert make_scorer(name, **options).score_batch([prediction], ['{"a": 1}']) == [0.0]
    assert time.monotonic() - start < 5  # Python's re and a brace scan per "{" were quadratic: minutes


def test_lenient_json_still_finds_fenced_and_embedded_objects():
    scorer = make_scorer("json_field_f1")
    rows = ['Sure:\n```json\n{"a": 1}\n```', 'The answer is {"a": 1} as asked.', "x {y} " * 20_000 + '{"a": 1}']
    assert scorer.score_batch(rows, ['{"a": 1}'] * 3) == [1.0, 1.0, 1.0]
    deep = "[" * 990 + "]" * 990  # flatten_json was recursive: a RecursionError at scoring time
    assert scorer.score_batch([deep], ['{"a": 1}']) == [0.0]


# ---- criterion shapes, weights, option types ----

@pytest.mark.parametrize("criterion, where, fragment", [
    ("{scorer: [exact_match]}", "rubric[0].scorer (line 8)", "must be one scorer name, got list"),
    ("{scorer: {exact_match: 1}}", "rubric[0].scorer (line 8)", "must be one scorer name, got dict"),
    ("{scorer: 5}", "rubric[0].scorer (line 8)", "must be one scorer name, got int"),
    ("{scorer: null}", "rubric[0].scorer (line 8)", "missing scorer name"),
    ("{scorer: ''}", "rubric[0].scorer (line 8)", "missing scorer name"),
    ("{scorer: " + "x" * 5000 + "}", "rubric[0].scorer (line 8)", "unknown scorer 'xxxx"),
    ("{name: 5, scorer: exact_match}", "rubric[0].name (line 8)", "must be a non-empty string"),
    ("{name: '  ', scorer: exact_match}", "rubric[0].name (line 8)", "must be a non-empty string"),
    ("{name: " + "n" * 500 + ", scorer: exact_match}", "rubric[0].name (line 8)", "a name of 500 characters"),
    ('{name: "a\\x07b", scorer: exact_match}', "rubric[0].name (line 8)", "contains a control character"),
    ("{scorer: exact_match, weight: .inf}", "rubric[0].weight (line 8)", "got inf"),
    ("{scorer: exact_match, weight: .nan}", "rubric[0].weight (line 8)", "got nan"),
    ("{scorer: exact_match, weight: true}", "rubric[0].weight (line 8)", "got True"),
    ("{scorer: exact_match, weight: 1.0e+308}", "rubric[0].weight (line 8)", "must be at most 1,000,000"),
    ("{scorer: exact_match, weight: 1e308}", "rubric[0].weight (line 8)", "must be at most 1,000,000"),
    ("{scorer: exact_match, options: [normalize]}", "rubric[0].options (line 8)", "must be a mapping"),
    ("{scorer: exact_match, options: false}", "rubric[0].options (line 8)", "must be a mapping"),
    ("{scorer: exact_match, options: 0}", "rubric[0].options (line 8)", "must be a mapping"),
    ("{scorer: exact_match, options: {1: true}}", "rubric[0].options (line 8)", "option names must be text"),
    ("{scorer: exact_match, options: {normalise: true}}", "rubric[0].options.normalise (line 8)", "did you mean"),
    ("{scorer: keyword_coverage, options: {keywords: 5}}", "rubric[0].options.keywords (line 8)", "got 5"),
    ("{scorer: keyword_coverage, options: {keywords: [ok, '']}}", "rubric[0].options.keywords[1] (line 8)",
     "must be a non-empty string"),
    ("{scorer: length_bounds, options: {min_words: -1}}", "rubric[0].options.min_words (line 8)", "got -1"),
    ("{scorer: length_bounds, options: {max_words: 1e9}}", "rubric[0].options.max_words (line 8)", "whole number"),
    ("{scorer: length_bounds, options: {max_words: 1.0e+9}}", "rubric[0].options.max_words (line 8)", "whole number"),
    ("{scorer: length_bounds, options: {min_words: 9, max_words: 3}}", "rubric[0].options.min_words (line 8)",
     "must be <= max_words (9 > 3)"),
    ("{scorer: chrf, options: {word_order: true}}", "rubric[0].options.word_order (line 8)", "got True"),
    ("{scorer: chrf, options: {word_order: 1.0}}", "rubric[0].options.word_order (line 8)", "got 1.0"),
    ("{scorer: json_field_f1, options: {fields: [" + ", ".join(["x"] * 2000) + ", 5]}}",
     "rubric[0].options.fields[2000] (line 8)", "must be a non-empty string, got 5"),
])
def test_hostile_criterion_in_task_yaml(criterion, where, fragment, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    line = one_error_line(validate(tmp_path, monkeypatch, inline(criterion)))
    assert line.startswith(f"error: task.yaml: {where}: "), line
    assert fragment in line and len(line) < 600


def test_weights_far_apart_and_tiny_normalise_safely(tmp_path: Path):
    assert "weights are relative" in load_error([{"scorer": "exact_match", "weight": 1e308},
                                                  {"scorer": "token_f1", "weight": 1e308}], tmp_path)
    scorer = make_scorer("exact_match")
    for weights in ([1e308, 1e308], [5e-324, 5e-324], [1e6, 1e-6]):
        rubric = Rubric("r", "", tuple(Criterion(f"c{i}", scorer, w, {}) for i, w in enumerate(weights)))
        normalised = rubric.weights()
        assert abs(sum(normalised.values()) - 1) < 1e-9 and all(0 <= w <= 1 for w in normalised.values())
        assert rubric.score(["a"], ["a"])["total"] == [pytest.approx(1.0)]
    even = Rubric("r", "", (Criterion("a", scorer, 1e308, {}), Criterion("b", scorer, 1e308, {})))
    assert even.weights() == {"a": 0.5, "b": 0.5}


def test_inline_rubric_name_and_valid_inline_rubric(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    result = validate(tmp_path, monkeypatch, inline("{name: 'a $x$ \\\\frac', scorer: exact_match, weight: 1000000}",
                                                    "{scorer: regex, options: {pattern: '^\\d+$'}}"))
    assert result.exit_code == 0, result.output


# ---- chart labels: drawn as typed, bounded, valid SVG ----

LABELS = ["$x$", "a_b^c", "$$", "\\frac", r"$\nosuchcmd$", "cost $5 and $", "x" * 500, "word " * 100,
          "score 🎯🔥", "מדד איכות", "مقياس", "a\x00b\x07c", "a\nb\n\nc", "~^_{}%&#", "<script>x</script>"]


def _results(names: list[str], lever: str = "prompt") -> dict:
    return {"rubric": {"criteria": [{"name": n} for n in names]},
            "recommendation": {"lever": lever},
            "levers": [{"name": lv, "status": "ok", "score": {"mean": 0.5, "ci_low": 0.4, "ci_high": 0.6},
                        "criteria": {n: 0.5 for n in names},
                        "details": {"loss_curve": {"train": [[1, 2.0], [2, 1.0]], "best_step": 2}}}
                       for lv in (lever, "retrieval")]}


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)  # also proves the SVG is well-formed XML (no NUL, escaped markup)
    return ["".join(el.itertext()) for el in root.iter() if el.tag.endswith("text")]


@pytest.mark.parametrize("name", LABELS, ids=range(len(LABELS)))
def test_chart_labels_are_literal_and_bounded(name: str):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no mathtext, no missing-glyph noise on stderr
        svgs = [criteria_chart(_results([name, "plain"])), scoreboard_chart(_results([], name)),
                loss_curve_chart(_results([], name)["levers"][0])]
    for svg in svgs:
        assert svg and "\x00" not in svg
        texts = _texts(svg)
        assert all(len(t) <= MAX_LABEL_CHARS + 20 for t in texts), texts
    expected = " ".join("".join(" " if ord(ch) < 32 else ch for ch in name).split())
    shown = expected if len(expected) <= MAX_LABEL_CHARS else expected[:MAX_LABEL_CHARS - 1].rstrip() + "…"
    joined = "".join(_texts(svgs[0])).replace("\n", "")
    assert shown.replace(" ", "") in joined.replace(" ", ""), (shown, joined)

"""Scorers and rubrics: a contract over every registered scorer, known values, and error messages."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

from advisor.errors import UserError
from advisor.scoring import SCORERS, load_rubric, make_scorer, parse_json_lenient
from advisor.scoring.rubric import shipped_rubrics


def hashing_embed(texts: list[str], dim: int = 64) -> np.ndarray:
    """Deterministic bag-of-words embedder: each word hashed to a bucket, rows L2-normalized."""
    vectors = np.zeros((len(texts), dim))
    for row, text in enumerate(texts):
        for word in re.findall(r"\w+", text.lower()):
            vectors[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % dim] += 1.0
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


# Options each scorer needs for the contract test; a new scorer must be added here.
CONTRACT_OPTIONS: dict[str, dict] = {
    "exact_match": {}, "contains": {}, "regex": {"pattern": r"\d+"}, "json_valid": {},
    "json_schema": {"schema": {"type": "object", "required": ["a"]}}, "json_field_f1": {},
    "token_f1": {}, "chrf": {}, "embedding_similarity": {}, "length_bounds": {"max_words": 5},
    "keyword_coverage": {"keywords": ["cat", "mat"]}, "not_contains": {"phrases": ["as an AI"]},
    "llm_judge": {"judge": "default", "criteria": "The answer is a number.", "scale": "1-5"},
}
# Scorers where a prediction identical to its reference must score 1.
IDENTICAL_IS_PERFECT = {"exact_match", "contains", "json_valid", "json_field_f1", "token_f1", "chrf",
                        "embedding_similarity"}
PREDICTIONS = ['{"a": 1, "b": [2, 3]}', "The cat sat on the mat.", "```json\n{\"a\": 2}\n```", "",
               "as an AI I cannot", "42", "a much longer answer that goes on and on for many words"]
JSON_REFERENCES = ['{"a": 1, "b": [2, 3]}', '{"a": 1}', '{"a": 2}', '{"b": 1}', '{"a": "x"}', "[1]", '{"a": 1}']
TEXT_REFERENCES = ['{"a": 1, "b": [2, 3]}', "a cat on a mat", "Paris", "", "no", "42", "short"]


def test_contract_options_cover_registry():
    assert set(CONTRACT_OPTIONS) == set(SCORERS)


def digit_judge(spec, conversations: list[list[dict]]) -> list[str]:
    """A rule in place of a judge model (the llm_judge tests run real ones): 5 when the answer holds a digit."""
    answers = [c[-1]["content"].split("Answer to grade:\n", 1)[1] for c in conversations]
    return [f"REASON: rule\nSCORE: {5 if re.search(r'[0-9]', a) else 1}" for a in answers]


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_scorer_contract(name: str):
    scorer = make_scorer(name, **CONTRACT_OPTIONS[name])
    references = JSON_REFERENCES if name == "json_field_f1" else TEXT_REFERENCES
    context = {"inputs": ["question"] * len(PREDICTIONS), "judge": digit_judge}
    scores = scorer.score_batch(PREDICTIONS, references, embed=hashing_embed, **context)
    assert len(scores) == len(PREDICTIONS)
    assert all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in scores)
    if scorer.pass_fail:
        assert set(scores) <= {0.0, 1.0}
    assert scorer.score_batch([], [], embed=hashing_embed, inputs=[], judge=digit_judge) == []
    if name in IDENTICAL_IS_PERFECT:
        same = ['{"x": [1, {"y": "z"}]}', "[1, 2]"]
        assert scorer.score_batch(same, same, embed=hashing_embed) == [1.0, 1.0]


def test_length_mismatch_is_a_bug():
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        make_scorer("token_f1").score_batch(["a", "b"], ["a"])


@pytest.mark.parametrize("pred, ref, expected", [
    ("Paris.", "paris", 1.0), ('"Paris"', "Paris", 1.0), ("  the   Eiffel Tower ", "The Eiffel tower", 1.0),
    ("Paris, France", "Paris", 0.0),
])
def test_exact_match_normalizes(pred: str, ref: str, expected: float):
    assert make_scorer("exact_match").score_batch([pred], [ref]) == [expected]


def test_exact_match_without_normalize_only_trims():
    assert make_scorer("exact_match", normalize=False).score_batch(["Paris\n", "paris"], ["Paris", "Paris"]) == [1.0, 0.0]


def test_contains():
    scores = make_scorer("contains").score_batch(["It is PARIS, of course.", "London"], ["Paris.", "Paris"])
    assert scores == [1.0, 0.0]


def test_regex_search_fullmatch_and_case():
    assert make_scorer("regex", pattern=r"\d{3}").score_batch(["code 123 ok", "12"], ["", ""]) == [1.0, 0.0]
    full = make_scorer("regex", pattern=r"yes|no", fullmatch=True, ignore_case=True)
    assert full.score_batch([" Yes\n", "yes, sure"], ["", ""]) == [1.0, 0.0]


def test_token_f1_hand_computed():
    # pred tokens {cat, sat, on, mat}, ref tokens {cat, on, mat}: P = 3/4, R = 1, F1 = 6/7.
    [score] = make_scorer("token_f1").score_batch(["The cat sat on the mat!"], ["a cat on a mat"])
    assert score == pytest.approx(6 / 7)
    assert make_scorer("token_f1").score_batch(["", "the", "dog"], ["", "", "cat"]) == [1.0, 1.0, 0.0]


def test_json_field_f1_values():
    scorer = make_scorer("json_field_f1")
    ref = '{"name": "Ada", "age": 36}'
    assert scorer.score_batch(['{"name": "ada", "age": 36.0}'], [ref]) == [1.0]
    assert scorer.score_batch(['{"name": "Ada", "age": 37}'], [ref]) == [0.5]  # one of two fields wrong
    assert scorer.score_batch(["not json at all"], [ref]) == [0.0]
    # nested: pred has a.b (right), a.c[0] (wrong), extra d: P = 1/3, R = 1/2, F1 = 0.4
    nested = scorer.score_batch(['{"a": {"b": 1, "c": [9]}, "d": true}'], ['{"a": {"b": 1, "c": [2]}}'])
    assert nested == [pytest.approx(0.4)]
    only_name = make_scorer("json_field_f1", fields=["name"])
    assert only_name.score_batch(['{"name": "Ada", "age": 99}'], [ref]) == [1.0]
    exact = make_scorer("json_field_f1", all_or_nothing=True)
    assert exact.pass_fail and exact.score_batch(['{"age": 36, "name": "Ada"}', '{"name": "Ada"}'], [ref, ref]) == [1.0, 0.0]


def test_json_field_f1_rejects_non_json_reference():
    with pytest.raises(UserError, match=r"json_field_f1 needs a JSON object or array as the reference output, got 'Ada'"):
        make_scorer("json_field_f1").score_batch(["{}", "{}"], ["{}", "Ada"])


def test_rubric_finds_the_reference_it_cannot_score(tmp_path: Path):
    rubric = load_rubric([{"scorer": "json_valid"}, {"scorer": "json_field_f1"}], tmp_path, tmp_path / "task.yaml")
    assert rubric.check_references(['{"a": 1}', "[1]"]) is None
    index, err = rubric.check_references(['{"a": 1}', "plain text", "{}"])
    assert index == 1 and "got 'plain text'" in err.message


@pytest.mark.parametrize("text, expected", [
    ('{"a": 1}', {"a": 1}),
    ("Sure! Here it is:\n```json\n{\"a\": [1, 2]}\n```\nAnything else?", {"a": [1, 2]}),
    ("```\n[1, 2]\n```", [1, 2]),
    ('The answer is {"a": "brace } in string", "b": {"c": null}} -- done', {"a": "brace } in string", "b": {"c": None}}),
    ('{not json} then {"a": "quote \\" and }"}', {"a": 'quote " and }'}),
    ("no json here", None),
    ("42", None),
    ('{"a": 1', None),
])
def test_parse_json_lenient(text: str, expected: object):
    assert parse_json_lenient(text) == expected


def test_json_valid_strict_vs_lenient():
    preds = ['{"a": 1}', '```json\n{"a": 1}\n```', 'Result: {"a": 1}', "[1]", '"just a string"']
    assert make_scorer("json_valid").score_batch(preds, [""] * 5) == [1.0, 0.0, 0.0, 1.0, 0.0]
    assert make_scorer("json_valid", lenient=True).score_batch(preds, [""] * 5) == [1.0, 1.0, 1.0, 1.0, 0.0]


def test_json_schema_pass_fail(tmp_path: Path):
    schema = {"type": "object", "properties": {"age": {"type": "integer"}}, "required": ["age"]}
    preds = ['{"age": 3}', '```json\n{"age": 3}\n```', '{"age": "three"}', '{"name": "x"}', "nope"]
    expected = [1.0, 1.0, 0.0, 0.0, 0.0]
    assert make_scorer("json_schema", schema=schema).score_batch(preds, [""] * 5) == expected
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    from_file = make_scorer("json_schema", schema_file=str(tmp_path / "schema.json"))
    assert from_file.score_batch(preds, [""] * 5) == expected
    assert from_file.options == {"schema": schema}  # fingerprints see the contents, not the path


def test_chrf():
    scorer = make_scorer("chrf")
    assert scorer.score_batch(["the quick brown fox", ""], ["the quick brown fox", ""]) == [1.0, 1.0]
    [partial] = scorer.score_batch(["the quick brown dog"], ["the quick brown fox"])
    assert 0.3 < partial < 0.95


def test_embedding_similarity_with_hashing_embedder():
    scorer = make_scorer("embedding_similarity")
    assert scorer.needs_embedder
    same, overlap, none = scorer.score_batch(["red apple", "red apple", "red apple"],
                                             ["apple red", "red car", "blue sky"], embed=hashing_embed)
    assert same == pytest.approx(1.0) and overlap == pytest.approx(0.5) and none == pytest.approx(0.0, abs=0.01)
    with pytest.raises(ValueError, match="needs an embedder"):
        scorer.score_batch(["a"], ["a"])


def test_length_bounds_decays_linearly():
    words = make_scorer("length_bounds", min_words=4, max_words=10)
    preds = ["one two three four", "one two", "w " * 15, "w " * 25]
    assert words.score_batch(preds, [""] * 4) == [1.0, 0.5, 0.5, 0.0]
    chars = make_scorer("length_bounds", max_chars=10)
    assert chars.score_batch(["0123456789", "0123456789abcde"], ["", ""]) == [1.0, 0.5]


def test_keyword_coverage_and_not_contains():
    coverage = make_scorer("keyword_coverage", keywords=["Refund", "within 30 days", "art"])
    [score] = coverage.score_batch(["You get a refund within  30 DAYS from the start."], [""])
    assert score == pytest.approx(2 / 3)  # "art" is not matched inside "start"
    banned = make_scorer("not_contains", phrases=["as an AI", "delve"])
    assert banned.score_batch(["As an AI, I think", "Let us dig in", "We delve."], ["", "", ""]) == [0.0, 1.0, 0.0]


# ---- rubrics ----

@pytest.mark.parametrize("name", sorted(shipped_rubrics()))
def test_shipped_rubrics_load_and_score(name: str, tmp_path: Path):
    rubric = load_rubric(name, tmp_path, tmp_path / "task.yaml")
    assert rubric.name == name and rubric.description
    assert shipped_rubrics()[name].read_text().startswith("# ")  # header comment: copy and edit
    record = rubric.to_dict()
    assert json.loads(json.dumps(record)) == record
    assert [set(c) for c in record["criteria"]] == [{"name", "scorer", "weight", "options", "pass_fail"}] * len(rubric.criteria)
    refs = ['{"label": "yes"}', '{"label": "no"}']
    scores = rubric.score(refs, refs, embed=hashing_embed)
    assert set(scores) == {c.name for c in rubric.criteria} | {"total"}
    assert all(0.0 <= s <= 1.0 for s in scores["total"])


def test_shipped_set():
    assert {"strict_json", "short_answer_qa", "classification", "style_voice"} <= set(shipped_rubrics())
    assert load_rubric("style_voice", Path("."), "t.yaml").needs_embedder
    assert not load_rubric("classification", Path("."), "t.yaml").needs_embedder


def test_total_is_normalized_weighted_mean():
    rubric = load_rubric([{"name": "exact", "scorer": "exact_match", "weight": 3},
                          {"scorer": "contains", "weight": 1}], Path("."), "task.yaml")
    scores = rubric.score(["Paris", "in Paris", "Rome"], ["paris", "Paris", "Paris"])
    assert scores == {"exact": [1.0, 0.0, 0.0], "contains": [1.0, 1.0, 0.0], "total": [1.0, 0.25, 0.0]}
    assert rubric.weights() == {"exact": 0.75, "contains": 0.25}


def test_rubric_file_with_schema_file_and_fingerprint(tmp_path: Path):
    (tmp_path / "rubrics").mkdir()
    (tmp_path / "rubrics" / "schema.json").write_text('{"type": "object", "required": ["a"]}')
    text = "name: mine\ncriteria:\n  - {name: shape, scorer: json_schema, options: {schema_file: schema.json}}\n"
    (tmp_path / "rubrics" / "mine.yaml").write_text(text)
    rubric = load_rubric("rubrics/mine.yaml", tmp_path, tmp_path / "task.yaml")
    assert rubric.score(['{"a": 1}', "{}"], ["", ""])["shape"] == [1.0, 0.0]
    assert rubric.to_dict()["criteria"][0]["options"] == {"schema_file": "schema.json"}
    inline = load_rubric({"criteria": [{"name": "shape", "scorer": "json_schema",
                                        "options": {"schema": {"type": "object", "required": ["a"]}}}]},
                         tmp_path, tmp_path / "task.yaml")
    assert inline.fingerprint() == rubric.fingerprint()  # same schema contents, same hash
    (tmp_path / "rubrics" / "schema.json").write_text('{"type": "object", "required": ["b"]}')
    assert load_rubric("rubrics/mine.yaml", tmp_path, "task.yaml").fingerprint() != rubric.fingerprint()


def test_fingerprint_tracks_weights_and_options():
    base = [{"name": "r", "scorer": "regex", "options": {"pattern": "a"}}]
    fp = load_rubric(base, Path("."), "t.yaml").fingerprint()
    assert fp == load_rubric({"name": "other", "criteria": base}, Path("."), "t.yaml").fingerprint()
    assert fp != load_rubric([{**base[0], "weight": 2}], Path("."), "t.yaml").fingerprint()
    assert fp != load_rubric([{**base[0], "options": {"pattern": "b"}}], Path("."), "t.yaml").fingerprint()


# ---- error messages: the file, the field, and a hint ----

def _error(value: object, base_dir: Path = Path("."), field: str = "rubric") -> str:
    with pytest.raises(UserError) as info:
        load_rubric(value, base_dir, "task.yaml", field)
    return str(info.value)


def test_error_unknown_scorer_inline():
    message = _error({"criteria": [{"scorer": "exact_match"}, {"scorer": "token_f"}]})
    assert message.startswith("task.yaml: rubric.criteria[1].scorer: unknown scorer 'token_f'")
    assert "did you mean 'token_f1'" in message


def test_error_unknown_option():
    message = _error([{"scorer": "regex", "options": {"pattern": "x", "fulmatch": True}}], field="eval.rubric")
    assert message.startswith("task.yaml: eval.rubric[0].options.fulmatch: unknown option 'fulmatch'")
    assert "did you mean 'fullmatch'" in message


def test_error_missing_required_option_and_bad_regex():
    assert _error([{"scorer": "regex"}]).startswith("task.yaml: rubric[0].options: scorer 'regex' needs option 'pattern'")
    message = _error([{"scorer": "regex", "options": {"pattern": "(unclosed"}}])
    assert message.startswith("task.yaml: rubric[0].options.pattern: invalid regular expression '(unclosed'")


@pytest.mark.parametrize("weights, where", [([1, -1], "rubric[1].weight"), ([0, 0], "rubric")])
def test_error_weights(weights: list[float], where: str):
    message = _error([{"name": f"c{i}", "scorer": "exact_match", "weight": w} for i, w in enumerate(weights)])
    assert message.startswith(f"task.yaml: {where}: weights must be >= 0 and not all zero")


def test_error_duplicate_and_empty_criteria():
    message = _error([{"scorer": "exact_match"}, {"scorer": "exact_match"}])
    assert message.startswith("task.yaml: rubric[1].name: duplicate criterion name 'exact_match' (also rubric[0])")
    assert _error({"criteria": []}).startswith("task.yaml: rubric.criteria: must be a non-empty list")
    assert _error({"criterias": []}).startswith("task.yaml: rubric.criterias: unknown key 'criterias'")


def test_error_unknown_rubric_name_and_missing_file(tmp_path: Path):
    message = _error("short_answer")
    assert message.startswith("task.yaml: rubric: unknown rubric 'short_answer'")
    assert "did you mean 'short_answer_qa'" in message
    missing = _error("nope.yaml", tmp_path)
    assert missing.startswith(f"task.yaml: rubric: rubric file not found: {tmp_path / 'nope.yaml'}")


def test_error_inside_rubric_file_names_that_file(tmp_path: Path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\ncriteria:\n  - scorer: exact_match\n  - scorer: length_bounds\n    options: {max_word: 3}\n")
    message = _error("mine.yaml", tmp_path)
    assert message.startswith(f"{path}: criteria[1].options.max_word: unknown option 'max_word'")
    assert "did you mean 'max_words'" in message


def test_error_yaml_syntax_names_the_line(tmp_path: Path):
    (tmp_path / "bad.yaml").write_text("name: bad\ncriteria:\n  - scorer: exact_match\n   weight: [1\n")
    message = _error("bad.yaml", tmp_path)
    assert message.startswith(f"{tmp_path / 'bad.yaml'}: line 4: YAML syntax error")


def test_error_missing_schema_file(tmp_path: Path):
    message = _error([{"scorer": "json_schema", "options": {"schema_file": "s.json"}}], tmp_path)
    assert message.startswith(f"task.yaml: rubric[0].options.schema_file: schema file not found: {tmp_path / 's.json'}")

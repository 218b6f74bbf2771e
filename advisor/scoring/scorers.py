"""Scorers: small factories, registered by name, whose options are keyword arguments.

Every scorer gives each (prediction, reference) pair a score in [0, 1] and declares `pass_fail`
(scores are only ever 0 or 1, so paired comparisons can use McNemar's test).
"""
from __future__ import annotations

import inspect
import json
import math
import re
import string
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from advisor.errors import UserError, did_you_mean

Embed = Callable[[list[str]], Any]  # list[str] -> array (n, d) of L2-normalized vectors
BatchFn = Callable[[list[str], list[str], "Embed | None"], list[float]]


@dataclass(frozen=True)
class Scorer:
    """A configured scorer. `options` are the effective options (schema files inlined), for fingerprints."""

    name: str
    pass_fail: bool
    batch_fn: BatchFn = field(repr=False)
    options: dict[str, Any] = field(default_factory=dict)
    needs_embedder: bool = False

    def score_batch(self, predictions: list[str], references: list[str], embed: Embed | None = None) -> list[float]:
        """One score in [0, 1] per (prediction, reference) pair."""
        if len(predictions) != len(references):
            raise ValueError(f"{self.name}: {len(predictions)} predictions but {len(references)} references")
        scores = self.batch_fn(list(predictions), list(references), embed)
        return [0.0 if math.isnan(s) else min(1.0, max(0.0, float(s))) for s in scores]


SCORERS: dict[str, Callable[..., Scorer]] = {}


def register(name: str) -> Callable[[Callable[..., Scorer]], Callable[..., Scorer]]:
    """Add a scorer factory to SCORERS under `name`."""

    def add(factory: Callable[..., Scorer]) -> Callable[..., Scorer]:
        SCORERS[name] = factory
        return factory

    return add


def make_scorer(name: str, /, **options: Any) -> Scorer:
    """Build scorer `name`; errors carry `where` relative to the criterion ("scorer", "options.x")."""
    factory = SCORERS.get(name)
    if factory is None:
        raise UserError(None, "scorer", f"unknown scorer {name!r}", did_you_mean(name, list(SCORERS)))
    params = inspect.signature(factory).parameters
    for key in options:
        if key not in params:
            hint = did_you_mean(key, list(params)) if params else f"{name} takes no options"
            raise UserError(None, f"options.{key}", f"unknown option {key!r} for scorer {name!r}", hint)
    for param in params.values():
        if param.default is inspect.Parameter.empty and param.name not in options:
            raise UserError(None, "options", f"scorer {name!r} needs option {param.name!r}")
    return factory(**options)


def per_example(fn: Callable[[str, str], float]) -> BatchFn:
    """Lift a (prediction, reference) -> score function to a batch function."""
    return lambda preds, refs, _embed: [float(fn(p, r)) for p, r in zip(preds, refs)]


# ---- option checks: a bad value names its option ----

def _bad(option: str, message: str) -> UserError:
    return UserError(None, f"options.{option}", message)


def _check_bool(option: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _bad(option, f"must be true or false, got {value!r}")
    return value


def _check_count(option: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(option, f"must be a whole number >= 0, got {value!r}")
    return value


def _check_phrases(option: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise _bad(option, f"must be a non-empty list of non-empty strings, got {value!r}")
    return value


# ---- text normalization ----

_EDGE = string.punctuation + string.whitespace + "“”‘’«»„…–—"
_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_text(text: str) -> str:
    """Casefold, collapse whitespace, strip surrounding punctuation and quotes ("Paris." == 'paris')."""
    return " ".join(text.casefold().split()).strip(_EDGE)


def squad_tokens(text: str) -> list[str]:
    """SQuAD answer normalization: lowercase, drop punctuation and articles, split on whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return _ARTICLES.sub(" ", text).split()


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Case-insensitive whole-word match for `phrase`, any whitespace between its words."""
    body = r"\s+".join(re.escape(word) for word in phrase.split())
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def _f1(pred: Counter, ref: Counter) -> float:
    """F1 of two multisets; two empty multisets agree perfectly."""
    if not pred or not ref:
        return float(not pred and not ref)
    common = sum((pred & ref).values())
    if common == 0:
        return 0.0
    precision, recall = common / sum(pred.values()), common / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


# ---- text scorers ----

@register("exact_match")
def exact_match(normalize: bool = True) -> Scorer:
    """1 when prediction equals reference (normalized, or just trimmed when normalize is false)."""
    norm = normalize_text if _check_bool("normalize", normalize) else str.strip
    return Scorer("exact_match", True, per_example(lambda p, r: norm(p) == norm(r)), {"normalize": normalize})


@register("contains")
def contains(normalize: bool = True) -> Scorer:
    """1 when the (normalized) reference appears inside the (normalized) prediction."""
    norm = normalize_text if _check_bool("normalize", normalize) else str.strip
    return Scorer("contains", True, per_example(lambda p, r: norm(r) in norm(p)), {"normalize": normalize})


@register("regex")
def regex(pattern: str, fullmatch: bool = False, ignore_case: bool = False) -> Scorer:
    """1 when `pattern` is found in the prediction (or matches all of it, trimmed, with fullmatch)."""
    if not isinstance(pattern, str) or not pattern:
        raise _bad("pattern", f"must be a non-empty string, got {pattern!r}")
    flags = re.IGNORECASE if _check_bool("ignore_case", ignore_case) else 0
    try:
        compiled = re.compile(pattern, flags)
    except re.error as err:
        raise _bad("pattern", f"invalid regular expression {pattern!r}: {err}") from None
    if _check_bool("fullmatch", fullmatch):
        fn = per_example(lambda p, _r: compiled.fullmatch(p.strip()) is not None)
    else:
        fn = per_example(lambda p, _r: compiled.search(p) is not None)
    return Scorer("regex", True, fn, {"pattern": pattern, "fullmatch": fullmatch, "ignore_case": ignore_case})


@register("token_f1")
def token_f1() -> Scorer:
    """SQuAD-style bag-of-tokens F1 between prediction and reference."""
    return Scorer("token_f1", False, per_example(lambda p, r: _f1(Counter(squad_tokens(p)), Counter(squad_tokens(r)))))


@register("chrf")
def chrf(word_order: int = 0) -> Scorer:
    """sacrebleu chrF sentence score / 100 (word_order: 2 gives chrF++)."""
    from sacrebleu.metrics import CHRF

    if word_order not in (0, 1, 2):
        raise _bad("word_order", f"must be 0, 1 or 2, got {word_order!r}")
    metric = CHRF(word_order=word_order)

    def one(pred: str, ref: str) -> float:
        # sacrebleu scores two empty strings 0; identical text is a perfect match.
        return 1.0 if pred.strip() == ref.strip() else metric.sentence_score(pred, [ref]).score / 100

    return Scorer("chrf", False, per_example(one), {"word_order": word_order})


@register("embedding_similarity")
def embedding_similarity() -> Scorer:
    """Cosine similarity of prediction and reference embeddings, clipped to [0, 1]."""

    def batch(preds: list[str], refs: list[str], embed: Embed | None) -> list[float]:
        if embed is None:
            raise ValueError("embedding_similarity needs an embedder: pass embed= to score_batch / Rubric.score")
        if not preds:
            return []
        vectors = np.asarray(embed(preds + refs), dtype=np.float64)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        cosine = (vectors[: len(preds)] * vectors[len(preds):]).sum(axis=1)
        return np.clip(cosine, 0.0, 1.0).tolist()

    return Scorer("embedding_similarity", False, batch, needs_embedder=True)


@register("length_bounds")
def length_bounds(min_words: int | None = None, max_words: int | None = None,
                  min_chars: int | None = None, max_chars: int | None = None) -> Scorer:
    """1 inside the bounds; outside, 1 - distance/bound, floored at 0 (the reference is ignored)."""
    bounds = {"words": (_check_count("min_words", min_words), _check_count("max_words", max_words)),
              "chars": (_check_count("min_chars", min_chars), _check_count("max_chars", max_chars))}
    if all(v is None for pair in bounds.values() for v in pair):
        raise UserError(None, "options", "length_bounds needs at least one of min_words, max_words, min_chars, max_chars")
    for unit, (low, high) in bounds.items():
        if high is not None and high == 0:
            raise _bad(f"max_{unit}", "must be > 0")
        if low is not None and high is not None and low > high:
            raise _bad(f"min_{unit}", f"must be <= max_{unit} ({low} > {high})")

    def within(n: int, low: int | None, high: int | None) -> float:
        if low and n < low:
            return max(0.0, 1 - (low - n) / low)
        if high is not None and n > high:
            return max(0.0, 1 - (n - high) / high)
        return 1.0

    def one(pred: str, _ref: str) -> float:
        sizes = {"words": len(pred.split()), "chars": len(pred.strip())}
        return min(within(sizes[unit], low, high) for unit, (low, high) in bounds.items())

    options = {"min_words": min_words, "max_words": max_words, "min_chars": min_chars, "max_chars": max_chars}
    return Scorer("length_bounds", False, per_example(one), options)


@register("keyword_coverage")
def keyword_coverage(keywords: list[str]) -> Scorer:
    """Fraction of `keywords` present in the prediction (whole words, case-insensitive)."""
    patterns = [_phrase_pattern(k) for k in _check_phrases("keywords", keywords)]
    fn = per_example(lambda p, _r: sum(bool(pat.search(p)) for pat in patterns) / len(patterns))
    return Scorer("keyword_coverage", False, fn, {"keywords": keywords})


@register("not_contains")
def not_contains(phrases: list[str]) -> Scorer:
    """1 when none of `phrases` (e.g. banned phrases) appear in the prediction, whole words, any case."""
    patterns = [_phrase_pattern(k) for k in _check_phrases("phrases", phrases)]
    fn = per_example(lambda p, _r: not any(pat.search(p) for pat in patterns))
    return Scorer("not_contains", True, fn, {"phrases": phrases})


# ---- JSON scorers ----

_FENCE = re.compile(r"```[\w+-]*[ \t]*\n?(.*?)```", re.DOTALL)


def _parse_json_strict(text: str) -> dict | list | None:
    """The whole trimmed text as a JSON object or array, else None."""
    try:
        value = json.loads(text.strip())
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, (dict, list)) else None


def _first_balanced_object(text: str) -> dict | None:
    """The first `{...}` span (string-aware brace matching) that parses as a JSON object."""
    for start in (i for i, ch in enumerate(text) if ch == "{"):
        depth, in_string, escaped = 0, False, False
        for end in range(start, len(text)):
            ch = text[end]
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch in "{}":
                depth += 1 if ch == "{" else -1
                if depth == 0:
                    value = _parse_json_strict(text[start:end + 1])
                    if isinstance(value, dict):
                        return value
                    break
    return None


def parse_json_lenient(text: str) -> dict | list | None:
    """Parse model output as JSON: the whole text, else a ``` fenced block, else the first {...} object."""
    for candidate in [text, *_FENCE.findall(text)]:
        value = _parse_json_strict(candidate)
        if value is not None:
            return value
    return _first_balanced_object(text)


@register("json_valid")
def json_valid(lenient: bool = False) -> Scorer:
    """1 when the prediction is a JSON object/array: the whole text (strict) or extractable (lenient)."""
    parse = parse_json_lenient if _check_bool("lenient", lenient) else _parse_json_strict
    return Scorer("json_valid", True, per_example(lambda p, _r: parse(p) is not None), {"lenient": lenient})


def _load_schema_file(schema_file: Any) -> Any:
    if not isinstance(schema_file, (str, Path)) or not str(schema_file):
        raise _bad("schema_file", f"must be a path, got {schema_file!r}")
    path = Path(schema_file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise _bad("schema_file", f"schema file not found: {path}") from None
    import yaml

    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as err:
        raise _bad("schema_file", f"{path} is not valid JSON/YAML: {' '.join(str(err).split())}") from None


@register("json_schema")
def json_schema(schema: dict | None = None, schema_file: str | None = None) -> Scorer:
    """1 when the leniently parsed prediction validates against a JSON Schema (inline or from a file)."""
    import jsonschema

    if (schema is None) == (schema_file is None):
        raise UserError(None, "options", "json_schema needs exactly one of 'schema' (inline) or 'schema_file'")
    option = "schema" if schema is not None else "schema_file"
    loaded = schema if schema is not None else _load_schema_file(schema_file)
    if not isinstance(loaded, (dict, bool)):
        raise _bad(option, f"a JSON Schema must be a mapping, got {type(loaded).__name__}")
    validator_cls = jsonschema.validators.validator_for(loaded)
    try:
        validator_cls.check_schema(loaded)
    except jsonschema.SchemaError as err:
        raise _bad(option, f"invalid JSON Schema: {err.message}") from None
    validator = validator_cls(loaded)

    def one(pred: str, _ref: str) -> float:
        value = parse_json_lenient(pred)
        return value is not None and validator.is_valid(value)

    return Scorer("json_schema", True, per_example(one), {"schema": loaded})


def _leaf(value: Any) -> str:
    """Comparable form of a JSON leaf: strings normalized, 1 == 1.0, true != 1."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return f"number:{float(value)!r}"
    if isinstance(value, str):
        return f"string:{normalize_text(value)}"
    return json.dumps(value)  # empty {} or []


def flatten_json(value: Any, path: tuple = ()) -> list[tuple[tuple, str]]:
    """(path, leaf) pairs of a JSON value; path elements are keys and list indices."""
    if isinstance(value, dict) and value:
        return [pair for key, item in value.items() for pair in flatten_json(item, (*path, key))]
    if isinstance(value, list) and value:
        return [pair for i, item in enumerate(value) for pair in flatten_json(item, (*path, i))]
    return [(path, _leaf(value))]


@register("json_field_f1")
def json_field_f1(fields: list[str] | None = None, all_or_nothing: bool = False) -> Scorer:
    """F1 over (field path, value) pairs of prediction vs reference JSON; all_or_nothing scores 1 only at F1 = 1."""
    keep = set(_check_phrases("fields", fields)) if fields is not None else None
    exact = _check_bool("all_or_nothing", all_or_nothing)

    def pairs(value: Any) -> Counter:
        flat = flatten_json(value)
        return Counter(p for p in flat if keep is None or (p[0] and p[0][0] in keep))

    def batch(preds: list[str], refs: list[str], _embed: Embed | None) -> list[float]:
        scores = []
        for i, (pred, ref) in enumerate(zip(preds, refs)):
            ref_value = _parse_json_strict(ref)
            if ref_value is None:
                raise UserError(None, None, f"json_field_f1: reference #{i} is not a JSON object or array: {ref[:60]!r}",
                                "references must be plain JSON when the rubric uses json_field_f1")
            pred_value = parse_json_lenient(pred)
            f1 = 0.0 if pred_value is None else _f1(pairs(pred_value), pairs(ref_value))
            scores.append(float(f1 == 1.0) if exact else f1)
        return scores

    return Scorer("json_field_f1", exact, batch, {"fields": fields, "all_or_nothing": all_or_nothing})

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

from advisor.errors import UserError, did_you_mean, display_path, shown
from advisor.scoring import patterns

Embed = Callable[[list[str]], Any]  # list[str] -> array (n, d) of L2-normalized vectors
Judge = Callable[[Any, list[list[dict]]], list[str]]  # (JudgeSpec, conversations) -> replies, cached by the caller


@dataclass(frozen=True)
class Context:
    """What a scorer may need beyond (prediction, reference): an embedder, the examples' inputs, a judge model.
    The run provides these; most scorers use none of them."""

    embed: Embed | None = None
    inputs: list[str] | None = None
    judge: Judge | None = None


BatchFn = Callable[[list[str], list[str], Context], list[float]]
ExplainFn = Callable[[list[str], list[str], Context], list[dict]]


@dataclass(frozen=True)
class Scorer:
    """A configured scorer. `options` are the effective options (schema files inlined), for fingerprints."""

    name: str
    pass_fail: bool
    batch_fn: BatchFn = field(repr=False)
    options: dict[str, Any] = field(default_factory=dict)
    needs_embedder: bool = False
    needs_judge: bool = False  # scores with a model (llm_judge): needs `judge=` and the inputs
    explain_fn: ExplainFn | None = field(default=None, repr=False)  # per-example details (a judge's reasons)
    judge_spec: Any = field(default=None, repr=False)  # llm_judge: its JudgeSpec (the run builds the judge from it)

    def score_batch(self, predictions: list[str], references: list[str], embed: Embed | None = None, *,
                    inputs: list[str] | None = None, judge: Judge | None = None) -> list[float]:
        """One score in [0, 1] per (prediction, reference) pair."""
        if len(predictions) != len(references):
            raise ValueError(f"{self.name}: {len(predictions)} predictions but {len(references)} references")
        scores = self.batch_fn(list(predictions), list(references), Context(embed, inputs, judge))
        return [0.0 if math.isnan(s) else min(1.0, max(0.0, float(s))) for s in scores]

    def explain(self, predictions: list[str], references: list[str], *, inputs: list[str] | None = None,
                judge: Judge | None = None) -> list[dict] | None:
        """Per-example details behind the scores (e.g. a judge's reason), or None for scorers that have none."""
        if self.explain_fn is None:
            return None
        return self.explain_fn(list(predictions), list(references), Context(None, inputs, judge))


SCORERS: dict[str, Callable[..., Scorer]] = {}


def register(name: str) -> Callable[[Callable[..., Scorer]], Callable[..., Scorer]]:
    """Add a scorer factory to SCORERS under `name`."""

    def add(factory: Callable[..., Scorer]) -> Callable[..., Scorer]:
        SCORERS[name] = factory
        return factory

    return add


def make_scorer(name: str, /, **options: Any) -> Scorer:
    """Build scorer `name`; errors carry `where` relative to the criterion ("scorer", "options.x")."""
    factory = SCORERS.get(name) if isinstance(name, str) else None
    if factory is None:
        raise UserError(None, "scorer", f"unknown scorer {shown(name, 40)}", did_you_mean(str(name)[:40], list(SCORERS)))
    params = inspect.signature(factory).parameters
    for key in options:
        if key not in params:
            hint = did_you_mean(str(key)[:40], list(params)) if params else f"{name} takes no options"
            raise UserError(None, f"options.{str(key)[:40]}", f"unknown option {shown(key, 40)} for scorer {name!r}",
                            hint)
    for param in params.values():
        if param.default is inspect.Parameter.empty and param.name not in options:
            raise UserError(None, "options", f"scorer {name!r} needs option {param.name!r}")
    return factory(**options)


def per_example(fn: Callable[[str, str], float]) -> BatchFn:
    """Lift a (prediction, reference) -> score function to a batch function."""
    return lambda preds, refs, _context: [float(fn(p, r)) for p, r in zip(preds, refs)]


# ---- option checks: a bad value names its option ----

def _bad(option: str, message: str, hint: str | None = None) -> UserError:
    return UserError(None, f"options.{option}", message, hint)


def _check_bool(option: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _bad(option, f"must be true or false, got {shown(value)}")
    return value


def _check_count(option: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(option, f"must be a whole number >= 0, got {shown(value)}")
    return value


def _check_phrases(option: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise _bad(option, f"must be a non-empty list of non-empty strings, got {shown(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise _bad(f"{option}[{i}]", f"must be a non-empty string, got {shown(item)}")
    return value


def _compile_phrases(option: str, phrases: list[str]) -> list[patterns.Pattern]:
    if len(phrases) > patterns.MAX_PHRASES:
        raise _bad(option, f"{len(phrases):,} phrases; the limit is {patterns.MAX_PHRASES:,}",
                   "split them over several criteria")
    compiled = []
    for i, phrase in enumerate(phrases):
        try:
            compiled.append(patterns.compile_phrase(phrase))
        except patterns.PatternError as err:
            raise _bad(f"{option}[{i}]", f"cannot be matched: {err}", "use a shorter phrase") from None
    return compiled


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
        raise _bad("pattern", f"must be a non-empty string, got {shown(pattern)}")
    if len(pattern) > patterns.MAX_PATTERN_CHARS:
        raise _bad("pattern", f"the pattern has {len(pattern):,} characters; the limit is "
                   f"{patterns.MAX_PATTERN_CHARS:,}", "a regex this long is almost always pasted text; shorten it")
    try:
        compiled = patterns.compile_pattern(pattern, _check_bool("ignore_case", ignore_case),
                                            _check_bool("fullmatch", fullmatch))
    except patterns.PatternError as err:
        raise _bad("pattern", f"invalid regular expression {shown(pattern)}: {err}", patterns.RE2_HINT) from None
    fn = per_example(lambda p, _r: compiled.matches(p))
    return Scorer("regex", True, fn, {"pattern": pattern, "fullmatch": fullmatch, "ignore_case": ignore_case})


@register("token_f1")
def token_f1() -> Scorer:
    """SQuAD-style bag-of-tokens F1 between prediction and reference."""
    return Scorer("token_f1", False, per_example(lambda p, r: _f1(Counter(squad_tokens(p)), Counter(squad_tokens(r)))))


@register("chrf")
def chrf(word_order: int = 0) -> Scorer:
    """sacrebleu chrF sentence score / 100 (word_order: 2 gives chrF++)."""
    from sacrebleu.metrics import CHRF

    if isinstance(word_order, bool) or not isinstance(word_order, int) or word_order not in (0, 1, 2):
        raise _bad("word_order", f"must be 0, 1 or 2, got {shown(word_order)}", "2 gives chrF++")
    metric = CHRF(word_order=word_order)

    def one(pred: str, ref: str) -> float:
        # sacrebleu scores two empty strings 0; identical text is a perfect match.
        return 1.0 if pred.strip() == ref.strip() else metric.sentence_score(pred, [ref]).score / 100

    return Scorer("chrf", False, per_example(one), {"word_order": word_order})


@register("embedding_similarity")
def embedding_similarity() -> Scorer:
    """Cosine similarity of prediction and reference embeddings, clipped to [0, 1]."""

    def batch(preds: list[str], refs: list[str], context: Context) -> list[float]:
        embed = context.embed
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
    compiled = _compile_phrases("keywords", _check_phrases("keywords", keywords))
    fn = per_example(lambda p, _r: sum(pat.matches(p) for pat in compiled) / len(compiled))
    return Scorer("keyword_coverage", False, fn, {"keywords": keywords})


@register("not_contains")
def not_contains(phrases: list[str]) -> Scorer:
    """1 when none of `phrases` (e.g. banned phrases) appear in the prediction, whole words, any case."""
    compiled = _compile_phrases("phrases", _check_phrases("phrases", phrases))
    fn = per_example(lambda p, _r: not any(pat.matches(p) for pat in compiled))
    return Scorer("not_contains", True, fn, {"phrases": phrases})


# ---- JSON scorers ----

def _parse_json_strict(text: str) -> dict | list | None:
    """The whole trimmed text as a JSON object or array, else None."""
    try:
        value = json.loads(text.strip())
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, (dict, list)) else None


_MAX_SCAN_STEPS = 2_000_000  # characters examined looking for an object: "{{{{..." would otherwise be quadratic


def _first_balanced_object(text: str) -> dict | None:
    """The first `{...}` span (string-aware brace matching) that parses as a JSON object."""
    budget = _MAX_SCAN_STEPS
    for start in (i for i, ch in enumerate(text) if ch == "{"):
        if budget < 0:  # thousands of unclosed braces: not an answer with a JSON object in it
            return None
        depth, in_string, escaped = 0, False, False
        for end in range(start, len(text)):
            budget -= 1
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
    for candidate in [text, *patterns.fenced_blocks(text)]:
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
    """The schema in `schema_file`; a missing or special file names the option, bad content names the file."""
    from advisor import files
    from advisor.scoring.schemas import load_schema_file

    if not isinstance(schema_file, (str, Path)) or not str(schema_file):
        raise _bad("schema_file", f"must be a path, got {shown(schema_file)}")
    path = Path(schema_file)
    text = display_path(path)
    text = text if len(text) <= 200 and text.isprintable() else shown(text, 200)
    try:
        files.check_regular_file(path)
    except UserError as err:
        if err.message == "not found":
            raise _bad("schema_file", f"schema file not found: {text}", "paths are relative to the rubric's folder") \
                from None
        raise _bad("schema_file", f"schema file {text} {err.message}", err.hint) from None
    return load_schema_file(path)


@register("json_schema")
def json_schema(schema: dict | None = None, schema_file: str | None = None) -> Scorer:
    """1 when the leniently parsed prediction validates against a JSON Schema (inline or from a file)."""
    from advisor.scoring import schemas

    if (schema is None) == (schema_file is None):
        raise UserError(None, "options", "json_schema needs exactly one of 'schema' (inline) or 'schema_file'")
    if schema is not None:
        loaded = schema
        validator = schemas.checked_validator(schema, None, "options.schema")
    else:
        loaded = _load_schema_file(schema_file)
        if not isinstance(loaded, (dict, bool)):
            raise _bad("schema_file", f"a JSON Schema must be a mapping, got {type(loaded).__name__}")
        validator = schemas.checked_validator(loaded, Path(str(schema_file)))

    def one(pred: str, _ref: str) -> float:
        value = parse_json_lenient(pred)
        return value is not None and schemas.is_valid(validator, value)

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
    """(path, leaf) pairs of a JSON value; path elements are keys and list indices.

    Iterative, so a prediction nested hundreds of levels deep is scored, not a RecursionError."""
    pairs: list[tuple[tuple, str]] = []
    stack: list[tuple[tuple, Any]] = [(path, value)]
    while stack:
        here, node = stack.pop()
        if isinstance(node, dict) and node:
            stack.extend(reversed([((*here, key), item) for key, item in node.items()]))
        elif isinstance(node, list) and node:
            stack.extend(reversed([((*here, i), item) for i, item in enumerate(node)]))
        else:
            pairs.append((here, _leaf(node)))
    return pairs


@register("json_field_f1")
def json_field_f1(fields: list[str] | None = None, all_or_nothing: bool = False) -> Scorer:
    """F1 over (field path, value) pairs of prediction vs reference JSON; all_or_nothing scores 1 only at F1 = 1."""
    keep = set(_check_phrases("fields", fields)) if fields is not None else None
    exact = _check_bool("all_or_nothing", all_or_nothing)

    def pairs(value: Any) -> Counter:
        flat = flatten_json(value)
        return Counter(p for p in flat if keep is None or (p[0] and p[0][0] in keep))

    def batch(preds: list[str], refs: list[str], _context: Context) -> list[float]:
        scores = []
        for i, (pred, ref) in enumerate(zip(preds, refs)):
            ref_value = _parse_json_strict(ref)
            if ref_value is None:
                raise UserError(None, None, f"json_field_f1 needs a JSON object or array as the reference output, "
                                f"got {shown(ref)}", "references must be plain JSON when the rubric uses json_field_f1")
            pred_value = parse_json_lenient(pred)
            f1 = 0.0 if pred_value is None else _f1(pairs(pred_value), pairs(ref_value))
            scores.append(float(f1 == 1.0) if exact else f1)
        return scores

    return Scorer("json_field_f1", exact, batch, {"fields": fields, "all_or_nothing": all_or_nothing})

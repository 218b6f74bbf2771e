"""Rubrics: weighted criteria, each a scorer; loaded from a shipped name, a YAML file, or inline."""
from __future__ import annotations

import hashlib
import inspect
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor import files
from advisor.errors import UserError, did_you_mean, display_path, shown
from advisor.resources import data_dir
from advisor.scoring.scorers import SCORERS, Embed, Judge, Scorer, make_scorer

RUBRIC_KEYS = ("name", "description", "criteria")
CRITERION_KEYS = ("name", "scorer", "weight", "options")
WEIGHT_RULE = "weights must be >= 0 and not all zero"
MAX_WEIGHT = 1e6        # weights are relative; a bigger one is a typo, and 1e308 + 1e308 overflows to inf
MAX_NAME_CHARS = 200    # rubric and criterion names are labels in tables and charts


@dataclass(frozen=True)
class Criterion:
    """One weighted scorer; `options` are as the user wrote them (for reports)."""

    name: str
    scorer: Scorer
    weight: float
    options: dict[str, Any]
    where: str = ""  # its place in the rubric's file ("rubric.criteria[2]"), for errors found while scoring


@dataclass(frozen=True)
class Rubric:
    """Weighted criteria; `source` is the file that defined it (the task file for inline rubrics)."""

    name: str
    description: str
    criteria: tuple[Criterion, ...]
    source: str | None = None

    @property
    def needs_embedder(self) -> bool:
        """True when some criterion needs `embed=` to score."""
        return any(c.scorer.needs_embedder for c in self.criteria)

    @property
    def judged(self) -> tuple[Criterion, ...]:
        """The criteria a model scores (llm_judge): they need `judge=` and `inputs=`."""
        return tuple(c for c in self.criteria if c.scorer.needs_judge)

    def weights(self) -> dict[str, float]:
        """Criterion weights normalized to sum to 1 (scaled by the largest first, so huge weights cannot overflow)."""
        largest = max(c.weight for c in self.criteria)
        scaled = {c.name: c.weight / largest for c in self.criteria}
        total = sum(scaled.values())
        return {name: w / total for name, w in scaled.items()}

    def score(self, predictions: list[str], references: list[str], embed: Embed | None = None, *,
              inputs: list[str] | None = None, judge: Judge | None = None) -> dict[str, list[float]]:
        """Per-criterion scores for each example, plus "total": their weighted mean."""
        scores = {c.name: c.scorer.score_batch(predictions, references, embed, inputs=inputs, judge=judge)
                  for c in self.criteria}
        weights = self.weights()
        scores["total"] = [
            min(1.0, sum(weights[name] * scores[name][i] for name in weights)) for i in range(len(predictions))
        ]
        return scores

    def explain(self, predictions: list[str], references: list[str], *, inputs: list[str] | None = None,
                judge: Judge | None = None) -> dict[str, list[dict]]:
        """Per-example details of the criteria that have them (a judge's reasons), by criterion name."""
        details = {c.name: c.scorer.explain(predictions, references, inputs=inputs, judge=judge) for c in self.criteria}
        return {name: rows for name, rows in details.items() if rows is not None}

    def check_references(self, references: list[str]) -> tuple[int, UserError] | None:
        """The first reference a criterion cannot score against (e.g. not JSON for json_field_f1), with its error,
        so a bad eval row is refused at load time rather than after the generations."""
        for criterion in self.criteria:
            if criterion.scorer.needs_embedder or criterion.scorer.needs_judge:
                continue
            for i, ref in enumerate(references):
                try:
                    criterion.scorer.score_batch([ref], [ref], None)
                except UserError as err:
                    return i, err
        return None

    def fingerprint(self) -> str:
        """Stable sha256 of what the criteria compute (schema files inlined; names of the rubric excluded)."""
        spec = [{"name": c.name, "scorer": c.scorer.name, "weight": c.weight, "options": c.scorer.options}
                for c in self.criteria]
        return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """The rubric as recorded in results.json."""
        return {"name": self.name, "criteria": [
            {"name": c.name, "scorer": c.scorer.name, "weight": c.weight, "options": c.options,
             "pass_fail": c.scorer.pass_fail} for c in self.criteria]}


def shipped_rubrics() -> dict[str, Path]:
    """Rubric name -> YAML file for the rubrics shipped with advise."""
    return {p.stem: p for p in sorted(data_dir("rubrics").glob("*.yaml"))}


def load_rubric(value: Any, base_dir: Path, source_file: Path | str, field: str = "rubric") -> Rubric:
    """Rubric from a shipped name, a YAML path (relative to base_dir), a list of criteria, or {criteria: ...}."""
    if isinstance(value, (str, Path)):
        text = str(value)
        if isinstance(value, Path) or text.lower().endswith((".yaml", ".yml")) or "/" in text or "\\" in text:
            path = Path(base_dir) / value
            if "\x00" in text:
                raise UserError(source_file, field, "the rubric path contains a NUL character",
                                "remove the stray character")
            if not os.path.lexists(path):
                raise UserError(source_file, field, f"rubric file not found: {_path_text(path)}",
                                f"paths are relative to {display_path(Path(base_dir).resolve())}")
            files.check_regular_file(path, field, Path(source_file))
            return load_rubric_file(path)
        shipped = shipped_rubrics()
        if text not in shipped:
            raise UserError(source_file, field, f"unknown rubric {shown(text, 40)}",
                            did_you_mean(text[:40], list(shipped)))
        return load_rubric_file(shipped[text])
    if isinstance(value, list):
        return _build(value, "custom", "", source_file, field, Path(base_dir))
    if isinstance(value, dict):
        return _from_mapping(value, "custom", source_file, field, Path(base_dir))
    raise UserError(source_file, field, f"must be a rubric name, a path to a YAML file, a list of criteria "
                    f"or a mapping with 'criteria', got {type(value).__name__}",
                    did_you_mean("", list(shipped_rubrics())))


def _path_text(path: Path) -> str:
    """A path for a message: as typed when short and printable, else bounded and escaped."""
    text = display_path(path)
    return text if len(text) <= 200 and text.isprintable() else shown(text, 200)


def load_rubric_file(path: Path) -> Rubric:
    """Rubric from a YAML file; paths inside it (schema_file) are relative to its folder.

    Read like every user file (files.read_text / load_yaml): a FIFO, a device, a symlink loop, a folder, an
    oversized file, bad encodings, duplicate keys, alias bombs and runaway nesting are one-line errors."""
    data = files.load_yaml(path, files.MAX_CONFIG_BYTES)
    if not isinstance(data, dict):
        raise UserError(path, None, "a rubric file must be a mapping with 'name', 'description' and 'criteria'")
    return _from_mapping(data, path.stem, path, None, path.parent)


def _join(prefix: str | None, rest: str) -> str:
    return f"{prefix}.{rest}" if prefix else rest


def _from_mapping(data: dict, default_name: str, file: Path | str, prefix: str | None, base_dir: Path) -> Rubric:
    for key in data:
        if key not in RUBRIC_KEYS:
            raise UserError(file, _join(prefix, str(key)[:40]), f"unknown key {shown(key, 40)}",
                            did_you_mean(str(key)[:40], RUBRIC_KEYS))
    if "criteria" not in data:
        raise UserError(file, prefix, "missing 'criteria' (a list of {name, scorer, weight, options})")
    name, description = data.get("name", default_name), data.get("description", "")
    for key, val in (("name", name), ("description", description)):
        if not isinstance(val, str):
            raise UserError(file, _join(prefix, key), f"must be a string, got {shown(val)}")
    _check_name(name, file, _join(prefix, "name"))
    return _build(data["criteria"], name, description, file, _join(prefix, "criteria"), base_dir)


def _build(items: Any, name: str, description: str, file: Path | str, where: str, base_dir: Path) -> Rubric:
    if not isinstance(items, list) or not items:
        raise UserError(file, where, "must be a non-empty list of criteria ({name, scorer, weight, options})")
    criteria: list[Criterion] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        criterion = _criterion(item, file, f"{where}[{i}]", base_dir)
        if criterion.name in seen:
            raise UserError(file, f"{where}[{i}].name",
                            f"duplicate criterion name {shown(criterion.name)} (also {where}[{seen[criterion.name]}])",
                            "give each criterion a distinct 'name'")
        seen[criterion.name] = i
        criteria.append(criterion)
    if sum(c.weight for c in criteria) <= 0:
        raise UserError(file, where, f"{WEIGHT_RULE} (all are zero)")
    return Rubric(name, description, tuple(criteria), str(file))


def _check_name(name: str, file: Path | str, where: str) -> None:
    """Names are labels: bounded, and free of control characters that would break a table or an SVG."""
    if len(name) > MAX_NAME_CHARS:
        raise UserError(file, where, f"a name of {len(name):,} characters; the limit is {MAX_NAME_CHARS}",
                        "use a short label; put the explanation in 'description'")
    if any(ord(ch) < 32 or 0x7f <= ord(ch) < 0xa0 for ch in name):
        raise UserError(file, where, f"contains a control character: {shown(name)}", "use a plain one-line label")


def _criterion(item: Any, file: Path | str, where: str, base_dir: Path) -> Criterion:
    if not isinstance(item, dict):
        raise UserError(file, where, f"must be a mapping with {', '.join(CRITERION_KEYS)}, got {shown(item)}")
    for key in item:
        if key not in CRITERION_KEYS:
            raise UserError(file, f"{where}.{str(key)[:40]}", f"unknown key {shown(key, 40)}",
                            did_you_mean(str(key)[:40], CRITERION_KEYS))
    scorer_name = item.get("scorer")
    if scorer_name is None or scorer_name == "" or (isinstance(scorer_name, str) and not scorer_name.strip()):
        raise UserError(file, f"{where}.scorer", "missing scorer name", did_you_mean("", list(SCORERS)))
    if not isinstance(scorer_name, str):
        raise UserError(file, f"{where}.scorer", f"must be one scorer name, got {type(scorer_name).__name__} "
                        f"{shown(scorer_name)}", "write `scorer: exact_match`; use one criterion per scorer")
    if scorer_name not in SCORERS:
        raise UserError(file, f"{where}.scorer", f"unknown scorer {shown(scorer_name, 40)}",
                        did_you_mean(scorer_name[:40], list(SCORERS)))
    name = item.get("name", scorer_name)
    if not isinstance(name, str) or not name.strip() or name == "total":
        raise UserError(file, f"{where}.name", f"must be a non-empty string other than 'total', got {shown(name)}")
    _check_name(name, file, f"{where}.name")
    weight = item.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= MAX_WEIGHT:
        if isinstance(weight, (int, float)) and not isinstance(weight, bool) and weight > MAX_WEIGHT:
            raise UserError(file, f"{where}.weight", f"must be at most {MAX_WEIGHT:,.0f}, got {shown(weight)}",
                            "weights are relative: 2 and 1 mean the same as 2,000 and 1,000")
        raise UserError(file, f"{where}.weight", f"{WEIGHT_RULE}, got {shown(weight)}")
    options = item.get("options")
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise UserError(file, f"{where}.options", f"must be a mapping of option: value, got {shown(options)}",
                        "e.g. options: {normalize: false}")
    for key in options:
        if not isinstance(key, str):
            names = _option_names(scorer_name)
            raise UserError(file, f"{where}.options", f"option names must be text, got {shown(key)}",
                            f"{scorer_name} takes " + (", ".join(names) if names else "no options"))
    resolved = dict(options)
    if scorer_name == "json_schema" and isinstance(options.get("schema_file"), str) and options["schema_file"]:
        resolved["schema_file"] = str(base_dir / options["schema_file"])
    try:
        scorer = make_scorer(scorer_name, **resolved)
    except UserError as err:
        if err.file:  # a problem inside a file the criterion names (a schema file): that file is the place
            raise
        raise UserError(file, _join(where, err.where) if err.where else where, err.message, err.hint) from None
    return Criterion(name, scorer, float(weight), dict(options), where)


def _option_names(scorer_name: str) -> list[str]:
    factory = SCORERS.get(scorer_name)
    return list(inspect.signature(factory).parameters) if factory else []

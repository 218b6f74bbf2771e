"""Rubrics: weighted criteria, each a scorer; loaded from a shipped name, a YAML file, or inline."""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from advisor.errors import UserError, did_you_mean, display_path
from advisor.resources import data_dir
from advisor.scoring.scorers import SCORERS, Embed, Scorer, make_scorer

RUBRIC_KEYS = ("name", "description", "criteria")
CRITERION_KEYS = ("name", "scorer", "weight", "options")
WEIGHT_RULE = "weights must be >= 0 and not all zero"


@dataclass(frozen=True)
class Criterion:
    """One weighted scorer; `options` are as the user wrote them (for reports)."""

    name: str
    scorer: Scorer
    weight: float
    options: dict[str, Any]


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

    def weights(self) -> dict[str, float]:
        """Criterion weights normalized to sum to 1."""
        total = sum(c.weight for c in self.criteria)
        return {c.name: c.weight / total for c in self.criteria}

    def score(self, predictions: list[str], references: list[str], embed: Embed | None = None) -> dict[str, list[float]]:
        """Per-criterion scores for each example, plus "total": their weighted mean."""
        scores = {c.name: c.scorer.score_batch(predictions, references, embed) for c in self.criteria}
        weights = self.weights()
        scores["total"] = [
            min(1.0, sum(weights[name] * scores[name][i] for name in weights)) for i in range(len(predictions))
        ]
        return scores

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
        if isinstance(value, Path) or text.endswith((".yaml", ".yml")) or "/" in text or "\\" in text:
            path = Path(base_dir) / value
            if not path.is_file():
                raise UserError(source_file, field, f"rubric file not found: {display_path(path)}",
                                f"paths are relative to {display_path(Path(base_dir).resolve())}")
            return load_rubric_file(path)
        shipped = shipped_rubrics()
        if text not in shipped:
            raise UserError(source_file, field, f"unknown rubric {text!r}", did_you_mean(text, list(shipped)))
        return load_rubric_file(shipped[text])
    if isinstance(value, list):
        return _build(value, "custom", "", source_file, field, Path(base_dir))
    if isinstance(value, dict):
        return _from_mapping(value, "custom", source_file, field, Path(base_dir))
    raise UserError(source_file, field, f"must be a rubric name, a path to a YAML file, a list of criteria "
                    f"or a mapping with 'criteria', got {type(value).__name__}",
                    did_you_mean("", list(shipped_rubrics())))


def load_rubric_file(path: Path) -> Rubric:
    """Rubric from a YAML file; paths inside it (schema_file) are relative to its folder."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(err, "problem", None) or str(err)
        raise UserError(path, where, f"invalid YAML: {problem}") from None
    except OSError as err:
        raise UserError(path, None, f"cannot read rubric file: {err.strerror}") from None
    if not isinstance(data, dict):
        raise UserError(path, None, "a rubric file must be a mapping with 'name', 'description' and 'criteria'")
    return _from_mapping(data, path.stem, path, None, path.parent)


def _join(prefix: str | None, rest: str) -> str:
    return f"{prefix}.{rest}" if prefix else rest


def _from_mapping(data: dict, default_name: str, file: Path | str, prefix: str | None, base_dir: Path) -> Rubric:
    for key in data:
        if key not in RUBRIC_KEYS:
            raise UserError(file, _join(prefix, str(key)), f"unknown key {key!r}", did_you_mean(str(key), RUBRIC_KEYS))
    if "criteria" not in data:
        raise UserError(file, prefix, "missing 'criteria' (a list of {name, scorer, weight, options})")
    name, description = data.get("name", default_name), data.get("description", "")
    for key, val in (("name", name), ("description", description)):
        if not isinstance(val, str):
            raise UserError(file, _join(prefix, key), f"must be a string, got {val!r}")
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
                            f"duplicate criterion name {criterion.name!r} (also {where}[{seen[criterion.name]}])",
                            "give each criterion a distinct 'name'")
        seen[criterion.name] = i
        criteria.append(criterion)
    if sum(c.weight for c in criteria) <= 0:
        raise UserError(file, where, f"{WEIGHT_RULE} (all are zero)")
    return Rubric(name, description, tuple(criteria), str(file))


def _criterion(item: Any, file: Path | str, where: str, base_dir: Path) -> Criterion:
    if not isinstance(item, dict):
        raise UserError(file, where, f"must be a mapping with {', '.join(CRITERION_KEYS)}, got {item!r}")
    for key in item:
        if key not in CRITERION_KEYS:
            raise UserError(file, f"{where}.{key}", f"unknown key {key!r}", did_you_mean(str(key), CRITERION_KEYS))
    scorer_name = item.get("scorer")
    if not isinstance(scorer_name, str):
        raise UserError(file, f"{where}.scorer", "missing scorer name", did_you_mean("", list(SCORERS)))
    name = item.get("name", scorer_name)
    if not isinstance(name, str) or not name.strip() or name == "total":
        raise UserError(file, f"{where}.name", f"must be a non-empty string other than 'total', got {name!r}")
    weight = item.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight < math.inf:
        raise UserError(file, f"{where}.weight", f"{WEIGHT_RULE}, got {weight!r}")
    options = item.get("options") or {}
    if not isinstance(options, dict):
        raise UserError(file, f"{where}.options", f"must be a mapping of option: value, got {options!r}")
    resolved = dict(options)
    if scorer_name == "json_schema" and isinstance(options.get("schema_file"), str):
        resolved["schema_file"] = str(base_dir / options["schema_file"])
    try:
        scorer = make_scorer(scorer_name, **resolved)
    except UserError as err:
        raise UserError(file, _join(where, err.where) if err.where else where, err.message, err.hint) from None
    return Criterion(name, scorer, float(weight), dict(options))

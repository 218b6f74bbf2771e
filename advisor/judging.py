"""The judge models of a run (the rubric's llm_judge criteria): checked at load, built once, every judgement cached;
people's labels (`data.judge_labels`) and what the run can say about each judge's validity and biases."""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from . import stats
from .backends.base import Messages, generate_cached, generation_key
from .data import read_rows
from .errors import UserError, did_you_mean, shown
from .progress import Reporter
from .runs import JsonlCache
from .scoring import Criterion, Rubric
from .scoring.judge import JudgeSpec
from .spec import DEFAULT_MODEL, EndpointModel, Task

LABELS_FIELD = "data.judge_labels"
LENGTH_BIAS_RHO = 0.3  # |Spearman| of judge score with answer length above this (and significant): a warning
_PASS = {"pass": 1.0, "true": 1.0, "yes": 1.0, "1": 1.0, "fail": 0.0, "false": 0.0, "no": 0.0, "0": 0.0}


def _model_key(model: str | EndpointModel) -> str:
    return model if isinstance(model, str) else json.dumps(model.model_dump(), sort_keys=True)


def _place(rubric: Rubric, criterion: Criterion) -> tuple[Path | None, str]:
    """(file, field) of a criterion's `judge` option: the task file or the rubric file that defines it."""
    return (Path(rubric.source) if rubric.source else None), f"{criterion.where}.options.judge"


def check_judges(rubric: Rubric, task: Task) -> None:
    """Load-time checks of every judge (no model work): a local folder exists, an endpoint's key variable is set."""
    from .backends.models import resolve_model

    for criterion in rubric.judged:
        file, where = _place(rubric, criterion)
        model = criterion.scorer.judge_spec.model
        if isinstance(model, EndpointModel):
            env = model.api_key_env
            if env and not os.environ.get(env, "").strip():
                raise UserError(file, f"{where}.api_key_env", f"environment variable {env} is not set or empty",
                                f"export {env}=... before running, or remove {where}.api_key_env for a local server")
        elif model not in (DEFAULT_MODEL, "default"):
            resolve_model(model, file.parent if file else task.base_dir, where, file or task.task_file)


@dataclass
class Usage:
    """What one judge model did in this run: distinct prompts judged (cache hits included; their tokens and seconds
    as first measured) and how many it had to answer now."""

    judged: int = 0
    answered: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0


@dataclass
class Judges:
    """`Context.judge` for a run: (JudgeSpec, conversations) -> replies, greedy, cached in cache/judgements.jsonl.
    A judge that names the same model as the one being evaluated reuses its backend (and is self-preferring)."""

    rubric: Rubric
    task: Task
    candidate: object  # the run's generation backend
    cache: JsonlCache
    reporter: Reporter = field(default_factory=Reporter)
    usage: dict[str, Usage] = field(default_factory=dict)
    _backends: dict[str, object] = field(default_factory=dict)
    _places: dict[int, tuple[Path | None, str]] = field(default_factory=dict)
    _names: dict[int, str] = field(default_factory=dict)
    _seen: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._places = {id(c.scorer.judge_spec): _place(self.rubric, c) for c in self.rubric.judged}
        self._names = {id(c.scorer.judge_spec): c.name for c in self.rubric.judged}

    def backend(self, spec: JudgeSpec):
        key = _model_key(spec.model)
        if key not in self._backends:
            self._backends[key] = self._build(spec)
        return self._backends[key]

    def _build(self, spec: JudgeSpec):
        file, where = self._places.get(id(spec), (None, "judge"))
        if isinstance(spec.model, EndpointModel):
            from .backends.openai_compat import OpenAIBackend

            backend = OpenAIBackend(spec.model, file, field=where)
            if backend.identity == getattr(self.candidate, "identity", None):
                return self.candidate
            return backend
        from .backends.local import LocalBackend
        from .backends.models import resolve_model

        base = file.parent if file else self.task.base_dir
        identity, found = resolve_model(spec.model, base, where, file or self.task.task_file, self.reporter)
        if str(found) == str(getattr(self.candidate, "where", None)):
            return self.candidate
        backend = LocalBackend(found, batch_size=self.task.generation.batch_size,
                               precision=self.task.generation.precision)
        backend.description = identity
        return backend

    def describe(self, spec: JudgeSpec) -> str:
        backend = self.backend(spec)
        return str(getattr(backend, "description", backend.identity))

    def self_preferring(self, spec: JudgeSpec) -> bool:
        """True when the judge is the very model whose answers it grades."""
        return self.backend(spec).identity == getattr(self.candidate, "identity", None)

    def __call__(self, spec: JudgeSpec, conversations: list[Messages]) -> list[str]:
        backend = self.backend(spec)
        usage = self.usage.setdefault(_model_key(spec.model), Usage())
        before = len(self.cache)
        gens = generate_cached(backend, conversations, spec.max_tokens, self.cache, self.reporter,
                               f"judging {len(conversations)} answers ({self._names.get(id(spec), 'llm_judge')})")
        usage.answered += len(self.cache) - before
        for conversation, g in zip(conversations, gens):  # each distinct prompt once, cached or not
            key = generation_key(backend.generation_identity, None, conversation, spec.max_tokens)
            if key not in self._seen:
                self._seen.add(key)
                usage.judged += 1
                usage.input_tokens += g.input_tokens
                usage.output_tokens += g.output_tokens
                usage.seconds += g.seconds
        return [g.text for g in gens]


# ---- people's labels --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Label:
    """A person's score for one eval answer of one lever, on the judge's scale mapped to [0, 1]."""

    id: str
    lever: str
    criterion: str
    score: float


def _label_score(value: object, spec: JudgeSpec, path: Path, where: str) -> float:
    if spec.pass_fail:
        if isinstance(value, float) and value in (0.0, 1.0):
            value = int(value)
        key = str(value).strip().lower() if isinstance(value, (str, bool, int)) else None
        if key in _PASS:
            return _PASS[key]
        raise UserError(path, where, f"must be pass or fail (or true/false, 1/0), got {shown(value)}",
                        "the criterion's scale is pass_fail")
    number = value
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if isinstance(number, bool) or not isinstance(number, (int, float)) or number not in (1, 2, 3, 4, 5):
        raise UserError(path, where, f"must be a whole number from 1 to 5, got {shown(value)}",
                        "the criterion's scale is 1-5")
    return (float(number) - 1) / 4


def load_labels(path: Path, task: Task, rubric: Rubric, eval_ids: Sequence[str], levers: Sequence[str]) -> list[Label]:
    """`data.judge_labels`: rows of {id, lever, score} (plus `criterion` when the rubric has several judges),
    .jsonl or .csv, checked against the eval ids, the lever names and the judge's scale."""
    judged = {c.name: c for c in rubric.judged}
    if not judged:
        raise UserError(task.task_file, task.locate(LABELS_FIELD), "the rubric has no llm_judge criterion to validate",
                        "remove data.judge_labels, or add an llm_judge criterion to the rubric")
    rows, _ = read_rows(path, LABELS_FIELD, task.task_file, required=("id", "lever", "score"))
    known_ids, labels, seen = set(eval_ids), [], {}
    for line, row in rows:
        where = f"line {line}"
        if not isinstance(row, dict):
            raise UserError(path, where, f"must be an object with id, lever and score, got {shown(row)}")
        extra = sorted(set(row) - {"id", "lever", "score", "criterion", "note"})
        if extra:
            raise UserError(path, f"{where}: {shown(extra[0], 40)}", "unknown field",
                            did_you_mean(str(extra[0])[:40], ["id", "lever", "score", "criterion", "note"]))
        for key in ("id", "lever", "score"):
            if row.get(key) in (None, ""):
                raise UserError(path, f"{where}: {key}", "is missing", "each row gives id, lever and score")
        ex_id, lever = str(row["id"]), str(row["lever"])
        if ex_id not in known_ids:
            raise UserError(path, f"{where}: id", f"{shown(ex_id, 40)} is not an eval row's id",
                            "labels score eval answers; ids are the eval file's `id` (or eval-N for rows without one)")
        if lever not in levers:
            raise UserError(path, f"{where}: lever", f"unknown lever {shown(lever, 40)}", did_you_mean(lever, list(levers)))
        name = row.get("criterion")
        if name is not None and not isinstance(name, str):
            raise UserError(path, f"{where}: criterion", f"must be a criterion's name, got {shown(name)}",
                            f"one of: {', '.join(judged)}")
        if name is None:
            if len(judged) > 1:
                raise UserError(path, f"{where}: criterion", "is missing, and the rubric has several llm_judge "
                                f"criteria ({', '.join(judged)})", "say which criterion the score is for")
            name = next(iter(judged))
        if name not in judged:
            raise UserError(path, f"{where}: criterion", f"{shown(name, 40)} is not an llm_judge criterion",
                            did_you_mean(str(name)[:40], list(judged)))
        score = _label_score(row["score"], judged[name].scorer.judge_spec, path, f"{where}: score")
        key = (ex_id, lever, name)
        if key in seen:
            raise UserError(path, where, f"a second label for {shown(ex_id, 40)} / {lever} / {name} (first on line "
                            f"{seen[key]})", "give one label per answer and criterion")
        seen[key] = line
        labels.append(Label(ex_id, lever, name, score))
    if not labels:
        raise UserError(path, None, "no labels in file", f"`{LABELS_FIELD}` needs rows of id, lever, score")
    return labels


# ---- what the run says about each judge ------------------------------------------------------------------

def _validity(spec: JudgeSpec, pairs: list[tuple[float, float]], levers_without_answers: set[str]) -> dict | None:
    """Agreement of the judge with people on the labelled answers: Cohen's kappa (pass/fail) or Spearman (1-5)."""
    if not pairs:
        return None
    human, judge = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    statistic, name = (stats.cohen_kappa, "cohen_kappa") if spec.pass_fail else (stats.spearman, "spearman")
    interval = stats.agreement_interval(statistic, human, judge)
    record = {"labels": len(pairs), "statistic": name, "agreement": float(np.mean(np.isclose(human, judge))),
              "value": None, "ci_low": None, "ci_high": None,
              "mean_human": float(human.mean()), "mean_judge": float(judge.mean())}
    if interval is not None:
        record.update(value=interval.mean, ci_low=None if math.isnan(interval.ci_low) else interval.ci_low,
                      ci_high=None if math.isnan(interval.ci_high) else interval.ci_high)
    if levers_without_answers:
        record["levers_not_run"] = sorted(levers_without_answers)
    return record


def _length_bias(scores: list[float], lengths: list[int]) -> dict | None:
    """Spearman correlation of judge score with answer length in words, with its p-value."""
    from scipy.stats import spearmanr

    if len(scores) < 8 or np.ptp(scores) == 0 or np.ptp(lengths) == 0:
        return None
    result = spearmanr(scores, lengths)
    return {"spearman": float(result.statistic), "p_value": float(result.pvalue), "answers": len(scores)}


def summarize(rubric: Rubric, judges: Judges, rows_by_lever: dict[str, list[dict]],
              labels: Sequence[Label]) -> tuple[list[dict], list[dict]]:
    """One record per llm_judge criterion for results.json ("judges"), and the warnings the run should carry:
    unparsed replies, self-preference, a length bias, no human labels (unvalidated)."""
    records, warnings = [], []
    for criterion in rubric.judged:
        spec: JudgeSpec = criterion.scorer.judge_spec
        judged = [(row["judgements"][criterion.name], len(row["prediction"].split()), lever, row["id"])
                  for lever, rows in rows_by_lever.items() for row in rows if criterion.name in row.get("judgements", {})]
        unparsed = sum(not j["parsed"] for j, *_ in judged)
        by_answer = {(lever, ex_id): j["score"] for j, _, lever, ex_id in judged}
        mine = [lab for lab in labels if lab.criterion == criterion.name]
        pairs = [(lab.score, by_answer[(lab.lever, lab.id)]) for lab in mine if (lab.lever, lab.id) in by_answer]
        not_run = {lab.lever for lab in mine if lab.lever not in rows_by_lever}
        usage = judges.usage.get(_model_key(spec.model), Usage())
        record = {
            "criterion": criterion.name, "judge": judges.describe(spec), "scale": spec.scale,
            "reference": spec.reference, "answers": len(judged), "unparsed": unparsed,
            "unparsed_rate": unparsed / len(judged) if judged else 0.0,
            "self_preference": judges.self_preferring(spec),
            "length_bias": _length_bias([j["score"] for j, *_ in judged], [n for _, n, *_ in judged]),
            "validity": _validity(spec, pairs, not_run),
            "calls": {"judged": usage.judged, "answered": usage.answered, "input_tokens": usage.input_tokens,
                      "output_tokens": usage.output_tokens, "seconds": round(usage.seconds, 2)},
        }
        records.append(record)
        warnings.extend(_judge_warnings(record))
    return records, warnings


def _judge_warnings(record: dict) -> list[dict]:
    name, out = record["criterion"], []
    if record["unparsed"]:
        out.append({"code": "judge_unparsed", "message": f"the judge of {name} gave {record['unparsed']} of "
                    f"{record['answers']} replies that do not parse; each scored 0 (see the judge's replies in the "
                    "report), so this criterion understates every lever that got them"})
    if record["self_preference"]:
        out.append({"code": "judge_self_preference", "message": f"{name} is judged by the same model that wrote the "
                    "answers; models tend to prefer their own text, so use another judge for a decision that matters"})
    bias = record["length_bias"]
    if bias and abs(bias["spearman"]) >= LENGTH_BIAS_RHO and bias["p_value"] < 0.05:
        direction = "longer" if bias["spearman"] > 0 else "shorter"
        out.append({"code": "judge_length_bias", "message": f"the judge of {name} favours {direction} answers "
                    f"(Spearman {bias['spearman']:+.2f} between score and length, p={bias['p_value']:.3g}); a lever "
                    "may win on length rather than quality"})
    validity = record["validity"]
    if validity is None:
        out.append({"code": "judge_unvalidated", "message": f"the judge of {name} is unvalidated: no human labels "
                    f"were given ({LABELS_FIELD}); its scores are one model's opinion"})
    elif validity["value"] is not None and validity["ci_low"] is not None and validity["ci_low"] < 0.2:
        out.append({"code": "judge_low_agreement", "message": f"the judge of {name} agrees weakly with people "
                    f"({validity['statistic']} {validity['value']:.2f} [{validity['ci_low']:.2f}, "
                    f"{validity['ci_high']:.2f}] on {validity['labels']} labels)"})
    return out

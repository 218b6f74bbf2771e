"""results.json's contract (schema_version 1), as pydantic models: `Results` and its parts.

These models ARE the layout of results.json: compare.py validates what it is about to write with them (a mismatch
is a bug), `advise report` / `advise diff` read a stored run only once `runs.check_results` has validated it with
them, and docs/results.schema.json is generated from them (`python -m advisor.results > docs/results.schema.json`).

Numbers are strict: an integer is a number, a bool or a string is not. A field is optional only where a run may
legitimately lack it: a skipped lever has no score, cost or artifacts; "judges" exists only with an llm_judge
criterion; fields added after schema_version 1 was first written ("checks", a lever's "risks", ...) are absent in
older runs. Extra keys are allowed (older readers ignore newer fields); lever-specific parts ("chosen", "details",
dev rows' settings, "artifacts") are open mappings. Size and depth limits are runs.py's (`read_results`).
"""
from __future__ import annotations

import json
from typing import Any, Literal, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError
from typing_extensions import Annotated

from .runs import SCHEMA_VERSION
OK_LEVER_FIELDS = ("score", "criteria", "criteria_ci", "cost", "chosen", "dev", "details", "artifacts")


def _a_path(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError("path_type", "must be a path")
    return value


RelPath = Annotated[str, BeforeValidator(_a_path), Field(description="a path relative to the run folder")]


class Part(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class Score(Part):
    """A mean with its 95% confidence interval (paired bootstrap; seed spread included when there are replicas)."""

    mean: float
    ci_low: float
    ci_high: float


class CellCost(Part):
    """What one call takes, measured on the eval set, and the money fields when prices are set: a lever's `cost`
    and a grid cell's."""

    input_tokens_per_call: float
    output_tokens_per_call: float
    seconds_per_call: float
    latency_p50: float
    latency_p95: float
    train_seconds: float
    index_seconds: float
    cost_per_1k_calls: Optional[float] = Field(None, description="only when a price is configured")
    one_off_cost: Optional[float] = Field(None, description="training / index build; only when a price is configured")
    monthly_cost: Optional[float] = Field(None, description="only with prices and calls_per_month")


class Cost(CellCost):
    """A lever's cost: a cell's, and the retrieval share of each call."""

    retrieval_seconds_per_call: Optional[float] = Field(None, description="embed + search time; absent in older runs")


class DevRow(Part):
    """One variant a lever scored on dev, with its settings (extra keys: shots, top_k, placement, ...)."""

    variant: str
    score: float
    dev_rows: Optional[int] = None
    input_tokens_per_call: Optional[float] = None
    chosen_because: Optional[str] = Field(None, description="on the chosen row only")


class Artifacts(Part):
    """Files the lever left, relative to the run folder when inside it (extra keys: the prompt lever's instruction)."""

    predictions: RelPath
    adapter: Optional[str] = None
    index: Optional[str] = None
    chunks: Optional[str] = None
    instruction: Optional[str] = None


class LeverResult(Part):
    """One lever's outcome. A lever with status "ok" has score, criteria, criteria_ci, cost, chosen, dev, details and
    artifacts (OK_LEVER_FIELDS); a skipped one has only its name, status and reason."""

    model_config = ConfigDict(json_schema_extra={"if": {"properties": {"status": {"const": "ok"}}},
                                                 "then": {"required": list(OK_LEVER_FIELDS)}})

    name: str
    status: Literal["ok", "skipped"]
    reason: Optional[str] = Field(description="why it was skipped; null when it ran")
    score: Optional[Score] = None
    criteria: dict[str, float] = Field(default_factory=dict, description="criterion -> mean")
    criteria_ci: dict[str, Score] = Field(default_factory=dict)
    cost: Optional[Cost] = None
    chosen: dict[str, Any] = Field(default_factory=dict, description="what the lever chose on dev")
    dev: list[DevRow] = Field(default_factory=list, description="every variant tried on dev")
    details: dict[str, Any] = Field(default_factory=dict, description="lever-specific: retrieval metrics, loss curve")
    risks: Optional[list[str]] = Field(None, description="codes of this lever's own risk warnings; absent in older runs")
    undertrained: Optional[bool] = None
    undertrained_note: Optional[str] = None
    artifacts: Optional[Artifacts] = None
    wall_seconds: Optional[float] = None

    def missing_when_ok(self) -> str | None:
        """The first field a lever that ran must have and this one lacks (None when complete or skipped)."""
        if self.status != "ok":
            return None
        return next((key for key in OK_LEVER_FIELDS if key not in self.model_fields_set), None)


class Comparison(Part):
    """Lever A against lever B on the same eval examples, from A's side (diff = A - B)."""

    a: str
    b: str
    diff: float
    ci_low: float
    ci_high: float
    p_value: Optional[float] = Field(description="raw two-sided p of this pair's test")
    test: str
    verdict: Literal["better", "worse", "indistinguishable"]
    p_holm: Optional[float] = Field(None, description="Holm-adjusted over every pair; absent in older runs")
    mdd: Optional[float] = Field(None, description="this pair's minimum detectable difference")


class MajorityClass(Part):
    label: str
    score: float


class Baselines(Part):
    majority_class: Optional[MajorityClass] = Field(None, description="null when the references are not class labels")


class Warning(Part):
    code: str
    message: str
    count: Optional[int] = None
    examples: Optional[list[str]] = Field(None, description="a few example ids")


class Check(Part):
    """One check's outcome: what it looked at and found, or why it was skipped."""

    name: str
    status: Literal["passed", "warning", "skipped"]
    detail: str
    lever: Optional[str] = Field(None, description="for per-lever checks")


class Criterion(Part):
    name: str
    scorer: str
    weight: float
    options: dict[str, Any]
    pass_fail: bool


class Rubric(Part):
    name: Optional[str]
    criteria: list[Criterion]


class BreakEven(Part):
    """A fine-tuning lever against another lever: when its one-off cost pays back."""

    lever: str
    versus: str
    break_even_calls: Optional[float]
    break_even_calls_per_month: Optional[float]
    cheaper_below_calls_per_month: Optional[float] = None
    horizon_months: float
    cheaper_now: Optional[bool]
    sentence: str


class CostModel(Part):
    """The prices and volume the run was priced with (null when not configured)."""

    price_per_1m_input: Optional[float]
    price_per_1m_output: Optional[float]
    machine_cost_per_hour: Optional[float]
    calls_per_month: Optional[float]
    min_yearly_saving: Optional[float] = None
    break_even: list[BreakEven]


class Recommendation(Part):
    lever: Optional[str] = Field(description="null when no lever ran")
    confidence: Literal["clear", "likely", "toss-up", "none"]
    reasons: list[str]
    what_would_change: list[str]
    model: Optional[str] = Field(None, description="grid runs only: the chosen cell's model label")
    cell: Optional[str] = Field(None, description='grid runs only: the chosen cell, "LABEL + LEVER"')


class Model(Part):
    kind: str = Field(description='"local" or "openai"')
    id: str
    source: str
    parameters: Optional[int] = Field(description="local models only")


class Sizes(Part):
    train: int
    dev: int
    eval: int
    guard: Optional[int] = None
    corpus_docs: int
    corpus_chunks: Optional[int]


class Hashes(Part):
    train: str
    eval: str
    corpus: Optional[str]


class Task(Part):
    name: str
    instruction: str
    task_file: str
    sizes: Sizes
    hashes: Hashes
    max_new_tokens: Optional[int] = None


class Environment(Part):
    python: str
    platform: str
    packages: dict[str, str]
    device: str
    seed: int
    threads: Optional[int]


class LengthBias(Part):
    spearman: float
    p_value: float
    answers: int


class Validity(Part):
    """Agreement of the judge with people's labels."""

    labels: int
    statistic: Literal["cohen_kappa", "spearman"]
    value: Optional[float]
    ci_low: Optional[float]
    ci_high: Optional[float]
    agreement: float
    mean_human: float
    mean_judge: float
    levers_not_run: Optional[list[str]] = None


class JudgeCalls(Part):
    judged: int
    answered: int
    input_tokens: int
    output_tokens: int
    seconds: float


class Judge(Part):
    """One llm_judge criterion: who judged, how often it failed to answer, its biases and its validity."""

    criterion: str
    judge: str
    scale: str
    reference: bool
    answers: int
    unparsed: int
    unparsed_rate: float
    self_preference: bool
    length_bias: Optional[LengthBias]
    validity: Optional[Validity] = Field(description="null without human labels (data.judge_labels)")
    calls: JudgeCalls


class Cell(Part):
    """One (model, lever) of the grid. A cell that ran has score, criteria, cost, risks, undertrained and
    predictions; a skipped one its reason (an endpoint without weights cannot be fine-tuned)."""

    name: str = Field(description='"LABEL + LEVER", the name comparisons and the recommendation use')
    model: str = Field(description="the model's label")
    lever: str
    status: Literal["ok", "skipped"]
    reason: Optional[str] = Field(description="why it was skipped; null when it ran")
    score: Optional[Score] = None
    criteria: dict[str, float] = Field(default_factory=dict)
    cost: Optional[CellCost] = None
    risks: list[str] = Field(default_factory=list)
    undertrained: bool = False
    predictions: Optional[RelPath] = Field(None, description="predictions/LABEL/LEVER.jsonl")


class GridModel(Part):
    """One model of the grid: its label, what it is, its own lever decision and the warnings its levers raised."""

    label: str
    model: Model
    recommendation: Recommendation = Field(description="the decision among this model's levers alone")
    warnings: list[Warning] = Field(description="this model's own warnings (the data's are at the top level)")


class Grid(Part):
    """A model x lever grid (`models:` in task.yaml). The top level of results.json is the recommended model's run;
    this section has every cell, the paired comparisons across cells (same eval ids, Holm over every pair), and
    the Pareto front of mean score against cost per call."""

    models: list[GridModel]
    cells: list[Cell]
    comparisons: list[Comparison] = Field(description='a and b are cell names "LABEL + LEVER"')
    min_detectable_difference: Optional[float] = Field(description="between the two best cells")
    pareto: list[str] = Field(description="cells no other beats on both score and cost per call, cheapest first")


class Results(Part):
    """results.json."""

    model_config = ConfigDict(title="advise results.json (schema_version 1)")

    schema_version: int = Field(json_schema_extra={"const": SCHEMA_VERSION})
    task: Task
    model: Model
    rubric: Rubric
    levers: list[LeverResult]
    comparisons: list[Comparison]
    baselines: Baselines
    min_detectable_difference: Optional[float]
    warnings: list[Warning]
    checks: list[Check] = Field(default_factory=list, description="absent in older runs")
    cost_model: CostModel
    recommendation: Recommendation
    environment: Environment
    timings: dict[str, float]
    created: str = Field(description="ISO timestamp")
    judges: list[Judge] = Field(default_factory=list, description="only with an llm_judge criterion")
    grid: Optional[Grid] = Field(None, description="only with models: in task.yaml (a model x lever grid)")

    def missing_when_ok(self) -> tuple[str, str] | None:
        """(field, lever field) of the first lever that ran but lacks a field it must have, e.g. ("levers[0].score")."""
        for i, lever in enumerate(self.levers):
            missing = lever.missing_when_ok()
            if missing:
                return f"levers[{i}].{missing}", missing
        return None


def json_schema() -> dict:
    """The JSON Schema of results.json, as published in docs/results.schema.json."""
    schema = Results.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(schema_text())

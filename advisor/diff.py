"""`advise diff RUN_A RUN_B`: what changed between two runs, per lever, on the eval examples both runs scored.

Pure computation (no I/O, no printing): two results dicts and their prediction records in, a `RunDiff` out. The
same tests as within a run (`stats.compare_levers`: paired bootstrap interval plus McNemar for pass/fail totals or a
sign-flip test otherwise), read as B - A, with Holm's correction over the levers compared. `diff_report.py` renders
it; the CLI prints it and gates on it.

Flip rule: an example flips when its total is on the other side of the pass mark (PASS_MARK = 0.5; a total >= 0.5
passes, as in McNemar's test and the report's "all fail" rows) in B than in A and moved by at least FLIP_MIN_CHANGE
(0.1), so 0.49 -> 0.51 on a continuous rubric is not a flip. On a pass/fail rubric this is exactly pass <-> fail.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from . import stats
from .errors import UserError, printable, did_you_mean, redact, shown
from .runs import finite

PASS_MARK = 0.5  # a total at or above this passes (stats.mcnemar_exact and report.FAIL_BELOW use the same mark)
FLIP_MIN_CHANGE = 0.1  # ... and a flip must also move the total at least this far
FLIPS_SHOWN = 50  # flipped examples listed with their texts, per lever (regressions first); the count is always exact
IDS_KEPT = 1_000  # flipped ids kept per lever and direction (the list in diff.json and the gate message)
TEXT_CHARS = 2_000  # inputs, references and predictions of flipped examples are cut here
NAME_CHARS = 200
ALPHA = 0.05
FLIP_RULE = (f"an example flips when its total is on the other side of {PASS_MARK:g} (>= {PASS_MARK:g} passes) in B "
             f"than in A and moved by at least {FLIP_MIN_CHANGE:g}")

LeverStatus = Literal["compared", "only_in_a", "only_in_b", "not_comparable"]
CriterionStatus = Literal["compared", "only_in_a", "only_in_b", "not_scored"]
MISSING = "(not recorded)"


@dataclass
class Flip:
    """One example whose total crossed the pass mark: `regressed` (pass in A, fail in B) or `fixed`."""

    id: str
    direction: Literal["regressed", "fixed"]
    a_total: float
    b_total: float
    input: str
    reference: str
    prediction_a: str
    prediction_b: str


@dataclass
class CriterionDiff:
    """One rubric criterion of one lever: means on the shared examples, B - A with its interval and test."""

    name: str
    status: CriterionStatus
    n: int = 0
    a_mean: float | None = None
    b_mean: float | None = None
    diff: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    p_holm: float | None = None  # Holm over every lever x criterion compared
    test: str | None = None
    verdict: str | None = None


@dataclass
class LeverDiff:
    """One lever: compared (ok in both runs, scored on shared ids), or why not."""

    name: str
    status: LeverStatus
    note: str = ""  # why the lever was not compared
    a_status: str | None = None  # ok / skipped / None (not in the run)
    b_status: str | None = None
    n_shared: int = 0  # examples paired (shared id, a total in both runs)
    n_only_a: int = 0
    n_only_b: int = 0
    n_unscored: int = 0  # shared ids without a total in one of the runs (left out of the test)
    n_text_changed: int = 0  # shared ids whose input or reference differs between the runs
    a_mean: float | None = None
    b_mean: float | None = None
    diff: float | None = None  # B - A on the shared examples
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    p_holm: float | None = None  # Holm over the levers compared; the verdict uses it
    mdd: float | None = None
    test: str | None = None
    verdict: str | None = None  # better / worse / indistinguishable, B's point of view
    n_changed: int = 0  # examples whose total changed at all
    n_regressed: int = 0
    n_fixed: int = 0
    regressed_ids: list[str] = field(default_factory=list)  # first IDS_KEPT
    fixed_ids: list[str] = field(default_factory=list)
    flips: list[Flip] = field(default_factory=list)  # first FLIPS_SHOWN, with texts
    criteria: list[CriterionDiff] = field(default_factory=list)
    seeds: bool = False  # a run trained several seeds: its predictions file holds the first seed only

    @property
    def regressed(self) -> bool:
        return self.status == "compared" and self.verdict == "worse"


@dataclass
class SetupChange:
    """One setting that differs: `section` (model, data, rubric, task, levers, costs, environment, run), the dotted
    `field`, and both values as display text."""

    section: str
    field: str
    a: str
    b: str


@dataclass
class RecommendationChange:
    a_lever: str | None
    a_confidence: str | None
    b_lever: str | None
    b_confidence: str | None

    @property
    def changed(self) -> bool:
        return self.a_lever != self.b_lever

    @property
    def confidence_changed(self) -> bool:
        return self.a_confidence != self.b_confidence

    def sentence(self) -> str:
        a = f"{_name(self.a_lever or 'none')} ({_name(self.a_confidence or 'unknown')})"
        b = f"{_name(self.b_lever or 'none')} ({_name(self.b_confidence or 'unknown')})"
        if self.changed:
            return f"recommendation changed: {a} in A, {b} in B"
        if self.confidence_changed:
            return f"recommendation unchanged: {_name(self.a_lever or 'none')}, confidence " \
                   f"{_name(self.a_confidence or 'unknown')} -> {_name(self.b_confidence or 'unknown')}"
        return f"recommendation unchanged: {a}"


@dataclass
class RunInfo:
    path: str
    task: str
    created: str | None
    model: str | None
    n_eval: int  # distinct eval ids across the run's predictions


@dataclass
class RunDiff:
    a: RunInfo
    b: RunInfo
    levers: list[LeverDiff]
    setup: list[SetupChange]
    recommendation: RecommendationChange
    n_shared_ids: int
    n_only_a: int
    n_only_b: int
    pass_fail: bool  # totals are pass/fail in both runs (McNemar)
    warnings: list[str]
    flip_rule: str = FLIP_RULE
    alpha: float = ALPHA

    def regressions(self) -> list[LeverDiff]:
        """Levers significantly worse in B (Holm-adjusted verdict `worse`): what --fail-on-regression fails on."""
        return [lev for lev in self.levers if lev.regressed]

    def compared(self) -> list[LeverDiff]:
        return [lev for lev in self.levers if lev.status == "compared"]

    def to_dict(self) -> dict:
        out = asdict(self)
        out["recommendation"].update(changed=self.recommendation.changed,
                                     confidence_changed=self.recommendation.confidence_changed,
                                     sentence=self.recommendation.sentence())
        out["regressions"] = [lev.name for lev in self.regressions()]
        return out


# ---- the diff ----

def diff_runs(a_results: dict, a_predictions: dict[str, list[dict]], b_results: dict,
              b_predictions: dict[str, list[dict]], *, a_dir: Path | str = "A", b_dir: Path | str = "B",
              levers: list[str] | None = None, alpha: float = ALPHA, seed: int = 0) -> RunDiff:
    """Compare run B with run A. `levers` restricts the diff (and Holm's family) to those names; a name in neither
    run is a UserError. Runs that share no eval id are a UserError too: there is nothing to pair."""
    a_dir, b_dir = Path(a_dir), Path(b_dir)
    a_levers = {str(lev["name"]): lev for lev in a_results["levers"]}
    b_levers = {str(lev["name"]): lev for lev in b_results["levers"]}
    names = list(dict.fromkeys([*a_levers, *b_levers]))
    if levers is not None:
        unknown = [n for n in levers if n not in names]
        if unknown:
            raise UserError(None, "--levers", f"{shown(unknown[0])} is in neither run", did_you_mean(unknown[0], names))
        names = [n for n in names if n in levers]

    a_records = {name: _by_id(rows, a_dir, a_levers[name]) for name, rows in a_predictions.items() if name in a_levers}
    b_records = {name: _by_id(rows, b_dir, b_levers[name]) for name, rows in b_predictions.items() if name in b_levers}
    a_ids = list(dict.fromkeys(i for recs in a_records.values() for i in recs))
    b_ids = list(dict.fromkeys(i for recs in b_records.values() for i in recs))
    b_set = set(b_ids)
    shared = [i for i in a_ids if i in b_set]
    if a_ids and b_ids and not shared:
        raise UserError(None, None, f"{_path(a_dir)} and {_path(b_dir)} share no eval id (A has e.g. "
                        f"{shown(a_ids[0])}, B {shown(b_ids[0])}), so no example can be paired",
                        "diff two runs of the same eval set; rows without an id get FILESTEM-ROWINDEX, so give "
                        "eval rows an `id` if the file was renamed or reordered")

    pass_fail = _total_pass_fail(a_results) and _total_pass_fail(b_results)
    crit_pass_fail = {n: _criterion_pass_fail(a_results, n) and _criterion_pass_fail(b_results, n)
                      for n in _criterion_names(a_results) + _criterion_names(b_results)}
    out: list[LeverDiff] = []
    warnings: list[str] = []
    for name in names:
        a_lev, b_lev = a_levers.get(name), b_levers.get(name)
        lev = LeverDiff(_name(name), "not_comparable", a_status=_status(a_lev), b_status=_status(b_lev))
        if a_lev is None or b_lev is None:
            lev.status = "only_in_a" if b_lev is None else "only_in_b"
            lev.note = f"only in {'A' if b_lev is None else 'B'}"
        elif lev.a_status != "ok" or lev.b_status != "ok":
            lev.note = _not_ok_note(a_lev, b_lev)
        else:
            _compare_lever(lev, a_records[name], b_records[name], pass_fail, crit_pass_fail, alpha, seed)
            lev.seeds = bool(a_lev["details"].get("seed_scores") or b_lev["details"].get("seed_scores"))
            if lev.seeds:
                warnings.append(f"{name}: trained with several seeds; its predictions file holds the first seed's "
                                "answers, so this diff compares those (training noise is not in its interval)")
            if lev.n_text_changed:
                warnings.append(f"{name}: {lev.n_text_changed} shared id{'s' if lev.n_text_changed != 1 else ''} "
                                "carry a different input or reference in B: the eval set changed under the same ids")
        out.append(lev)
    _holm(out, alpha)

    if not pass_fail and (_total_pass_fail(a_results) or _total_pass_fail(b_results)):
        warnings.append("one run scores pass/fail and the other does not (the rubric changed): totals are compared "
                        "with the sign-flip test")
    if a_dir.resolve() == b_dir.resolve():
        warnings.insert(0, f"RUN_A and RUN_B are the same folder ({_path(a_dir)}): nothing can differ; pass the "
                           "baseline run first and the new run second")
    setup = setup_changes(a_results, b_results)
    rubric = [c.field for c in setup if c.section == "rubric"]
    if rubric:
        warnings.insert(0, f"the rubric changed ({', '.join(rubric[:3])}{', ...' if len(rubric) > 3 else ''}): "
                           "B - A mixes the change in scoring with any change in the answers")
    return RunDiff(_info(a_results, a_dir, a_ids), _info(b_results, b_dir, b_ids), out, setup,
                   RecommendationChange(*_rec(a_results), *_rec(b_results)), len(shared),
                   len(a_ids) - len(shared), len(b_ids) - len(shared), pass_fail, warnings, alpha=alpha)


def _compare_lever(lev: LeverDiff, a: dict[str, dict], b: dict[str, dict], pass_fail: bool,
                   crit_pass_fail: dict[str, bool], alpha: float, seed: int) -> None:
    shared = [i for i in a if i in b]
    lev.n_only_a, lev.n_only_b = len(a) - len(shared), len(b) - len(shared)
    pairs = [(i, _score(a[i], "total"), _score(b[i], "total")) for i in shared]
    scored = [(i, x, y) for i, x, y in pairs if x is not None and y is not None]
    lev.n_unscored = len(pairs) - len(scored)
    lev.n_shared = len(scored)
    lev.n_text_changed = sum(1 for i in shared if _text_of(a[i], "input") != _text_of(b[i], "input")
                             or _text_of(a[i], "reference") != _text_of(b[i], "reference"))
    if not scored:
        lev.status = "not_comparable"
        lev.note = "no shared eval id" if not shared else "no shared eval id has a total in both runs"
        return
    lev.status = "compared"
    ids = [i for i, _, _ in scored]
    xs, ys = [x for _, x, _ in scored], [y for _, _, y in scored]
    lev.a_mean, lev.b_mean = sum(xs) / len(xs), sum(ys) / len(ys)
    binary = pass_fail and all(v in (0.0, 1.0) for v in xs + ys)
    v = stats.compare_levers("B", ys, "A", xs, pass_fail=binary, alpha=alpha, seed=seed)
    lev.diff, lev.ci_low, lev.ci_high, lev.p_value, lev.mdd, lev.test = (v.diff, v.ci_low, v.ci_high, v.p_value,
                                                                          v.mdd, v.test)
    lev.n_changed = sum(1 for x, y in zip(xs, ys) if abs(y - x) > stats.NEAR_ZERO)
    flips = []
    for pos, (i, x, y) in enumerate(scored):
        if (x >= PASS_MARK) != (y >= PASS_MARK) and abs(y - x) >= FLIP_MIN_CHANGE - stats.NEAR_ZERO:
            flips.append((pos, i, x, y))
    regressed = [f for f in flips if f[3] < f[2]]
    fixed = [f for f in flips if f[3] > f[2]]
    lev.n_regressed, lev.n_fixed = len(regressed), len(fixed)
    lev.regressed_ids = [_name(f[1]) for f in regressed[:IDS_KEPT]]
    lev.fixed_ids = [_name(f[1]) for f in fixed[:IDS_KEPT]]
    listed = sorted(regressed, key=lambda f: (f[3] - f[2], f[0]))[:FLIPS_SHOWN]  # biggest drops first
    listed += sorted(fixed, key=lambda f: (f[2] - f[3], f[0]))[:FLIPS_SHOWN - len(listed)]
    lev.flips = [Flip(_name(i), "regressed" if y < x else "fixed", x, y, _text_of(a[i], "input"),
                      _text_of(a[i], "reference"), _text_of(a[i], "prediction"), _text_of(b[i], "prediction"))
                 for _, i, x, y in listed]

    names = list(dict.fromkeys(k for i in ids for rec in (a[i], b[i]) for k in _score_keys(rec)))
    for name in names:
        in_a = any(name in _score_keys(a[i]) for i in ids)
        in_b = any(name in _score_keys(b[i]) for i in ids)
        crit = CriterionDiff(_name(name), "compared" if in_a and in_b else "only_in_a" if in_a else "only_in_b")
        cx = [(_score(a[i], name), _score(b[i], name)) for i in ids]
        if crit.status != "compared":
            side = [p[0] if in_a else p[1] for p in cx]
            side = [s for s in side if s is not None]
            mean = sum(side) / len(side) if side else None
            crit.a_mean, crit.b_mean = (mean, None) if in_a else (None, mean)
            lev.criteria.append(crit)
            continue
        both = [(x, y) for x, y in cx if x is not None and y is not None]
        crit.n = len(both)
        if not both:
            crit.status = "not_scored"
            lev.criteria.append(crit)
            continue
        cxs, cys = [x for x, _ in both], [y for _, y in both]
        crit.a_mean, crit.b_mean = sum(cxs) / len(cxs), sum(cys) / len(cys)
        binary = crit_pass_fail.get(name, False) and all(v in (0.0, 1.0) for v in cxs + cys)
        cv = stats.compare_levers("B", cys, "A", cxs, pass_fail=binary, alpha=alpha, seed=seed)
        crit.diff, crit.ci_low, crit.ci_high = cv.diff, cv.ci_low, cv.ci_high
        crit.p_value, crit.test = cv.p_value, cv.test
        lev.criteria.append(crit)


def _holm(levers: list[LeverDiff], alpha: float) -> None:
    """Holm over the levers' totals (the gate's family) and, separately, over every lever x criterion."""
    compared = [lev for lev in levers if lev.status == "compared"]
    for lev, p in zip(compared, stats.holm([lev.p_value for lev in compared])):  # type: ignore[misc]
        lev.p_holm = p
        lev.verdict = stats._verdict(lev.diff, lev.ci_low, lev.ci_high, p, alpha)  # type: ignore[arg-type]
    crits = [c for lev in compared for c in lev.criteria if c.status == "compared"]
    for c, p in zip(crits, stats.holm([c.p_value for c in crits])):  # type: ignore[misc]
        c.p_holm = p
        c.verdict = stats._verdict(c.diff, c.ci_low, c.ci_high, p, alpha)  # type: ignore[arg-type]


# ---- setup changes ----

_SECTIONS = ("run", "model", "data", "task", "rubric", "levers", "costs", "environment")


def _section(key: str) -> str:
    if key.startswith(("task.hashes", "task.sizes")):
        return "data"
    for prefix, section in (("schema_version", "run"), ("model", "model"), ("task", "task"), ("rubric", "rubric"),
                            ("levers[", "levers"), ("cost_model", "costs")):
        if key.startswith(prefix):
            return section
    return "environment"


def setup_changes(a: dict, b: dict) -> list[SetupChange]:
    """Every setting that differs between the runs, in a fixed section order: schema version, model, data hashes and
    sizes, task (instruction, name, ...), rubric (criteria by name), each lever's status and chosen variant, cost
    model, environment (seed, package versions)."""
    fa, fb = _setup(a), _setup(b)
    changes = [SetupChange(_section(k), _name(k), fa.get(k, MISSING), fb.get(k, MISSING))
               for k in dict.fromkeys([*fa, *fb]) if fa.get(k, MISSING) != fb.get(k, MISSING)]
    return sorted(changes, key=lambda c: _SECTIONS.index(c.section))  # stable: key order within a section


def _setup(results: dict) -> dict[str, str]:
    """The settings of a run as dotted keys -> display text."""
    flat: dict[str, str] = {"schema_version": _value(results["schema_version"])}
    _flatten(results["model"], "model", flat)
    _flatten(results["task"], "task", flat)
    rubric = dict(results["rubric"])
    criteria = rubric.pop("criteria")
    _flatten(rubric, "rubric", flat)
    for c in criteria:
        _flatten({k: v for k, v in c.items() if k != "name"}, f"rubric.criteria[{_name(c['name'])}]", flat)
    for lev in results["levers"]:
        key = f"levers[{_name(lev['name'])}]"
        flat[f"{key}.status"] = _value(lev["status"])
        _flatten(lev.get("chosen"), f"{key}.chosen", flat)  # absent on a skipped lever
    _flatten({k: v for k, v in results["cost_model"].items() if k != "break_even"}, "cost_model", flat)
    _flatten(results["environment"], "environment", flat)
    return flat


def _flatten(value: Any, key: str, out: dict[str, str], depth: int = 0) -> None:
    if isinstance(value, dict) and value and depth < 4:
        for k, v in value.items():
            _flatten(v, f"{key}.{k}", out, depth + 1)
    else:
        out[key] = _value(value)


def _value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str):
        return _clip(redact(value), TEXT_CHARS)
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (ValueError, RecursionError):
        text = "(not shown: nested too deeply)"
    return _clip(redact(text), TEXT_CHARS)


# ---- small readers (the run was validated by runs.read_results / read_predictions: results.json's contract,
# advisor/results.py, holds; only what it lets be null or absent is guarded) ----

def _by_id(rows: list[dict], run_dir: Path, lever: dict) -> dict[str, dict]:
    """Records by id (as text); an id twice in one predictions file is refused (the pairing would be ambiguous)."""
    out: dict[str, dict] = {}
    for n, row in enumerate(rows, 1):
        key = str(row["id"])
        if key in out:
            artifact = (lever.get("artifacts") or {}).get("predictions")
            path = run_dir / str(artifact or f"predictions/{lever['name']}.jsonl")
            raise UserError(path, f"record {n}", f"id {shown(row['id'])} appears twice",
                            "each eval id is scored once per lever; rerun `advise compare`")
        out[key] = row
    return out


def _score(record: dict, name: str) -> float | None:
    return finite(record["scores"].get(name))


def _score_keys(record: dict) -> list[str]:
    return [str(k) for k in record["scores"] if k != "total"]


def _text_of(record: dict, key: str) -> str:
    value = record.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        try:
            value = json.dumps(value, ensure_ascii=False)
        except (ValueError, RecursionError):
            value = "(not shown: nested too deeply)"
    return _clip(redact(value), TEXT_CHARS)


def _criteria(results: dict) -> list[dict]:
    return results["rubric"]["criteria"]


def _criterion_names(results: dict) -> list[str]:
    return [c["name"] for c in _criteria(results)]


def _total_pass_fail(results: dict) -> bool:
    """The run's own rule (analysis.py): the total is pass/fail when the rubric has one criterion, a pass/fail one."""
    crits = _criteria(results)
    return len(crits) == 1 and crits[0]["pass_fail"]


def _criterion_pass_fail(results: dict, name: str) -> bool:
    return any(c["name"] == name and c["pass_fail"] for c in _criteria(results))


def _status(lever: dict | None) -> str | None:
    return None if lever is None else lever["status"]


def _not_ok_note(a: dict, b: dict) -> str:
    """`skipped in B: <reason>`, or `skipped in both: <reason>` (each side's reason when they differ)."""
    if a["status"] != "ok" and b["status"] != "ok":
        ra, rb = _skip_note(a), _skip_note(b)
        return f"skipped in both: {ra}" if ra == rb else f"skipped in both (A: {ra}; B: {rb})"
    side, lev = ("A", a) if a["status"] != "ok" else ("B", b)
    return f"{_name(lev['status'])} in {side}: {_skip_note(lev)}"


def _skip_note(lever: dict) -> str:
    return _clip(redact(lever["reason"] or lever["status"]), TEXT_CHARS)  # the reason may be null


def _rec(results: dict) -> tuple[str | None, str]:
    rec = results["recommendation"]
    return None if rec["lever"] is None else _name(rec["lever"]), _name(rec["confidence"])


def _info(results: dict, run_dir: Path, ids: list[str]) -> RunInfo:
    return RunInfo(_path(run_dir), _name(results["task"]["name"]), _name(results["created"]),
                   _name(results["model"]["id"]), len(ids))


def _path(path: Path) -> str:
    from .errors import display_path

    return _name(display_path(path))


def _name(value: object) -> str:
    return _clip(redact(str(value)), NAME_CHARS)


def _clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters (saying how many more), control characters shown as \\xNN, so no terminal
    escape from a predictions file reaches the console."""
    more = len(text) - limit
    return printable(text) if more <= 0 else f"{printable(text[:limit])}… ({more:,} more chars)"

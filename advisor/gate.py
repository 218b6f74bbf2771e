"""CI gates on a finished run: `--fail-under SCORE` on the recommended lever, and the run as JUnit test cases.

Pure functions of a results dict (as `advise compare` returns it or `advise report` reads it back), which meets
results.json's contract (advisor/results.py): fields it guarantees are read directly; values it lets be null, absent
or NaN (a skipped lever's score and cost, optional fields) are guarded. No click, no printing. The CLI prints the
verdict's one line and exits 3 (`cli.GATE_FAILED`) when it did not pass.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError
from .junit import Case
from .runs import check_out_folder, finite, try_writing

MAX_NAME = 200  # names in gate messages and JUnit cases are cut here, as in the reports


@dataclass(frozen=True)
class GateVerdict:
    """Whether the run passed `--fail-under`, the lever it judged (None when none was recommended) and one line
    saying why, with the score, its 95% interval and the threshold."""

    passed: bool
    lever: str | None
    message: str
    threshold: float


def _text(value: object, limit: int = MAX_NAME) -> str:
    """A name as one printable line, cut at `limit` characters (results.json read back by `advise report` may hold
    anything)."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value))
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more chars)"


def _threshold_text(threshold: float) -> str:
    """0.8 as `0.8`, 1.0 as `1`; never rounded (the message must not hide why 0.79999 failed)."""
    short = f"{threshold:g}"
    return short if float(short) == threshold else repr(threshold)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _score_text(score: dict | None) -> str:
    """`0.734 [95% CI 0.680, 0.800]`; an ok lever's score may be null."""
    score = score or {}
    return (f"{_fmt(finite(score.get('mean')))} "
            f"[95% CI {_fmt(finite(score.get('ci_low')))}, {_fmt(finite(score.get('ci_high')))}]")


def _lever(results: dict, name: object) -> dict | None:
    return next((lev for lev in results["levers"] if lev["name"] == name), None)


def check_fail_under(results: dict, threshold: float) -> GateVerdict:
    """The gate: the recommended lever's mean eval score must be at least `threshold` (a score equal to it passes).
    The mean, not the interval's lower bound: the interval widens on a small (`--limit`) eval set, and the reports
    show it beside the verdict. No recommended lever (nothing ran successfully) fails."""
    name = results["recommendation"]["lever"]
    bar = f"--fail-under {_threshold_text(threshold)}"
    if name is None:
        return GateVerdict(False, None, f"no lever could be recommended (no lever ran successfully), so nothing "
                                        f"meets {bar}", threshold)
    lever = _lever(results, name)
    score = lever["score"] if lever and lever["status"] == "ok" else None  # an ok lever's score may still be null
    mean = finite(score["mean"]) if score else None  # NaN or inf: no score either
    if mean is None:
        return GateVerdict(False, str(name), f"the recommended lever {_text(name)} has no score in results.json, "
                                             f"so it cannot meet {bar}", threshold)
    n_eval = results["task"]["sizes"]["eval"]
    shown = _score_text(score)
    if f"{mean:.3f}" == f"{threshold:.3f}" and mean != threshold:  # 0.7996 < 0.8 must not read "0.800 < 0.8"
        shown = f"{mean:.6g}" + shown[len(f"{mean:.3f}"):]
    where = f" on {n_eval:.0f} eval examples"
    lower_bound = "; it is undertrained, so this is a lower bound" if lever.get("undertrained") else ""
    passed = mean >= threshold
    relation = "meets" if passed else "is under"
    return GateVerdict(passed, str(name), f"recommended lever {_text(name)} scores {shown}{where}, {relation} "
                                          f"{bar}{lower_bound}", threshold)


def junit_cases(results: dict, verdict: GateVerdict | None = None) -> list[Case]:
    """The run as JUnit test cases (classname: the task's name), each lever followed by its criteria, then the
    recommendation:

    - one per lever (name: the lever): passed, skipped (message: why), or failed when it is the recommended lever
      and `verdict` did not pass; properties score, ci_low, ci_high, cost_per_1k_calls, recommended;
    - one per lever and rubric criterion (name: `prompt / token_f1`): passed, or skipped with its lever; output the
      criterion's mean and 95% interval, properties score, ci_low, ci_high, cost_per_1k_calls (the lever's);
    - one named `recommendation`: output the lever, confidence and reasons, properties lever, confidence and
      fail_under; it fails only when `verdict` failed and no lever case carries it (no lever could be recommended)."""
    task = _text(results["task"]["name"])
    rec = results["recommendation"]
    chosen = rec["lever"]
    criteria = [c["name"] for c in results["rubric"]["criteria"]]
    timings = results["timings"]
    cases: list[Case] = []
    for lev in results["levers"]:
        name, ok = lev["name"], lev["status"] == "ok"
        seconds = finite(lev.get("wall_seconds")) or finite(timings.get(f"lever_{name}")) or 0.0
        cost = finite((lev.get("cost") or {}).get("cost_per_1k_calls"))
        score = lev["score"] if ok else None
        props = _score_properties(score, cost)
        props["recommended"] = "true" if name == chosen else "false"
        if not ok:
            reason = _text(lev["reason"] or "no reason given", 2000)
            cases.append(Case(task, _text(name), "skipped", reason, seconds=seconds, properties=props))
        else:
            failed = verdict is not None and not verdict.passed and name == chosen
            output = f"score {_score_text(score)}" + (" (recommended)" if name == chosen else "")
            if lev.get("undertrained"):
                output += "\nundertrained: the score is a lower bound"
            cases.append(Case(task, _text(name), "failed" if failed else "passed", verdict.message if failed else "",
                              output, seconds, props))
        lever_criteria = criteria or list(lev.get("criteria", {}))  # absent on a skipped lever
        for criterion in lever_criteria:
            case_name = f"{_text(name)} / {_text(criterion)}"
            if not ok:
                cases.append(Case(task, case_name, "skipped",
                                  f"lever skipped: {_text(lev['reason'] or 'no reason given', 2000)}"))
                continue
            ci = lev["criteria_ci"].get(criterion, {})
            crit_score = {"mean": lev["criteria"].get(criterion), "ci_low": ci.get("ci_low"),
                          "ci_high": ci.get("ci_high")}
            cases.append(Case(task, case_name, "passed", output=f"mean {_score_text(crit_score)}",
                              properties=_score_properties(crit_score, cost)))
    reasons = [_text(r, 2000) for r in rec["reasons"]]
    output = "\n".join([f"recommend {_text(chosen) if chosen is not None else 'nothing'} "
                        f"(confidence: {_text(rec['confidence'])})", *(f"- {r}" for r in reasons)])
    if verdict is not None:
        output += f"\ngate: {'passed' if verdict.passed else 'failed'}: {verdict.message}"
    props = {"lever": _text(chosen) if chosen is not None else "", "confidence": _text(rec["confidence"])}
    if verdict is not None:
        props["fail_under"] = _threshold_text(verdict.threshold)
    # a failed gate no lever case carries (nothing recommended, or a recommended lever without a score) fails here
    no_lever = verdict is not None and not verdict.passed and not any(c.status == "failed" for c in cases)
    cases.append(Case(task, "recommendation", "failed" if no_lever else "passed", verdict.message if no_lever else "",
                      output, properties=props))
    return cases


def _score_properties(score: dict | None, cost: float | None) -> dict[str, str]:
    score = score or {}
    values = {"score": finite(score.get("mean")), "ci_low": finite(score.get("ci_low")),
              "ci_high": finite(score.get("ci_high")), "cost_per_1k_calls": cost}
    return {key: f"{value:.6g}" for key, value in values.items() if value is not None}


def check_junit_path(path: Path) -> None:
    """Fail early, before any model work, when the JUnit file cannot be written there: a folder at that path, a file
    where a folder must be, or a folder that cannot be written (one line each). Creates nothing."""
    path = Path(path)
    if os.path.isdir(path):
        raise UserError(path, None, "is a folder, expected a file path for the JUnit XML",
                        "give a file name, e.g. --junit junit.xml")
    check_out_folder(path.parent)
    try_writing(path)

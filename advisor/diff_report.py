"""Render a `RunDiff` (advisor/diff.py): diff.html (self-contained), diff.md and diff.json, and its JUnit cases.

The templates go through report.py's environments: autoescape and bounded strings in HTML, `md_text` on every value
printed in Markdown. Every user string was already redacted and cut by diff.py.
"""
from __future__ import annotations

import os
from pathlib import Path

from .diff import FLIP_MIN_CHANGE, FLIPS_SHOWN, PASS_MARK, LeverDiff, RunDiff
from .errors import UserError
from .junit import Case
from .runs import check_out_folder

IDS_IN_MESSAGE = 20  # flipped ids named in a one-line message (gate, JUnit), then "and N more"


def render_diff(diff: RunDiff, out_dir: Path) -> tuple[Path, Path, Path]:
    """Write diff.html, diff.md and diff.json into `out_dir` (atomically) and return their paths."""
    from .report import write_pages  # the report's escaping, filters and bounds

    context = {"d": diff, "long_text": 280, "flips_shown": FLIPS_SHOWN, "pass_mark": PASS_MARK,
               "flip_min_change": FLIP_MIN_CHANGE, "regressions": diff.regressions(), "rec": diff.recommendation,
               "signed": signed}
    return write_pages(Path(out_dir), "diff", context, diff.to_dict())


def signed(value: float | None, digits: int = 3) -> str:
    """`+0.214`: a difference with its sign; a dash when missing."""
    return "—" if value is None else f"{value:+.{digits}f}"


def diff_ci(lev) -> str:  # type: ignore[no-untyped-def]
    """`-0.113 [-0.187, -0.050]`: B - A with its 95% interval."""
    if lev.diff is None:
        return "—"
    ci = f" [{lev.ci_low:+.3f}, {lev.ci_high:+.3f}]" if lev.ci_low is not None and lev.ci_high is not None else ""
    return f"{lev.diff:+.3f}{ci}"


def ids_text(ids: list[str], total: int, limit: int = IDS_IN_MESSAGE) -> str:
    """`ex-001, ex-004 and 3 more`."""
    shown = ", ".join(ids[:limit])
    return shown + (f" and {total - min(len(ids), limit):,} more" if total > min(len(ids), limit) else "")


def regression_line(lev: LeverDiff) -> str:
    """One sentence for a lever significantly worse in B: the diff with its interval, p and the flipped ids."""
    flips = (f"; {lev.n_regressed} example{'s' if lev.n_regressed != 1 else ''} flipped pass -> fail: "
             f"{ids_text(lev.regressed_ids, lev.n_regressed)}" if lev.n_regressed else "; no example crossed the pass "
             "mark (the drop is spread over many examples)")
    return (f"{lev.name} is worse in B: {lev.a_mean:.3f} -> {lev.b_mean:.3f}, B - A {diff_ci(lev)}, "
            f"p (Holm) {_p(lev.p_holm)} on {lev.n_shared} shared examples{flips}")


def _p(value: float | None) -> str:
    return "—" if value is None else "< 0.001" if value < 0.001 else f"{value:.3f}"


# ---- JUnit ----

def junit_cases(diff: RunDiff) -> list[Case]:
    """One testcase per lever (classname: B's task name; name: the lever) - failed when significantly worse in B,
    skipped when it cannot be compared - then one per lever and criterion (`prompt / label`), passed or skipped
    (the gate reads the total; a criterion's own verdict is in its properties and output)."""
    suite = diff.b.task
    cases, per_criterion = [], []
    for lev in diff.levers:
        if lev.status != "compared":
            cases.append(Case(suite, lev.name, "skipped", f"not compared: {lev.note}"))
            continue
        props = _props(lev.a_mean, lev.b_mean, lev.diff, lev.ci_low, lev.ci_high, lev.p_value, lev.p_holm, lev.verdict)
        props.update(shared_examples=str(lev.n_shared), flipped_pass_to_fail=str(lev.n_regressed),
                     flipped_fail_to_pass=str(lev.n_fixed))
        output = (f"A {lev.a_mean:.3f}, B {lev.b_mean:.3f}, B - A {diff_ci(lev)}, p {_p(lev.p_value)}, "
                  f"p (Holm) {_p(lev.p_holm)}: {lev.verdict} in B, on {lev.n_shared} shared examples\n"
                  f"flipped pass -> fail: {lev.n_regressed}" +
                  (f" ({ids_text(lev.regressed_ids, lev.n_regressed, 50)})" if lev.n_regressed else "") +
                  f"\nflipped fail -> pass: {lev.n_fixed}" +
                  (f" ({ids_text(lev.fixed_ids, lev.n_fixed, 50)})" if lev.n_fixed else ""))
        cases.append(Case(suite, lev.name, "failed" if lev.regressed else "passed",
                          regression_line(lev) if lev.regressed else "", output, properties=props))
        for c in lev.criteria:
            name = f"{lev.name} / {c.name}"
            if c.status != "compared":
                why = {"only_in_a": "only run A scores it", "only_in_b": "only run B scores it",
                       "not_scored": "no shared example has a score for it in both runs"}[c.status]
                per_criterion.append(Case(suite, name, "skipped", f"not compared: {why}"))
                continue
            per_criterion.append(Case(suite, name, "passed", "", f"A {c.a_mean:.3f}, B {c.b_mean:.3f}, B - A "
                                      f"{diff_ci(c)}, p (Holm) {_p(c.p_holm)}: {c.verdict} in B",
                                      properties=_props(c.a_mean, c.b_mean, c.diff, c.ci_low, c.ci_high, c.p_value,
                                                        c.p_holm, c.verdict)))
    return cases + per_criterion


def _props(a, b, diff, lo, hi, p, p_holm, verdict) -> dict[str, str]:  # type: ignore[no-untyped-def]
    values = {"a": a, "b": b, "diff": diff, "ci_low": lo, "ci_high": hi, "p_value": p, "p_holm": p_holm}
    out = {k: f"{v:.6g}" for k, v in values.items() if v is not None}
    if verdict:
        out["verdict"] = verdict
    return out



def check_out(path: Path) -> None:
    """Before writing: --out (default RUN_B) must be, or be creatable as, a folder we can write into."""
    existing = next((p for p in [Path(path), *Path(path).absolute().parents] if os.path.lexists(p)), None)
    if existing is not None and not existing.is_dir():
        raise UserError(existing, None, "is a file, expected a folder", "--out names the folder for diff.html, diff.md "
                        "and diff.json (default RUN_B); move the file or choose another --out")
    check_out_folder(Path(path))

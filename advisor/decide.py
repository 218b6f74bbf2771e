"""The decision engine: lever summaries and pairwise verdicts in, a recommendation with reasons out.

Pure, no I/O. Quality first (significance, never raw means alone), then cost, then risk.
The rules are written out in plain words in docs/DECISION_RULES.md; keep the two in step.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Literal, Mapping, Sequence

from advisor.costs import DEFAULT_HORIZON_MONTHS, LeverCost, break_even_calls
from advisor.levers import registry
from advisor.stats import (MAX_EXAMPLES_SUGGESTED, NEAR_ZERO, PairVerdict, examples_for_non_inferiority,
                           examples_needed)

Confidence = Literal["clear", "likely", "toss-up", "none"]

# Warning codes this module reacts to.
SMALL_EVAL_CODE = "small_eval_set"
FINETUNE_RISK_CODES = ("overfitting", "forgetting")
# A criterion whose mean moves this much between two levers gets its own sentence.
CRITERION_DELTA = 0.2
# Retrieval recall below this earns a "what would change" line.
LOW_RECALL = 0.7
# decision.margin's default: the smallest score difference (on 0-1) taken to matter. Five points is
# the usual "one in twenty answers" a user notices, and the noise floor of a few hundred eval rows.
DEFAULT_MARGIN = 0.05
# Skip reasons that mean the lever cannot apply to this task (not an experiment left undone).
NOT_APPLICABLE_REASONS = ("no corpus",)
# z_{0.975}: turns a 95% interval's half-width back into a standard error.
_Z95 = 1.959964
# A cell of a model x lever grid is named "LABEL + LEVER" ("small + finetune"); labels have no spaces and lever
# names no " + ", so the two parts are always recoverable, and the rules below read the lever part.
CELL_JOIN = " + "


def cell_name(label: str, lever: str) -> str:
    return f"{label}{CELL_JOIN}{lever}"


def lever_of(name: str) -> str:
    """The lever of a grid cell's name ("small + finetune" -> "finetune"); a lever's own name unchanged."""
    return name.split(CELL_JOIN, 1)[1] if CELL_JOIN in name else name


def model_of(name: str) -> str | None:
    """The model label of a grid cell's name; None for a lever's own name."""
    return name.split(CELL_JOIN, 1)[0] if CELL_JOIN in name else None


@dataclass(frozen=True)
class LeverSummary:
    """One lever's result as the decision needs it (scores are None for skipped levers)."""

    name: str
    status: str  # "ok" | "skipped"
    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    criteria: dict[str, float] = field(default_factory=dict)
    cost_per_1k_calls: float | None = None
    one_off_cost: float | None = None
    input_tokens_per_call: float | None = None
    risks: list[str] = field(default_factory=list)
    reason: str | None = None  # why it was skipped
    risks_measured: bool = False  # risks are this lever's own; global warnings are not added to them
    undertrained: bool = False  # training stopped early: the score is a lower bound
    undertrained_note: str | None = None  # what training it to plan would take


@dataclass(frozen=True)
class Recommendation:
    """The chosen lever (None when nothing ran), how sure, why, and what would change it."""

    lever: str | None
    confidence: Confidence
    reasons: list[str]
    what_would_change: list[str]

    def to_dict(self) -> dict:
        return asdict(self)


def _rank(name: str, names: Sequence[str]) -> float:
    """Simplest and cheapest to build and run first: "prompting and retrieval first; fine-tune when they plateau"
    (each registered lever's simplicity rank). Unregistered lever names come after these, in the order given."""
    t = registry.find(lever_of(name))
    if t is not None:
        return t.rank
    return max(registry.simplicity_rank(n) for n in registry.names()) + 1 + names.index(name)


def _warning_codes(warnings: Sequence[str | Mapping]) -> set[str]:
    return {w["code"] if isinstance(w, Mapping) else str(w) for w in warnings}


def _score(lev: LeverSummary) -> str:
    return f"{lev.mean:.2f} [{lev.ci_low:.2f}, {lev.ci_high:.2f}]"


def _diff(v: PairVerdict) -> str:
    return f"{v.diff:+.2f} [{v.ci_low:+.2f}, {v.ci_high:+.2f}]"


# Three money formats, each for its place, so not one helper: totals in these sentences (cents; four decimals under
# a cent: $0.0050), report.fmt_money for per-call prices in tables ($0.005, $0.123, "$0"), charts._money for axis
# ticks ($150). One rule for all would change the reasons results.json stores and the report's numbers.
def _money(x: float) -> str:
    return f"${x:.4f}" if 0 < x < 0.01 else f"${x:,.2f}"


class _Verdicts:
    """Look up the verdict of any ordered pair, whichever way round it was computed."""

    def __init__(self, verdicts: Sequence[PairVerdict | Mapping]):
        self._table: dict[tuple[str, str], PairVerdict] = {}
        for v in verdicts:
            v = v if isinstance(v, PairVerdict) else PairVerdict(**v)
            self._table[(v.a, v.b)] = v
            self._table.setdefault((v.b, v.a), v.reversed())

    def get(self, a: str, b: str) -> PairVerdict | None:
        return self._table.get((a, b))

    def verdict(self, a: str, b: str) -> str:
        """A's verdict over B; an uncompared pair counts as indistinguishable."""
        v = self.get(a, b)
        return v.verdict if v else "indistinguishable"


def _costs_of(levers: Sequence[LeverSummary], costs: Mapping[str, LeverCost] | None) -> dict[str, LeverCost]:
    """The costs given, else what the summaries carry (with no monthly volume; an unpriced one-off stays None)."""
    if costs is not None:
        return dict(costs)
    return {lev.name: LeverCost(lev.cost_per_1k_calls, lev.one_off_cost, None)
            for lev in levers if lev.cost_per_1k_calls is not None}


def _with_risk_warnings(levers: Sequence[LeverSummary], codes: set[str]) -> list[LeverSummary]:
    """Old runs carry overfitting/forgetting as global warnings: mark every weight-training lever with them,
    unless the lever's risks were measured per lever (then they are its own and complete)."""
    found = [c for c in FINETUNE_RISK_CODES if c in codes]
    return [replace(lev, risks=list(lev.risks) + [c for c in found if c not in lev.risks])
            if registry.trains_weights(lever_of(lev.name)) and found and not lev.risks_measured else lev for lev in levers]


def _not_applicable(lev: LeverSummary) -> bool:
    return (lev.reason or "").startswith(NOT_APPLICABLE_REASONS)


def _non_inferior(table: _Verdicts, lev: LeverSummary, best: LeverSummary, margin: float) -> bool:
    """The 95% interval of (lev - best) lies above -margin: lev is shown to be at most `margin` worse."""
    v = table.get(lev.name, best.name)
    return v is not None and v.ci_low > -margin


def _order_candidates(candidates: list[LeverSummary], names: list[str]) -> tuple[list[LeverSummary], list[str]]:
    """Simplicity order, then each risky lever moves down one place past a risk-free neighbour."""
    ordered = sorted(candidates, key=lambda lev: _rank(lev.name, names))
    pushed: list[str] = []
    i = 0
    while i < len(ordered) - 1:
        if ordered[i].risks and not ordered[i + 1].risks:
            pushed.append(ordered[i].name)
            ordered[i], ordered[i + 1] = ordered[i + 1], ordered[i]
            i += 1  # a lever moves at most one place
        i += 1
    return ordered, pushed


def cheaper_later(ordered: list[LeverSummary], costs: dict[str, LeverCost], horizon: float,
                   min_saving: float = 0.0) -> LeverSummary | None:
    """A later candidate cheaper per call than the first AND cheaper in total at the stated volume, by at least
    `min_saving` over the horizon (below that, simplicity and fine-tuning's upkeep and lock-in outweigh it)."""
    top = costs.get(ordered[0].name)
    if top is None or top.total(horizon) is None:
        return None
    best: tuple[float, LeverSummary] | None = None
    for lev in ordered[1:]:
        mine = costs.get(lev.name)
        total = mine.total(horizon) if mine else None
        if (mine and total is not None and mine.per_call < top.per_call
                and total < top.total(horizon) - min_saving):
            if best is None or total < best[0]:
                best = (total, lev)
    return best[1] if best else None


def _criterion_sentences(x: LeverSummary, y: LeverSummary) -> list[str]:
    """'x fixed c1 (41% -> 98%) but not c2 (50% -> 52%)' when x moves a criterion by >= 0.2 over y."""
    shared = [c for c in x.criteria if c in y.criteria and c != "total"]
    fixed = [c for c in shared if x.criteria[c] - y.criteria[c] >= CRITERION_DELTA]
    if not fixed:
        return []
    unmoved = [c for c in shared if abs(x.criteria[c] - y.criteria[c]) < CRITERION_DELTA and x.criteria[c] < 0.9]

    def moves(cs: list[str]) -> str:
        return ", ".join(f"{c} ({y.criteria[c]:.0%} -> {x.criteria[c]:.0%})" for c in cs)

    verb = "fixed" if all(x.criteria[c] >= 0.9 for c in fixed) else "improved"
    text = f"{x.name} {verb} {moves(fixed)} over {y.name}"
    if unmoved:
        text += f" but not {moves(unmoved)}"
        if registry.trains_weights(lever_of(x.name)) and not registry.trains_weights(lever_of(y.name)):
            text += (": fine-tuning changes behaviour (format, style); what it left may be missing knowledge, "
                     "which retrieval supplies")
        elif (registry.uses_retrieval(lever_of(x.name)) and not registry.trains_weights(lever_of(x.name))
              and not registry.uses_retrieval(lever_of(y.name))):
            text += (": retrieval supplies knowledge; what it left may be behaviour (format, style), "
                     "which fine-tuning teaches")
    return [text + "."]


@dataclass
class _Choice:
    """The state the reason writers need: who competed, who won, and why the others did not."""

    ok: list[LeverSummary]
    best: LeverSummary
    candidates: list[LeverSummary]
    undecided: list[LeverSummary]  # not worse than any lever, but not shown within the margin of the best
    ordered: list[LeverSummary]
    pushed: list[str]
    money: dict[str, LeverCost]
    cheaper: LeverSummary | None
    chosen: LeverSummary
    names: list[str]
    margin: float
    horizon: float


def _choose(ok: list[LeverSummary], table: _Verdicts, money: dict[str, LeverCost], names: list[str],
            margin: float, horizon: float, min_saving: float) -> _Choice:
    """Rules 3-6: the best sets the bar; candidates are within the margin of it and beaten by none."""
    best = max(ok, key=lambda lev: (lev.mean, -_rank(lev.name, names)))
    unbeaten = [lev for lev in ok if all(table.verdict(lev.name, o.name) != "worse" for o in ok)]
    candidates = [lev for lev in ok if lev is best or (lev in unbeaten and _non_inferior(table, lev, best, margin))]
    undecided = [lev for lev in unbeaten if lev not in candidates]
    ordered, pushed = _order_candidates(candidates, names)
    cheaper = cheaper_later(ordered, money, horizon, min_saving)
    return _Choice(ok, best, candidates, undecided, ordered, pushed, money, cheaper, cheaper or ordered[0],
                   names, margin, horizon)


def recommend(levers: Sequence[LeverSummary], verdicts: Sequence[PairVerdict | Mapping],
              costs: Mapping[str, LeverCost] | None = None, warnings: Sequence[str | Mapping] = (),
              mdd: float | None = None, *, n_eval: int | None = None, retrieval_recall: float | None = None,
              horizon_months: float = DEFAULT_HORIZON_MONTHS, min_saving: float = 0.0,
              margin: float = DEFAULT_MARGIN) -> Recommendation:
    """Pick a lever: the simplest (or, at volume, cheapest) one shown within `margin` of the best and
    not significantly worse than any other.

    `verdicts` may be PairVerdicts or their dicts, either way round. `warnings` are codes or
    {"code", "message"} dicts. `mdd` is the min detectable difference of the eval set (from the
    two best levers; a verdict's own `mdd` takes precedence); `n_eval` its size, used to size a larger eval set.
    """
    names = [lev.name for lev in levers]
    table = _Verdicts(verdicts)
    codes = _warning_codes(warnings)
    levers = _with_risk_warnings(levers, codes)
    skipped = [lev for lev in levers if lev.status != "ok"]
    ok = [lev for lev in levers if lev.status == "ok"]
    change = [f"running {lev.name} (skipped: {lev.reason or 'no reason given'}) could change this."
              for lev in skipped if not _not_applicable(lev)]
    skipped_lines = [f"{lev.name} was not run: {lev.reason or 'no reason given'}." for lev in skipped]
    if not ok:
        return Recommendation(None, "none", ["No lever ran successfully, so there is nothing to recommend."]
                              + skipped_lines, change)

    c = _choose(ok, table, _costs_of(levers, costs), names, margin, horizon_months, min_saving)
    others = sorted((lev for lev in ok if lev is not c.chosen), key=lambda lev: -lev.mean)
    confidence, reasons = _confidence(c, others, table, codes, mdd)
    reasons += _pair_reasons(c, others, table)
    for lev in ok:
        if lev.risks:
            moved = " and was moved down one place among equally good levers" if lev.name in c.pushed else ""
            reasons.append(f"{lev.name} carries risk: {', '.join(lev.risks)}{moved}.")
    if c.cheaper is not None:
        top, mine = c.money[c.ordered[0].name], c.money[c.chosen.name]
        reasons.append(f"{c.chosen.name} scores as well as the simpler {c.ordered[0].name} and is cheaper at the "
                       f"stated volume: {_money(mine.total(horizon_months))} vs {_money(top.total(horizon_months))} "
                       f"over {horizon_months:g} months, one-off costs included.")
    confidence, more_reasons, more_change = _undertrained(c, others, table, confidence)
    reasons += more_reasons + skipped_lines

    # Rule 9: what would change this.
    for o in others:
        if table.verdict(c.chosen.name, o.name) == "indistinguishable" and o not in c.undecided:
            change.append(_larger_eval_line(c.chosen, o, table.get(c.chosen.name, o.name), mdd, n_eval))
    change += [_non_inferiority_line(o, c, table, n_eval) for o in _undecided_simpler(c)]
    change += more_change
    change += _break_even_lines(c.chosen, c.candidates, c.ordered[0], c.money, horizon_months, min_saving)
    if (retrieval_recall is not None and retrieval_recall < LOW_RECALL
            and not registry.uses_retrieval(lever_of(c.chosen.name))
            and any(registry.uses_retrieval(lever_of(lev.name)) for lev in ok)):
        change.append(f"if retrieval's recall improved (it found the needed passage for only {retrieval_recall:.0%} "
                      "of examples; try chunking, the embedder or top-k), retrieval could catch up.")
    return Recommendation(c.chosen.name, confidence, reasons, change)


def _undecided_simpler(c: _Choice) -> list[LeverSummary]:
    """Levers that would have been preferred to the chosen one had the data shown them within the margin."""
    return [lev for lev in c.undecided if _rank(lev.name, c.names) < _rank(c.chosen.name, c.names)]


def _confidence(c: _Choice, others: list[LeverSummary], table: _Verdicts, codes: set[str],
                mdd: float | None) -> tuple[Confidence, list[str]]:
    """Rule 7: how sure, with the sentence that says why."""
    chosen = c.chosen
    beaten = [o for o in others if table.verdict(chosen.name, o.name) == "better"]
    unsure = _undecided_simpler(c)
    reasons: list[str] = []
    if not others:
        confidence: Confidence = "likely"
        reasons.append(f"Only {chosen.name} ran, so it could not be compared with another lever.")
    elif len(beaten) == len(others):
        confidence = "clear"
        reasons.append(f"{chosen.name} is significantly better than every other lever.")
    elif unsure:
        confidence = "toss-up"
        reasons.append(f"This is a toss-up: the data cannot say whether the simpler {_names(unsure)} would do as "
                       f"well as {chosen.name}, the highest scoring.")
    elif beaten:
        confidence = "likely"
        lead = (f"{chosen.name} has the highest score" if chosen is c.best
                else f"{chosen.name} is within {c.margin:.2f} (decision.margin) of the best lever ({c.best.name})")
        reasons.append(f"{lead}; it is significantly better than {_names(beaten)} but not than every lever.")
    else:
        confidence = "toss-up"
        reasons.append(f"No lever is significantly better than {chosen.name}, and it is not significantly "
                       "better than any; the choice rests on simplicity and cost.")
    if confidence in ("clear", "likely") and beaten and SMALL_EVAL_CODE in codes and mdd is not None:
        lead_by = min(table.get(chosen.name, o.name).diff for o in beaten)
        if lead_by < mdd:
            confidence = "toss-up"
            reasons.append(f"The eval set is small and the margin ({lead_by:+.2f}) is below the minimum "
                           f"detectable difference ({mdd:.2f}), so this is a toss-up.")
    if chosen is not c.best:
        v = table.get(chosen.name, c.best.name)
        reasons.append(f"{chosen.name} is shown to be within {c.margin:.2f} (decision.margin) of the best lever, "
                       f"{c.best.name}: {_diff(v)}, the interval lies above -{c.margin:.2f}.")
    return confidence, reasons


def _names(levers: Sequence[LeverSummary]) -> str:
    return ", ".join(lev.name for lev in levers)


def _p_text(v: PairVerdict) -> str:
    if v.p_value is None:
        return ""
    label = {"mcnemar+paired_bootstrap": "McNemar p", "sign_flip+paired_bootstrap": "sign-flip p",
             "seed_t": "t-test p"}.get(v.test, "p")
    holm = f", Holm-adjusted p={v.p_holm:.3g}" if v.p_holm is not None else ""
    return f", {label}={v.p_value:.3g}{holm}"


def _pair_reasons(c: _Choice, others: list[LeverSummary], table: _Verdicts) -> list[str]:
    """Rule 8: one sentence per other lever, with numbers, plus criterion sentences."""
    chosen = c.chosen
    reasons: list[str] = []
    for o in others:
        v = table.get(chosen.name, o.name)
        if v is None:
            reasons.append(f"{chosen.name} and {o.name} were not compared directly; treated as indistinguishable.")
        elif v.verdict == "indistinguishable":
            reasons.append(f"{chosen.name} and {o.name} are indistinguishable ({_diff(v)}); {_why(c, o, table)}.")
        else:
            reasons.append(f"{chosen.name} scored {_score(chosen)} vs {o.name} {_score(o)}: {_diff(v)}, "
                           f"significant{_p_text(v)}.")
        reasons += _criterion_sentences(chosen, o) + _criterion_sentences(o, chosen)
    return reasons


def _undertrained(c: _Choice, others: list[LeverSummary], table: _Verdicts,
                  confidence: Confidence) -> tuple[Confidence, list[str], list[str]]:
    """An undertrained lever's score is a lower bound: within reach of the winner, it caps confidence at likely."""
    def within_reach(o: LeverSummary) -> bool:
        overlap = o.ci_high is not None and c.chosen.ci_low is not None and o.ci_high >= c.chosen.ci_low
        return table.verdict(o.name, c.chosen.name) != "worse" or overlap

    reach = [o for o in others if o.undertrained and within_reach(o)]
    reasons = [f"{o.name} stopped before its planned training, so its score {_score(o)} is a lower bound, and it "
               f"is within reach of {c.chosen.name}." for o in reach]
    change = [o.undertrained_note or f"training {o.name} to its planned steps could change this." for o in reach]
    if reach and confidence == "clear":
        confidence = "likely"
        reasons.append("Confidence is capped at likely while an undertrained lever is within reach.")
    return confidence, reasons, change


def _why(c: _Choice, other: LeverSummary, table: _Verdicts) -> str:
    """Why the chosen lever wins a tie with `other`, as a clause after '; '."""
    chosen, mine, theirs = c.chosen, c.money.get(c.chosen.name), c.money.get(other.name)
    if c.cheaper is chosen:
        if mine and theirs and theirs.total(c.horizon) is not None and mine.total(c.horizon) < theirs.total(c.horizon):
            return f"{chosen.name} is chosen because it is cheaper in total at the stated volume"
        return (f"{chosen.name} is chosen because it is cheaper in total than {c.ordered[0].name}, "
                "the simplest equally good lever")
    if other.name in c.pushed:
        return f"{chosen.name} is chosen because {other.name} carries risk ({', '.join(other.risks)})"
    if other not in c.candidates:
        winners = [o for o in c.ok if table.verdict(o.name, other.name) == "better"]
        if winners:
            return (f"{other.name} is out of the running because {_names(winners)} "
                    f"{'is' if len(winners) == 1 else 'are'} significantly better than it")
        if other in c.undecided and _rank(other.name, c.names) < _rank(chosen.name, c.names):
            return (f"{other.name} is simpler, but not shown to be within {c.margin:.2f} (decision.margin) of "
                    f"{c.best.name}, so {chosen.name} is kept")
        return f"{chosen.name} is chosen because it scores higher and {other.name} is not shown to be as good"
    if (mine and theirs and mine.per_call <= theirs.per_call and mine.one_off_cost is not None
            and theirs.one_off_cost is not None and mine.one_off_cost <= theirs.one_off_cost):
        return f"{chosen.name} is chosen because it is cheaper and simpler"
    if _rank(chosen.name, c.names) < _rank(other.name, c.names):
        return f"{chosen.name} is chosen because it is simpler"
    return f"{chosen.name} is chosen because it comes first in the order"


def _non_inferiority_line(lev: LeverSummary, c: _Choice, table: _Verdicts, n_eval: int | None) -> str:
    """The power of the margin test: the eval-set size at which `lev` could be shown within the margin."""
    v = table.get(lev.name, c.best.name)
    goal = f"show {lev.name} within {c.margin:.2f} of {c.best.name} (decision.margin)"
    if v is None or not n_eval:
        return f"a larger eval set could {goal}; {lev.name}, being simpler, would then be recommended."
    se = (v.ci_high - v.ci_low) / (2 * _Z95)
    need = examples_for_non_inferiority(n_eval, se, v.diff, c.margin)
    if need is None:
        return (f"no eval set size would {goal}: it trails by {-v.diff:.2f}, more than the margin; only a better "
                f"{lev.name} would change this.")
    return (f"a larger eval set ({_size(need)} examples, now {n_eval:,}) would {goal} 80% of the time if the true "
            f"difference is the observed {v.diff:+.2f}; {lev.name}, being simpler, would then be recommended.")


def _size(need: int) -> str:
    return f"more than {MAX_EXAMPLES_SUGGESTED:,}" if need > MAX_EXAMPLES_SUGGESTED else f"~{need:,}"


def _larger_eval_line(chosen: LeverSummary, other: LeverSummary, v: PairVerdict | None,
                      mdd: float | None, n_eval: int | None) -> str:
    diff = v.diff if v else chosen.mean - other.mean
    mdd = v.mdd if v is not None and v.mdd is not None else mdd
    pair = f"{chosen.name} and {other.name}"
    if mdd is None:
        return f"a larger eval set is needed to separate {pair} (difference {diff:+.2f})."
    if abs(diff) < NEAR_ZERO:
        return f"{pair} score the same; no eval set size would separate them."
    need = examples_needed(n_eval, mdd, diff) if n_eval else None
    if need is not None and need > n_eval:
        return (f"a larger eval set ({_size(need)} examples, now {n_eval:,}) is needed to separate {pair}: "
                f"the difference {diff:+.2f} is below the {mdd:.2f} this set can detect.")
    return f"a larger eval set is needed to separate {pair} (difference {diff:+.2f}; this set detects about {mdd:.2f})."


def _break_even_lines(chosen: LeverSummary, candidates: list[LeverSummary], simplest: LeverSummary,
                      money: dict[str, LeverCost], horizon: float, min_saving: float = 0.0) -> list[str]:
    """Volumes at which an equally good lever would take over on cost.

    A later lever displaces the simplest only by saving at least `min_saving` over the horizon (as in
    `cheaper_later`), so that margin is added to its one-off cost; the simplest lever needs no margin."""
    mine = money.get(chosen.name)
    if mine is None or mine.one_off_cost is None:
        return []
    saving = f"at least {_money(min_saving)} over {horizon:g} months"
    lines = []
    for o in candidates:
        theirs = money.get(o.name)
        if o is chosen or theirs is None or theirs.one_off_cost is None:
            continue
        margin = 0.0 if o is simplest else min_saving
        calls = break_even_calls(theirs.one_off_cost + margin, theirs.per_call, mine.one_off_cost, mine.per_call)
        if calls is not None and calls > 0:
            by = f" by {saving}" if margin else ""
            lines.append(f"at more than {calls / horizon:,.0f} calls a month {o.name} becomes cheaper than "
                         f"{chosen.name}{by} (one-off cost spread over {horizon:g} months) and, scoring the same, "
                         "would be recommended.")
        elif o is simplest and calls is None:
            back = break_even_calls(mine.one_off_cost + min_saving, mine.per_call, theirs.one_off_cost,
                                    theirs.per_call)
            if back:
                what = f"would no longer save {saving} against" if min_saving else "would be dearer than"
                lines.append(f"below {back / horizon:,.0f} calls a month {chosen.name} {what} {o.name}, and "
                             f"{o.name}, being simpler, would be recommended.")
    return lines


# "at a fifth of the cost per call": the fractions a reader takes in at a glance
_FRACTIONS = {2: "half the", 3: "a third of the", 4: "a quarter of the", 5: "a fifth of the", 6: "a sixth of the",
              7: "a seventh of the", 8: "an eighth of the", 9: "a ninth of the", 10: "a tenth of the"}


def cost_ratio_words(ratio: float) -> str:
    """A ratio of costs per call (mine / theirs) in words: 'at a fifth of the cost per call', 'at 2.5 times ...'."""
    if ratio <= 0:
        return "at no cost per call"
    if ratio < 0.95:
        n = 1 / ratio
        k = round(n)
        if k in _FRACTIONS and abs(ratio * k - 1) <= 0.06:  # within 6% of the fraction named
            return f"at {_FRACTIONS[k]} cost per call"
        if k > 10:
            return f"at 1/{k:,} of the cost per call"
        return f"at {ratio:.0%} of the cost per call"
    if ratio > 1.05:
        return f"at {ratio:.1f} times the cost per call" if ratio < 10 else f"at {ratio:,.0f} times the cost per call"
    return "at about the same cost per call"


def _cell_sentence(chosen: LeverSummary, other: LeverSummary, v: PairVerdict | None, money: dict[str, LeverCost],
                   margin: float) -> str:
    """'small + finetune matches big + prompt (-0.01 [-0.04, +0.02]) at a fifth of the cost per call.'"""
    if v is None:
        text = f"{chosen.name} was not compared with {other.name}"
    else:
        verb = {"better": "beats", "worse": "trails"}.get(v.verdict) or (
            "matches" if v.ci_low > -margin else "is not told apart from")
        text = f"{chosen.name} {verb} {other.name} ({_diff(v)})"
    mine, theirs = money.get(chosen.name), money.get(other.name)
    if mine is not None and theirs is not None and theirs.per_call > 0:
        text += " " + cost_ratio_words(mine.per_call / theirs.per_call)
    return text + "."


def recommend_cell(cells: Sequence[LeverSummary], verdicts: Sequence[PairVerdict | Mapping],
                   costs: Mapping[str, LeverCost] | None = None, warnings: Sequence[str | Mapping] = (),
                   mdd: float | None = None, *, n_eval: int | None = None,
                   horizon_months: float = DEFAULT_HORIZON_MONTHS, min_saving: float = 0.0,
                   margin: float = DEFAULT_MARGIN) -> Recommendation:
    """The decision over a model x lever grid: `recommend` over cells named `cell_name(label, lever)`, by the same
    rules (quality first, then cost, then simplicity and risk; a cell's simplicity is its lever's). Give the cells
    of one lever cheapest first: equally simple, the cheaper model is preferred. The reasons open with one sentence
    per other model: the chosen cell against that model's best cell, paired difference and cost per call."""
    rec = recommend(cells, verdicts, costs, warnings, mdd, n_eval=n_eval, horizon_months=horizon_months,
                    min_saving=min_saving, margin=margin)
    if rec.lever is None:
        return rec
    names = [c.name for c in cells]
    table, money = _Verdicts(verdicts), _costs_of(cells, costs)
    chosen = next(c for c in cells if c.name == rec.lever)
    lines = []
    for label in dict.fromkeys(model_of(c.name) for c in cells):
        theirs = [c for c in cells if c.status == "ok" and model_of(c.name) == label]
        if label == model_of(chosen.name) or not theirs:
            continue
        best = max(theirs, key=lambda c: (c.mean, -_rank(c.name, names)))
        lines.append(_cell_sentence(chosen, best, table.get(chosen.name, best.name), money, margin))
    return replace(rec, reasons=lines + rec.reasons)

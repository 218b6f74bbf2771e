"""The decision engine: lever summaries and pairwise verdicts in, a recommendation with reasons out.

Pure, no I/O. Quality first (significance, never raw means alone), then cost, then risk.
The rules are written out in plain words in docs/DECISION_RULES.md; keep the two in step.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal, Mapping, Sequence

from advisor.costs import DEFAULT_HORIZON_MONTHS, FINETUNE_LEVERS, LeverCost, break_even_calls
from advisor.stats import PairVerdict, examples_needed

Confidence = Literal["clear", "likely", "toss-up", "none"]

# Simplest and cheapest to build and run first: "prompting and retrieval first; fine-tune when
# they plateau". Unknown lever names come after these, in the order given.
SIMPLICITY_ORDER = ("prompt", "retrieval", "finetune", "retrieval+finetune")
RETRIEVAL_LEVERS = ("retrieval", "retrieval+finetune")
# Warning codes this module reacts to.
SMALL_EVAL_CODE = "small_eval_set"
FINETUNE_RISK_CODES = ("overfitting", "forgetting")
# A criterion whose mean moves this much between two levers gets its own sentence.
CRITERION_DELTA = 0.2
# Retrieval recall below this earns a "what would change" line.
LOW_RECALL = 0.7


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


@dataclass(frozen=True)
class Recommendation:
    """The chosen lever (None when nothing ran), how sure, why, and what would change it."""

    lever: str | None
    confidence: Confidence
    reasons: list[str]
    what_would_change: list[str]

    def to_dict(self) -> dict:
        return asdict(self)


def _rank(name: str, names: Sequence[str]) -> int:
    return SIMPLICITY_ORDER.index(name) if name in SIMPLICITY_ORDER else len(SIMPLICITY_ORDER) + names.index(name)


def _warning_codes(warnings: Sequence[str | Mapping]) -> set[str]:
    return {w["code"] if isinstance(w, Mapping) else str(w) for w in warnings}


def _score(lev: LeverSummary) -> str:
    return f"{lev.mean:.2f} [{lev.ci_low:.2f}, {lev.ci_high:.2f}]"


def _diff(v: PairVerdict) -> str:
    return f"{v.diff:+.2f} [{v.ci_low:+.2f}, {v.ci_high:+.2f}]"


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
    """The costs given, else what the summaries carry (with no monthly volume)."""
    if costs is not None:
        return dict(costs)
    return {lev.name: LeverCost(lev.cost_per_1k_calls, lev.one_off_cost or 0.0, None)
            for lev in levers if lev.cost_per_1k_calls is not None}


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


def _cheaper_later(ordered: list[LeverSummary], costs: dict[str, LeverCost], horizon: float,
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
        if x.name in FINETUNE_LEVERS and y.name not in FINETUNE_LEVERS:
            text += (": fine-tuning changes behaviour (format, style); what it left may be missing knowledge, "
                     "which retrieval supplies")
        elif x.name == "retrieval" and y.name not in RETRIEVAL_LEVERS:
            text += (": retrieval supplies knowledge; what it left may be behaviour (format, style), "
                     "which fine-tuning teaches")
    return [text + "."]


def recommend(levers: Sequence[LeverSummary], verdicts: Sequence[PairVerdict | Mapping],
              costs: Mapping[str, LeverCost] | None = None, warnings: Sequence[str | Mapping] = (),
              mdd: float | None = None, *, n_eval: int | None = None, retrieval_recall: float | None = None,
              horizon_months: float = DEFAULT_HORIZON_MONTHS, min_saving: float = 0.0) -> Recommendation:
    """Pick a lever: the simplest (or, at volume, cheapest) one not significantly worse than any other.

    `verdicts` may be PairVerdicts or their dicts, either way round. `warnings` are codes or
    {"code", "message"} dicts. `mdd` is the min detectable difference of the eval set (from the
    two best levers); `n_eval` its size, used to size a larger eval set.
    """
    names = [lev.name for lev in levers]
    table = _Verdicts(verdicts)
    codes = _warning_codes(warnings)
    risk_codes = [c for c in FINETUNE_RISK_CODES if c in codes]
    levers = [LeverSummary(**{**asdict(lev), "risks": list(lev.risks) + [c for c in risk_codes if c not in lev.risks]})
              if lev.name in FINETUNE_LEVERS and risk_codes else lev for lev in levers]
    skipped = [lev for lev in levers if lev.status != "ok"]
    ok = [lev for lev in levers if lev.status == "ok"]
    reasons: list[str] = []
    change: list[str] = [f"running {lev.name} (skipped: {lev.reason or 'no reason given'}) could change this."
                         for lev in skipped]
    skipped_lines = [f"{lev.name} was not run: {lev.reason or 'no reason given'}." for lev in skipped]

    if not ok:
        return Recommendation(None, "none", ["No lever ran successfully, so there is nothing to recommend."]
                              + skipped_lines, change)

    # Rule 3: the best by mean is the reference; candidates are not significantly worse than it
    # nor than any other lever (so a simpler lever never wins over one that beats it).
    best = max(ok, key=lambda lev: (lev.mean, -_rank(lev.name, names)))
    candidates = [lev for lev in ok if lev is best or all(table.verdict(lev.name, o.name) != "worse" for o in ok)]
    # Rules 4-6: simplicity order, risk moves a lever down, cost can promote a later lever.
    ordered, pushed = _order_candidates(candidates, names)
    money = _costs_of(levers, costs)
    cheaper = _cheaper_later(ordered, money, horizon_months, min_saving)
    chosen = cheaper or ordered[0]
    others = sorted((lev for lev in ok if lev is not chosen), key=lambda lev: -lev.mean)

    # Rule 7: confidence.
    beaten = [o for o in others if table.verdict(chosen.name, o.name) == "better"]
    if not others:
        confidence: Confidence = "likely"
        reasons.append(f"Only {chosen.name} ran, so it could not be compared with another lever.")
    elif len(beaten) == len(others):
        confidence = "clear"
        reasons.append(f"{chosen.name} is significantly better than every other lever.")
    elif beaten:
        confidence = "likely"
        lead = (f"{chosen.name} has the highest score" if chosen is best
                else f"{chosen.name} is as good as the best lever ({best.name}) within the noise")
        reasons.append(f"{lead}; it is significantly better than {', '.join(o.name for o in beaten)} "
                       "but not than every lever.")
    else:
        confidence = "toss-up"
        reasons.append(f"No lever is significantly better than {chosen.name}, and it is not significantly "
                       "better than any; the choice rests on simplicity and cost.")
    if confidence in ("clear", "likely") and beaten and SMALL_EVAL_CODE in codes and mdd is not None:
        margin = min(table.get(chosen.name, o.name).diff for o in beaten)
        if margin < mdd:
            confidence = "toss-up"
            reasons.append(f"The eval set is small and the margin ({margin:+.2f}) is below the minimum "
                           f"detectable difference ({mdd:.2f}), so this is a toss-up.")

    # Rule 8: reasons with numbers, pair by pair.
    for o in others:
        v = table.get(chosen.name, o.name)
        if v is None:
            reasons.append(f"{chosen.name} and {o.name} were not compared directly; treated as indistinguishable.")
        elif v.verdict == "indistinguishable":
            why = _why(chosen, o, ordered, pushed, money, cheaper, names, horizon_months)
            reasons.append(f"{chosen.name} and {o.name} are indistinguishable ({_diff(v)}); "
                           f"{chosen.name} is chosen because {why}.")
        else:
            p = f", McNemar p={v.p_value:.3g}" if v.p_value is not None else ""
            reasons.append(f"{chosen.name} scored {_score(chosen)} vs {o.name} {_score(o)}: {_diff(v)}, "
                           f"significant{p}.")
        reasons += _criterion_sentences(chosen, o) + _criterion_sentences(o, chosen)
    for lev in ok:
        if lev.risks:
            moved = " and was moved down one place among equally good levers" if lev.name in pushed else ""
            reasons.append(f"{lev.name} carries risk: {', '.join(lev.risks)}{moved}.")
    if cheaper is not None:
        top, mine = money[ordered[0].name], money[chosen.name]
        reasons.append(f"{chosen.name} scores as well as the simpler {ordered[0].name} and is cheaper at the "
                       f"stated volume: {_money(mine.total(horizon_months))} vs {_money(top.total(horizon_months))} "
                       f"over {horizon_months:g} months, one-off costs included.")
    reasons += skipped_lines

    # Rule 9: what would change this.
    for o in others:
        if table.verdict(chosen.name, o.name) == "indistinguishable":
            change.append(_larger_eval_line(chosen, o, table.get(chosen.name, o.name), mdd, n_eval))
    change += _break_even_lines(chosen, candidates, ordered[0], money, horizon_months, min_saving)
    if (retrieval_recall is not None and retrieval_recall < LOW_RECALL and chosen.name not in RETRIEVAL_LEVERS
            and any(lev.name in RETRIEVAL_LEVERS for lev in ok)):
        change.append(f"if retrieval's recall improved (it found the needed passage for only {retrieval_recall:.0%} "
                      "of examples; try chunking, the embedder or top-k), retrieval could catch up.")
    return Recommendation(chosen.name, confidence, reasons, change)


def _why(chosen: LeverSummary, other: LeverSummary, ordered: list[LeverSummary], pushed: list[str],
         money: dict[str, LeverCost], cheaper: LeverSummary | None, names: list[str], horizon: float) -> str:
    """Why the chosen lever wins a tie with `other`."""
    mine, theirs = money.get(chosen.name), money.get(other.name)
    if cheaper is chosen:
        if mine and theirs and theirs.total(horizon) is not None and mine.total(horizon) < theirs.total(horizon):
            return "it is cheaper in total at the stated volume"
        return f"it is cheaper in total than {ordered[0].name}, the simplest equally good lever"
    if other.name in pushed:
        return f"{other.name} carries risk ({', '.join(other.risks)})"
    if other not in ordered:
        return f"{other.name} is significantly worse than another lever"
    if mine and theirs and mine.per_call <= theirs.per_call and mine.one_off_cost <= theirs.one_off_cost:
        return "it is cheaper and simpler"
    return "it is simpler" if _rank(chosen.name, names) < _rank(other.name, names) else "it comes first in the order"


def _larger_eval_line(chosen: LeverSummary, other: LeverSummary, v: PairVerdict | None,
                      mdd: float | None, n_eval: int | None) -> str:
    diff = v.diff if v else chosen.mean - other.mean
    pair = f"{chosen.name} and {other.name}"
    if mdd is None:
        return f"a larger eval set is needed to separate {pair} (difference {diff:+.2f})."
    need = examples_needed(n_eval, mdd, diff) if n_eval else None
    if n_eval and diff == 0:
        return f"{pair} score the same; no eval set size would separate them."
    if need is not None and need > n_eval:
        return (f"a larger eval set (~{need:,} examples, now {n_eval:,}) is needed to separate {pair}: "
                f"the difference {diff:+.2f} is below the {mdd:.2f} this set can detect.")
    return f"a larger eval set is needed to separate {pair} (difference {diff:+.2f}; this set detects about {mdd:.2f})."


def _break_even_lines(chosen: LeverSummary, candidates: list[LeverSummary], simplest: LeverSummary,
                      money: dict[str, LeverCost], horizon: float, min_saving: float = 0.0) -> list[str]:
    """Volumes at which an equally good lever would take over on cost.

    A later lever displaces the simplest only by saving at least `min_saving` over the horizon (as in
    `_cheaper_later`), so that margin is added to its one-off cost; the simplest lever needs no margin."""
    mine = money.get(chosen.name)
    if mine is None:
        return []
    saving = f"at least {_money(min_saving)} over {horizon:g} months"
    lines = []
    for o in candidates:
        theirs = money.get(o.name)
        if o is chosen or theirs is None:
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

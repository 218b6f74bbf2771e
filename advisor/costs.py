"""Cost model: what a lever costs per 1k calls, once, and per month, and when one pays back.

Pure arithmetic, no I/O. Per-call cost comes from token prices when an endpoint price is set,
otherwise from measured seconds at the machine's hourly rate; a retrieval lever's seconds of embedding
and search per call are added at the machine rate either way (they run on your machine, not the
endpoint). One-off work (training, index build) runs on the machine, so it is priced at the hourly
rate; with no rate set it is unknown (None), never free, and totals that need it are unknown too.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping

from .levers import registry

# One-off costs are spread over this many months when a break-even is stated "per month".
DEFAULT_HORIZON_MONTHS = 12


@dataclass(frozen=True)
class Prices:
    """Pricing config: endpoint token prices and/or a machine hourly rate, and expected volume."""

    price_per_1m_input: float | None = None
    price_per_1m_output: float | None = None
    machine_cost_per_hour: float | None = None
    calls_per_month: float | None = None

    @property
    def has_token_prices(self) -> bool:
        return self.price_per_1m_input is not None or self.price_per_1m_output is not None

    @property
    def is_set(self) -> bool:
        return self.has_token_prices or self.machine_cost_per_hour is not None


@dataclass(frozen=True)
class LeverUsage:
    """What one lever consumed, measured on the eval set (means per call) plus one-off seconds."""

    input_tokens_per_call: float
    output_tokens_per_call: float
    seconds_per_call: float
    one_off_seconds: float = 0.0  # training + index build
    retrieval_seconds_per_call: float = 0.0  # embedding the query + searching the index


@dataclass(frozen=True)
class LeverCost:
    """Money per 1k calls, once (training / index build; None when unpriced), and per month (None if volume unknown)."""

    cost_per_1k_calls: float
    one_off_cost: float | None
    monthly_cost: float | None

    @property
    def per_call(self) -> float:
        return self.cost_per_1k_calls / 1000

    def total(self, months: float = DEFAULT_HORIZON_MONTHS) -> float | None:
        """One-off plus `months` of running cost; None when the volume or the one-off cost is unknown."""
        if self.monthly_cost is None or self.one_off_cost is None:
            return None
        return self.one_off_cost + months * self.monthly_cost

    def to_dict(self) -> dict[str, float | None]:
        return asdict(self)


def lever_costs(usage: LeverUsage, prices: Prices) -> LeverCost | None:
    """Price one lever's usage; None when no price at all is configured."""
    if not prices.is_set:
        return None
    rate_per_second = None if prices.machine_cost_per_hour is None else prices.machine_cost_per_hour / 3600
    machine_seconds = usage.retrieval_seconds_per_call
    if prices.has_token_prices:
        per_call = (usage.input_tokens_per_call * (prices.price_per_1m_input or 0.0)
                    + usage.output_tokens_per_call * (prices.price_per_1m_output or 0.0)) / 1e6
    else:
        per_call = 0.0
        machine_seconds += usage.seconds_per_call
    per_call += machine_seconds * (rate_per_second or 0.0)  # with token prices only, retrieval time is unpriced
    if rate_per_second is not None:
        one_off: float | None = usage.one_off_seconds * rate_per_second
    else:
        one_off = 0.0 if usage.one_off_seconds == 0 else None
    monthly = None if prices.calls_per_month is None else per_call * prices.calls_per_month
    return LeverCost(per_call * 1000, one_off, monthly)


def break_even_calls(fixed_a: float, per_call_a: float, fixed_b: float, per_call_b: float) -> float | None:
    """Number of calls above which A's total cost is below B's.

    0.0 when A is never dearer; None when A never pays back (its per-call cost is not lower and
    it is not cheaper from the start, or it is cheaper at first but loses as volume grows).
    """
    if fixed_a <= fixed_b and per_call_a <= per_call_b:
        return 0.0
    if per_call_a >= per_call_b:
        return None
    return (fixed_a - fixed_b) / (per_call_b - per_call_a)


def cheaper_until_calls(fixed_a: float, per_call_a: float, fixed_b: float, per_call_b: float) -> float | None:
    """Calls below which A is cheaper, when A is cheaper at first but dearer at volume; else None."""
    if fixed_a < fixed_b and per_call_a > per_call_b:
        return (fixed_b - fixed_a) / (per_call_a - per_call_b)
    return None


def _calls(n: float) -> str:
    return f"{n:,.0f}"


def _sentence(name: str, other: str, mine: LeverCost, theirs: LeverCost, horizon: float) -> str:
    """One plain sentence on how the two levers' costs compare as volume grows."""
    spread = f"(one-off cost spread over {horizon:g} months)"
    if mine.one_off_cost is None or theirs.one_off_cost is None:
        unpriced = name if mine.one_off_cost is None else other
        return (f"{name} and {other} cannot be compared in total: {unpriced}'s one-off cost (training) is "
                "unpriced; set costs.machine_cost_per_hour to price it.")
    if mine.one_off_cost == theirs.one_off_cost and mine.per_call == theirs.per_call:
        return f"{name} and {other} cost the same at any volume."
    calls = break_even_calls(mine.one_off_cost, mine.per_call, theirs.one_off_cost, theirs.per_call)
    until = cheaper_until_calls(mine.one_off_cost, mine.per_call, theirs.one_off_cost, theirs.per_call)
    if calls == 0:
        return f"{name} is cheaper than {other} at any volume."
    if calls is not None:
        return f"At more than {_calls(calls / horizon)} calls a month {name} becomes cheaper than {other} {spread}."
    if until is not None:
        return (f"{name} is cheaper than {other} only below {_calls(until / horizon)} calls a month {spread}; "
                "above that its higher cost per call makes it dearer.")
    return f"{name} never becomes cheaper than {other}: neither its cost per call nor its one-off cost is lower."


def break_even_table(costs: Mapping[str, LeverCost], horizon_months: float = DEFAULT_HORIZON_MONTHS
                     ) -> list[dict]:
    """Break-even of each lever that trains weights (pays a training cost up front to save per call) against
    every other lever, with a sentence each.

    `break_even_calls` is a total; `break_even_calls_per_month` spreads the one-off cost over
    `horizon_months`. `cheaper_below_calls_per_month` is set when the fine-tuning lever is cheaper
    only at low volume. `cheaper_now` says whether it is cheaper over the horizon at the configured
    volume (None when the volume or a one-off cost is unknown).
    """
    rows: list[dict] = []
    for name in registry.names():
        if name not in costs or not registry.trains_weights(name):
            continue
        mine = costs[name]
        for other, theirs in costs.items():
            if other == name:
                continue
            priced = mine.one_off_cost is not None and theirs.one_off_cost is not None
            calls = until = None
            if priced:
                calls = break_even_calls(mine.one_off_cost, mine.per_call, theirs.one_off_cost, theirs.per_call)
                until = cheaper_until_calls(mine.one_off_cost, mine.per_call, theirs.one_off_cost, theirs.per_call)
            mine_total, their_total = mine.total(horizon_months), theirs.total(horizon_months)
            rows.append({"lever": name, "versus": other, "break_even_calls": calls,
                         "break_even_calls_per_month": None if calls is None else calls / horizon_months,
                         "cheaper_below_calls_per_month": None if until is None else until / horizon_months,
                         "horizon_months": horizon_months,
                         "cheaper_now": None if mine_total is None or their_total is None else mine_total < their_total,
                         "sentence": _sentence(name, other, mine, theirs, horizon_months)})
    return rows

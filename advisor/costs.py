"""Cost model: what a lever costs per 1k calls, once, and per month, and when one pays back.

Pure arithmetic, no I/O. Per-call cost comes from token prices when an endpoint price is set,
otherwise from measured seconds at the machine's hourly rate. One-off work (training, index
build) runs on the machine, so it is priced at the hourly rate (0 when no rate is set).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping

# One-off costs are spread over this many months when a break-even is stated "per month".
DEFAULT_HORIZON_MONTHS = 12
# Levers that pay a training cost up front to save per call; break-evens are stated for these.
FINETUNE_LEVERS = ("finetune", "retrieval+finetune")


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


@dataclass(frozen=True)
class LeverCost:
    """Money per 1k calls, once (training / index build), and per month (None if volume unknown)."""

    cost_per_1k_calls: float
    one_off_cost: float
    monthly_cost: float | None

    @property
    def per_call(self) -> float:
        return self.cost_per_1k_calls / 1000

    def total(self, months: float = DEFAULT_HORIZON_MONTHS) -> float | None:
        """One-off plus `months` of running cost; None when the monthly volume is unknown."""
        return None if self.monthly_cost is None else self.one_off_cost + months * self.monthly_cost

    def to_dict(self) -> dict[str, float | None]:
        return asdict(self)


def lever_costs(usage: LeverUsage, prices: Prices) -> LeverCost | None:
    """Price one lever's usage; None when no price at all is configured."""
    if not prices.is_set:
        return None
    rate_per_second = (prices.machine_cost_per_hour or 0.0) / 3600
    if prices.has_token_prices:
        per_call = (usage.input_tokens_per_call * (prices.price_per_1m_input or 0.0)
                    + usage.output_tokens_per_call * (prices.price_per_1m_output or 0.0)) / 1e6
    else:
        per_call = usage.seconds_per_call * rate_per_second
    monthly = None if prices.calls_per_month is None else per_call * prices.calls_per_month
    return LeverCost(per_call * 1000, usage.one_off_seconds * rate_per_second, monthly)


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


def _calls(n: float) -> str:
    return f"{n:,.0f}"


def break_even_table(costs: Mapping[str, LeverCost], horizon_months: float = DEFAULT_HORIZON_MONTHS
                     ) -> list[dict]:
    """Break-even of each fine-tuning lever against every other lever, with a sentence each.

    `break_even_calls` is a total; `break_even_calls_per_month` spreads the one-off cost over
    `horizon_months`. `cheaper_now` says whether the fine-tuning lever is cheaper over the
    horizon at the configured volume (None when the volume is unknown).
    """
    rows: list[dict] = []
    for name in FINETUNE_LEVERS:
        if name not in costs:
            continue
        mine = costs[name]
        for other, theirs in costs.items():
            if other == name:
                continue
            calls = break_even_calls(mine.one_off_cost, mine.per_call, theirs.one_off_cost, theirs.per_call)
            per_month = None if calls is None else calls / horizon_months
            mine_total, their_total = mine.total(horizon_months), theirs.total(horizon_months)
            cheaper_now = None if mine_total is None or their_total is None else mine_total < their_total
            if calls is None:
                sentence = f"{name} never becomes cheaper than {other}: its cost per call is not lower."
            elif calls == 0:
                sentence = f"{name} is cheaper than {other} at any volume."
            else:
                sentence = (f"At more than {_calls(per_month)} calls a month {name} becomes cheaper than "
                            f"{other} (one-off cost spread over {horizon_months:g} months).")
            rows.append({"lever": name, "versus": other, "break_even_calls": calls,
                         "break_even_calls_per_month": per_month, "horizon_months": horizon_months,
                         "cheaper_now": cheaper_now, "sentence": sentence})
    return rows

"""Cost model against hand-computed numbers."""
from __future__ import annotations

import pytest

from advisor.costs import LeverCost, LeverUsage, Prices, break_even_calls, break_even_table, lever_costs


def test_endpoint_prices_use_tokens():
    # 1000 in * $2/1M + 200 out * $10/1M = $0.002 + $0.002 = $0.004 per call = $4 per 1k calls.
    prices = Prices(price_per_1m_input=2.0, price_per_1m_output=10.0, calls_per_month=50_000)
    cost = lever_costs(LeverUsage(1000, 200, seconds_per_call=0.5), prices)
    assert cost.cost_per_1k_calls == pytest.approx(4.0)
    assert cost.one_off_cost == 0.0
    assert cost.monthly_cost == pytest.approx(200.0)


def test_machine_rate_uses_seconds():
    # $3.60 an hour = $0.001 a second. 0.5 s a call -> $0.0005 -> $0.50 per 1k calls;
    # 1800 s of training -> $1.80 once.
    prices = Prices(machine_cost_per_hour=3.6)
    cost = lever_costs(LeverUsage(500, 50, seconds_per_call=0.5, one_off_seconds=1800), prices)
    assert cost.cost_per_1k_calls == pytest.approx(0.5)
    assert cost.one_off_cost == pytest.approx(1.8)
    assert cost.monthly_cost is None
    assert cost.total() is None


def test_endpoint_with_machine_rate_prices_one_off_on_machine():
    prices = Prices(price_per_1m_input=1.0, machine_cost_per_hour=7.2, calls_per_month=1000)
    cost = lever_costs(LeverUsage(1000, 0, seconds_per_call=10.0, one_off_seconds=500), prices)
    assert cost.cost_per_1k_calls == pytest.approx(1.0)  # tokens, not seconds
    assert cost.one_off_cost == pytest.approx(1.0)  # 500 s * $0.002
    assert cost.total(12) == pytest.approx(1.0 + 12 * 1.0)


def test_no_prices_gives_none():
    assert lever_costs(LeverUsage(1, 1, 1.0), Prices(calls_per_month=10)) is None


def test_break_even_calls():
    # A: $10 once + $0.001 a call; B: $0 + $0.003 a call -> 10 / 0.002 = 5000 calls.
    assert break_even_calls(10, 0.001, 0, 0.003) == pytest.approx(5000)
    assert break_even_calls(0, 0.001, 5, 0.003) == 0.0  # cheaper from the start
    assert break_even_calls(10, 0.003, 0, 0.003) is None  # never pays back
    assert break_even_calls(10, 0.004, 0, 0.003) is None
    assert break_even_calls(0, 0.004, 10, 0.003) is None  # cheaper at first, dearer at volume


def test_break_even_table():
    costs = {
        "prompt": LeverCost(cost_per_1k_calls=3.0, one_off_cost=0.0, monthly_cost=30.0),
        "retrieval": LeverCost(cost_per_1k_calls=5.0, one_off_cost=0.0, monthly_cost=50.0),
        "finetune": LeverCost(cost_per_1k_calls=1.0, one_off_cost=24.0, monthly_cost=10.0),
    }
    rows = {(r["lever"], r["versus"]): r for r in break_even_table(costs, horizon_months=12)}
    assert set(rows) == {("finetune", "prompt"), ("finetune", "retrieval")}
    vs_prompt = rows[("finetune", "prompt")]
    # 24 / (0.003 - 0.001) = 12,000 calls in total, 1,000 a month over 12 months.
    assert vs_prompt["break_even_calls"] == pytest.approx(12_000)
    assert vs_prompt["break_even_calls_per_month"] == pytest.approx(1000)
    # At 10,000 calls a month: finetune 24 + 12 * 10 = 144 vs prompt 12 * 30 = 360.
    assert vs_prompt["cheaper_now"] is True
    assert vs_prompt["sentence"].startswith("At more than 1,000 calls a month finetune becomes cheaper than prompt")
    assert rows[("finetune", "retrieval")]["break_even_calls"] == pytest.approx(6000)


def test_break_even_table_never_cheaper():
    costs = {"prompt": LeverCost(1.0, 0.0, None), "finetune": LeverCost(2.0, 5.0, None)}
    (row,) = break_even_table(costs)
    assert row["break_even_calls"] is None and row["cheaper_now"] is None
    assert "never becomes cheaper" in row["sentence"]


def test_break_even_table_equal_costs_are_the_same_not_cheaper():
    costs = {"prompt": LeverCost(1.0, 0.5, None), "finetune": LeverCost(1.0, 0.5, None)}
    (row,) = break_even_table(costs)
    assert row["sentence"] == "finetune and prompt cost the same at any volume."


def test_break_even_table_cheaper_only_at_low_volume():
    # finetune: $0 once, $2 per 1k; prompt: $12 once, $1 per 1k -> finetune cheaper below 12 / 0.001 = 12,000
    # calls in total, 1,000 a month over 12 months; "never" would be wrong.
    costs = {"prompt": LeverCost(1.0, 12.0, None), "finetune": LeverCost(2.0, 0.0, None)}
    (row,) = break_even_table(costs)
    assert row["break_even_calls"] is None
    assert row["cheaper_below_calls_per_month"] == pytest.approx(1000)
    assert row["sentence"].startswith("finetune is cheaper than prompt only below 1,000 calls a month")


def test_training_without_a_machine_rate_is_unpriced_not_free():
    # Token prices only: 1800 s of training cannot be priced, so it is None, and so is the 12-month total.
    prices = Prices(price_per_1m_input=1.0, calls_per_month=1000)
    cost = lever_costs(LeverUsage(1000, 0, seconds_per_call=1.0, one_off_seconds=1800), prices)
    assert cost.one_off_cost is None and cost.total(12) is None
    assert lever_costs(LeverUsage(1000, 0, seconds_per_call=1.0), prices).one_off_cost == 0.0
    rows = break_even_table({"prompt": LeverCost(1.0, 0.0, 1.0), "finetune": cost})
    assert rows[0]["break_even_calls"] is None and rows[0]["cheaper_now"] is None
    assert "unpriced" in rows[0]["sentence"]


def test_retrieval_seconds_are_priced_at_the_machine_rate():
    # $3.60 an hour = $0.001 a second. Machine rate only: (0.5 + 0.1) s -> $0.60 per 1k calls.
    usage = LeverUsage(500, 50, seconds_per_call=0.5, retrieval_seconds_per_call=0.1)
    assert lever_costs(usage, Prices(machine_cost_per_hour=3.6)).cost_per_1k_calls == pytest.approx(0.6)
    # Token prices plus a machine rate: 500 * $2/1M = $0.001 + 0.1 s * $0.001 = $0.0011 -> $1.10 per 1k.
    both = Prices(price_per_1m_input=2.0, machine_cost_per_hour=3.6)
    assert lever_costs(usage, both).cost_per_1k_calls == pytest.approx(1.1)

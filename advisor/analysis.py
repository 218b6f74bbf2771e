"""From per-example scores to verdicts, costs, baselines and the recommendation (no model work)."""
from __future__ import annotations

import platform
import sys
from collections import Counter
from importlib import metadata

import numpy as np

from . import costs as costmodel
from . import stats
from .checks import below_majority_check
from .data import Example
from .decide import DEFAULT_MARGIN, LeverSummary, cell_name, recommend, recommend_cell
from .levers import registry
from .scoring import Rubric
from .spec import Task


def summary_of(record: dict, risks_measured: bool) -> LeverSummary:
    """What decide needs of a lever record or a grid cell (fields added later are read with .get)."""
    score, cost = record.get("score") or {}, record.get("cost") or {}
    return LeverSummary(name=record["name"], status=record["status"], reason=record.get("reason"),
                        mean=score.get("mean"), ci_low=score.get("ci_low"), ci_high=score.get("ci_high"),
                        criteria=record.get("criteria", {}), cost_per_1k_calls=cost.get("cost_per_1k_calls"),
                        one_off_cost=cost.get("one_off_cost"), input_tokens_per_call=cost.get("input_tokens_per_call"),
                        risks=list(record.get("risks") or []), risks_measured=risks_measured,
                        undertrained=bool(record.get("undertrained", False)),
                        undertrained_note=record.get("undertrained_note"))


def task_prices(task: Task) -> costmodel.Prices:
    """The task's `costs` settings as the cost model reads them (lever costs and prompt-variant choice alike)."""
    c = task.costs
    return costmodel.Prices(c.price_per_1m_input, c.price_per_1m_output, c.machine_cost_per_hour, c.calls_per_month)


def analyse(levers: list[dict], rubric: Rubric, evals: list[Example], task: Task, warnings: list[dict]) -> dict:
    """Intervals, pairwise verdicts, costs, baselines and the recommendation (no model work)."""
    seed = task.seed
    pass_fail = {c.name: c.scorer.pass_fail for c in rubric.criteria}
    ok = [lev for lev in levers if lev["status"] == "ok"]
    for lev in ok:
        sc = lev["_scores"]
        lev["score"] = stats.bootstrap_ci(sc["total"], seed=seed).to_dict()
        lev["criteria"] = {name: float(np.mean(v)) for name, v in sc.items() if name != "total"}
        lev["criteria_ci"] = {name: stats.bootstrap_ci(v, seed=seed).to_dict() for name, v in sc.items() if name != "total"}
        if sc["total"].ndim == 2:
            lev["details"]["seed_scores"] = [round(float(x), 4) for x in sc["total"].mean(axis=1)]
    total_pass_fail = len(rubric.criteria) == 1 and all(pass_fail.values())
    comparisons = [v.to_dict() for v in stats.compare_all_pairs({lev["name"]: lev["_scores"]["total"] for lev in ok},
                                                                  pass_fail=total_pass_fail, seed=seed)]
    prices = task_prices(task)
    lever_costs = {}
    for lev in ok:
        c = lev["cost"]
        usage = costmodel.LeverUsage(c["input_tokens_per_call"], c["output_tokens_per_call"], c["seconds_per_call"],
                                     c["train_seconds"] + c["index_seconds"], c.get("retrieval_seconds_per_call", 0.0))
        priced = costmodel.lever_costs(usage, prices)
        if priced is not None:
            lever_costs[lev["name"]] = priced
            c.update(priced.to_dict())
    mdd = None
    if len(ok) >= 2:
        top = sorted(ok, key=lambda lev: -lev["score"]["mean"])[:2]
        mdd = stats.min_detectable_difference(top[0]["_scores"]["total"], top[1]["_scores"]["total"])
        warning = _too_small_to_separate(top[0]["name"], comparisons, len(evals))
        if warning and not any(w["code"] == "small_eval_set" for w in warnings):
            warnings.append(warning)
    refs = [e.output for e in evals]
    baselines = {"majority_class": None}
    if stats.looks_like_classification(refs):
        label, share = stats.majority_baseline(refs)
        baselines["majority_class"] = {"label": label, "score": share}
        for lev in ok:  # a constant predictor can look competitive: show what each lever actually answered
            counts = Counter(p.strip() for p in lev["_predictions"]).most_common(8)
            lev["details"]["predicted_labels"] = {label: n for label, n in counts}
        warnings.extend(below_majority_check({lev["name"]: lev["score"]["mean"] for lev in ok}, label, share))
    rec = recommend_from_results(levers, comparisons, warnings, mdd, len(evals), task.costs.min_yearly_saving,
                                 margin=task.decision.margin)
    return {
        "comparisons": comparisons, "baselines": baselines, "min_detectable_difference": mdd,
        "cost_model": {**prices.__dict__, "min_yearly_saving": task.costs.min_yearly_saving,
                       "break_even": costmodel.break_even_table(lever_costs) if lever_costs else []},
        "recommendation": rec.to_dict(),
    }


def _too_small_to_separate(leader: str, comparisons: list[dict], n_eval: int) -> dict | None:
    """Warn about levers indistinguishable from the best whose gap is below that pair's own MDD.

    Only gaps to the best lever bear on the choice (two weak levers close together do not), and a
    pair already told apart is not flagged, however close."""
    near = [(v["b"] if v["a"] == leader else v["a"], v["mdd"]) for v in comparisons
            if leader in (v["a"], v["b"]) and v["verdict"] == "indistinguishable"
            and v.get("mdd") is not None and abs(v["diff"]) < v["mdd"]]
    if not near:
        return None
    names = ", ".join(name for name, _ in sorted(near))
    detectable = ", ".join(f"{mdd:.2f}" for _, mdd in sorted(near))
    return {"code": "eval_set_too_small_to_separate",
            "message": f"with {n_eval} eval examples {names} differ{'s' if len(near) == 1 else ''} from the best lever "
                       f"({leader}) by less than this set can detect for that pair (about {detectable}), and the "
                       "two are not told apart"}


def recommend_from_results(levers: list[dict], comparisons: list[dict], warnings: list[dict], mdd: float | None,
                           n_eval: int, min_saving: float = 0.0, margin: float = DEFAULT_MARGIN):
    """The decision from what results.json records (so a stored run can be re-decided and checked).

    Fields added later (risks, undertrained, p_holm, mdd) are read with .get, so older runs still re-decide."""
    summaries, lever_costs, recall = [], {}, None
    for lev in levers:
        ok = lev["status"] == "ok"
        cost = lev.get("cost") or {}
        summaries.append(summary_of(lev, risks_measured="risks" in lev))
        if ok and cost.get("cost_per_1k_calls") is not None:
            lever_costs[lev["name"]] = costmodel.LeverCost(cost["cost_per_1k_calls"], cost.get("one_off_cost"),
                                                           cost.get("monthly_cost"))
        if ok and registry.uses_retrieval(lev["name"]) and "retriever" in lev["details"]:  # the lever that measured it
            recall = lev["details"].get("retriever", {}).get(f"recall@{lev['chosen'].get('top_k')}")
    return recommend(summaries, comparisons, lever_costs or None, warnings, mdd, n_eval=n_eval,
                     retrieval_recall=recall, min_saving=min_saving, margin=margin)


CELL_COST_KEYS = ("input_tokens_per_call", "output_tokens_per_call", "seconds_per_call", "latency_p50", "latency_p95",
                  "train_seconds", "index_seconds", "cost_per_1k_calls", "one_off_cost", "monthly_cost")


def analyse_grid(models: list[tuple[str, dict, list[dict], dict, list[dict]]], rubric: Rubric, evals: list[Example],
                 task: Task) -> dict:
    """results.json "grid" (and the recommended cell as "recommendation"): one cell per (model label, lever) that
    `analyse` already scored and priced, every pair of ok cells tested on the same eval ids (Holm over all pairs),
    the Pareto front of mean score against cost per call, and the decision over cells by the levers' rules.
    `models`: (label, results.json "model", analysed levers with their `_scores`, that model's own
    recommendation, its own warnings) per model, in task.yaml's order."""
    ids = [e.id for e in evals]
    cells, scores = [], {}
    for label, _, levers, _, _ in models:
        for lev in levers:
            name = cell_name(label, lev["name"])
            ok = lev["status"] == "ok"
            cell = {"name": name, "model": label, "lever": lev["name"], "status": lev["status"],
                    "reason": lev.get("reason")}
            if ok:
                rows = lev["_rows"]
                if [r["id"] for r in rows] != ids:  # pairing across models is by eval id: every model, same rows
                    raise AssertionError(f"{name}: its predictions are not the eval rows in order (a bug in advise)")
                scores[name] = lev["_scores"]["total"]
                cell.update(score=lev["score"], criteria=lev["criteria"],
                            cost={k: lev["cost"][k] for k in CELL_COST_KEYS if lev["cost"].get(k) is not None},
                            risks=list(lev.get("risks") or []), undertrained=bool(lev.get("undertrained")),
                            predictions=lev["artifacts"]["predictions"])
            cells.append(cell)
    total_pass_fail = len(rubric.criteria) == 1 and rubric.criteria[0].scorer.pass_fail  # as within one model
    comparisons = [v.to_dict() for v in stats.compare_all_pairs(scores, pass_fail=total_pass_fail, seed=task.seed)]
    ok = [c for c in cells if c["status"] == "ok"]
    mdd = None
    if len(ok) >= 2:
        top = sorted(ok, key=lambda c: -c["score"]["mean"])[:2]
        mdd = stats.min_detectable_difference(scores[top[0]["name"]], scores[top[1]["name"]])
    order = {label: i for i, (label, *_) in enumerate(models)}

    def cheapest_first(cell: dict) -> tuple:  # within a lever, the cheaper model is the simpler choice
        cost = cell.get("cost") or {}  # priced cells by money, then unpriced ones by seconds (never the two mixed)
        if cost.get("cost_per_1k_calls") is not None:
            return (0, cost["cost_per_1k_calls"], order[cell["model"]])
        return (1, cost.get("seconds_per_call", float("inf")), order[cell["model"]])

    summaries, money = [], {}
    for cell in sorted(cells, key=cheapest_first):
        cost = cell.get("cost") or {}
        summaries.append(summary_of(cell, risks_measured=True))
        if cost.get("cost_per_1k_calls") is not None:
            money[cell["name"]] = costmodel.LeverCost(cost["cost_per_1k_calls"], cost.get("one_off_cost"),
                                                      cost.get("monthly_cost"))
    warnings = [w for *_, own in models for w in own]
    rec = recommend_cell(summaries, comparisons, money or None, warnings, mdd, n_eval=len(evals),
                         min_saving=task.costs.min_yearly_saving, margin=task.decision.margin).to_dict()
    chosen = next((c for c in cells if c["name"] == rec["lever"]), None)
    recommendation = {"lever": chosen["lever"] if chosen else None, "model": chosen["model"] if chosen else None,
                      "cell": rec["lever"], **{k: rec[k] for k in ("confidence", "reasons", "what_would_change")}}
    return {
        "models": [{"label": label, "model": model, "recommendation": own_rec, "warnings": own}
                   for label, model, _, own_rec, own in models],
        "cells": cells, "comparisons": comparisons, "min_detectable_difference": mdd,
        "pareto": pareto_front(ok), "recommendation": recommendation,
    }


def pareto_front(cells: list[dict]) -> list[str]:
    """Names of the priced cells no other cell beats on both mean score and cost per call (higher score, lower
    cost; at least as good on both and better on one), cheapest first. Point estimates: the table and the paired
    comparisons say which differences the eval set can tell apart."""
    priced = [(c["name"], c["score"]["mean"], c["cost"]["cost_per_1k_calls"]) for c in cells
              if (c.get("cost") or {}).get("cost_per_1k_calls") is not None]
    front = [(name, mean, cost) for name, mean, cost in priced
             if not any(m >= mean and k <= cost and (m > mean or k < cost) for _, m, k in priced)]
    return [name for name, _, _ in sorted(front, key=lambda f: (f[2], -f[1]))]


def environment(task: Task, backend) -> dict:
    packages = {}
    for name in ("advise", "torch", "transformers", "peft", "sentence-transformers", "faiss-cpu", "openai", "numpy"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return {"python": sys.version.split()[0], "platform": platform.platform(), "packages": packages,
            "device": getattr(backend, "device", "remote"), "threads": getattr(backend, "threads", None),
            "seed": task.seed}

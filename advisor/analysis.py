"""From per-example scores to verdicts, costs, baselines and the recommendation (no model work)."""
from __future__ import annotations

import platform
import sys
from collections import Counter
from importlib import metadata

import numpy as np

from . import costs as costmodel
from . import stats
from .data import Example
from .decide import LeverSummary, recommend
from .scoring import Rubric
from .spec import Task


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
    comparisons = []
    for i, a in enumerate(ok):
        for b in ok[i + 1:]:
            v = stats.compare_levers(a["name"], a["_scores"]["total"], b["name"], b["_scores"]["total"],
                                     pass_fail=total_pass_fail, seed=seed)
            comparisons.append(v.to_dict())
    prices = costmodel.Prices(task.costs.price_per_1m_input, task.costs.price_per_1m_output,
                              task.costs.machine_cost_per_hour, task.costs.calls_per_month)
    lever_costs = {}
    for lev in ok:
        c = lev["cost"]
        usage = costmodel.LeverUsage(c["input_tokens_per_call"], c["output_tokens_per_call"], c["seconds_per_call"],
                                     c["train_seconds"] + c["index_seconds"])
        priced = costmodel.lever_costs(usage, prices)
        if priced is not None:
            lever_costs[lev["name"]] = priced
            c.update(priced.to_dict())
    mdd = None
    if len(ok) >= 2:
        top = sorted(ok, key=lambda lev: -lev["score"]["mean"])[:2]
        mdd = stats.min_detectable_difference(top[0]["_scores"]["total"], top[1]["_scores"]["total"])
        # Only the gaps to the best lever bear on the choice: two weak levers close together do not.
        leader = top[0]["name"]
        near = sorted(v["b"] if v["a"] == leader else v["a"] for v in comparisons
                      if leader in (v["a"], v["b"]) and abs(v["diff"]) < mdd)
        if near and not any(w["code"] == "small_eval_set" for w in warnings):
            warnings.append({"code": "eval_set_too_small_to_separate",
                             "message": f"with {len(evals)} eval examples the smallest detectable difference is about "
                                        f"{mdd:.2f}; {', '.join(near)} differ{'s' if len(near) == 1 else ''} "
                                        f"from the best lever ({leader}) by less"})
    refs = [e.output for e in evals]
    baselines = {"majority_class": None}
    if stats.looks_like_classification(refs):
        label, share = stats.majority_baseline(refs)
        baselines["majority_class"] = {"label": label, "score": share}
        for lev in ok:  # a constant predictor can look competitive: show what each lever actually answered
            counts = Counter(p.strip() for p in lev["_predictions"]).most_common(8)
            lev["details"]["predicted_labels"] = {label: n for label, n in counts}
    rec = recommend_from_results(levers, comparisons, warnings, mdd, len(evals), task.costs.min_yearly_saving)
    return {
        "comparisons": comparisons, "baselines": baselines, "min_detectable_difference": mdd,
        "cost_model": {**prices.__dict__, "min_yearly_saving": task.costs.min_yearly_saving,
                       "break_even": costmodel.break_even_table(lever_costs) if lever_costs else []},
        "recommendation": rec.to_dict(),
    }


def recommend_from_results(levers: list[dict], comparisons: list[dict], warnings: list[dict], mdd: float | None,
                           n_eval: int, min_saving: float = 0.0):
    """The decision from what results.json records (so a stored run can be re-decided and checked)."""
    summaries, lever_costs, recall = [], {}, None
    for lev in levers:
        ok = lev["status"] == "ok"
        score, cost = lev.get("score") or {}, lev.get("cost") or {}
        summaries.append(LeverSummary(name=lev["name"], status=lev["status"], reason=lev.get("reason"),
                                      mean=score.get("mean"), ci_low=score.get("ci_low"), ci_high=score.get("ci_high"),
                                      criteria=lev.get("criteria", {}), cost_per_1k_calls=cost.get("cost_per_1k_calls"),
                                      one_off_cost=cost.get("one_off_cost"),
                                      input_tokens_per_call=cost.get("input_tokens_per_call")))
        if ok and cost.get("cost_per_1k_calls") is not None:
            lever_costs[lev["name"]] = costmodel.LeverCost(cost["cost_per_1k_calls"], cost["one_off_cost"],
                                                           cost.get("monthly_cost"))
        if ok and lev["name"] == "retrieval":
            recall = lev["details"].get("retriever", {}).get(f"recall@{lev['chosen'].get('top_k')}")
    return recommend(summaries, comparisons, lever_costs or None, warnings, mdd, n_eval=n_eval,
                     retrieval_recall=recall, min_saving=min_saving)


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

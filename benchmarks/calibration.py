"""Calibration of the decision rules: simulate eval scores under known truths and count the decisions.

Every simulated run goes through the real code: `stats.compare_all_pairs` (the tests, Holm's
correction), `stats.bootstrap_ci` and `analysis.recommend_from_results` (the decision as a stored
run is re-decided). numpy/scipy only, seeded, under two minutes on two CPU cores:

    .venv/bin/python benchmarks/calibration.py [--reps 2000]

Prints one JSON object: each rate, and `simulation_se` with the standard error of each
(sqrt(p (1 - p) / reps)). Targets: every false-positive rate and the wrong simpler pick <= 0.05.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date

import numpy as np

from advisor import stats
from advisor.analysis import recommend_from_results

N_BOOT = 1000  # per comparison; the default is 2000, halved to keep the run short (rates move < 0.005)
FOUR = ("prompt", "retrieval", "finetune", "retrieval+finetune")


def _lever(name: str, scores: np.ndarray, seed: int) -> dict:
    return {"name": name, "status": "ok", "score": stats.bootstrap_ci(scores, n_boot=N_BOOT, seed=seed).to_dict(),
            "criteria": {}, "cost": {}, "details": {}, "chosen": {}}


def decide(scores: dict[str, np.ndarray], pass_fail: bool, seed: int) -> tuple[list[dict], str | None, str]:
    """Comparisons, chosen lever and confidence for per-example scores, as `advise` computes them."""
    comparisons = [v.to_dict() for v in stats.compare_all_pairs(scores, pass_fail, n_boot=N_BOOT, seed=seed)]
    levers = [_lever(name, s, seed) for name, s in scores.items()]
    n = next(iter(scores.values())).shape[-1]
    rec = recommend_from_results(levers, comparisons, [], None, n)
    return comparisons, rec.lever, rec.confidence


def _difficulty(rng: np.random.Generator, n: int, mean: float = 0.6) -> np.ndarray:
    """Per-example chance of passing: examples differ in difficulty (Beta with the given mean, sd ~0.15)."""
    return rng.beta(10 * mean, 10 * (1 - mean), size=n)


def _runs(rng: np.random.Generator, p: np.ndarray, k: int, seed_sd: float = 0.0) -> np.ndarray:
    """k training runs scored pass/fail; each run shifts every example's logit by its own N(0, seed_sd)."""
    logit = np.log(p / (1 - p))
    shift = rng.normal(0, seed_sd, size=(k, 1))
    probs = 1 / (1 + np.exp(-(logit + shift)))
    runs = (rng.uniform(size=(k, p.size)) < probs).astype(float)
    return runs[0] if k == 1 else runs


def global_null(reps: int, rng: np.random.Generator) -> dict:
    """Four equal levers, pass/fail, n = 100: any pair declared different is a false positive."""
    any_sig = not_prompt = toss = 0
    for r in range(reps):
        p = _difficulty(rng, 100)
        comps, lever, confidence = decide({name: _runs(rng, p, 1) for name in FOUR}, True, r)
        any_sig += any(c["verdict"] != "indistinguishable" for c in comps)
        not_prompt += lever != "prompt"
        toss += confidence == "toss-up"
    return {"fwer_global_null_4_levers": any_sig / reps, "non_prompt_chosen_global_null": not_prompt / reps,
            "toss_up_global_null": toss / reps}


def global_null_continuous(reps: int, rng: np.random.Generator) -> dict:
    """Four equal levers with scores in [0, 1] (sign-flip tests), n = 100."""
    any_sig = 0
    for r in range(reps):
        p = _difficulty(rng, 100)
        scores = {name: np.clip(p + rng.normal(0, 0.2, size=p.size), 0, 1) for name in FOUR}
        comps, _, _ = decide(scores, False, r)
        any_sig += any(c["verdict"] != "indistinguishable" for c in comps)
    return {"fwer_global_null_4_levers_continuous": any_sig / reps}


def seeds_null(reps: int, rng: np.random.Generator, k: int, seed_sd: float = 0.3) -> float:
    """Two equal fine-tuned levers, each trained k times with run-level noise: a verdict either way is false."""
    false = 0
    for r in range(reps):
        p = _difficulty(rng, 100)
        scores = {"finetune": _runs(rng, p, k, seed_sd), "retrieval+finetune": _runs(rng, p, k, seed_sd)}
        comps, _, _ = decide(scores, True, r)
        false += comps[0]["verdict"] != "indistinguishable"
    return false / reps


def shifted_pair(reps: int, rng: np.random.Generator, diff: float) -> tuple[float, float, float]:
    """prompt vs finetune truly `diff` better, pass/fail, n = 100: the rates of finetune found better, of
    prompt picked, and of prompt picked although it scored lower (on the margin rule, not as the best)."""
    found = simpler = by_margin = 0
    for r in range(reps):
        p = _difficulty(rng, 100)
        scores = {"prompt": _runs(rng, p, 1), "finetune": _runs(rng, np.clip(p + diff, 0.001, 0.999), 1)}
        comps, lever, _ = decide(scores, True, r)
        found += comps[0]["verdict"] == "worse"  # prompt is a, finetune is b
        simpler += lever == "prompt"
        by_margin += lever == "prompt" and comps[0]["diff"] < 0
    return found / reps, simpler / reps, by_margin / reps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000, help="simulated eval sets per figure")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    out: dict = {"reps": args.reps, "n_eval": 100, "margin": 0.05}
    out.update(global_null(args.reps, rng))
    out.update(global_null_continuous(args.reps // 2, rng))
    out["fpr_null_seeds_k2"] = seeds_null(args.reps, rng, 2)
    out["fpr_null_seeds_k3"] = seeds_null(args.reps, rng, 3)
    out["fpr_null_seeds_k5"] = seeds_null(args.reps // 2, rng, 5)
    out["power_binary_n100_d010"], _, _ = shifted_pair(args.reps, rng, 0.10)
    _, out["wrong_simpler_pick_d012"], out["wrong_simpler_pick_d012_lower_scoring"] = shifted_pair(args.reps, rng, 0.12)
    _, out["simpler_pick_when_equal"], _ = shifted_pair(args.reps // 2, rng, 0.0)
    halves = {"fwer_global_null_4_levers_continuous", "fpr_null_seeds_k5", "simpler_pick_when_equal"}
    out["simulation_se"] = {key: round(float(np.sqrt(v * (1 - v) / (args.reps // 2 if key in halves else args.reps))),
                                       4)
                            for key, v in out.items() if isinstance(v, float) and key != "margin"}
    out["seconds"] = round(time.perf_counter() - t0, 1)
    out["date"] = date.today().isoformat()
    out["machine"] = f"{platform.machine()} {platform.processor() or ''}".strip()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

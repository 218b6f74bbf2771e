"""How many dev rows does choosing a prompt variant need? Score once, resample dev subsets, count stable choices.

    python benchmarks/dev_size.py [examples/handbook-qa/task.yaml ...] [--pool 96] [--draws 400] [--with-eval]

For each task: train is shuffled with the task seed and cut into a held-out POOL (dev-like rows) and the rest (the
shots' source, as train minus dev is in a real run). Every prompt variant of the task's prompt lever is generated
and scored once on the whole pool, and with --with-eval on the eval set too (cached in runs/dev-size/<task>/, so a
rerun only re-simulates). Then, for each dev size n, DRAWS dev sets of n rows are drawn from the pool with
replacement (the bootstrap: the pool stands for the population of dev-like rows, so n may exceed the pool) and
each choice rule picks a variant on them:

- best: the best subset mean (what compare.choose_variant does when no cost saving is material);
- halving s: successive halving as compare.choose_variant runs it: every variant on the subset's first s rows,
  the best two and the cheapest of the better half on all n, the best of those;
- cheapest-indistinguishable: the rule this replaced (the best, unless the cheapest of the better half is
  indistinguishable from it by the paired bootstrap, then the cheapest).

Reported per n and rule: how often the choice equals the choice on the whole pool (the bootstrap world's truth),
the regret (the pool's best mean minus the chosen variant's pool mean: what the choice costs in score), and with
--with-eval the chosen variant's mean eval score and eval regret. stdout is Markdown.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rows import log  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

SIZES = (16, 24, 32, 48, 64, 96, 128)
SCREENS = (16, 32)


def score_variants(task_file: Path, pool_size: int, with_eval: bool) -> dict:
    """Every prompt variant's per-row scores on the pool (and on eval), and its mean input tokens (cached)."""
    from advisor import compare
    from advisor.levers.base import Bench
    from advisor.levers.prompt import PromptLever
    from advisor.progress import Reporter
    from advisor.runs import JsonlCache

    loaded = compare.load(task_file, ["prompt"])
    task = loaded.task
    out = ROOT / "runs" / "dev-size" / task.name
    saved = out / f"scores-pool{pool_size}{'-eval' if with_eval else ''}.json"
    if saved.is_file():
        return json.loads(saved.read_text())
    reporter = Reporter()
    backend, _ = compare.make_backend(task, reporter)
    order = list(range(len(loaded.train)))
    random.Random(task.seed).shuffle(order)
    pool = [loaded.train[i] for i in order[:pool_size]]
    shots = [loaded.train[i] for i in order[pool_size:]]

    def embedder_factory():
        from advisor.backends.embedder import Embedder

        return Embedder(task.levers.retrieval.embedder, reporter=reporter)

    bench = Bench(task=task, backend=backend, train=shots, dev=pool, eval=loaded.eval, corpus=loaded.corpus,
                  rubric=loaded.rubric, run_dir=out, reporter=reporter,
                  max_new_tokens=compare._max_new_tokens(task, loaded.train, backend.count_tokens),
                  gen_cache=JsonlCache(out / "cache" / "generations.jsonl"), embedder_factory=embedder_factory)
    variants = PromptLever().prepare(bench).variants
    result = {"task": task.name, "pool": len(pool), "shots_from": len(shots), "eval": len(loaded.eval),
              "max_new_tokens": bench.max_new_tokens, "variants": []}
    t0 = time.perf_counter()
    for v in variants:
        row = {"name": v.name}
        for split, rows in (("pool", pool), ("eval", loaded.eval))[: 2 if with_eval else 1]:
            gens = compare._generate(bench, v, rows, f"{v.name} on {split}")
            row[split] = [round(float(x), 4) for x in compare._score(bench, bench.rubric, gens, rows)["total"]]
            if split == "pool":
                row["input_tokens"] = float(np.mean([g.input_tokens for g in gens]))
        log(f"{task.name}: {v.name}: pool {np.mean(row['pool']):.3f}, eval {np.mean(row.get('eval', [np.nan])):.3f}, "
            f"{row['input_tokens']:.0f} prompt tokens; {time.perf_counter() - t0:.0f} s so far")
        result["variants"].append(row)
    result["generation_seconds"] = round(time.perf_counter() - t0, 1)
    out.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(result))
    return result


def _best(means: np.ndarray, tokens: np.ndarray, among) -> int:
    return min(among, key=lambda i: (-means[i], tokens[i], i))


def choose(rule: str, sub: np.ndarray, tokens: np.ndarray, seed: int) -> int:
    """The variant a rule picks from per-variant scores on one dev subset (variants x rows)."""
    from advisor import stats

    everyone = range(sub.shape[0])
    if rule == "best":
        return _best(sub.mean(axis=1), tokens, everyone)
    if rule.startswith("halving"):
        screen = int(rule.split()[1])
        if screen >= sub.shape[1]:
            return _best(sub.mean(axis=1), tokens, everyone)
        screened = sub[:, :screen].mean(axis=1)
        ranked = sorted(everyone, key=lambda i: (-screened[i], tokens[i], i))
        cheapest = min(ranked[: (len(ranked) + 1) // 2], key=lambda i: (tokens[i], i))
        return _best(sub.mean(axis=1), tokens, set(ranked[:2] + [cheapest]))
    means = sub.mean(axis=1)  # cheapest-indistinguishable, on the whole subset
    ranked = sorted(everyone, key=lambda i: (-means[i], tokens[i], i))
    best = ranked[0]
    cheapest = min(ranked[: (len(ranked) + 1) // 2], key=lambda i: (tokens[i], i))
    if cheapest != best and stats.compare_levers("b", sub[best], "c", sub[cheapest], pass_fail=False, n_boot=1000,
                                                 seed=seed).verdict == "indistinguishable":
        return cheapest
    return best


def simulate(scored: dict, draws: int, seed: int = 0) -> list[dict]:
    pool = np.array([v["pool"] for v in scored["variants"]])
    truth = pool.mean(axis=1)
    evals = np.array([np.mean(v.get("eval", [np.nan])) for v in scored["variants"]])
    tokens = np.array([v["input_tokens"] for v in scored["variants"]])
    on_pool = _best(truth, tokens, range(len(pool)))
    rng = np.random.default_rng(seed)
    rules = ["best", *(f"halving {s}" for s in SCREENS), "cheapest-indistinguishable"]
    rows = []
    for n in SIZES:
        picks = {rule: [] for rule in rules}
        for d in range(draws):
            sub = pool[:, rng.choice(pool.shape[1], size=n, replace=True)]
            for rule in rules:
                if rule.startswith("halving") and int(rule.split()[1]) >= n:
                    continue
                picks[rule].append(choose(rule, sub, tokens, seed + d))
        for rule, chosen in picks.items():
            if chosen:
                chosen = np.array(chosen)
                regret = truth.max() - truth[chosen]
                rows.append({"n": n, "rule": rule, "agree": float(np.mean(chosen == on_pool)),
                             "regret": float(regret.mean()), "p90_regret": float(np.percentile(regret, 90)),
                             "eval": float(evals[chosen].mean()), "eval_regret": float((evals.max() - evals[chosen]).mean())})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="*", type=Path, default=[ROOT / "examples" / "handbook-qa" / "task.yaml"])
    parser.add_argument("--pool", type=int, default=96, help="held-out train rows every variant is scored on")
    parser.add_argument("--with-eval", action="store_true", help="also score every variant on the eval set")
    parser.add_argument("--draws", type=int, default=400, help="random dev subsets per size")
    args = parser.parse_args(argv)
    from run import machine

    print(f"`{machine()}`\n")
    for task_file in args.tasks:
        scored = score_variants(task_file, args.pool, args.with_eval)
        pool_means = [np.mean(v["pool"]) for v in scored["variants"]]
        on_pool = int(np.argmax(pool_means))
        print(f"### {scored['task']}: {len(scored['variants'])} prompt variants, pool {scored['pool']} rows "
              f"(shots from the other {scored['shots_from']}), eval {scored['eval']} rows, "
              f"cap {scored['max_new_tokens']} tokens; generation {scored.get('generation_seconds', '?')} s\n")
        print("| variant | prompt tokens | pool mean | eval mean |\n|---|---|---|---|")
        for i, v in enumerate(scored["variants"]):
            mark = " (pool's choice)" if i == on_pool else ""
            ev = np.mean(v.get("eval", [np.nan]))
            print(f"| {v['name']}{mark} | {v['input_tokens']:.0f} | {np.mean(v['pool']):.3f} | {ev:.3f} |")
        print(f"\n{args.draws} bootstrap dev sets per size:\n")
        print("| dev rows | rule | same choice as the pool | mean regret | p90 regret | eval of the choice | eval regret |")
        print("|---|---|---|---|---|---|---|")
        for r in simulate(scored, args.draws):
            print(f"| {r['n']} | {r['rule']} | {r['agree']:.0%} | {r['regret']:.3f} | {r['p90_regret']:.3f} | "
                  f"{r['eval']:.3f} | {r['eval_regret']:.3f} |")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

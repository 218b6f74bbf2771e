"""The comparison: load the task, run every lever on the same model (or on every model of a grid) and eval set,
score, compare, decide."""
from __future__ import annotations

import functools
import gc
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import costs as costmodel
from . import stats
from .backends.base import generate_cached, is_trainable
from .checks import (Checked, data_checks, dev_eval_gap_check, eval_power_check, forgetting_check,
                     majority_baseline_check, skipped, unrun_finetune_checks, warnings_of)
from .costs import DEFAULT_HORIZON_MONTHS
from .data import Document, Example, content_hash, corpus_chunks_at_most, load_corpus, load_examples, split_dev
from .analysis import analyse, analyse_grid, environment, task_prices
from .decide import FINETUNE_RISK_CODES, LeverSummary, cheaper_later
from .errors import UserError, did_you_mean, shown
from .resources import free_ram
from .judging import Judges, Label, check_judges, load_labels, summarize
from .levers import registry
from .levers.base import Bench, CurvePoint, Lever, Variant
from .levers.retrieval import search_clock
from .progress import Reporter
from .runs import SCHEMA_VERSION, JsonlCache, check_out_folder, make_folder, write_jsonl, write_results
from .scoring import Rubric, load_rubric
from .spec import MAX_SEED, EndpointModel, Task, load_task, pinpoint

SCREEN_ROWS, SURVIVORS = 16, 2  # the dev budget of every lever with several variants
GUARD_RUBRIC = [{"name": "token_f1", "scorer": "token_f1"}, {"name": "chrf", "scorer": "chrf"}]


@dataclass
class Loaded:
    """A task with its data read and checked; no model work yet."""

    task: Task
    train: list[Example]
    eval: list[Example]
    corpus: list[Document]
    rubric: Rubric
    levers: list[str]
    warnings: list[dict] = field(default_factory=list)
    guard: list[Example] = field(default_factory=list)
    data_warnings: list[dict] = field(default_factory=list)  # those of `warnings` the exact-text data checks raised
    judge_labels: list[Label] = field(default_factory=list)  # people's scores for the llm_judge criteria


def load(task_path: str | Path, levers: list[str] | None = None, limit: int | None = None,
         seed: int | None = None) -> Loaded:
    """Every load-time check (`advise validate`): spec, files, rows, rubric, lever names."""
    names = levers or registry.names()
    for name in names:
        if registry.find(name) is None:
            raise UserError(None, "--levers", f"unknown lever {shown(name, 40)}", did_you_mean(name, registry.names()))
    if limit is not None and limit < 1:
        raise UserError(None, "--limit", f"must be at least 1, got {limit}", "leave it out to use every eval example")
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise UserError(None, "--seed", f"must be between 0 and {MAX_SEED}, got {shown(seed)}",
                        "numpy and torch take seeds in 0 <= seed < 2**32")
    task = load_task(task_path)
    if seed is not None:
        task.seed = seed
    if levers is None:  # a lever whose own data the task does not give runs only when asked for
        names = [n for n in names if registry.wanted(n, task.data)]
    tf = task.task_file
    for _, one in model_tasks(task):
        check_key_variable(one)
    check_levers_enabled(task, names, explicit=levers is not None)
    try:
        train = load_examples(task.resolve(task.data.train), "data.train", tf)
        evals = load_examples(task.resolve(task.data.eval), "data.eval", tf)
        corpus = load_corpus([task.resolve(p) for p in task.data.corpus], "data.corpus", tf)
        rubric = load_rubric(task.rubric, task.base_dir, tf)
        for name in names:
            registry.run_load_check(name, task)
        guard = load_examples(task.resolve(task.data.guard), "data.guard", tf) if task.data.guard else []
    except UserError as err:
        raise pinpoint(err) from None
    for _, one in model_tasks(task):
        check_something_runs(one, names, bool(corpus))
        check_model_reference(one)
    try:
        check_judges(rubric, task)
        labels = (load_labels(task.resolve(task.data.judge_labels), task, rubric, [e.id for e in evals],
                              registry.names()) if task.data.judge_labels else [])
    except UserError as err:
        raise pinpoint(err) from None
    for key, rows in (("data.train", train), ("data.eval", evals)):
        bad = rubric.check_references([e.output for e in rows])
        if bad is not None:
            i, err = bad
            raise UserError(task.resolve(getattr(task.data, key.split(".")[1])), f"row {shown(rows[i].id, 40)}",
                            f"its output cannot be scored: {err.message}", err.hint)
    if limit is not None:
        evals = evals[:limit]
    if len(train) < 8:
        raise UserError(task.resolve(task.data.train), None, f"only {len(train)} training examples",
                        "`data.train` needs at least 8, since a dev split is carved from them")
    dev_max = len(train) // 2  # split_dev leaves at least half of train to train on and draw shots from
    if task.data.dev_size is not None and task.data.dev_size > dev_max:
        raise UserError(tf, task.locate("data.dev_size"), f"{task.data.dev_size} dev rows is more than half of the "
                        f"{len(train)} training examples", f"use data.dev_size <= {dev_max}, or leave it out for "
                        "the default (a quarter of train)")
    k_max = max(task.levers.prompt.shots)
    if "prompt" in names and task.levers.prompt.enabled and k_max > len(train) // 2:
        raise UserError(tf, task.locate("levers.prompt.shots"), f"k={k_max} is larger than the training pool allows",
                        f"use k <= {len(train) // 2} with {len(train)} training examples")
    context_ids_without_corpus(task, train, evals, corpus)
    warnings: list[dict] = []
    if corpus.blank_skipped:
        warnings.append({"code": "blank_corpus_documents", "message": f"{corpus.blank_skipped} blank corpus files or "
                         "rows were skipped (they hold no text to retrieve)"})
    known = {d.id for d in corpus}
    missing = sorted({c for e in evals for c in e.context_ids} - known) if corpus else []
    if missing:
        warnings.append({"code": "unknown_context_ids",
                         "message": f"{len(missing)} context_ids in the eval set name no corpus document (e.g. {shown(missing[0], 40)})"})
    opts = task.levers.retrieval
    top_k = max(opts.top_k)
    if (corpus and "retrieval" in names and opts.enabled
            and top_k > corpus_chunks_at_most(corpus, opts.chunk_tokens, opts.chunk_overlap)):  # k is clamped
        warnings.append({"code": "top_k_exceeds_corpus", "message": f"{task.locate('levers.retrieval.top_k')}: k={top_k} "
                         f"is more chunks than the {len(corpus)} corpus documents make; retrieval will give every chunk"})
    exact = warnings_of(data_checks(train, evals, corpus))  # exact-text checks; compare reruns them with embeddings
    check_memory(task, evals, corpus)
    return Loaded(task, train, evals, corpus, rubric, names, warnings + exact, guard, exact, labels)


def model_tasks(task: Task) -> list[tuple[str | None, Task]]:
    """(label, task on that model) for every model of a grid (`models:`), or [(None, task)] for `model:`."""
    if task.models is None:
        return [(None, task)]
    return [(entry.label, task.for_model(i)) for i, entry in enumerate(task.models)]


def check_key_variable(task: Task) -> None:
    """`model.api_key_env` must name a set, non-blank environment variable (its value is never read out)."""
    env = task.model.api_key_env if isinstance(task.model, EndpointModel) else None
    if env and not os.environ.get(env, "").strip():
        raise UserError(task.task_file, task.locate("model.api_key_env"), f"environment variable {env} is not set "
                        "or empty", f"export {env}=... before running, or remove model.api_key_env for a local server")


def lever_enabled(task: Task, name: str) -> bool:
    """The lever's own `enabled` flag in task.yaml (under levers.<its options>)."""
    return getattr(task.levers, registry.traits(name).options).enabled


def check_levers_enabled(task: Task, names: list[str], explicit: bool) -> None:
    """Refuse a run in which no lever would run because every one of them is disabled in task.yaml."""
    if any(lever_enabled(task, n) for n in names):
        return
    if explicit:
        raise UserError(None, "--levers", f"every lever chosen ({', '.join(names)}) is disabled in the task file",
                        "choose an enabled lever, or set enabled: true under levers in task.yaml")
    raise UserError(task.task_file, task.locate("levers"), "every lever is disabled",
                    f"set enabled: true for at least one of levers.{', '.join(registry.names())}")


def check_something_runs(task: Task, names: list[str], has_corpus: bool) -> None:
    """Refuse a run in which every enabled lever would be skipped: retrieval levers without a corpus, fine-tuning
    an endpoint that has no local `weights` (the levers' own skip reasons, known before any model work)."""
    local_weights = isinstance(task.model, str) or bool(task.model.weights)

    def runs(name: str) -> bool:
        t = registry.traits(name)
        return (lever_enabled(task, name) and all(getattr(task.levers, o).enabled for o in t.also_enabled)
                and (has_corpus or not t.needs_corpus) and (local_weights or not t.needs_local_weights))

    if any(runs(n) for n in names):
        return
    enabled = [n for n in names if lever_enabled(task, n)]
    why = [n + (": no data.corpus" if registry.traits(n).needs_corpus and not has_corpus else
                ": an endpoint without model.weights") for n in enabled]
    grid = task._model_field != "model"  # one model of a grid: name that model's line
    raise UserError(task.task_file, task.locate("model" if grid else "levers"),
                    f"no lever can run{' on this model' if grid else ''} ({'; '.join(why)})",
                    "set data.corpus to documents for retrieval, set model.weights to fine-tune an endpoint's model, "
                    "or enable the prompt lever")


def check_model_reference(task: Task) -> None:
    """A local model folder named in `model:` or `model.weights` must exist with a config.json (a Hugging Face id
    is looked up when the model loads; the bundled default needs no check)."""
    from .backends.models import resolve_model
    from .spec import DEFAULT_MODEL

    ref, field = (task.model, "model") if isinstance(task.model, str) else (task.model.weights, "model.weights")
    if ref is not None and ref not in (DEFAULT_MODEL, "default"):
        resolve_model(ref, task.base_dir, task.locate(field), task.task_file)


def context_ids_without_corpus(task: Task, train: list[Example], evals: list[Example], corpus: list[Document]) -> None:
    """Rows that name gold documents (context_ids) need a corpus to name them in: without `data.corpus` the line
    that sets it was most likely forgotten, and retrieval would be skipped without anyone meaning it."""
    if corpus:
        return
    for key, rows in (("data.train", train), ("data.eval", evals)):
        ex = next((e for e in rows if e.context_ids), None)
        if ex is not None:
            raise UserError(task.task_file, task.locate(key), f"rows name corpus documents (context_ids, e.g. row "
                            f"{shown(ex.id, 40)}) but the task has no data.corpus",
                            "set data.corpus to the documents folder, or remove context_ids from the rows")


def check_memory(task: Task, evals: list[Example], corpus: list[Document]) -> None:
    """Refuse, before hours are spent, a corpus or eval set this machine cannot hold next to the model."""
    free = free_ram()
    if free is None:
        return
    budget = free - 4 * 2**30  # leave room for the model, its activations and LoRA training
    chars = sum(len(d.text) for d in corpus)
    chunks = chars / 4 / max(1, task.levers.retrieval.chunk_tokens - task.levers.retrieval.chunk_overlap)
    corpus_need = chars * 6 + chunks * 384 * 4 * 3  # text copies + float32 vectors (embedding, index, batches)
    eval_need = sum(len(e.input) + len(e.output) for e in evals) * 40  # prompts, tokens, predictions, scores
    for need, where, what in ((corpus_need, "data.corpus", "corpus"), (eval_need, "data.eval", "eval set")):
        if need > budget:
            raise UserError(task.task_file, task.locate(where),
                            f"the {what} needs about {need / 2**30:.1f} GiB but only {max(budget, 0) / 2**30:.1f} GiB "
                            f"is free after the model", f"split the {what} or run on a machine with more memory")


def _max_new_tokens(task: Task, train: list[Example], count_tokens) -> int:
    """The generation cap: a margin over the longest training output (rambling rows hold up a batch)."""
    if task.generation.max_new_tokens:
        return task.generation.max_new_tokens
    longest = max(count_tokens(e.output) for e in train)
    return int(min(1024, longest * 1.25 + 8))


def make_backend(task: Task, reporter: Reporter):
    """The generation backend for `model:`, and a factory of the backend whose weights finetune trains (None for
    an endpoint without `weights`): see backends.make_backend."""
    from .backends import make_backend as build

    return build(task.model, task.base_dir, task.task_file, reporter, batch_size=task.generation.batch_size,
                 precision=task.generation.precision)


def _generate(bench: Bench, variant: Variant, examples: list[Example], description: str):
    backend = variant.backend or bench.backend
    context = (lambda: backend.adapter(variant.adapter)) if variant.adapter else None
    return generate_cached(backend, variant.build(examples), bench.max_new_tokens, bench.gen_cache, bench.reporter,
                           description, adapter_id=variant.adapter_id, context=context)


def _score(bench: Bench, rubric: Rubric, gens, examples: list[Example]) -> dict[str, list[float]]:
    return bench.score(rubric, [g.text for g in gens], examples)


def _totals(bench: Bench, variant: Variant, examples: list[Example], rubric: Rubric) -> np.ndarray:
    """Per-example totals of `rubric` for a variant on some examples."""
    gens = _generate(bench, variant, examples, f"scoring {variant.name}")
    return np.asarray(_score(bench, rubric, gens, examples)["total"])


def _guard_prompt(examples: list[Example]) -> list:
    """The guard set asked bare: the input alone, no instruction, shots or context."""
    return [[{"role": "user", "content": e.input}] for e in examples]


def measure_forgetting(bench: Bench, lever_name: str, chosen: Variant) -> tuple[dict | None, list[Checked]]:
    """`forgetting`, for a lever that trains weights (registry trait): its chosen variant's adapter against the same
    model without it, both asked the guard set (data.guard) bare and scored by GUARD_RUBRIC. Returns the summary for
    details.forgetting (None when not measured) and the lever's check (none for a lever that trains no weights)."""
    if not registry.trains_weights(lever_name):
        return None, []
    if not bench.guard:
        return None, [skipped("forgetting", "no guard set (data.guard), so forgetting was not measured")
                      .for_lever(lever_name)]
    if chosen.adapter is None:
        return None, [skipped("forgetting", f"the chosen variant ({chosen.name}) has no adapter: it is the base model")
                      .for_lever(lever_name)]
    rubric = load_rubric(GUARD_RUBRIC, bench.task.base_dir, bench.task.task_file, "guard rubric")
    base = Variant("base model on guard", _guard_prompt, backend=chosen.backend)
    tuned = Variant("tuned on guard", _guard_prompt, adapter=chosen.adapter, adapter_id=chosen.adapter_id,
                    backend=chosen.backend)
    summary, checked = forgetting_check(_totals(bench, base, bench.guard, rubric),
                                        _totals(bench, tuned, bench.guard, rubric), seed=bench.task.seed)
    return summary, [checked.for_lever(lever_name)]


def score_learning_curve(bench: Bench, points: list[CurvePoint], chosen: Variant,
                         chosen_totals: np.ndarray) -> list[dict]:
    """details.learning_curve: each point's variant scored on eval by the task's rubric (the chosen variant's
    eval scores are already known)."""
    return [{"fraction": p.fraction, "train_examples": p.train_examples,
             "score": float(np.mean(chosen_totals if p.variant is chosen
                                    else _totals(bench, p.variant, bench.eval, bench.rubric)))} for p in points]


def _relative(value: str, run_dir: Path) -> str:
    """Artifact paths relative to the run folder, so a copied or emailed run stays readable."""
    try:
        return str(Path(value).resolve().relative_to(run_dir.resolve()))
    except (ValueError, OSError):
        return value


def prefer_variant(names: list[str], scores: dict[int, np.ndarray], running: dict[int, costmodel.LeverCost | None],
                   calls_per_month: float | None, min_yearly_saving: float, seed: int = 0) -> tuple[int, str]:
    """Which of the variants scored on all of dev to keep, and why: the best dev score, unless a cheaper variant is
    not shown worse (paired bootstrap on dev) AND saves at least `min_yearly_saving` a year at the configured volume,
    by the rule decide applies between levers (`decide.cheaper_later`). Within a lever every variant's one-off
    cost (training, index) is already paid, so only the running cost counts."""
    means = {i: float(scores[i].mean()) for i in scores}
    # a tie goes to the earlier variant, not the faster one: measured seconds would change the choice between runs
    best = min(scores, key=lambda i: (-means[i], i))
    not_worse = [i for i in sorted(scores, key=lambda i: -means[i]) if i != best
                 and stats.compare_levers("cheaper", scores[i], "best", scores[best], pass_fail=False,
                                          seed=seed).verdict != "worse"]
    priced = {str(i): running[i] for i in [best, *not_worse] if running[i] is not None}  # keyed by index
    ordered = [LeverSummary(str(i), "ok") for i in [best, *not_worse]]
    cheaper = cheaper_later(ordered, priced, DEFAULT_HORIZON_MONTHS, min_yearly_saving) if priced else None
    if cheaper is None:
        return best, "best dev score"
    pick = int(cheaper.name)
    top, mine = priced[str(best)], priced[cheaper.name]
    saving = top.total(DEFAULT_HORIZON_MONTHS) - mine.total(DEFAULT_HORIZON_MONTHS)
    return pick, (f"{means[best] - means[pick]:.2f} below the best on dev ({names[best]}) but saves ${saving:,.0f} "
                  f"a year at {calls_per_month:,.0f} calls/month")


def choose_variant(bench: Bench, lever_name: str, variants: list[Variant]) -> tuple[Variant, list[dict]]:
    """Successive halving on dev: every variant on the first SCREEN_ROWS dev rows; the best SURVIVORS and the
    cheapest variant (fewest prompt tokens) of the better half on all of dev, unless the screen already shows it
    significantly worse than the leader (paired test on the screen rows). The best dev score wins unless a cost
    difference is material (`prefer_variant`). Every lever gets the same budget; each variant's dev score, and
    the reason for the choice, are kept for the report."""
    if len(variants) == 1:
        return variants[0], []
    scores: dict[int, np.ndarray] = {}
    running: dict[int, costmodel.LeverCost | None] = {}
    prices = task_prices(bench.task)

    def dev_score(i: int, examples: list[Example]) -> float:
        gens = _generate(bench, variants[i], examples, f"{lever_name} on dev: {variants[i].name}")
        scores[i] = np.asarray(_score(bench, bench.rubric, gens, examples)["total"])
        usage = costmodel.LeverUsage(*(float(np.mean([getattr(g, k) for g in gens]))
                                       for k in ("input_tokens", "output_tokens", "seconds")))
        running[i] = costmodel.lever_costs(usage, prices)
        rows[i]["input_tokens_per_call"] = round(usage.input_tokens_per_call, 1)
        return float(scores[i].mean())

    def cost_key(i: int) -> tuple:  # prompt tokens: deterministic, unlike measured seconds
        return (rows[i]["input_tokens_per_call"], i)

    screen = bench.dev[:SCREEN_ROWS]
    rows: dict[int, dict] = {i: {"variant": v.name, **v.info} for i, v in enumerate(variants)}
    for i in rows:
        rows[i].update(score=round(dev_score(i, screen), 4), dev_rows=len(screen))
    ranked = sorted(rows, key=lambda i: (-rows[i]["score"], *cost_key(i)))  # ties go to the shorter prompt
    cheapest = min(ranked[: (len(ranked) + 1) // 2], key=cost_key)  # cheapest of the better half
    if len(screen) < len(bench.dev):
        leader = scores[ranked[0]]
        for i in dict.fromkeys(ranked[:SURVIVORS] + [cheapest]):
            if i != ranked[0] and stats.compare_levers("variant", scores[i], "leader", leader, pass_fail=False,
                                                       seed=bench.task.seed).verdict == "worse":
                # already shown worse than the leader on the screen rows: the rest of dev cannot change the choice
                rows[i]["dropped"] = f"significantly worse than {variants[ranked[0]].name} on the {len(screen)} screen rows"
                continue
            rows[i].update(score=round(dev_score(i, bench.dev), 4), dev_rows=len(bench.dev))
    full = [i for i in rows if rows[i]["dev_rows"] == len(bench.dev)]
    chosen, because = prefer_variant([v.name for v in variants], {i: scores[i] for i in full},
                                     {i: running[i] for i in full}, prices.calls_per_month,
                                     bench.task.costs.min_yearly_saving, seed=bench.task.seed)
    rows[chosen]["chosen_because"] = because
    return variants[chosen], [rows[i] for i in sorted(rows)]


def run_lever(lever: Lever, bench: Bench, predictions: Path | None = None) -> dict:
    """Prepare the lever, choose its variant on dev, generate and score the eval set; then what the lever asked to
    have measured (its learning curve) and, for a lever that trains weights, forgetting on the guard set."""
    reason = lever.skip_reason(bench)
    if reason:
        return {"name": lever.name, "status": "skipped", "reason": reason}
    t0 = time.perf_counter()
    prepared = lever.prepare(bench)
    chosen, dev_rows = choose_variant(bench, lever.name, prepared.variants)
    searched = (search_clock.queries, search_clock.seconds)  # embed + search time of retrieval prompts, per call
    gens = _generate(bench, chosen, bench.eval, f"{lever.name} on eval")
    retrieval_seconds_per_call = search_clock.seconds_per_query_since(*searched)
    scores = _score(bench, bench.rubric, gens, bench.eval)
    per_seed = [scores]
    for replica in prepared.replicas:  # other training seeds: their spread enters the intervals
        per_seed.append(_score(bench, bench.rubric, _generate(bench, replica, bench.eval, f"{lever.name} on eval: {replica.name}"),
                               bench.eval))
    judged = bench.rubric.explain([g.text for g in gens], [e.output for e in bench.eval],
                                  inputs=[e.input for e in bench.eval], judge=bench.judge)  # cached: no new calls
    rows = []
    for i, (ex, g) in enumerate(zip(bench.eval, gens)):
        rows.append({"id": ex.id, "input": ex.input, "reference": ex.output, "prediction": g.text,
                     "scores": {name: round(float(vals[i]), 4) for name, vals in scores.items()},
                     "input_tokens": g.input_tokens, "output_tokens": g.output_tokens, "seconds": round(g.seconds, 4),
                     **({"judgements": {name: details[i] for name, details in judged.items()}} if judged else {})})
    pred_path = (predictions or bench.run_dir / "predictions") / f"{lever.name}.jsonl"
    write_jsonl(pred_path, rows)
    details = dict(prepared.details)
    forgetting, measured = measure_forgetting(bench, lever.name, chosen)
    if forgetting is not None:
        details["forgetting"] = forgetting
    if prepared.learning_curve:
        details["learning_curve"] = score_learning_curve(bench, prepared.learning_curve, chosen, scores["total"])
    checked = [*prepared.checked, *measured]
    warnings = warnings_of(checked) + prepared.warnings
    latencies = np.array([g.seconds for g in gens])
    return {
        "name": lever.name, "status": "ok", "reason": None,
        "chosen": {"variant": chosen.name, **chosen.info},
        "dev": dev_rows, "details": details, "warnings": warnings,
        "checks": [c.record() for c in checked],
        "risks": list(dict.fromkeys(w["code"] for w in warnings if w["code"] in FINETUNE_RISK_CODES)),
        "undertrained": prepared.undertrained_note is not None, "undertrained_note": prepared.undertrained_note,
        "cost": {
            "input_tokens_per_call": float(np.mean([g.input_tokens for g in gens])),
            "output_tokens_per_call": float(np.mean([g.output_tokens for g in gens])),
            "seconds_per_call": float(latencies.mean()),
            "retrieval_seconds_per_call": retrieval_seconds_per_call,
            "latency_p50": float(np.percentile(latencies, 50)), "latency_p95": float(np.percentile(latencies, 95)),
            "train_seconds": round(prepared.train_seconds, 2), "index_seconds": round(prepared.index_seconds, 2),
        },
        "artifacts": {"predictions": str(pred_path.relative_to(bench.run_dir)),
                      **{k: _relative(v, bench.run_dir) for k, v in prepared.artifacts.items()}},
        "wall_seconds": round(time.perf_counter() - t0, 2),
        "_scores": {k: np.array([p[k] for p in per_seed]) if len(per_seed) > 1 else np.asarray(v)
                    for k, v in scores.items()},
        "_predictions": [g.text for g in gens],
        "_rows": rows,
    }


@dataclass
class ModelRun:
    """One model's part of a comparison: all of a single-model run, one row of a grid. Its levers still carry the
    per-example scores (`_scores`) the grid's paired tests need."""

    label: str | None
    model: dict  # results.json "model"
    levers: list[dict]
    warnings: list[dict]
    checks: list[dict]
    analysis: dict
    judges: list[dict] | None
    environment: dict
    max_new_tokens: int


def run_model(loaded: Loaded, task: Task, label: str | None, split: tuple[list[Example], list[Example]],
              run_dir: Path, reporter: Reporter, embedder_factory, timings: dict[str, float],
              data_found: list[Checked]) -> ModelRun:
    """Every lever on one model (task.model): load it, run, score and analyse the levers, as a single-model run
    does. The data checks do not depend on the model: they run with the first model and `data_found` keeps them."""
    import torch

    torch.manual_seed(task.seed)  # every model starts from the same seed
    prefix = f"{label}: " if label else ""
    t0 = time.perf_counter()
    backend, local_factory = make_backend(task, reporter)
    timings[f"{prefix}load_model"] = round(time.perf_counter() - t0, 2)
    train, dev = split
    bench = Bench(task=task, backend=backend, train=train, dev=dev, eval=loaded.eval, corpus=loaded.corpus,
                  rubric=loaded.rubric, run_dir=run_dir, reporter=reporter,
                  max_new_tokens=_max_new_tokens(task, loaded.train, backend.count_tokens),
                  gen_cache=JsonlCache(run_dir / "cache" / "generations.jsonl"),  # keyed by model: one for all
                  embedder_factory=embedder_factory, local_backend_factory=local_factory, guard=loaded.guard)
    judges = (Judges(loaded.rubric, task, backend, JsonlCache(run_dir / "cache" / "judgements.jsonl"), reporter)
              if loaded.rubric.judged else None)
    bench.judge = judges
    if not data_found:
        t0 = time.perf_counter()
        data_found += data_checks(loaded.train, loaded.eval, loaded.corpus,
                                  bench.embedder([e.input for e in loaded.train], "Embedding train inputs"),
                                  bench.embedder([e.input for e in loaded.eval], "Embedding eval inputs"))
        timings["data_checks"] = round(time.perf_counter() - t0, 2)
    # the same checks with embeddings: their warnings replace the exact-text ones from load()
    warnings = [w for w in loaded.warnings if w not in loaded.data_warnings] + warnings_of(data_found)
    predictions = run_dir / "predictions" / label if label else run_dir / "predictions"
    results_levers, lever_checks = [], []
    for name in loaded.levers:
        t0 = time.perf_counter()
        lev = run_lever(registry.lever(name), bench, predictions)
        timings[f"{prefix}lever_{name}"] = round(time.perf_counter() - t0, 2)
        warnings += lev.pop("warnings", [])
        lever_checks += lev.pop("checks", [])
        results_levers.append(lev)
    gap = dev_eval_gap_check(results_levers, {lev["name"]: lev["_scores"]["total"] for lev in results_levers
                                              if lev["status"] == "ok"})
    warnings += gap.warnings
    judge_records = None
    if judges is not None:
        judge_records, judge_warnings = summarize(loaded.rubric, judges, {lev["name"]: lev["_rows"] for lev in
                                                                          results_levers if lev["status"] == "ok"},
                                                  loaded.judge_labels)
        warnings += judge_warnings
    analysis = analyse(results_levers, loaded.rubric, loaded.eval, task, warnings)
    checks = ([eval_power_check(c, warnings).record() for c in data_found] + lever_checks
              + [c.record() for c in (*unrun_finetune_checks(lever_checks), gap,
                                      majority_baseline_check(analysis["baselines"], warnings, results_levers))])
    model = {"kind": backend.kind, "id": backend.description,
             "source": str(getattr(backend, "where", getattr(backend, "base_url", ""))),
             "parameters": backend.n_parameters if is_trainable(backend) else None}
    return ModelRun(label, model, results_levers, warnings, checks, analysis, judge_records,
                    environment(task, backend), bench.max_new_tokens)


def compare(task_path: str | Path, out: str | Path | None = None, levers: list[str] | None = None,
            limit: int | None = None, seed: int | None = None, fresh: bool = False,
            reporter: Reporter | None = None, max_train_minutes: float | None = None) -> dict:
    """Run the whole comparison and write the run directory; returns results.json's content. With `models:` every
    lever runs on every model (a grid): results.json's top level is the recommended model's run, and `grid` has
    every (model, lever) cell, the paired comparisons across cells and the recommended cell."""
    reporter = reporter or Reporter()
    timings: dict[str, float] = {}
    t_start = time.perf_counter()
    loaded = load(task_path, levers, limit, seed)
    task = loaded.task
    if max_train_minutes is not None:
        task.levers.finetune.max_train_minutes = max_train_minutes
    run_dir = Path(out) if out else Path("runs") / task.name
    check_out_folder(run_dir)
    if fresh and run_dir.exists():
        shutil.rmtree(run_dir)
    make_folder(run_dir)
    split = split_dev(loaded.train, task.data.dev_size, task.seed)

    @functools.cache
    def embedder_factory():  # one embedder for every model: retrieval's index and the data checks are shared
        from .backends.embedder import Embedder

        return Embedder(task.levers.retrieval.embedder, reporter=reporter, cache_dir=run_dir / "cache")

    found: list[Checked] = []
    runs = []
    for label, one in model_tasks(task):
        if max_train_minutes is not None:
            one.levers.finetune.max_train_minutes = max_train_minutes
        runs.append(run_model(loaded, one, label, split, run_dir, reporter, embedder_factory, timings, found))
        gc.collect()  # the model just run is no longer referenced: free it before loading the next
    grid = None
    top = runs[0]
    if task.models is not None:
        shared = [w for w in loaded.warnings if w not in loaded.data_warnings] + warnings_of(found)
        grid = analyse_grid([(r.label, r.model, r.levers, r.analysis["recommendation"],
                              [w for w in r.warnings if w not in shared]) for r in runs], loaded.rubric, loaded.eval, task)
        top = next((r for r in runs if r.label == grid["recommendation"].get("model")), runs[0])
    for run in runs:
        for lev in run.levers:
            lev.pop("_scores", None)
            lev.pop("_predictions", None)
            lev.pop("_rows", None)
    timings["total"] = round(time.perf_counter() - t_start, 2)
    train, dev = split
    results_levers = top.levers
    results = {
        "schema_version": SCHEMA_VERSION,
        "task": {"name": task.name, "instruction": task.instruction, "task_file": str(task.task_file),
                 "sizes": {"train": len(train), "dev": len(dev), "eval": len(loaded.eval), "guard": len(loaded.guard),
                           "corpus_docs": len(loaded.corpus),
                           "corpus_chunks": next((lev["details"].get("chunks") for lev in results_levers
                                                  if lev["status"] == "ok" and "chunks" in lev.get("details", {})), None)},
                 "hashes": {"train": content_hash(loaded.train), "eval": content_hash(loaded.eval),
                            "corpus": content_hash(loaded.corpus) if loaded.corpus else None},
                 "max_new_tokens": top.max_new_tokens},
        "model": top.model,
        "rubric": loaded.rubric.to_dict(),
        "levers": results_levers,
        "warnings": top.warnings,
        "checks": top.checks,
        "environment": top.environment,
        "timings": timings,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **top.analysis,
        **({"judges": top.judges} if top.judges is not None else {}),
    }
    if grid is not None:
        results["recommendation"] = grid.pop("recommendation")
        results["grid"] = grid
    write_results(run_dir / "results.json", results)  # checked against advisor.results.Results first
    from .report import render_report

    render_report(results, load_predictions(run_dir, results), run_dir)
    return results


def load_predictions(run_dir: Path, results: dict) -> dict[str, list[dict]]:
    """Each ok lever's prediction records, read and checked by `runs.read_predictions` (paths stay in the run)."""
    from .runs import read_predictions

    return read_predictions(run_dir, results)

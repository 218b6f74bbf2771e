"""`advise compare --plan`: what a run will do and about how long it will take, before it does.

The work is counted from the task (variants, dev and eval rows, training steps) and priced with throughputs
measured here in a short calibration on the task's own model: seconds per prompt token (prefill), per generated
token and per training token. Nothing is cached or written; the estimate is for people, never an input to a score.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

from .compare import SCREEN_ROWS, SURVIVORS
from .data import Example
from .levers import registry
from .spec import Task



@dataclass
class Calibration:
    """Seconds per token on this machine for the task's model (a local model; None for an endpoint)."""

    prefill: float
    decode: float  # per generated token of one row, at the batch sizes generation uses
    train: float  # per training token (forward + backward through LoRA)
    seconds: float  # what the calibration itself took


@dataclass
class LeverPlan:
    lever: str
    status: str  # "runs" or the reason it will be skipped
    generations: int = 0
    prompt_tokens: float = 0.0  # mean per generation
    output_tokens: float = 0.0  # mean per generation
    train_steps: int = 0
    train_tokens: int = 0
    minutes: float | None = None


def calibrate(backend) -> Calibration:
    """Measure prefill, decode and LoRA training throughput on a few synthetic rows (about 10-20 s on 2 cores for
    a 135M model)."""
    import torch
    from peft import LoraConfig, get_peft_model

    t_all = time.perf_counter()
    model = backend.inference_model
    vocab = int(getattr(model.config, "vocab_size", 1000) or 1000)
    ids = torch.randint(vocab // 10, vocab, (4, 192), device=backend.device)
    with torch.inference_mode():
        model(input_ids=ids[:1, :16], logits_to_keep=1)  # warm-up
        t0 = time.perf_counter()
        cache = model(input_ids=ids, use_cache=True, logits_to_keep=1).cache
        prefill = (time.perf_counter() - t0) / ids.numel()
        t0 = time.perf_counter()
        for _ in range(4):
            cache = model(input_ids=ids[:, -1:], cache=cache, use_cache=True).cache
        decode = (time.perf_counter() - t0) / (4 * ids.shape[0])
    peft = get_peft_model(backend.model, LoraConfig(r=16, lora_alpha=32, target_modules="all-linear",
                                                    task_type="CAUSAL_LM"))
    try:
        rows = ids[:2].clone()
        peft(input_ids=rows[:, :32], labels=rows[:, :32]).loss.backward()  # warm-up: the first backward allocates
        t0 = time.perf_counter()
        peft(input_ids=rows, labels=rows).loss.backward()
        train = (time.perf_counter() - t0) / rows.numel()
    finally:
        backend.model = peft.unload()
    return Calibration(prefill, decode, train, time.perf_counter() - t_all)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def dev_generations(variants: int, dev: int) -> int:
    """compare.choose_variant's budget at most: every variant on the screen rows, the survivors on the rest of dev
    (fewer when the screen already shows a survivor worse than the leader)."""
    if variants <= 1:
        return 0
    screen = min(SCREEN_ROWS, dev)
    return variants * screen + min(variants, SURVIVORS + 1) * (dev - screen)


def plan_levers(task: Task, backend, train: list[Example], dev: list[Example], evals: list[Example],
                corpus_texts: list[str], names: list[str], guard: int, trainable: bool) -> list[LeverPlan]:
    """Each lever's planned work: generations (dev search, eval, seeds, guard set, learning curve), their mean
    prompt length, and training steps and tokens. Prompt lengths are estimated from the data (shots and chunks
    at their mean length), not rendered through the lever."""
    count = backend.count_tokens
    base = count(task.instruction) + 40  # chat template, default system prompt, a reminder
    q = _mean([count(e.input) for e in evals[:64]])
    pair = _mean([count(e.input) + count(e.output) for e in train[:64]]) + 12
    answer = _mean([count(e.output) for e in train[:64]]) + 1
    opts = task.levers
    chunk = min(opts.retrieval.chunk_tokens, max([count(t) for t in corpus_texts[:64]], default=0)) * 1.1
    steps_per_epoch = math.ceil(len(train) / opts.finetune.batch_size)
    plans = []
    for name in names:
        t = registry.traits(name)
        enabled = getattr(opts, t.options).enabled and all(getattr(opts, o).enabled for o in t.also_enabled)
        if not enabled:
            plans.append(LeverPlan(name, "skipped: disabled in task.yaml"))
            continue
        if t.needs_corpus and not corpus_texts:
            plans.append(LeverPlan(name, "skipped: no data.corpus"))
            continue
        if t.needs_local_weights and not trainable:
            plans.append(LeverPlan(name, "skipped: an endpoint without model.weights"))
            continue
        p = LeverPlan(name, "runs")
        evals_n = len(evals)
        if name == "prompt":
            shots = opts.prompt.shots
            variants = sum(len(opts.prompt.selection) if k else 1 for k in shots) * len(opts.prompt.placements)
            p.prompt_tokens = base + q + _mean([k * pair for k in shots])
        elif t.uses_retrieval and not t.trains_weights:
            variants = len(opts.retrieval.top_k) * 2
            p.prompt_tokens = base + q + _mean([k * chunk for k in opts.retrieval.top_k])
        else:
            variants = 1
            k = min(opts.retrieval.top_k) if t.uses_retrieval else 0
            context = k * chunk
            p.prompt_tokens = (base if opts.finetune.keep_instruction else 20) + q + context
            row = p.prompt_tokens + answer
            if t.uses_retrieval:
                distractors = opts.combined.distractors * min(chunk, opts.combined.distractor_tokens)
                row += distractors
            budget = opts.combined.max_steps if name == "retrieval+finetune" else None
            budget = budget or opts.finetune.max_steps
            p.train_steps = min(steps_per_epoch * opts.finetune.epochs, budget or 10**9) * opts.finetune.seeds
            p.train_tokens = int(p.train_steps * opts.finetune.batch_size * row)
            # dev loss after each epoch: a forward pass over dev (about a third of a training step's cost a token)
            epochs = math.ceil(p.train_steps / max(1, steps_per_epoch) / opts.finetune.seeds)
            p.train_tokens += int(epochs * len(dev) * row / 3)
            evals_n *= opts.finetune.seeds
            if opts.finetune.stop_on_score and name != "preference":  # dev scored at each check (at most)
                from .backends.training import score_checks

                once = p.train_steps // opts.finetune.seeds
                evals_n += len(score_checks(steps_per_epoch, once)) * len(dev) * opts.finetune.seeds
            if guard:
                evals_n += 2 * guard
            if opts.finetune.learning_curve and t.options == "finetune":
                p.train_steps += p.train_steps * 3 // 4
                p.train_tokens += p.train_tokens * 3 // 4
                evals_n += 2 * len(evals)
            if name == "preference":
                p.train_tokens *= 3  # SFT, then DPO on pairs (chosen and rejected, and the reference pass)
        p.generations = dev_generations(variants, len(dev)) + evals_n
        p.output_tokens = answer * 1.5
        plans.append(p)
    return plans


def price(plans: list[LeverPlan], cal: Calibration | None) -> None:
    """Minutes per lever from the calibration (left None for an endpoint: its speed is the server's)."""
    if cal is None:
        return
    for p in plans:
        if p.status != "runs":
            continue
        gen = p.generations * (p.prompt_tokens * cal.prefill + p.output_tokens * cal.decode)
        p.minutes = (gen + p.train_tokens * cal.train) / 60


@dataclass
class ModelPlan:
    label: str | None
    model: str
    levers: list[LeverPlan]
    calibration: Calibration | None


def make_plan(task_path, levers: list[str] | None = None, limit: int | None = None, seed: int | None = None,
              reporter=None) -> list[ModelPlan]:
    """Load and check the task as `advise compare` does, then count and price each model's work."""
    from .backends.base import is_trainable
    from .compare import load, make_backend, model_tasks
    from .data import split_dev
    from .progress import Reporter

    reporter = reporter or Reporter()
    loaded = load(task_path, levers, limit, seed)
    train, dev = split_dev(loaded.train, loaded.task.data.dev_size, loaded.task.seed)
    out = []
    for label, task in model_tasks(loaded.task):
        backend, local_factory = make_backend(task, reporter)
        trainable = local_factory is not None
        plans = plan_levers(task, backend, train, dev, loaded.eval, [d.text for d in loaded.corpus], loaded.levers,
                            len(loaded.guard), trainable)
        cal = None
        if is_trainable(backend):
            with reporter.stage("Calibrating: prefill, decode and a LoRA step on this machine", total=1) as stage:
                cal = calibrate(backend)
                stage.advance()
        price(plans, cal)
        out.append(ModelPlan(label, backend.description, plans, cal))
    return out

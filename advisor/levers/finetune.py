"""LoRA fine-tuning on the train split, with the eval-time prompt and a learning rate fit for the model size.

Also the combined lever `retrieval+finetune`: LoRA trained with retrieved context in the prompt (RAFT)."""
from __future__ import annotations

import random
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from ..backends.base import TrainableBackend, is_trainable
from ..backends.training import TrainConfig, TrainResult, scaled_lr, train_lora
from ..checks import overfitting_check
from ..data import Example
from ..runs import read_json, stable_hash, write_json
from . import registry
from .base import Bench, CurvePoint, Prepared, Variant, chat
from .retrieval import RetrievalIndex, head, retrieval_builder

LEARNING_CURVE_FRACTIONS = (0.25, 0.5)


def local_backend(bench: Bench) -> TrainableBackend | None:
    """The backend whose weights we can train (backends.make_backend's trainable factory): the bench's own, or the
    local copy of an endpoint's weights; None when nothing here is trainable."""
    if bench.local_backend_factory is not None:
        return bench.local_backend_factory()
    return bench.backend if is_trainable(bench.backend) else None


def _lrs(opts, backend) -> tuple[list[float], str]:
    if opts.lr == "auto":
        return [scaled_lr(backend.n_parameters)], "scaled"
    if isinstance(opts.lr, list):
        return list(opts.lr), "grid"
    return [float(opts.lr)], "fixed"


def train_cached(bench: Bench, backend, name: str, train_pairs, dev_pairs, seed: int,
                 max_steps: int | None = None, dev_scorer=None) -> tuple[TrainResult, str, list]:
    """Train (or reuse a finished adapter) for each learning rate to try; keep the best dev score when score checks
    ran (`dev_scorer`, see train_lora), else the lowest dev loss."""
    opts = bench.task.levers.finetune
    lrs, lr_choice = _lrs(opts, backend)
    results = []
    for lr in lrs:
        cfg = TrainConfig.from_options(opts, lr=lr, max_steps=max_steps, seed=seed)
        # the safety net is not part of the key; nor is an unset step budget (adapters cached before it existed)
        cfg_key = {k: v for k, v in asdict(cfg).items()
                   if k != "max_train_minutes" and not (k == "max_steps" and v is None)}
        work = bench.run_dir / name.replace("+", "-") / stable_hash(backend.identity, train_pairs, dev_pairs, cfg_key)
        done = read_json(work / "done.json")
        if done and done.pop("max_train_minutes", None) == opts.max_train_minutes:
            done["adapter_dir"] = work / "adapter"  # where it lies now: the run folder may have been moved
            bench.reporter.note(f"{name}: reusing the adapter trained at lr {lr:.1e}, seed {seed}")
            result = TrainResult(**done)
        elif opts.processes > 1:
            result = train_distributed(bench, backend, train_pairs, dev_pairs, cfg, work, opts.processes)
        else:
            result = train_lora(backend, train_pairs, dev_pairs, cfg, work, bench.reporter, dev_scorer=dev_scorer)
            write_json(work / "done.json", {**asdict(result), "adapter_dir": str(result.adapter_dir),
                                            "max_train_minutes": opts.max_train_minutes})
        results.append(result)
    best = min(results, key=_rank)
    return best, lr_choice, [{"lr": r.lr, "dev_loss": _best_dev_loss(r),
                              **({"dev_score": _best_dev_score(r)} if _best_dev_score(r) is not None else {})}
                             for r in results]


def train_distributed(bench: Bench, backend, train_pairs, dev_pairs, cfg: TrainConfig, work: Path,
                      processes: int) -> TrainResult:
    """Data-parallel training in `processes` torchrun workers (gloo on CPU, nccl on GPUs); rank 0 writes done.json."""
    import subprocess

    from ..backends.distributed import launch_command, write_job
    from ..errors import UserError

    job = write_job(work / "job.json", backend.where, train_pairs, dev_pairs, cfg, work)
    bench.reporter.note(f"training in {processes} data-parallel processes: {' '.join(launch_command(job, processes))}")
    proc = subprocess.run(launch_command(job, processes), capture_output=True, text=True)
    done = read_json(work / "done.json")
    if proc.returncode != 0 or not done:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UserError(bench.task.task_file, "levers.finetune.processes",
                        f"data-parallel training failed (exit {proc.returncode}): {tail[0]}", "try processes: 1")
    done.pop("max_train_minutes", None)
    done["adapter_dir"] = work / "adapter"
    return TrainResult(**done)


def adapter_id(bench: Bench, adapter_dir: Path) -> str:
    """An adapter's name in generation cache keys: its place in the run folder (the work folder's hash names the
    model, data and settings), so a moved or copied run folder still finds its generations."""
    return adapter_dir.relative_to(bench.run_dir).as_posix()


def _best_dev_loss(r: TrainResult) -> float:
    devs = [loss for _, loss in r.loss_curve.get("dev", [])]
    return min(devs) if devs else float("inf")


def _best_dev_score(r: TrainResult) -> float | None:
    scores = [score for _, score in r.loss_curve.get("dev_score", [])]
    return max(scores) if scores else None


def _rank(r: TrainResult) -> tuple:
    """Best first: the higher dev score where score checks ran, then the lower dev loss."""
    score = _best_dev_score(r)
    return (-score if score is not None else 0.0, _best_dev_loss(r))


def dev_scorer(bench: Bench, backend: TrainableBackend, prompt: Callable[[list[Example]], list]):
    """The per-row dev scores of a model in training: dev asked with the eval-time prompt, greedy, scored by the
    task's rubric (train_lora's score checks). Not cached: the weights change between checks."""
    conversations: list = []  # built at the first check: a reused adapter needs none

    def score(model) -> list[float]:
        conversations[:] = conversations or prompt(bench.dev)
        with backend.attached(model):
            gens = backend.generate(conversations, bench.max_new_tokens, on_done=lambda idx, batch: None)
        return list(bench.score(bench.rubric, [g.text for g in gens], bench.dev)["total"])

    return score


def _train_details(result: TrainResult, lr_choice: str, grid: list[dict], opts) -> dict:
    return {
        "lr": result.lr, "lr_choice": lr_choice, "lr_grid": grid if lr_choice == "grid" else None,
        "epochs_run": result.epochs_run, "best_epoch": result.best_epoch, "steps": result.steps,
        "planned_steps": result.planned_steps, "stopped_by": result.stopped_by, "tokens_seen": result.tokens_seen,
        "tokens_per_second": round(result.tokens_seen / max(result.train_seconds, 1e-9), 1),
        "trainable_parameters": result.trainable_parameters, "loss_curve": result.loss_curve,
        "precision": result.precision, "rank": opts.rank, "alpha": opts.alpha, "dropout": opts.dropout,
        **({"best_dev_score": _best_dev_score(result)} if _best_dev_score(result) is not None else {}),
    }


def prepare_finetune(bench: Bench, name: str, train_prompt: Callable[[list[Example]], list],
                     eval_prompt: Callable[[list[Example]], list], label: str, max_steps: int | None = None) -> Prepared:
    """Train on train (dev for early stopping), once per seed; check overfitting and, optionally, train the
    learning curve's adapters (compare scores them, and measures forgetting on the guard set). Shared by `finetune`
    and `retrieval+finetune`."""
    backend = local_backend(bench)
    opts = bench.task.levers.finetune
    train_pairs = list(zip(train_prompt(bench.train), [e.output for e in bench.train]))
    dev_pairs = list(zip(train_prompt(bench.dev), [e.output for e in bench.dev]))
    other = None if backend is bench.backend else backend
    scorer = dev_scorer(bench, backend, eval_prompt)  # used when cfg.stop_on_score and the schedule has checks
    variants, first = [], None
    for i in range(opts.seeds):
        result, lr_choice, grid = train_cached(bench, backend, name, train_pairs, dev_pairs, bench.task.seed + i,
                                               max_steps, scorer)
        first = first or (result, lr_choice, grid)
        variants.append(Variant(label if opts.seeds == 1 else f"{label}, seed {bench.task.seed + i}", eval_prompt,
                                adapter=result.adapter_dir, adapter_id=adapter_id(bench, result.adapter_dir),
                                info={"lr": result.lr, "best_epoch": result.best_epoch}, backend=other))
    result, lr_choice, grid = first
    details = _train_details(result, lr_choice, grid, opts)
    details["loss_gap"], overfit = overfitting_check(result.loss_curve)
    details["still_improving"] = details["loss_gap"]["still_falling"]  # dev loss still falling: more steps may help
    if opts.seeds > 1:
        details["seeds"] = opts.seeds
    # levers.finetune.learning_curve: for the lever whose own options those are (not the ones that borrow them)
    curve = (_learning_curve(bench, backend, other, name, train_prompt, eval_prompt, dev_pairs, variants[0], scorer)
             if opts.learning_curve and registry.traits(name).options == "finetune" else [])
    return Prepared(variants[:1], details=details, train_seconds=result.train_seconds,
                    artifacts={"adapter": str(result.adapter_dir)},
                    warnings=_time_limit_warning(bench, name, result), replicas=variants[1:],
                    checked=[overfit.for_lever(name)], learning_curve=curve,
                    undertrained_note=_undertrained_note(bench, name, result))


def _learning_curve(bench, backend, other, name, train_prompt, eval_prompt, dev_pairs,
                    full: Variant, scorer) -> list[CurvePoint]:
    """Adapters trained on 25% and 50% of train, then the full one: would more data change the answer? (compare
    scores each on eval.)"""
    points = []
    order = list(range(len(bench.train)))
    random.Random(bench.task.seed).shuffle(order)
    for frac in LEARNING_CURVE_FRACTIONS:
        subset = [bench.train[i] for i in sorted(order[: max(4, int(frac * len(order)))])]
        pairs = list(zip(train_prompt(subset), [e.output for e in subset]))
        result, _, _ = train_cached(bench, backend, f"{name}-curve", pairs, dev_pairs, bench.task.seed,
                                     bench.task.levers.finetune.max_steps, scorer)
        points.append(CurvePoint(frac, len(subset), Variant(f"{int(frac * 100)}% of train", eval_prompt,
                                                            adapter=result.adapter_dir,
                                                            adapter_id=adapter_id(bench, result.adapter_dir),
                                                            backend=other)))
    return points + [CurvePoint(1.0, len(bench.train), full)]


def _time_limit_warning(bench: Bench, name: str, result: TrainResult) -> list[dict]:
    if result.stopped_by != "time_limit":
        return []
    planned = f" of its {result.planned_steps}" if result.planned_steps else ""
    return [{"code": "train_time_limit",
             "message": f"{name}: training stopped at the {bench.task.levers.finetune.max_train_minutes:g}-minute "
                        f"safety limit after {result.steps}{planned} steps; the adapter so far was evaluated, so its "
                        "score is a lower bound and depends on how busy the machine was"}]


def _undertrained_note(bench: Bench, name: str, result: TrainResult) -> str | None:
    """What would finish the job, when the safety net cut training short of its planned steps."""
    if not result.cut_short:
        return None
    return (f"train {name} to its {result.planned_steps} steps (the {bench.task.levers.finetune.max_train_minutes:g}-"
            f"minute safety limit stopped it after {result.steps}; raise --max-train-minutes or leave it unset)")


def _endpoint_skip(bench: Bench) -> str | None:
    if bench.local_backend_factory is None and not is_trainable(bench.backend):
        return ("the model is an endpoint without local weights: set model.weights to a folder or Hugging Face id "
                "of the same model to fine-tune it locally")
    return None


class FinetuneLever:
    name = "finetune"

    def skip_reason(self, bench: Bench) -> str | None:
        if not bench.task.levers.finetune.enabled:
            return "disabled in task.yaml (levers.finetune.enabled: false)"
        return _endpoint_skip(bench)

    def prepare(self, bench: Bench) -> Prepared:
        keep = bench.task.levers.finetune.keep_instruction
        instruction, reminder = (bench.task.instruction, bench.reminder) if keep else ("", "")

        def prompts(exs: list[Example]) -> list:
            return [chat(instruction, "user", e.input, reminder=reminder) for e in exs]

        label = ("LoRA adapter, instruction in user" if keep
                 else "LoRA adapter, the input alone (the adapter replaces the instruction)")
        return prepare_finetune(bench, self.name, prompts, prompts, label, bench.task.levers.finetune.max_steps)


def raft_context(texts: list[str], chunks: list[str], opts, rng: random.Random, tokenizer) -> list[str]:
    """A training row's context (RAFT): the retrieved chunks plus `opts.distractors` random others, or for a share
    `opts.oracle_free_share` of rows distractors only (learn to cope without the answer in context), shuffled. Each
    distractor is cut to its first `opts.distractor_tokens` tokens, so rows stay short."""
    pool = [t for t in chunks if t not in texts]
    noise = rng.sample(pool, min(opts.distractors, len(pool)))
    if rng.random() < opts.oracle_free_share:
        noise = rng.sample(pool, min(len(texts) + opts.distractors, len(pool)))
        texts = []
    mixed = texts + [head(t, tokenizer, opts.distractor_tokens) for t in noise]
    rng.shuffle(mixed)
    return mixed


class CombinedLever:
    """RAFT-style: train with the retrieved chunks plus distractors in the prompt; evaluate with retrieval."""

    name = "retrieval+finetune"

    def skip_reason(self, bench: Bench) -> str | None:
        levers = bench.task.levers
        if not levers.combined.enabled:
            return "disabled in task.yaml (levers.retrieval+finetune.enabled: false)"
        if not (levers.finetune.enabled and levers.retrieval.enabled):
            return "needs both retrieval and finetune enabled"
        if not bench.corpus:
            return "no corpus: set data.corpus to documents the model should draw facts from"
        return _endpoint_skip(bench)

    def prepare(self, bench: Bench) -> Prepared:
        opts = bench.task.levers.combined
        index = RetrievalIndex(bench)
        k = min(bench.task.levers.retrieval.top_k)
        rng = random.Random(bench.task.seed)

        def with_distractors(example: Example, texts: list[str]) -> list[str]:
            return raft_context(texts, [c.text for c in index.chunks], opts, rng, index.embedder.tokenizer)

        keep = bench.task.levers.finetune.keep_instruction
        train_prompt = retrieval_builder(bench, index, k, "user", extra=with_distractors, with_instruction=keep)
        eval_prompt = retrieval_builder(bench, index, k, "user", with_instruction=keep)
        prepared = prepare_finetune(bench, self.name, train_prompt, eval_prompt,
                                    f"LoRA trained with top-{k} chunks + {opts.distractors} distractor(s)"
                                    + (", instruction in user" if keep else ", no instruction"),
                                    opts.max_steps or bench.task.levers.finetune.max_steps)  # its rows are longer
        prepared.index_seconds = 0.0 if index.reused else index.build_seconds
        prepared.details.update({"top_k": k, "distractors": opts.distractors, "oracle_free_share": opts.oracle_free_share})
        prepared.artifacts.update({"index": str(index.dir / "faiss.index"), "chunks": str(index.dir / "chunks.jsonl")})
        return prepared

"""LoRA fine-tuning on the train split, with the eval-time prompt and a learning rate fit for the model size."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from ..backends.training import TrainConfig, TrainResult, scaled_lr, train_lora
from ..data import Example
from ..runs import read_json, stable_hash, write_json
from .base import Bench, Prepared, Variant, chat


def local_backend(bench: Bench):
    """The backend whose weights we can train: the bench's own, or the local copy of an endpoint's weights."""
    if bench.backend.kind == "local":
        return bench.backend
    return bench.local_backend_factory() if bench.local_backend_factory else None


def train_cached(bench: Bench, backend, name: str, train_pairs, dev_pairs, key_parts: list) -> tuple[TrainResult, str]:
    """Train (or reuse a finished adapter) for each learning rate to try; keep the lowest dev loss."""
    opts = bench.task.levers.finetune
    if opts.lr == "auto":
        lrs, lr_choice = [scaled_lr(backend.n_parameters)], "scaled"
    elif isinstance(opts.lr, list):
        lrs, lr_choice = list(opts.lr), "grid"
    else:
        lrs, lr_choice = [float(opts.lr)], "fixed"
    results = []
    for lr in lrs:
        cfg = TrainConfig(rank=opts.rank, alpha=opts.alpha, dropout=opts.dropout, target_modules=opts.target_modules,
                          epochs=opts.epochs, lr=lr, batch_size=opts.batch_size, warmup_ratio=opts.warmup_ratio,
                          patience=opts.patience, max_length=opts.max_length, max_train_minutes=opts.max_train_minutes,
                          seed=bench.task.seed)
        cfg_key = {k: v for k, v in asdict(cfg).items() if k != "max_train_minutes"}
        work = bench.run_dir / name / stable_hash(backend.identity, key_parts, cfg_key)
        done = read_json(work / "done.json")
        if done and done.get("max_train_minutes") == opts.max_train_minutes:
            done["adapter_dir"] = Path(done["adapter_dir"])
            done.pop("max_train_minutes", None)
            bench.reporter.note(f"{name}: reusing the adapter trained at lr {lr:.1e}")
            result = TrainResult(**done)
        else:
            result = train_lora(backend, train_pairs, dev_pairs, cfg, work, bench.reporter)
            write_json(work / "done.json", {**asdict(result), "adapter_dir": str(result.adapter_dir),
                                            "max_train_minutes": opts.max_train_minutes})
        results.append(result)
    best = min(results, key=lambda r: _best_dev_loss(r))
    return best, lr_choice, [{"lr": r.lr, "dev_loss": _best_dev_loss(r)} for r in results]


def _best_dev_loss(r: TrainResult) -> float:
    devs = [loss for _, loss in r.loss_curve.get("dev", [])]
    return min(devs) if devs else float("inf")


def train_details(result: TrainResult, lr_choice: str, grid: list[dict], opts) -> dict:
    return {
        "lr": result.lr, "lr_choice": lr_choice, "lr_grid": grid if lr_choice == "grid" else None,
        "epochs_run": result.epochs_run, "best_epoch": result.best_epoch, "steps": result.steps,
        "stopped_by": result.stopped_by, "tokens_seen": result.tokens_seen,
        "tokens_per_second": round(result.tokens_seen / max(result.train_seconds, 1e-9), 1),
        "trainable_parameters": result.trainable_parameters, "loss_curve": result.loss_curve,
        "rank": opts.rank, "alpha": opts.alpha, "dropout": opts.dropout,
    }


class FinetuneLever:
    name = "finetune"

    def skip_reason(self, bench: Bench) -> str | None:
        if not bench.task.levers.finetune.enabled:
            return "disabled in task.yaml (levers.finetune.enabled: false)"
        if bench.backend.kind != "local" and bench.local_backend_factory is None:
            return ("the model is an endpoint without local weights: set model.weights to a folder or Hugging Face id "
                    "of the same model to fine-tune it locally")
        return None

    def prepare(self, bench: Bench) -> Prepared:
        backend = local_backend(bench)
        instruction, reminder = bench.task.instruction, bench.reminder

        def prompt(e: Example):
            return chat(instruction, "user", e.input, reminder=reminder)

        train_pairs = [(prompt(e), e.output) for e in bench.train]
        dev_pairs = [(prompt(e), e.output) for e in bench.dev]
        result, lr_choice, grid = train_cached(bench, backend, "finetune", train_pairs, dev_pairs,
                                               [train_pairs, dev_pairs])
        variant = Variant("LoRA adapter, zero-shot prompt (instruction in user)", lambda exs: [prompt(e) for e in exs],
                          adapter=result.adapter_dir, adapter_id=str(result.adapter_dir),
                          info={"lr": result.lr, "epochs": result.best_epoch},
                          backend=None if backend is bench.backend else backend)
        warnings = []
        if result.stopped_by == "time_limit":
            warnings.append({"code": "train_time_limit",
                             "message": f"finetune: training stopped at the {bench.task.levers.finetune.max_train_minutes} "
                                        f"minute limit after {result.steps} steps; the adapter so far was evaluated"})
        return Prepared([variant], details=train_details(result, lr_choice, grid, bench.task.levers.finetune),
                        train_seconds=result.train_seconds, artifacts={"adapter": str(result.adapter_dir)},
                        warnings=warnings)

"""LoRA fine-tuning on a trainable backend: a loop that minimises an injected objective (completion-only
cross-entropy today, see SFTObjective), cosine schedule, dev-loss early stopping, checkpoints per epoch so a
killed run resumes. Data-parallel (DDP) when torch.distributed is initialized with more than one process: see
distributed.py for the torchrun entry point.

The parts, each replaceable on its own:
- `Objective`: what rows become and what is minimised (SFT now; DPO can plug in, see its docstring);
- `Ranks`: this process's place among data-parallel ones (sharding, all-reduce, DDP wrapping);
- `Checkpoints`: the per-epoch checkpoint and the best adapter in the work dir, and resuming from them;
- `train_lora`: the loop that ties them together."""
from __future__ import annotations

import contextlib
import inspect
import json
import math
import random
import shutil
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import torch

from ..progress import Reporter
from ..runs import atomic_write_text, read_json
from ..spec import FinetuneOptions, Task
from .base import Messages, TrainableBackend
from .local import DEFAULT_SYSTEM, fit_in_memory


def _option(name: str, model=FinetuneOptions) -> Any:
    """A default taken from the options model: the task.yaml defaults are the only copy."""
    return field(default=model.model_fields[name].default)


@dataclass(kw_only=True)
class TrainConfig:
    """One training run. Defaults are `levers.finetune`'s (spec.FinetuneOptions); build it from the options with
    `from_options`, giving the values a run picks itself (the learning rate, the seed, the step budget)."""

    rank: int = _option("rank")
    alpha: float = _option("alpha")
    dropout: float = _option("dropout")
    target_modules: str | list[str] = _option("target_modules")
    epochs: int = _option("epochs")
    lr: float  # a number: `lr: auto` and grids are resolved by the finetune lever, one TrainConfig per value
    batch_size: int = _option("batch_size")
    warmup_ratio: float = _option("warmup_ratio")
    patience: int = _option("patience")
    max_length: int = _option("max_length")
    max_steps: int | None = _option("max_steps")  # the step budget (None: epochs x steps per epoch)
    max_train_minutes: float | None = _option("max_train_minutes")  # a safety net: a run it stops is undertrained
    stop_on_score: bool = _option("stop_on_score")  # with a dev scorer: score checks keep the adapter and stop
    seed: int = _option("seed", Task)

    @classmethod
    def from_options(cls, opts: FinetuneOptions, **run_values: Any) -> "TrainConfig":
        """The options' values for every field they share with TrainConfig, then `run_values` (lr=..., seed=...,
        max_steps=...) over them."""
        shared = {f.name: getattr(opts, f.name) for f in fields(cls) if f.name in type(opts).model_fields}
        return cls(**{**shared, **run_values})


@dataclass
class TrainResult:
    adapter_dir: Path
    lr: float
    epochs_run: int
    best_epoch: int
    steps: int
    train_seconds: float
    tokens_seen: int
    loss_curve: dict = field(default_factory=dict)
    stopped_by: str = "epochs"  # epochs | step_budget | early_stopping | dev_score | time_limit
    trainable_parameters: int = 0
    precision: str = "fp32"
    planned_steps: int | None = None  # the schedule's length; fewer steps run means something cut it short

    @property
    def cut_short(self) -> bool:
        """True when the safety net stopped training before its planned schedule (its score is a lower bound)."""
        return self.stopped_by == "time_limit" and self.planned_steps is not None and self.steps < self.planned_steps


def bf16_autocast_ok(device: str, hidden_size: int) -> bool:
    """bf16 autocast for training: on CUDA, and on CPUs with native bf16 (AMX/AVX512-BF16) for models wide enough
    to gain (SmolLM2-135M, hidden 576: 1.46x tokens/s measured; tiny test models get slower)."""
    if device == "cuda":
        return True
    if hidden_size < 512:
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def scaled_lr(n_parameters: int) -> float:
    """The 7B consensus (2e-4) scaled by sqrt(7e9 / N), clipped: small models need larger steps."""
    return float(min(2e-3, max(1e-4, 2e-4 * math.sqrt(7e9 / max(n_parameters, 1)))))


# --- the objective ----------------------------------------------------------------------------------------

class Objective(Protocol):
    """What training minimises. The loop owns batching, sharding, micro-batching, the optimizer and the schedule;
    the objective owns what a row becomes (an item) and the loss of a list of items.

    The loop's contract: the loss of a batch is `sum(loss(model, part)[0] for part in micro-batches) /
    weight(batch)`, so splitting a batch into micro-batches changes nothing; the dev loss is the same sum over
    dev items divided by their weight (summed over ranks when data-parallel).

    DPO plugs in as another objective: rows are (prompt messages, chosen, rejected); `prepare` encodes both
    answers with the eval-time template (as `encode_pair` does); `length` is the pair's tokens; `weight` is the
    number of pairs; `start` runs once, in eval mode and without gradients, on the model as training begins
    (the SFT adapter loaded, before any step or checkpoint restore) and stores each item's summed answer
    log-probs of chosen and rejected: the frozen reference, computed once; `loss` computes the policy's
    log-probs of both and returns the summed -logsigmoid(beta * ((pc - rc) - (pr - rr))) over its pairs.
    """

    label: str  # in the progress line: "Training {label} r=16 lr=2.0e-04"

    def prepare(self, backend: TrainableBackend, rows: Sequence) -> list:
        """Encode rows (for SFT: (messages, answer) pairs) into the items the loop batches."""
        ...

    def length(self, item) -> int:
        """Tokens an item feeds the model: for grouping similar lengths and sizing micro-batches."""
        ...

    def weight(self, items: list) -> int:
        """What a batch's summed loss is divided by (SFT: its answer tokens; DPO: its pairs)."""
        ...

    def start(self, model, train: list, dev: list, device: str) -> None:
        """Called once before the first step (and before a checkpoint is restored), with the model as initialised."""
        ...

    def loss(self, model, items: list, device: str) -> tuple[torch.Tensor, int]:
        """The summed loss over items (a scalar tensor with gradients when enabled), and the tokens fed (padding
        excluded) for the throughput count."""
        ...


def encode_pair(backend: TrainableBackend, messages: Messages, answer: str, max_length: int) -> tuple[list[int], int]:
    """Token ids of prompt+answer built with the eval-time template, and where the answer starts."""
    prompt = backend.render(messages)
    full = backend.tokenizer.apply_chat_template(
        ([{"role": "system", "content": DEFAULT_SYSTEM}] if messages[0]["role"] != "system" else [])
        + list(messages) + [{"role": "assistant", "content": answer}], tokenize=False)
    completion = full[len(prompt):] if full.startswith(prompt) else answer + (backend.tokenizer.eos_token or "")
    p_ids = backend.encode(prompt)
    c_ids = backend.encode(completion.rstrip("\n"))
    ids = (p_ids + c_ids)[-max_length:]  # keep the answer; cut the prompt's head if too long
    return ids, max(0, len(ids) - len(c_ids))


def _collate(rows: list[tuple[list[int], int]], pad_id: int, device: str):
    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, (seq, start) in enumerate(rows):  # right padding; padding masked by length, never by pad id
        ids[r, :len(seq)] = torch.tensor(seq)
        mask[r, :len(seq)] = 1
        labels[r, start:len(seq)] = torch.tensor(seq[start:])
    return ids.to(device), mask.to(device), labels.to(device)


def answer_loss(model, ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor,
                reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy over the answer tokens, with logits computed only at the positions that predict one.

    The full logits (batch x length x vocabulary, 49,152 words for SmolLM2) would be most of training's memory:
    measured 13.7 GiB peak for batch 8 x 512 tokens with them. The positions kept are the union over the batch's
    rows, which length-grouped batches keep close to one answer's length."""
    targets = labels[:, 1:]
    keep = (targets != -100).any(dim=0).nonzero().squeeze(1)  # position t predicts token t + 1
    logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=keep).logits
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)).float(),
                                             targets[:, keep].reshape(-1), ignore_index=-100, reduction=reduction)


class SFTObjective:
    """Supervised fine-tuning: cross-entropy on the answer tokens only (the prompt is context, not a target),
    averaged over a batch's answer tokens. Items are (token ids, where the answer starts)."""

    label = "LoRA"

    def __init__(self, max_length: int, pad_id: int | None = None):
        self.max_length, self.pad_id = max_length, pad_id

    def prepare(self, backend: TrainableBackend, rows: Sequence[tuple[Messages, str]]) -> list[tuple[list[int], int]]:
        if self.pad_id is None:
            self.pad_id = backend.tokenizer.pad_token_id
        return [encode_pair(backend, m, a, self.max_length) for m, a in rows]

    def length(self, item: tuple[list[int], int]) -> int:
        return len(item[0])

    def weight(self, items: list[tuple[list[int], int]]) -> int:
        return sum(len(seq) - max(start, 1) for seq, start in items)  # the targets: answer tokens after the first

    def start(self, model, train: list, dev: list, device: str) -> None:
        return None

    def loss(self, model, items: list[tuple[list[int], int]], device: str) -> tuple[torch.Tensor, int]:
        ids, mask, labels = _collate(items, self.pad_id, device)
        return answer_loss(model, ids, mask, labels, reduction="sum"), int(mask.sum())


# --- batching ---------------------------------------------------------------------------------------------

ACTIVATION_FLOATS = 40  # saved activations a token, per layer and hidden unit (measured; see micro_batch_tokens)
TRAINING_MEMORY_SHARE = 0.4  # of the memory free when training starts
# On CPU, throughput hardly depends on the pass size (batch 8 x ~500 tokens, 2 cores: 36 s in passes of 1,014
# tokens, 36 s in one of 3,522) but memory does (peak 2.5 GiB vs 8.3 GiB; 13.7 GiB before the logits cut).
CPU_MICRO_TOKENS = 512  # measured on ~500-token RAFT rows: the same seconds a step as 1,024, half the peak memory (2.5 vs 5.1 GiB)


def _batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffle, then group similar lengths (megabatches of 8 batches) to waste less padding."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    mega = batch_size * 8
    batches = []
    for s in range(0, len(order), mega):
        chunk = sorted(order[s:s + mega], key=lambda i: lengths[i])
        batches += [chunk[j:j + batch_size] for j in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def micro_batch_tokens(config, device: str) -> int:
    """Tokens (rows x padded length) per forward/backward pass: what a share of free memory holds, and on CPU at
    most CPU_MICRO_TOKENS.

    Training activations dominate memory: measured ~2.8 MB a token for SmolLM2-135M (30 layers x 576) with LoRA
    on every linear layer, i.e. ~40 fp32 values per layer and hidden unit. Larger batches are split into
    micro-batches whose gradients accumulate, so the optimizer step and the loss are the same."""
    per_token = ACTIVATION_FLOATS * config.num_hidden_layers * config.hidden_size * (2 if device == "cuda" else 4)
    return fit_in_memory(device, TRAINING_MEMORY_SHARE, per_token, CPU_MICRO_TOKENS if device == "cpu" else 1 << 30)


def _micro_batches(rows: list, budget: int, length=lambda row: len(row[0])) -> list[list]:
    """Consecutive slices of a batch whose rows x longest row stay within `budget` tokens (one row at least)."""
    parts: list[list] = [[]]
    for row in rows:
        part = parts[-1]
        if part and (len(part) + 1) * max(length(row), *(length(r) for r in part)) > budget:
            parts.append([])
        parts[-1].append(row)
    return parts


def _shard(batches: list[list[int]], rank: int, world: int) -> list[list[int]]:
    """This rank's share of the epoch's batches; the list is padded by repeating batches from its start (as
    DistributedSampler does) so every rank takes the same number of optimizer steps."""
    padded = batches + [batches[i % len(batches)] for i in range(-len(batches) % world)]
    return padded[rank::world]


# --- distribution -----------------------------------------------------------------------------------------

@dataclass
class Ranks:
    """This process among the data-parallel ones; rank 0 of 1 when torch.distributed is not initialized."""

    rank: int
    world: int
    device: str

    @classmethod
    def current(cls, device: str) -> "Ranks":
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized():
            return cls(dist.get_rank(), dist.get_world_size(), device)
        return cls(0, 1, device)

    @property
    def main(self) -> bool:
        """The one process that writes files."""
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        return self.world > 1

    def shard(self, batches: list[list[int]]) -> list[list[int]]:
        return _shard(batches, self.rank, self.world)

    def sum(self, values: list[float]) -> list[float]:
        """Sum across ranks (float64: token counts stay exact); the values themselves in one process."""
        if not self.parallel:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        torch.distributed.all_reduce(t)
        return t.tolist()

    def from_main(self, value):
        """Rank 0's value, sent to every rank (other machines need not share its disk)."""
        if not self.parallel:
            return value
        box = [value if self.main else None]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def wrap(self, model):
        """The module the training step calls: DDP around the model when data-parallel."""
        if not self.parallel:
            return model
        # LoRA A is seeded alike on every rank and DDP broadcasts rank 0's weights anyway; the rotary buffers are
        # constants, so no buffer sync before each forward (torch >= 2.13 renamed the switch)
        ddp = torch.nn.parallel.DistributedDataParallel
        no_sync = "forward_sync_buffers" if "forward_sync_buffers" in inspect.signature(ddp).parameters \
            else "broadcast_buffers"
        return ddp(model, device_ids=[torch.cuda.current_device()] if self.device == "cuda" else None,
                   **{no_sync: False})

    def accumulating(self, train_model, last: bool):
        """Around a micro-batch's backward: no gradient all-reduce until the batch's last one."""
        return train_model.no_sync() if self.parallel and not last else contextlib.nullcontext()

    def barrier(self) -> None:
        if self.parallel:
            torch.distributed.barrier()


# --- checkpoints ------------------------------------------------------------------------------------------

@dataclass
class Progress:
    """Where training stands; all of it goes into a checkpoint's state.json."""

    epoch: int = 0
    step: int = 0
    best: float = float("inf")
    best_epoch: int = 0
    bad_epochs: int = 0
    tokens: int = 0
    seconds: float = 0.0  # training time before this process started (resumed runs)
    history: dict = field(default_factory=lambda: {"train": [], "dev": [], "epochs": []})
    stopped_by: str = "epochs"
    best_score: float | None = None  # with score checks: the best dev score so far, and its step
    best_step: int | None = None


class Checkpoints:
    """The work dir: `checkpoint/` after every epoch (weights, optimizer, state.json last, so its presence means
    the checkpoint is whole) and `adapter/`, the best epoch's adapter. Only rank 0 writes."""

    def __init__(self, work_dir: Path, ranks: Ranks):
        self.dir, self.best_dir, self.ranks = work_dir / "checkpoint", work_dir / "adapter", ranks

    def load(self) -> dict | None:
        """The last checkpoint's state, with its weights and optimizer state when data-parallel (rank 0 reads
        the files and sends them to every rank); None when there is none."""
        state = read_json(self.dir / "state.json") if (self.dir / "state.json").is_file() else None
        if self.ranks.parallel:
            state = self.ranks.from_main(_load_checkpoint(self.dir) if self.ranks.main and state else None)
        return state

    def restore(self, state: dict, model, opt, sched, device: str) -> Progress:
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        if self.ranks.parallel:
            set_peft_model_state_dict(model, state["adapter_weights"])
            opt.load_state_dict(state["optimizer"])
        else:
            set_peft_model_state_dict(model, load_file(str(self.dir / "adapter.safetensors"), device=device))
            opt.load_state_dict(torch.load(self.dir / "optimizer.pt", map_location=device, weights_only=True))
        sched.load_state_dict(state["scheduler"])
        progress = Progress(**{f.name: state[f.name] for f in fields(Progress) if f.name in state})
        if progress.stopped_by == "time_limit":  # rerun with another limit: continue from where the clock stopped it
            progress.stopped_by = "epochs"
        return progress

    def save_best(self, model) -> None:
        if self.ranks.main:
            _save_adapter(model, self.best_dir)

    def save(self, model, opt, sched, progress: Progress, seconds: float) -> None:
        """This epoch's checkpoint; the other ranks wait until rank 0's files are whole."""
        from peft import get_peft_model_state_dict

        if self.ranks.main:
            _save_checkpoint(model, opt, sched, self.dir, {
                "epoch": progress.epoch, "step": progress.step, "best": progress.best,
                "best_epoch": progress.best_epoch, "bad_epochs": progress.bad_epochs, "tokens": progress.tokens,
                "seconds": seconds, "history": progress.history, "stopped_by": progress.stopped_by,
                "best_score": progress.best_score, "best_step": progress.best_step,
            }, get_peft_model_state_dict)
        self.ranks.barrier()


def _save_adapter(model, target: Path) -> None:
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def _load_checkpoint(ckpt_dir: Path) -> dict:
    """state.json with the adapter weights and optimizer state added, all on CPU, for broadcasting to every rank."""
    from safetensors.torch import load_file

    state = read_json(ckpt_dir / "state.json")
    state["adapter_weights"] = load_file(str(ckpt_dir / "adapter.safetensors"), device="cpu")
    state["optimizer"] = torch.load(ckpt_dir / "optimizer.pt", map_location="cpu", weights_only=True)
    return state


def _save_checkpoint(model, opt, sched, ckpt_dir: Path, state: dict, get_state) -> None:
    """Weights and optimizer first, state.json last: state.json's presence means the checkpoint is whole."""
    from safetensors.torch import save_file

    tmp = ckpt_dir.with_name(ckpt_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in get_state(model).items()}, str(tmp / "adapter.safetensors"))
    torch.save(opt.state_dict(), tmp / "optimizer.pt")
    state["scheduler"] = sched.state_dict()
    atomic_write_text(tmp / "state.json", json.dumps(state))
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    tmp.rename(ckpt_dir)


# --- the loop ---------------------------------------------------------------------------------------------

def _schedule(opt, warmup: int, total_steps: int):
    """Linear warmup, then cosine decay to zero at total_steps."""
    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(opt, lr_at)


def dev_loss_sums(objective: Objective, model, items: list, batch_size: int, device: str) -> tuple[float, int]:
    """The objective's summed loss over items, and their summed weight, in eval mode without gradients."""
    model.eval()
    total, count = 0.0, 0
    with torch.inference_mode():
        for s in range(0, len(items), batch_size):
            chunk = items[s:s + batch_size]
            total += objective.loss(model, chunk, device)[0].item()
            count += objective.weight(chunk)
    model.train()
    return total, count


def score_checks(steps_per_epoch: int, total_steps: int) -> list[int]:
    """The steps at which a dev score is taken: every half epoch (each epoch's end among them) and the last step,
    when the schedule runs 2 epochs or more; none for shorter schedules, where stopping early saves little."""
    if total_steps < 2 * steps_per_epoch:
        return []
    halves = {math.ceil(j * steps_per_epoch / 2) for j in range(1, 2 * math.ceil(total_steps / steps_per_epoch) + 1)}
    return sorted({s for s in halves if s < total_steps} | {total_steps})


def train_lora(backend: TrainableBackend, train: Sequence, dev: Sequence, cfg: TrainConfig, work_dir: Path,
               reporter: Reporter, objective: Objective | None = None, init_adapter: Path | None = None,
               dev_scorer: Callable[[Any], Sequence[float]] | None = None) -> TrainResult:
    """Train a LoRA adapter minimising `objective` (default: SFTObjective on (messages, answer) pairs); resumes
    from the last finished epoch found in work_dir. `init_adapter`: start from that saved adapter (its rank and
    targets; DPO on top of SFT) instead of a fresh one.

    `dev_scorer(model)`: the per-row dev scores of the model as it is (generated and scored by the caller). With
    it and `cfg.stop_on_score`, a schedule of 2 epochs or more takes the dev loss and score at `score_checks`:
    the adapter kept is the best-scoring one (the earliest of equals), and training stops at the first check that
    does not beat the best earlier one by more than one dev row's worth (1 / rows): the score has settled.

    Under torch.distributed with world size > 1, every rank must call this with the same data and config: each
    takes its share of the batches (batch_size is per rank), DDP averages gradients, logged and dev losses are
    all-reduced so early stopping agrees, and only rank 0 writes checkpoints and the adapter."""
    from peft import LoraConfig, get_peft_model

    objective = objective or SFTObjective(cfg.max_length)
    device = backend.device
    train_items, dev_items = objective.prepare(backend, train), objective.prepare(backend, dev)
    ranks = Ranks.current(device)
    steps_per_epoch = math.ceil(math.ceil(len(train_items) / cfg.batch_size) / ranks.world)
    total_steps = steps_per_epoch * cfg.epochs
    if cfg.max_steps is not None:
        total_steps = min(total_steps, cfg.max_steps)

    torch.manual_seed(cfg.seed)
    lora = LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout, target_modules=cfg.target_modules,
                      task_type="CAUSAL_LM", bias="none")
    if init_adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(backend.model, str(init_adapter), is_trainable=True).to(device)
    else:
        model = get_peft_model(backend.model, lora)
    try:
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
        sched = _schedule(opt, int(cfg.warmup_ratio * total_steps), total_steps)
        objective.start(model, train_items, dev_items, device)
        checkpoints = Checkpoints(work_dir, ranks)
        state = checkpoints.load()
        progress = Progress()
        if state:
            progress = checkpoints.restore(state, model, opt, sched, device)
            reporter.note(f"resuming LoRA training after epoch {progress.epoch}")
        train_model = ranks.wrap(model)
        use_bf16 = bf16_autocast_ok(device, getattr(backend.model.config, "hidden_size", 0))
        scorer = dev_scorer if cfg.stop_on_score and dev_items and not ranks.parallel else None
        checks = set(score_checks(steps_per_epoch, total_steps)) if scorer else set()
        tokens_per_micro = micro_batch_tokens(backend.model.config, device)
        seconds_before, t0 = progress.seconds, time.perf_counter()
        deadline = None if cfg.max_train_minutes is None else cfg.max_train_minutes * 60 - seconds_before
        model.train()
        with reporter.stage(f"Training {objective.label} r={cfg.rank} lr={cfg.lr:.1e}", total=total_steps) as stage:
            stage.advance(progress.step)
            while progress.epoch < cfg.epochs and progress.stopped_by == "epochs" and progress.step < total_steps:
                rng = random.Random(cfg.seed * 1000 + progress.epoch)
                torch.manual_seed(cfg.seed * 1000 + progress.epoch)
                batches = ranks.shard(_batches([objective.length(r) for r in train_items], cfg.batch_size, rng))
                for batch in batches:
                    step_loss, fed = _step(objective, train_model, [train_items[i] for i in batch], params, opt,
                                           sched, ranks, use_bf16, tokens_per_micro)
                    progress.step += 1
                    late = deadline is not None and time.perf_counter() - t0 > deadline
                    if ranks.parallel:  # mean loss over ranks, all tokens, and any rank's clock stops every rank
                        ranks_loss, fed, n_late = ranks.sum([step_loss, fed, float(late)])
                        step_loss, late = ranks_loss / ranks.world, n_late > 0
                    progress.tokens += int(fed)
                    progress.history["train"].append([progress.step, round(step_loss, 5)])
                    stage.advance(1, loss=f"{step_loss:.3f}")
                    if progress.step in checks and _score_check(scorer, objective, model, dev_items, cfg, ranks,
                                                                progress, checkpoints, steps_per_epoch, reporter):
                        if progress.step < total_steps:
                            progress.stopped_by = "dev_score"
                            break
                    if late:
                        progress.stopped_by = "time_limit"
                        break
                    if progress.step >= total_steps:  # the step budget ends the schedule, mid-epoch or not
                        if progress.step < steps_per_epoch * cfg.epochs:
                            progress.stopped_by = "step_budget"
                        break
                progress.epoch += 1
                if checks:  # the loss and score were taken at the checks; take them here if none was this step
                    if not progress.history["dev"] or progress.history["dev"][-1][0] != progress.step:
                        _score_check(scorer, objective, model, dev_items, cfg, ranks, progress, checkpoints,
                                     steps_per_epoch, reporter)
                    progress.history["epochs"].append(progress.step)
                else:
                    _end_epoch(objective, model, dev_items, cfg, ranks, progress, checkpoints)
                checkpoints.save(model, opt, sched, progress, seconds_before + time.perf_counter() - t0)
    finally:
        backend.model = model.unload()  # strip LoRA layers: the base model is shared by every lever
    history = progress.history
    if progress.best_step is not None:  # score checks chose the adapter
        history["best_step"] = progress.best_step
    else:
        history["best_step"] = history["epochs"][progress.best_epoch - 1] if progress.best_epoch else None
    return TrainResult(checkpoints.best_dir, cfg.lr, progress.epoch, progress.best_epoch, progress.step,
                       seconds_before + time.perf_counter() - t0, progress.tokens, history, progress.stopped_by,
                       trainable, "bf16 autocast" if use_bf16 else "fp32", total_steps)


def _step(objective: Objective, train_model, items: list, params, opt, sched, ranks: Ranks, use_bf16: bool,
          tokens_per_micro: int) -> tuple[float, int]:
    """One optimizer step on a batch, in micro-batches whose gradients accumulate; the batch's loss and tokens."""
    weight = objective.weight(items)  # the whole batch's: each micro-batch's share adds up to the batch mean
    parts = _micro_batches(items, tokens_per_micro, objective.length)
    loss_sum, fed = 0.0, 0
    for n, part in enumerate(parts):
        with ranks.accumulating(train_model, last=n == len(parts) - 1):
            with torch.autocast(device_type=ranks.device, dtype=torch.bfloat16, enabled=use_bf16):
                part_sum, part_fed = objective.loss(train_model, part, ranks.device)
            (part_sum / weight).backward()
        loss_sum += part_sum.item()
        fed += part_fed
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    sched.step()
    opt.zero_grad(set_to_none=True)
    return loss_sum / weight, fed


def _score_check(scorer, objective: Objective, model, dev_items: list, cfg: TrainConfig, ranks: Ranks,
                 progress: Progress, checkpoints: Checkpoints, steps_per_epoch: int, reporter: Reporter) -> bool:
    """Dev loss and dev score at this step; keeps the adapter when the score beats the best by more than one dev
    row's worth. True when it did not: the score has settled."""
    total, count = dev_loss_sums(objective, model, dev_items, cfg.batch_size, ranks.device)
    progress.history["dev"].append([progress.step, round(total / max(count, 1), 5)])
    model.eval()
    try:
        rows = [float(v) for v in scorer(model)]
    finally:
        model.train()
    score = sum(rows) / max(len(rows), 1)
    progress.history.setdefault("dev_score", []).append([progress.step, round(score, 4)])
    reporter.note(f"dev score {score:.3f} at step {progress.step}")
    if progress.best_score is None or score - progress.best_score > 1 / max(len(rows), 1) + 1e-9:
        progress.best_score, progress.best_step = score, progress.step
        progress.best, progress.best_epoch = total / max(count, 1), math.ceil(progress.step / steps_per_epoch)
        checkpoints.save_best(model)
        return False
    return True


def _end_epoch(objective: Objective, model, dev_items: list, cfg: TrainConfig, ranks: Ranks, progress: Progress,
               checkpoints: Checkpoints) -> None:
    """Dev loss (each rank scores its share; summed losses and weights make the mean), the best adapter, and
    early stopping."""
    if dev_items:
        total, count = ranks.sum(list(dev_loss_sums(objective, model, dev_items[ranks.rank::ranks.world],
                                                    cfg.batch_size, ranks.device)))
        dev_loss = total / max(count, 1)
    else:
        dev_loss = float("nan")
    progress.history["dev"].append([progress.step, round(dev_loss, 5)])
    progress.history["epochs"].append(progress.step)
    if not dev_items or dev_loss < progress.best - 1e-4:
        progress.best, progress.best_epoch, progress.bad_epochs = dev_loss, progress.epoch, 0
        checkpoints.save_best(model)
    else:
        progress.bad_epochs += 1
        if progress.bad_epochs > cfg.patience and progress.stopped_by == "epochs":
            progress.stopped_by = "early_stopping"

"""LoRA fine-tuning on the local backend: completion-only loss, cosine schedule, dev-loss early stopping,
checkpoints per epoch so a killed run resumes. Data-parallel (DDP) when torch.distributed is initialized with
more than one process: see distributed.py for the torchrun entry point."""
from __future__ import annotations

import contextlib
import inspect
import json
import math
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..progress import Reporter
from ..runs import atomic_write_text, read_json
from .base import Messages
from .local import LocalBackend, fit_in_memory


@dataclass
class TrainConfig:
    rank: int = 16
    alpha: float = 32
    dropout: float = 0.05
    target_modules: str | list[str] = "all-linear"
    epochs: int = 3
    lr: float = 2e-4
    batch_size: int = 8
    warmup_ratio: float = 0.1
    patience: int = 1
    max_length: int = 512
    max_steps: int | None = None  # the step budget: the schedule ends here (None: epochs x steps per epoch)
    max_train_minutes: float | None = None  # a safety net only: a run it stops is marked undertrained
    seed: int = 0


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
    stopped_by: str = "epochs"  # epochs | step_budget | early_stopping | time_limit
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


def encode_pair(backend: LocalBackend, messages: Messages, answer: str, max_length: int) -> tuple[list[int], int]:
    """Token ids of prompt+answer built with the eval-time template, and where the answer starts."""
    prompt = backend.render(messages)
    full = backend.tokenizer.apply_chat_template(
        ([{"role": "system", "content": "You are a helpful assistant."}] if messages[0]["role"] != "system" else [])
        + list(messages) + [{"role": "assistant", "content": answer}], tokenize=False)
    completion = full[len(prompt):] if full.startswith(prompt) else answer + (backend.tokenizer.eos_token or "")
    p_ids = backend.encode(prompt)
    c_ids = backend.encode(completion.rstrip("\n"))
    ids = (p_ids + c_ids)[-max_length:]  # keep the answer; cut the prompt's head if too long
    return ids, max(0, len(ids) - len(c_ids))


ACTIVATION_FLOATS = 40  # saved activations a token, per layer and hidden unit (measured; see micro_batch_tokens)
TRAINING_MEMORY_SHARE = 0.4  # of the memory free when training starts
# On CPU, throughput hardly depends on the pass size (batch 8 x ~500 tokens, 2 cores: 36 s in passes of 1,014
# tokens, 36 s in one of 3,522) but memory does (peak 2.5 GiB vs 8.3 GiB; 13.7 GiB before the logits cut).
CPU_MICRO_TOKENS = 1024


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


def _micro_batches(rows: list[tuple[list[int], int]], budget: int) -> list[list[tuple[list[int], int]]]:
    """Consecutive slices of a batch whose rows x longest row stay within `budget` tokens (one row at least)."""
    parts: list[list[tuple[list[int], int]]] = [[]]
    for row in rows:
        part = parts[-1]
        if part and (len(part) + 1) * max(len(row[0]), *(len(r[0]) for r in part)) > budget:
            parts.append([])
        parts[-1].append(row)
    return parts


def _shard(batches: list[list[int]], rank: int, world: int) -> list[list[int]]:
    """This rank's share of the epoch's batches; the list is padded by repeating batches from its start (as
    DistributedSampler does) so every rank takes the same number of optimizer steps."""
    padded = batches + [batches[i % len(batches)] for i in range(-len(batches) % world)]
    return padded[rank::world]


def _world() -> tuple[int, int]:
    """(rank, world size); (0, 1) unless torch.distributed is initialized."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _all_sum(values: list[float], device: str) -> list[float]:
    """Sum across ranks (float64: token counts stay exact)."""
    t = torch.tensor(values, dtype=torch.float64, device=device)
    torch.distributed.all_reduce(t)
    return t.tolist()


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


def _mean_loss(model, rows, batch_size: int, pad_id: int, device: str) -> float:
    total, count = _loss_sums(model, rows, batch_size, pad_id, device)
    return total / max(count, 1)


def _loss_sums(model, rows, batch_size: int, pad_id: int, device: str) -> tuple[float, int]:
    """Summed token cross-entropy over the answer tokens of rows, and how many tokens that was."""
    model.eval()
    total, count = 0.0, 0
    with torch.inference_mode():
        for s in range(0, len(rows), batch_size):
            ids, mask, labels = _collate(rows[s:s + batch_size], pad_id, device)
            total += answer_loss(model, ids, mask, labels, reduction="sum").item()
            count += int((labels[:, 1:] != -100).sum())
    model.train()
    return total, count


def train_lora(backend: LocalBackend, train: list[tuple[Messages, str]], dev: list[tuple[Messages, str]],
               cfg: TrainConfig, work_dir: Path, reporter: Reporter) -> TrainResult:
    """Train a LoRA adapter; resumes from the last finished epoch found in work_dir.

    Under torch.distributed with world size > 1, every rank must call this with the same data and config: each
    takes its share of the batches (batch_size is per rank), DDP averages gradients, logged and dev losses are
    all-reduced so early stopping agrees, and only rank 0 writes checkpoints and the adapter."""
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict, get_peft_model_state_dict

    device = backend.device
    pad_id = backend.tokenizer.pad_token_id
    train_rows = [encode_pair(backend, m, a, cfg.max_length) for m, a in train]
    dev_rows = [encode_pair(backend, m, a, cfg.max_length) for m, a in dev]
    rank, world = _world()
    steps_per_epoch = math.ceil(math.ceil(len(train_rows) / cfg.batch_size) / world)
    total_steps = steps_per_epoch * cfg.epochs
    if cfg.max_steps is not None:
        total_steps = min(total_steps, cfg.max_steps)
    warmup = int(cfg.warmup_ratio * total_steps)

    torch.manual_seed(cfg.seed)
    lora = LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout, target_modules=cfg.target_modules,
                      task_type="CAUSAL_LM", bias="none")
    model = get_peft_model(backend.model, lora)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    params = [p for p in model.parameters() if p.requires_grad]
    train_model = model  # what the training step calls: the DDP wrapper when data-parallel
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    ckpt_dir, best_dir = work_dir / "checkpoint", work_dir / "adapter"
    state = read_json(ckpt_dir / "state.json") if (ckpt_dir / "state.json").is_file() else None
    history = {"train": [], "dev": [], "epochs": []}
    start_epoch, step, best, best_epoch, bad_epochs, tokens_seen, seconds_before = 0, 0, float("inf"), 0, 0, 0, 0.0
    stopped_by = "epochs"
    if world > 1:  # rank 0's checkpoint, sent to every rank: other machines need not share its disk
        box = [_load_checkpoint(ckpt_dir) if rank == 0 and state else None]
        torch.distributed.broadcast_object_list(box, src=0)
        state = box[0]
    if state:
        from safetensors.torch import load_file

        if world > 1:
            set_peft_model_state_dict(model, state["adapter_weights"])
            opt.load_state_dict(state["optimizer"])
        else:
            set_peft_model_state_dict(model, load_file(str(ckpt_dir / "adapter.safetensors"), device=device))
            opt.load_state_dict(torch.load(ckpt_dir / "optimizer.pt", map_location=device, weights_only=True))
        sched.load_state_dict(state["scheduler"])
        start_epoch, step, best, best_epoch = state["epoch"], state["step"], state["best"], state["best_epoch"]
        bad_epochs, tokens_seen, seconds_before, history = state["bad_epochs"], state["tokens"], state["seconds"], state["history"]
        stopped_by = state.get("stopped_by", "epochs")
        if stopped_by == "time_limit":  # rerun with another limit: continue from where the clock stopped it
            stopped_by = "epochs"
        reporter.note(f"resuming LoRA training after epoch {start_epoch}")

    if world > 1:
        # LoRA A is seeded alike on every rank and DDP broadcasts rank 0's weights anyway; the rotary buffers are
        # constants, so no buffer sync before each forward (torch >= 2.13 renamed the switch)
        ddp = torch.nn.parallel.DistributedDataParallel
        no_sync = "forward_sync_buffers" if "forward_sync_buffers" in inspect.signature(ddp).parameters \
            else "broadcast_buffers"
        train_model = ddp(model, device_ids=[torch.cuda.current_device()] if device == "cuda" else None,
                          **{no_sync: False})
    use_bf16 = bf16_autocast_ok(device, getattr(backend.model.config, "hidden_size", 0))
    tokens_per_micro = micro_batch_tokens(backend.model.config, device)
    t0 = time.perf_counter()
    deadline = None if cfg.max_train_minutes is None else cfg.max_train_minutes * 60 - seconds_before
    model.train()
    try:
        with reporter.stage(f"Training LoRA r={cfg.rank} lr={cfg.lr:.1e}", total=total_steps) as stage:
            stage.advance(step)
            epoch = start_epoch
            while epoch < cfg.epochs and stopped_by == "epochs" and step < total_steps:
                rng = random.Random(cfg.seed * 1000 + epoch)
                torch.manual_seed(cfg.seed * 1000 + epoch)
                for batch in _shard(_batches([len(r[0]) for r in train_rows], cfg.batch_size, rng), rank, world):
                    rows = [train_rows[i] for i in batch]
                    answers = sum(len(seq) - max(start, 1) for seq, start in rows)  # targets in the whole batch
                    parts = _micro_batches(rows, tokens_per_micro)
                    loss_sum, real_tokens = 0.0, 0
                    for n, part in enumerate(parts):
                        ids, mask, labels = _collate(part, pad_id, device)
                        sync = train_model.no_sync() if world > 1 and n < len(parts) - 1 else contextlib.nullcontext()
                        with sync:
                            with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=use_bf16):
                                part_sum = answer_loss(train_model, ids, mask, labels, reduction="sum")
                            (part_sum / answers).backward()
                        loss_sum += part_sum.item()
                        real_tokens += int(mask.sum())
                    loss = loss_sum / answers
                    torch.nn.utils.clip_grad_norm_(params, 1.0)
                    opt.step()
                    sched.step()
                    opt.zero_grad(set_to_none=True)
                    step += 1
                    late = deadline is not None and time.perf_counter() - t0 > deadline
                    if world > 1:  # mean loss over ranks, all tokens, and any rank's clock stops every rank
                        ranks_loss, tokens, n_late = _all_sum([loss, real_tokens, float(late)], device)
                        step_loss, late = ranks_loss / world, n_late > 0
                        tokens_seen += int(tokens)
                    else:
                        step_loss = loss
                        tokens_seen += real_tokens
                    history["train"].append([step, round(step_loss, 5)])
                    stage.advance(1, loss=f"{step_loss:.3f}")
                    if late:
                        stopped_by = "time_limit"
                        break
                    if step >= total_steps:  # the step budget ends the schedule, mid-epoch or not
                        if step < steps_per_epoch * cfg.epochs:
                            stopped_by = "step_budget"
                        break
                epoch += 1
                if world > 1:  # each rank scores its share of dev; summed losses and token counts make the mean
                    total, count = _all_sum(list(_loss_sums(model, dev_rows[rank::world], cfg.batch_size, pad_id,
                                                            device)), device)
                    dev_loss = total / max(count, 1) if dev_rows else float("nan")
                else:
                    dev_loss = _mean_loss(model, dev_rows, cfg.batch_size, pad_id, device) if dev_rows else float("nan")
                history["dev"].append([step, round(dev_loss, 5)])
                history["epochs"].append(step)
                if not dev_rows or dev_loss < best - 1e-4:
                    best, best_epoch, bad_epochs = dev_loss, epoch, 0
                    if rank == 0:
                        _save_adapter(model, best_dir)
                else:
                    bad_epochs += 1
                    if bad_epochs > cfg.patience and stopped_by == "epochs":
                        stopped_by = "early_stopping"
                if rank == 0:
                    _save_checkpoint(model, opt, sched, ckpt_dir, {
                        "epoch": epoch, "step": step, "best": best, "best_epoch": best_epoch, "bad_epochs": bad_epochs,
                        "tokens": tokens_seen, "seconds": seconds_before + time.perf_counter() - t0, "history": history,
                        "stopped_by": stopped_by,
                    }, get_peft_model_state_dict)
                if world > 1:  # the others wait until rank 0's files are whole
                    torch.distributed.barrier()
    finally:
        backend.model = model.unload()  # strip LoRA layers: the base model is shared by every lever
    history["best_step"] = history["epochs"][best_epoch - 1] if best_epoch else None
    return TrainResult(best_dir, cfg.lr, epoch, best_epoch, step,
                       seconds_before + time.perf_counter() - t0, tokens_seen, history, stopped_by, trainable,
                       "bf16 autocast" if use_bf16 else "fp32", total_steps)


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

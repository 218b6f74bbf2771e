"""LoRA training: advise's `train_lora` vs the usual recipe (transformers `Trainer` + peft `get_peft_model`)."""
from __future__ import annotations

import contextlib
import random
import sys
import tempfile
import time
from pathlib import Path

import torch

from rows import Row, load_now, log, ratio, support_tickets

RANK, ALPHA, DROPOUT, BATCH, HELD_OUT = 16, 32, 0.05, 8, 32


def _pad(rows: list[tuple[list[int], int]], pad_id: int) -> dict:
    """Right padding, labels only on the answer (completion-only), padding masked by length."""
    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, (seq, start) in enumerate(rows):
        ids[r, :len(seq)] = torch.tensor(seq)
        mask[r, :len(seq)] = 1
        labels[r, start:len(seq)] = torch.tensor(seq[start:])
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


@torch.inference_mode()
def held_out_loss(model, rows: list[tuple[list[int], int]], pad_id: int) -> float:
    """Token-weighted answer cross-entropy on held-out rows: one yardstick for both trainers."""
    model.eval()
    total, count = 0.0, 0
    for s in range(0, len(rows), BATCH):
        b = _pad(rows[s:s + BATCH], pad_id)
        logits = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits[:, :-1].float()
        tgt = b["labels"][:, 1:]
        total += torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt.reshape(-1),
                                                   ignore_index=-100, reduction="sum").item()
        count += int((tgt != -100).sum())
    return total / count


def _ours(backend, pairs, lr: float, steps: int, held, pad_id: int, fp32: bool) -> dict:
    from peft import PeftModel

    from advisor.backends import training
    from advisor.progress import Reporter

    cfg = training.TrainConfig(rank=RANK, alpha=ALPHA, dropout=DROPOUT, target_modules="all-linear", epochs=1, lr=lr,
                               batch_size=BATCH, warmup_ratio=0.1, max_length=512, seed=0)
    original = training.bf16_autocast_ok
    if fp32:
        training.bf16_autocast_ok = lambda *args, **kwargs: False  # the like-for-like line; training.py stays untouched
    load = load_now()
    try:
        with tempfile.TemporaryDirectory() as work:
            t0 = time.perf_counter()
            result = training.train_lora(backend, pairs, [], cfg, Path(work), Reporter())
            seconds = time.perf_counter() - t0
            tuned = PeftModel.from_pretrained(backend.model, str(result.adapter_dir))
            loss = held_out_loss(tuned, held, pad_id)
            backend.model = tuned.unload()
    finally:
        training.bf16_autocast_ok = original
    assert result.steps == steps, result.steps
    curve = [v for _, v in result.loss_curve["train"]]
    return {"seconds": seconds, "last": sum(curve[-3:]) / len(curve[-3:]), "held": loss,
            "precision": result.precision, "load": load}


def _reference(folder, rows, lr: float, steps: int, held, pad_id: int) -> dict:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    load = load_now()
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        torch.manual_seed(0)  # same LoRA init as train_lora (it seeds 0 before get_peft_model)
        model = get_peft_model(model, LoraConfig(r=RANK, lora_alpha=ALPHA, lora_dropout=DROPOUT,
                                                 target_modules="all-linear", task_type="CAUSAL_LM"))
        args = TrainingArguments(output_dir=out, per_device_train_batch_size=BATCH, max_steps=steps, learning_rate=lr,
                                 lr_scheduler_type="cosine", warmup_steps=0, weight_decay=0.0,
                                 max_grad_norm=1.0, logging_steps=1, save_strategy="no", report_to="none", seed=0,
                                 use_cpu=True, disable_tqdm=True, dataloader_num_workers=0, remove_unused_columns=False)
        data = [{"ids": ids, "start": start} for ids, start in rows]
        positions = []

        def collate(batch: list[dict]) -> dict:
            padded = _pad([(r["ids"], r["start"]) for r in batch], pad_id)
            positions.append(padded["input_ids"].numel())
            return padded

        trainer = Trainer(model=model, args=args, train_dataset=data, data_collator=collate)
        with contextlib.redirect_stdout(sys.stderr):  # Trainer prints its log dicts; stdout is the table
            trainer.train()
        seconds = time.perf_counter() - t0
    curve = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    return {"seconds": seconds, "last": sum(curve[-3:]) / len(curve[-3:]), "held": held_out_loss(model, held, pad_id),
            "precision": "fp32", "load": load, "positions": sum(positions)}


def run(quick: bool) -> list[Row]:
    from advisor.backends.local import LocalBackend
    from advisor.backends.models import default_model_folder
    from advisor.backends.training import _batches, encode_pair, scaled_lr

    task, train, evals, prompt = support_tickets()
    folder = default_model_folder()
    backend = LocalBackend(folder)
    steps = 3 if quick else 12
    pairs = [(prompt(e.input), e.output) for e in train[: steps * BATCH]]  # exactly one epoch of `steps` batches
    rows = [encode_pair(backend, m, a, 512) for m, a in pairs]
    held = [encode_pair(backend, prompt(e.input), e.output, 512) for e in evals[:HELD_OUT]]
    pad_id = backend.tokenizer.pad_token_id
    lr = scaled_lr(backend.n_parameters)  # what `lr: auto` picks for this model
    tokens = sum(len(ids) for ids, _ in rows)
    grouped = sum(BATCH * max(len(rows[i][0]) for i in b) if len(b) == BATCH else sum(len(rows[i][0]) for i in b)
                  for b in _batches([len(r[0]) for r in rows], BATCH, random.Random(0)))

    runs = {}
    for name, fp32 in (("ours", False), ("ours_fp32", True)):
        log(f"training: train_lora, {steps} steps x {BATCH}{' (forced fp32)' if fp32 else ''}")
        runs[name] = _ours(backend, pairs, lr, steps, held, pad_id, fp32)
    log(f"training: Trainer + peft, {steps} steps x {BATCH}")
    runs["ref"] = _reference(folder, rows, lr, steps, held, pad_id)
    base_loss = held_out_loss(backend.model, held, pad_id)

    ours, fp32, ref = runs["ours"], runs["ours_fp32"], runs["ref"]
    tps = {k: tokens / v["seconds"] for k, v in runs.items()}
    setup = f"r={RANK} alpha={ALPHA} all-linear, lr {lr:.2e}, {steps} steps x {BATCH}, {tokens} real tokens"
    return [
        Row("training", f"tokens/s (non-padding), {ours['precision']} vs {ref['precision']}", f"{tps['ours']:.0f}",
            f"{tps['ref']:.0f}", ratio(tps["ours"], tps["ref"]), f"{setup}; {ours['load']} / {ref['load']}"),
        Row("training", "tokens/s (non-padding), fp32 vs fp32", f"{tps['ours_fp32']:.0f}", f"{tps['ref']:.0f}",
            ratio(tps["ours_fp32"], tps["ref"]),
            f"real tokens / padded positions: {tokens / grouped:.0%} (length-grouped) vs {tokens / ref['positions']:.0%}"
            f" (random order); {fp32['load']}"),
        Row("training", f"mean train loss, last 3 steps ({ours['precision']} / fp32 / ref)",
            f"{ours['last']:.3f} / {fp32['last']:.3f}", f"{ref['last']:.3f}", "",
            "different batches (length-grouped vs random order): noisy"),
        Row("training", f"held-out answer loss after training, {HELD_OUT} eval rows", f"{ours['held']:.3f} / {fp32['held']:.3f}",
            f"{ref['held']:.3f}", "", f"untrained model: {base_loss:.3f}; lr schedules: ours cosine after int(10%) warmup"
            " steps that start at full lr, Trainer cosine with no warmup (HF's warmup starts at lr 0)"),
    ]

"""The preference lever: SFT LoRA on the train rows and the preferred answers, then DPO on the preference pairs on
top of that adapter (the standard recipe), the reference policy being the SFT adapter as DPO starts (its log-probs
stored once, frozen). Its variants are the SFT adapter alone and one DPO adapter per beta, chosen on dev by the
task's rubric like every lever's variants; the held-out pairs measure what DPO changed: reward margins and how
often the model ranks the preferred answer first, before (SFT) and after (DPO)."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from ..backends.dpo import DPOObjective, PairItem
from ..backends.training import TrainConfig, TrainResult, train_lora
from ..checks import overfitting_check
from ..errors import UserError
from ..preferences import Preference, load_preferences, split_pairs
from ..runs import read_json, stable_hash, write_json
from .base import Bench, Prepared, Variant, chat
from .finetune import (_endpoint_skip, _time_limit_warning, _train_details, _undertrained_note, adapter_id,
                       local_backend, train_cached)

DPO_LR_SHARE = 0.1  # DPO steps at a tenth of the SFT learning rate: it refines a trained adapter, it does not build one


def check_task(task) -> None:
    """Load-time check (registry `load_check`): the preference file exists and every pair is well formed."""
    if task.data.preferences is None:
        raise UserError(task.task_file, task.locate("data"), "the preference lever needs data.preferences",
                        "give a .jsonl of preference pairs (TRL prompt/chosen/rejected or OpenAI preference rows)")
    load_preferences(task.resolve(task.data.preferences), task.task_file)


def _messages(bench: Bench):
    keep = bench.task.levers.finetune.keep_instruction
    instruction, reminder = (bench.task.instruction, bench.reminder) if keep else ("", "")
    return lambda text: chat(instruction, "user", text, reminder=reminder)


def _dpo_cached(bench: Bench, backend, sft: TrainResult, beta: float, train_rows, dev_rows) -> TrainResult:
    """Train (or reuse) the DPO adapter for `beta`, starting from the SFT adapter."""
    opts, ft = bench.task.levers.preference, bench.task.levers.finetune
    cfg = TrainConfig.from_options(ft, lr=sft.lr * DPO_LR_SHARE, epochs=opts.epochs, max_steps=opts.max_steps,
                                   seed=bench.task.seed)
    key = {k: v for k, v in asdict(cfg).items() if k != "max_train_minutes"}
    # the SFT adapter by its work folder's name (its own key), not its path: a moved run folder keeps its cache
    work = bench.run_dir / "preference-dpo" / stable_hash(backend.identity, sft.adapter_dir.parent.name, beta,
                                                          train_rows, dev_rows, key)
    done = read_json(work / "done.json")
    if done:
        done["adapter_dir"] = work / "adapter"  # where it lies now
        bench.reporter.note(f"preference: reusing the DPO adapter trained at beta {beta:g}")
        return TrainResult(**done)
    result = train_lora(backend, train_rows, dev_rows, cfg, work, bench.reporter,
                        objective=DPOObjective(beta, ft.max_length), init_adapter=sft.adapter_dir)
    write_json(work / "done.json", {**asdict(result), "adapter_dir": str(result.adapter_dir)})
    return result


@torch.no_grad()
def _logps(backend, adapter_dir: Path, objective: DPOObjective, items: list[PairItem]) -> tuple[list, list]:
    """Summed answer log-probs of the chosen and the rejected answers under the base model with `adapter_dir`."""
    from peft import PeftModel

    model = PeftModel.from_pretrained(backend.model, str(adapter_dir)).to(backend.device)
    model.eval()
    try:
        chosen, rejected = [], []
        for s in range(0, len(items), 8):
            c, r, _ = objective.logps(model, items[s:s + 8], backend.device)
            chosen += c.tolist()
            rejected += r.tolist()
        return chosen, rejected
    finally:
        backend.model = model.unload()


def pair_metrics(backend, sft_dir: Path, dpo_dir: Path, beta: float, rows) -> dict:
    """On the held-out pairs: how often the preferred answer gets the higher mean log-prob per token, under SFT and
    under DPO; DPO's reward margins (beta x the log-ratio gap against SFT) and their accuracy; and the drift from
    SFT: the mean log-ratio of the preferred and of the rejected answers (0 = unchanged)."""
    objective = DPOObjective(beta, 10**6)
    items = objective.prepare(backend, rows)
    before_c, before_r = _logps(backend, sft_dir, objective, items)
    after_c, after_r = _logps(backend, dpo_dir, objective, items)
    lengths = [(len(i.chosen[0]) - i.chosen[1], len(i.rejected[0]) - i.rejected[1]) for i in items]

    def ranked_first(c: list, r: list) -> float:
        return sum(c[k] / max(nc, 1) > r[k] / max(nr, 1) for k, (nc, nr) in enumerate(lengths)) / len(items)

    margins = [beta * ((ac - bc) - (ar - br)) for ac, bc, ar, br in zip(after_c, before_c, after_r, before_r)]
    n = len(items)
    return {"pairs": n, "beta": beta,
            "preferred_first_before": ranked_first(before_c, before_r),
            "preferred_first_after": ranked_first(after_c, after_r),
            "reward_margin": sum(margins) / n, "reward_accuracy": sum(m > 0 for m in margins) / n,
            "drift_chosen": sum(a - b for a, b in zip(after_c, before_c)) / n,
            "drift_rejected": sum(a - b for a, b in zip(after_r, before_r)) / n}


class PreferenceLever:
    name = "preference"

    def skip_reason(self, bench: Bench) -> str | None:
        if not bench.task.levers.preference.enabled:
            return "disabled in task.yaml (levers.preference.enabled: false)"
        if bench.task.data.preferences is None:
            return "no preference pairs: set data.preferences to a .jsonl of (prompt, chosen, rejected) pairs"
        return _endpoint_skip(bench)

    def prepare(self, bench: Bench) -> Prepared:
        task, opts = bench.task, bench.task.levers.preference
        pairs = load_preferences(task.resolve(task.data.preferences), task.task_file)
        train_p, dev_p = split_pairs(pairs, task.seed)
        backend = local_backend(bench)
        other = None if backend is bench.backend else backend
        messages = _messages(bench)

        def prompts(exs) -> list:
            return [messages(e.input) for e in exs]

        def triples(ps: list[Preference]) -> list:
            return [(messages(p.prompt), p.chosen, p.rejected) for p in ps]

        sft_train = [(messages(e.input), e.output) for e in bench.train] + [(messages(p.prompt), p.chosen)
                                                                             for p in train_p]
        sft_dev = [(messages(e.input), e.output) for e in bench.dev]
        sft, lr_choice, grid = train_cached(bench, backend, "preference-sft", sft_train, sft_dev, task.seed,
                                            task.levers.finetune.max_steps)
        label = "SFT on train and preferred answers"
        variants = [Variant(label, prompts, adapter=sft.adapter_dir, adapter_id=adapter_id(bench, sft.adapter_dir),
                            info={"beta": None, "lr": sft.lr}, backend=other)]
        dpo_runs, train_seconds, trained = [], sft.train_seconds, [sft]
        for beta in (opts.beta if isinstance(opts.beta, list) else [opts.beta]):
            result = _dpo_cached(bench, backend, sft, beta, triples(train_p), triples(dev_p))
            train_seconds += result.train_seconds
            trained.append(result)
            metrics = pair_metrics(backend, sft.adapter_dir, result.adapter_dir, beta, triples(dev_p))
            dev_losses = [loss for _, loss in result.loss_curve.get("dev", [])]  # the curve is in its done.json
            dpo_runs.append({"beta": beta, "lr": result.lr, "steps": result.steps, "best_epoch": result.best_epoch,
                             "dev_loss": min(dev_losses) if dev_losses else None, **metrics})
            variants.append(Variant(f"SFT, then DPO at beta {beta:g}", prompts, adapter=result.adapter_dir,
                                    adapter_id=adapter_id(bench, result.adapter_dir),
                                    info={"beta": beta, "lr": result.lr}, backend=other))
        details = _train_details(sft, lr_choice, grid, task.levers.finetune)
        details["loss_gap"], overfit = overfitting_check(sft.loss_curve)
        details.update({"preference_pairs": {"train": len(train_p), "dev": len(dev_p)}, "dpo": dpo_runs,
                        "dpo_lr_share_of_sft": DPO_LR_SHARE})
        notes = [note for r in trained if (note := _undertrained_note(bench, self.name, r))]  # the safety net
        return Prepared(variants, details=details, train_seconds=train_seconds,
                        artifacts={"adapter": str(sft.adapter_dir),
                                   **{f"dpo_adapter_beta_{run['beta']:g}": str(v.adapter)
                                      for run, v in zip(dpo_runs, variants[1:])}},
                        checked=[overfit.for_lever(self.name)],
                        warnings=[w for r in trained for w in _time_limit_warning(bench, self.name, r)],
                        undertrained_note=notes[0] if notes else None)

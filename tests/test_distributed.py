"""Data-parallel LoRA through torchrun: two CPU processes (gloo) on the tiny model, against one process."""
from __future__ import annotations

import json
import math
import os
import random
import subprocess
from pathlib import Path

import pytest
import torch

from advisor.backends.distributed import launch_command, write_job
from advisor.backends.training import TrainConfig, _batches, _collate, _shard, encode_pair

from conftest import build_tiny_model

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = [("When does the bakery open?", "6:30"), ("Who is the head baker?", "Marta Ilves"),
             ("What is the signature loaf?", "Dockside Sourdough"), ("Which day is it closed?", "Sunday")]
OPENERS = ["", "Hi, ", "Q: ", "Hello! ", "Please: ", "Quick: ", "Hey ", "So, "]
PAIRS = [([{"role": "user", "content": opener + q}], a) for opener in OPENERS for q, a in QUESTIONS]
TRAIN, DEV = PAIRS[:24], PAIRS[24:]
# 24 pairs in batches of 5: 5 batches an epoch, so 2 ranks take 3 steps each (one batch repeated to even them)
CONFIG = TrainConfig(rank=8, alpha=16, epochs=3, lr=5e-3, batch_size=5, patience=1, seed=3)


def torchrun(job: Path, nproc: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.run(launch_command(job, nproc), cwd=job.parent, env=env, capture_output=True, text=True,
                          timeout=120)


def train(folder: Path, model: Path, nproc: int, config: TrainConfig = CONFIG) -> tuple[dict, str]:
    job = write_job(folder / "job.json", model, TRAIN, DEV, config, folder / "work")
    done = torchrun(job, nproc)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((folder / "work" / "done.json").read_text()), done.stderr


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-dp"), hidden=64, layers=2)


@pytest.fixture(scope="module")
def two(tmp_path_factory, model) -> dict:
    return train(tmp_path_factory.mktemp("two"), model, 2)[0]


def test_two_processes_train_one_adapter_in_half_the_steps(two: dict, model: Path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    batches = math.ceil(len(TRAIN) / CONFIG.batch_size)
    assert two["steps"] == math.ceil(batches / 2) * two["epochs_run"] == 9
    assert two["loss_curve"]["epochs"] == [3, 6, 9]
    assert two["tokens_seen"] > 0 and two["stopped_by"] == "epochs"
    tuned = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(model), two["adapter_dir"])
    lora_b = [p for name, p in tuned.named_parameters() if "lora_B" in name]
    assert lora_b and all(p.abs().sum() > 0 for p in lora_b)


def test_logged_loss_is_the_mean_over_ranks_and_falls(two: dict, model: Path):
    from advisor.backends.local import LocalBackend

    # LoRA B starts at zero, so step 1 runs the base model: its loss on each rank's first batch is computable here
    backend = LocalBackend(str(model))
    rows = [encode_pair(backend, m, a, CONFIG.max_length) for m, a in TRAIN]
    batches = _batches([len(ids) for ids, _ in rows], CONFIG.batch_size, random.Random(CONFIG.seed * 1000))
    per_rank = []
    with torch.inference_mode():
        for rank in range(2):
            ids, mask, labels = _collate([rows[i] for i in _shard(batches, rank, 2)[0]], backend.tokenizer.pad_token_id,
                                         "cpu")
            per_rank.append(backend.model(input_ids=ids, attention_mask=mask, labels=labels).loss.item())
    train_curve = [loss for _, loss in two["loss_curve"]["train"]]
    assert train_curve[0] == pytest.approx(sum(per_rank) / 2, abs=1e-4)
    assert per_rank[0] != pytest.approx(per_rank[1], abs=1e-3)  # the ranks did see different batches
    assert sum(train_curve[-3:]) / 3 < sum(train_curve[:3]) / 3


def test_one_process_evaluates_dev_as_often(two: dict, model: Path, tmp_path: Path):
    one, _ = train(tmp_path, model, 1)
    assert one["steps"] == math.ceil(len(TRAIN) / CONFIG.batch_size) * one["epochs_run"] == 15
    assert len(one["loss_curve"]["dev"]) == len(two["loss_curve"]["dev"]) == one["epochs_run"] == two["epochs_run"]


def test_time_limit_stops_every_rank_and_a_rerun_resumes(model: Path, tmp_path: Path):
    stopped, _ = train(tmp_path, model, 2, TrainConfig(**{**CONFIG.__dict__, "max_train_minutes": 0.0}))
    assert stopped["stopped_by"] == "time_limit" and stopped["steps"] == 1
    resumed, log = train(tmp_path, model, 2)
    assert "resuming LoRA training after epoch 1" in log
    assert resumed["stopped_by"] == "epochs" and resumed["steps"] == 1 + 2 * 3
    assert resumed["loss_curve"]["train"][0] == stopped["loss_curve"]["train"][0]
    assert len(resumed["loss_curve"]["dev"]) == 3


def test_a_job_with_an_unknown_config_field_names_it(tmp_path: Path):
    from advisor.backends.distributed import read_job
    from advisor.errors import UserError

    job = write_job(tmp_path / "job.json", "some-org/some-model", TRAIN, DEV, CONFIG, tmp_path / "work")
    data = json.loads(job.read_text())
    data["config"]["epoch"] = data["config"].pop("epochs")
    job.write_text(json.dumps(data))
    with pytest.raises(UserError, match=r"job.json: config.epoch: unknown TrainConfig field .*did you mean 'epochs'"):
        read_job(job)
    assert "--standalone" in launch_command(job, 2) and launch_command(job, 8, 2, "node0:29500")[3:7] == [
        "--nnodes", "2", "--rdzv_backend", "c10d"]


def test_advise_compare_trains_data_parallel(tmp_path, tiny_model):
    """`levers.finetune.processes: 2` runs the finetune lever's training through torchrun (gloo on CPU)."""
    import json as _json

    from click.testing import CliRunner

    from advisor.cli import main
    from conftest import write_task

    task = write_task(tmp_path / "task", str(tiny_model), corpus=False)
    task.write_text(task.read_text().replace("  finetune:\n", "  finetune:\n    processes: 2\n"))
    result = CliRunner().invoke(main, ["compare", str(task), "--out", str(tmp_path / "run"), "--levers", "finetune"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "2 data-parallel processes" in result.output
    lever = _json.loads((tmp_path / "run" / "results.json").read_text())["levers"][0]
    # 16 train rows at batch 4 = 4 batches an epoch, 2 per process; 2 epochs
    assert lever["status"] == "ok" and lever["details"]["steps"] == 4


def test_micro_batches_accumulate_to_the_same_step(model: Path, tmp_path: Path, monkeypatch):
    """A batch split into one-row passes (gradients accumulated) gives each optimizer step the gradient and the loss
    of one pass over the whole batch."""
    from safetensors.torch import load_file

    from advisor.backends import training
    from advisor.backends.local import LocalBackend
    from advisor.progress import Reporter

    config = TrainConfig(**{**CONFIG.__dict__, "dropout": 0.0, "epochs": 1})
    clip, loss_fn = torch.nn.utils.clip_grad_norm_, training.answer_loss
    runs = {}
    for name, cap in (("whole", 10**6), ("one_row", 1)):
        grads, passes = [], []

        def record_step(params, max_norm, *args, **kwargs):  # the accumulated gradient the optimizer steps with
            params = list(params)
            grads.append(torch.cat([p.grad.detach().flatten().clone() for p in params]))
            return clip(params, max_norm, *args, **kwargs)

        def count_pass(model, ids, *args, **kwargs):
            if torch.is_grad_enabled():
                passes.append(len(ids))
            return loss_fn(model, ids, *args, **kwargs)

        monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", record_step)
        monkeypatch.setattr(training, "answer_loss", count_pass)
        monkeypatch.setattr(training, "CPU_MICRO_TOKENS", cap)
        result = training.train_lora(LocalBackend(str(model)), TRAIN, DEV, config, tmp_path / name, Reporter())
        runs[name] = (result, load_file(str(result.adapter_dir / "adapter_model.safetensors")), grads, passes)
    (whole, w_whole, g_whole, p_whole), (split, w_split, g_split, p_split) = runs["whole"], runs["one_row"]
    steps = math.ceil(len(TRAIN) / CONFIG.batch_size)
    assert len(p_whole) == len(g_whole) == len(g_split) == steps and p_split == [1] * len(TRAIN)
    assert [x for _, x in whole.loss_curve["train"]] == pytest.approx([x for _, x in split.loss_curve["train"]],
                                                                       abs=1e-4)
    # Summing in another order changes fp32 gradients in the last bits. Measured max relative L2 difference per step
    # (tests' tiny model, 5 steps): 2.0e-7 at step 1 (same weights), 1.3e-6 later (weights drift apart through Adam),
    # the same with OMP_NUM_THREADS=1 and =2 and on 1 or 2 cores (9.0e-6 at worst over 15 steps). 1e-4 leaves 75x
    # margin and is far below what a real accumulation bug does: weighting passes by rows, not answer tokens, moves
    # this gradient by 0.56. Final weights are not compared: Adam divides by sqrt(v), so last-bit differences in
    # near-zero gradient entries become lr-sized weight differences (6.1e-6 here; above the old atol of 1e-5 on
    # the machine where that check failed).
    relative = [float((a - b).norm() / a.norm()) for a, b in zip(g_whole, g_split)]
    assert max(relative) < 1e-4, relative
    assert w_whole.keys() == w_split.keys()
    assert any(w_whole[k].abs().sum() > 0 for k in w_whole if "lora_B" in k)
    assert whole.tokens_seen == split.tokens_seen

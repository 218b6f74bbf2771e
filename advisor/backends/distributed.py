"""Data-parallel LoRA training on several GPUs or machines, one process per GPU:

    torchrun --nproc_per_node 8 -m advisor.backends.distributed JOB.json
    accelerate launch --multi_gpu --num_processes 8 -m advisor.backends.distributed JOB.json

JOB.json (written by `write_job`) names the model, the train and dev pairs, the TrainConfig and the work dir. Every
process runs `train_lora` (DDP inside it); rank 0 writes the adapter and done.json in the format the finetune
lever reads back, so `advise` reuses the adapter when the work dir is the one it would have trained in."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Iterator

import torch

from ..errors import UserError, did_you_mean
from ..progress import Reporter
from ..runs import read_json, read_jsonl, write_json, write_jsonl
from .base import Messages
from .training import TrainConfig, TrainResult, train_lora

MODULE = "advisor.backends.distributed"


@dataclass
class Job:
    model: str
    train: list[tuple[Messages, str]]
    dev: list[tuple[Messages, str]]
    config: TrainConfig
    work_dir: Path


def write_job(job_path: Path | str, model: Path | str, train: list[tuple[Messages, str]],
              dev: list[tuple[Messages, str]], config: TrainConfig, work_dir: Path | str) -> Path:
    """Write JOB.json plus its train and dev JSONL ({"messages": [...], "answer": "..."}) beside it."""
    job_path = Path(job_path)
    names = {split: f"{job_path.stem}.{split}.jsonl" for split in ("train", "dev")}
    for split, pairs in (("train", train), ("dev", dev)):
        write_jsonl(job_path.with_name(names[split]), [{"messages": list(m), "answer": a} for m, a in pairs])
    model = str(Path(model).resolve()) if Path(model).exists() else str(model)  # a folder, or a Hugging Face id
    write_json(job_path, {"model": model, "train": names["train"], "dev": names["dev"], "config": asdict(config),
                          "work_dir": str(Path(work_dir).resolve())})
    return job_path


def read_job(job_path: Path | str) -> Job:
    """Load JOB.json; relative paths in it are relative to its folder."""
    job_path = Path(job_path)
    job = read_json(job_path)
    if not isinstance(job, dict):
        raise UserError(job_path, None, "not a readable JSON object",
                        "write it with advisor.backends.distributed.write_job")
    missing = [k for k in ("model", "train", "config", "work_dir") if k not in job]
    if missing:
        raise UserError(job_path, missing[0], "missing")
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(job["config"]) - known)
    if unknown:
        raise UserError(job_path, f"config.{unknown[0]}", "unknown TrainConfig field",
                        did_you_mean(unknown[0], sorted(known)))

    def pairs(name: str | None) -> list[tuple[Messages, str]]:
        if not name:
            return []
        path = job_path.parent / name
        if not path.is_file():
            raise UserError(job_path, name, "file not found")
        return [(row["messages"], row["answer"]) for row in read_jsonl(path)]

    return Job(str(job["model"]), pairs(job["train"]), pairs(job.get("dev")), TrainConfig(**job["config"]),
               job_path.parent / job["work_dir"])


def launch_command(job_path: Path | str, nproc: int, nnodes: int = 1, rdzv_endpoint: str | None = None) -> list[str]:
    """The torchrun command line for a job; with nnodes > 1, run the same command on every node."""
    cmd = [sys.executable, "-m", "torch.distributed.run"]
    if nnodes > 1:
        if not rdzv_endpoint:
            raise ValueError("nnodes > 1 needs rdzv_endpoint (HOST:PORT of one node)")
        cmd += ["--nnodes", str(nnodes), "--rdzv_backend", "c10d", "--rdzv_endpoint", rdzv_endpoint]
    else:
        cmd += ["--standalone"]
    return cmd + ["--nproc_per_node", str(nproc), "-m", MODULE, str(job_path)]


class _LineReporter(Reporter):
    """Plain progress lines on stderr (rank 0 only): a log under torchrun has no terminal to redraw."""

    @contextmanager
    def stage(self, description: str, total: int | None = None) -> Iterator["_LineStage"]:
        print(f"{description}: {total} steps", file=sys.stderr, flush=True)
        yield _LineStage(total or 0)

    def note(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)


class _LineStage:
    def __init__(self, total: int):
        self.total, self.done, self.every = total, 0, max(1, total // 20)

    def advance(self, n: int = 1, **fields: object) -> None:
        self.done += n
        if n and (self.done % self.every == 0 or self.done == self.total):
            extra = " ".join(f"{k} {v}" for k, v in fields.items())
            print(f"step {self.done}/{self.total} {extra}".rstrip(), file=sys.stderr, flush=True)


def run_job(job: Job) -> TrainResult:
    """Train one job in this process; call after the process group is up (or alone, for one process)."""
    from .local import LocalBackend

    distributed = torch.distributed.is_initialized()
    rank = torch.distributed.get_rank() if distributed else 0
    backend = LocalBackend(job.model)
    if backend.device == "cpu":  # the processes on this machine share its cores
        torch.set_num_threads(max(1, backend.threads // int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))
    reporter = _LineReporter() if rank == 0 else Reporter()
    result = train_lora(backend, job.train, job.dev, job.config, job.work_dir, reporter)
    if rank == 0:  # the same record levers/finetune.py's train_cached writes and reads back
        write_json(job.work_dir / "done.json", {**asdict(result), "adapter_dir": str(result.adapter_dir),
                                                "max_train_minutes": job.config.max_train_minutes})
    return result


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(f"usage: torchrun --nproc_per_node N -m {MODULE} JOB.json", file=sys.stderr)
        return 2
    try:
        job = read_job(args[0])
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    if distributed:  # torchrun / accelerate launch set RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT
        torch.distributed.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    try:
        run_job(job)
    finally:
        if distributed:
            torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Start and stop a real llm-katan OpenAI-compatible server on loopback for tests."""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

STARTUP_SECONDS = 60


def katan_missing() -> str | None:
    """Why llm-katan cannot be used here, or None when it can."""
    if importlib.util.find_spec("llm_katan") is None:
        return "llm-katan is not installed (pip install llm-katan) - the OpenAI-compatible server tests need it"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Katan:
    """One llm-katan process serving `model_dir` as `name` on 127.0.0.1:`port`."""

    model_dir: Path
    name: str
    port: int
    workdir: Path
    proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "Katan":
        self.workdir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-c", "from llm_katan.cli import main; main()", "--model", str(self.model_dir),
               "--served-model-name", self.name, "--host", "127.0.0.1", "--port", str(self.port),
               "--device", "cpu", "--no-quantize", "--stats-file", str(self.workdir / "stats.json"),
               "--log-level", "warning", "--temperature", "0"]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1",
               "TOKENIZERS_PARALLELISM": "false"}
        log = (self.workdir / "server.log").open("ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.workdir,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llm-katan exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.get("/v1/models")
                return self
            except (OSError, urllib.error.URLError):
                time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"llm-katan did not answer /v1/models within {STARTUP_SECONDS} s:\n{self.log_tail()}")

    def get(self, path: str) -> dict:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}",
                                     headers={"Authorization": "Bearer test-harness"})  # katan wants the header
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.loads(resp.read())

    def requests_served(self) -> int:
        """Provider requests (chat completions and model lists) counted in the stats file, across restarts."""
        return int(self.get("/stats")["total"])

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop our own process (by pid), SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def log_tail(self, n: int = 2000) -> str:
        path = self.workdir / "server.log"
        return path.read_text(errors="replace")[-n:] if path.is_file() else ""

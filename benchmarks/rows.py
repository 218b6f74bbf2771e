"""One line of the benchmark table, the shared task inputs, and a stderr logger (stdout is the Markdown table)."""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TASK_FILE = REPO / "examples" / "support-tickets" / "task.yaml"


@dataclass
class Row:
    part: str
    measure: str
    advise: str
    reference: str
    ratio: str = ""  # advise / reference, oriented so that > 1 means advise is better
    note: str = ""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_now() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


def ratio(better: float, worse: float) -> str:
    return f"{better / worse:.2f}x" if worse > 0 else "n/a"


def support_tickets():
    """The support-tickets task, its train and eval examples, and the zero-shot prompt the levers use."""
    from advisor.data import load_examples
    from advisor.levers.base import chat, format_reminder
    from advisor.spec import load_task

    task = load_task(TASK_FILE)
    train = load_examples(task.resolve(task.data.train), "data.train")
    evals = load_examples(task.resolve(task.data.eval), "data.eval")
    reminder = format_reminder([e.output for e in train])

    def prompt(text: str):
        return chat(task.instruction, "user", text, reminder=reminder)

    return task, train, evals, prompt

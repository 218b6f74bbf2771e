"""`advise init`: a small, working task folder to copy and edit."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .errors import UserError, display_path, redact
from .runs import atomic_write_text

TASK_YAML = """\
# advise task: edit the instruction, point data at your files, pick a rubric. Reference: README.md
name: {name}
instruction: |
  Answer the question about Harbor Lane Bakery with a short phrase.
# model: smollm2-135m          # the bundled default; or a folder / Hugging Face id, or
# model: {{base_url: http://127.0.0.1:8000/v1, name: my-model, api_key_env: OPENAI_API_KEY}}
data:
  train: data/train.jsonl      # rows: {{"input": ..., "output": ...}} (or OpenAI chat "messages")
  eval: data/eval.jsonl        # same format; optional "context_ids": gold documents in the corpus
  corpus: docs/                # .md / .txt / .jsonl documents for the retrieval lever (optional)
rubric: short_answer_qa        # strict_json, short_answer_qa, classification, style_voice, a path, or inline criteria
levers:
  finetune:
    epochs: 2
seed: 0
"""

DOCS = {
    "hours.md": "# Opening hours\nHarbor Lane Bakery opens at 6:30 on weekdays and at 8:00 on Saturdays. It is closed on Sundays.",
    "bread.md": "# Breads\nThe signature loaf is the Dockside Sourdough, proofed for 36 hours. Rye bread is baked on Tuesdays only.",
    "team.md": "# Team\nThe head baker is Marta Ilves. Deliveries are driven by Sam Okafor in the blue van.",
}

FACTS = [
    ("When does the bakery open on weekdays?", "6:30", "hours.md"),
    ("When does it open on Saturdays?", "8:00", "hours.md"),
    ("Which day is the bakery closed?", "Sunday", "hours.md"),
    ("What is the signature loaf called?", "Dockside Sourdough", "bread.md"),
    ("How long is the signature loaf proofed?", "36 hours", "bread.md"),
    ("On which day is rye bread baked?", "Tuesday", "bread.md"),
    ("Who is the head baker?", "Marta Ilves", "team.md"),
    ("Who drives the deliveries?", "Sam Okafor", "team.md"),
    ("What colour is the delivery van?", "blue", "team.md"),
]
PHRASINGS = ["{q}", "Quick question: {q}", "{q} Thanks!", "Hi, {q}", "Could you tell me: {q}"]


def task_name_for(directory: Path) -> str:
    """A task name from the folder's name that `load_task` accepts (letters, digits, - _ .; not starting with a
    dot), written as a quoted YAML string so that a folder called `no` or `2024` stays text."""
    import yaml

    name = re.sub(r"[^\w.-]+", "-", directory.resolve().name).strip("-.")[:80].strip("-.")
    name = name if name and redact(name) == name else "my-task"  # a folder named like a key
    return name if yaml.safe_load(f"name: {name}") == {"name": name} else json.dumps(name)


def scaffold(directory: Path) -> list[Path]:
    """Write a working task folder (task.yaml, tiny data, three documents) into `directory`."""
    task_file = directory / "task.yaml"
    try:
        if os.path.lexists(task_file):
            raise UserError(task_file, None, "already exists", "choose an empty folder")
        if directory.exists() and not directory.is_dir():
            raise UserError(directory, None, "is not a folder", "give the path of a new or empty folder")
        name = task_name_for(directory)
    except OSError as err:
        raise UserError(directory, None, f"cannot be used: {err.strerror}", "give the path of a new or empty folder") from None
    rows = [{"input": p.format(q=q), "output": a, "context_ids": [doc]} for p in PHRASINGS for q, a, doc in FACTS]
    train, evals = [r for i, r in enumerate(rows) if i % 4], [r for i, r in enumerate(rows) if i % 4 == 0]
    written = {task_file: TASK_YAML.format(name=name)}
    written[directory / "data" / "train.jsonl"] = "".join(json.dumps(r) + "\n" for r in train)
    written[directory / "data" / "eval.jsonl"] = "".join(json.dumps(r) + "\n" for r in evals)
    for doc, text in DOCS.items():
        written[directory / "docs" / doc] = text + "\n"
    try:
        for path, text in written.items():
            atomic_write_text(path, text)
    except OSError as err:
        where = display_path(err.filename) if err.filename else display_path(directory)
        raise UserError(where, None, f"cannot write: {err.strerror}", "check the folder's permissions and free space") from None
    return list(written)

"""One interface for every lever: prepare on the training data, return prompt variants that predict."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Protocol

from ..backends.base import DEFAULT_SYSTEM, Backend, Messages
from ..checks import Checked
from ..data import Document, Example
from ..progress import Reporter
from ..runs import JsonlCache
from ..scoring import Rubric
from ..spec import Task


@dataclass
class Bench:
    """Everything a lever may use. Built once per comparison; the model and embeddings are shared."""

    task: Task
    backend: Backend
    train: list[Example]  # train minus dev
    dev: list[Example]
    eval: list[Example]
    corpus: list[Document]
    rubric: Rubric
    run_dir: Path
    reporter: Reporter
    max_new_tokens: int
    gen_cache: JsonlCache
    embedder_factory: Callable[[], object] = field(repr=False, default=None)  # type: ignore[assignment]
    # the backend whose weights finetune trains (backends.make_backend's factory: the bench's own when it is
    # trainable, a local copy of an endpoint's weights, None when there are none)
    local_backend_factory: Callable[[], object] | None = field(repr=False, default=None)
    guard: list[Example] = field(default_factory=list)  # compare measures forgetting on it (levers never score)
    judge: Callable[..., list[str]] | None = field(repr=False, default=None)  # runs llm_judge prompts (judging.Judges)

    @cached_property
    def embedder(self):
        return self.embedder_factory()

    @cached_property
    def reminder(self) -> str:
        return format_reminder([e.output for e in self.train])

    def score(self, rubric: Rubric, texts: list[str], examples: list[Example]) -> dict[str, list[float]]:
        """Per-example scores of `texts` (answers to `examples`) by `rubric`, with the embedder and judge it needs."""
        return rubric.score(texts, [e.output for e in examples], embed=self.embedder if rubric.needs_embedder else None,
                            inputs=[e.input for e in examples], judge=self.judge)


@dataclass
class Variant:
    """One way of prompting the model; `build` turns examples into chat conversations."""

    name: str
    build: Callable[[list[Example]], list[Messages]]
    adapter: Path | None = None
    adapter_id: str | None = None
    info: dict = field(default_factory=dict)
    backend: Backend | None = None  # a different backend than the bench's (finetune of endpoint weights)


@dataclass
class CurvePoint:
    """One point of a learning curve: a variant trained on `fraction` of train (`train_examples` rows)."""

    fraction: float
    train_examples: int
    variant: Variant


@dataclass
class Prepared:
    variants: list[Variant]
    details: dict = field(default_factory=dict)
    train_seconds: float = 0.0
    index_seconds: float = 0.0
    artifacts: dict = field(default_factory=dict)
    warnings: list[dict] = field(default_factory=list)
    replicas: list[Variant] = field(default_factory=list)  # the chosen variant retrained with other seeds
    # this lever's own checks (overfitting): compare adds the ones it runs (forgetting, for a lever that trains
    # weights), records them all under results.json "checks" and puts their warnings ahead of `warnings`
    checked: list[Checked] = field(default_factory=list)
    # variants trained on shares of train, the full one last: compare scores each on eval (details.learning_curve)
    learning_curve: list[CurvePoint] = field(default_factory=list)
    undertrained_note: str | None = None  # set when training was cut short: its score is a lower bound


class Lever(Protocol):
    name: str

    def skip_reason(self, bench: Bench) -> str | None:
        """Why this lever cannot run on this task (None when it can)."""
        ...

    def prepare(self, bench: Bench) -> Prepared: ...


def format_reminder(outputs: list[str]) -> str:
    """An output-format reminder derived from the training outputs (JSON, or short answers)."""
    def is_json(s: str) -> bool:
        try:
            return isinstance(json.loads(s), (dict, list))
        except ValueError:
            return False

    if outputs and sum(map(is_json, outputs)) >= 0.8 * len(outputs):
        return "Reply with only the JSON, on one line, without code fences or explanations."
    words = sorted(len(o.split()) for o in outputs)
    if words and words[int(0.9 * (len(words) - 1))] <= 8:
        return f"Reply with only the answer, at most {max(words[-1], 3)} words, no explanation."
    return ""


def chat(instruction: str, placement: str, text: str, shots: list[Example] = (), context: str | None = None,
         reminder: str = "") -> Messages:
    """Messages with the instruction in the system or the user turn, optional shots and retrieved context."""
    task_text = "\n".join(p for p in (instruction.strip(), reminder) if p)
    body = text if context is None else f"Context:\n{context}\n\nInput:\n{text}"
    messages: Messages = [{"role": "system", "content": task_text if placement == "system" else DEFAULT_SYSTEM}]
    for shot in shots:
        messages.append({"role": "user", "content": shot.input})
        messages.append({"role": "assistant", "content": shot.output})
    final = body if placement == "system" or not task_text else f"{task_text}\n\n{body}"
    messages.append({"role": "user", "content": final})
    return messages

"""What every generation backend provides, and the cached, resumable generation loop over it."""
from __future__ import annotations

import hashlib
import json
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ContextManager, Protocol

from ..progress import Reporter
from ..runs import JsonlCache

Messages = list[dict]

# The system message a conversation gets when it has none: at generation (local backend), in training rows and in
# the levers' prompt variants, so that a model is trained and asked under the same one.
DEFAULT_SYSTEM = "You are a helpful assistant."


@dataclass
class Generation:
    text: str
    input_tokens: int
    output_tokens: int
    seconds: float  # wall time of the call (amortized over the batch for local batched generation)


class Backend(Protocol):
    """What every lever generates through: a model answering chat conversations, greedily."""

    identity: str  # stable id of the weights/endpoint, part of every cache key (adapters, generations)
    generation_identity: str  # identity plus what else changes generated text (a local model's precision)
    kind: str  # "local" | "openai": recorded in results.json; code asks `is_trainable`, never the kind
    description: str  # what the user named (a model id, or "name at url"), for people: results.json, the report

    def generate(self, conversations: list[Messages], max_new_tokens: int,
                 on_done: Callable[[list[int], list[Generation]], None]) -> list[Generation]:
        """Generate greedily for each conversation; call on_done(indices, generations) after each batch."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens in text, as this model counts them (or an estimate, for an endpoint)."""
        ...


class TrainableBackend(Backend, Protocol):
    """A backend whose weights are here: LoRA training (training.train_lora) and generation through an adapter.

    The trainer wraps `model` in LoRA layers and sets it back to the bare model when done, encodes with the
    eval-time chat template (`render`, `encode`, `tokenizer`), and the torchrun path reloads the weights from
    `where` in each process."""

    where: Path | str  # the weights: a folder, or a Hugging Face id
    device: str  # "cuda" | "cpu"
    tokenizer: Any
    model: Any  # the base torch model (loaded on first use); assignable
    n_parameters: int

    def adapter(self, adapter_dir: Path) -> ContextManager[None]:
        """Generate through a saved LoRA adapter inside the context; the bare model again after it."""
        ...

    def attached(self, model) -> ContextManager[None]:
        """Generate through `model` (a LoRA model in training) inside the context."""
        ...

    def render(self, messages: Messages) -> str:
        """Chat-template text for a prompt, ending where the assistant's answer starts."""
        ...

    def encode(self, text: str) -> list[int]: ...


def is_trainable(backend: object) -> bool:
    """True for a backend whose weights can be fine-tuned here (a TrainableBackend). Looked up on the class, so
    asking never loads a model."""
    return all(callable(getattr(type(backend), name, None)) for name in ("adapter", "render", "encode"))


def generation_key(backend_id: str, adapter_id: str | None, messages: Messages, max_new_tokens: int) -> str:
    blob = json.dumps([backend_id, adapter_id, messages, max_new_tokens], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def generate_cached(
    backend: Backend,
    conversations: list[Messages],
    max_new_tokens: int,
    cache: JsonlCache,
    reporter: Reporter,
    description: str,
    adapter_id: str | None = None,
    context=None,
) -> list[Generation]:
    """Generate what the cache lacks, saving each batch as it finishes, so a killed run resumes."""
    keys = [generation_key(backend.generation_identity, adapter_id, c, max_new_tokens) for c in conversations]
    results: dict[int, Generation] = {}
    for i, key in enumerate(keys):
        hit = cache.get(key)
        if hit is not None:
            results[i] = Generation(**hit)
    todo = [i for i in range(len(keys)) if i not in results]
    with reporter.stage(description, total=len(keys)) as stage:
        stage.advance(len(results))
        if todo:
            def on_done(local_idx: list[int], gens: list[Generation]) -> None:
                rows = []
                for j, g in zip(local_idx, gens):
                    results[todo[j]] = g
                    rows.append((keys[todo[j]], g.__dict__))
                cache.put_many(rows)
                stage.advance(len(gens))

            with context() if context else nullcontext():  # e.g. attach an adapter, only when there is work
                backend.generate([conversations[i] for i in todo], max_new_tokens, on_done)
    return [results[i] for i in range(len(keys))]

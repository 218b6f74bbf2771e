"""What every generation backend provides, and the cached, resumable generation loop over it."""
from __future__ import annotations

import hashlib
import json
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Protocol

from ..progress import Reporter
from ..runs import JsonlCache

Messages = list[dict]


@dataclass
class Generation:
    text: str
    input_tokens: int
    output_tokens: int
    seconds: float  # wall time of the call (amortized over the batch for local batched generation)


class Backend(Protocol):
    identity: str  # stable id of the weights/endpoint, part of every cache key
    kind: str  # "local" | "openai"

    def generate(self, conversations: list[Messages], max_new_tokens: int, on_done) -> list[Generation]:
        """Generate greedily for each conversation; call on_done(indices, generations) after each batch."""
        ...

    def count_tokens(self, text: str) -> int: ...


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
    keys = [generation_key(backend.identity, adapter_id, c, max_new_tokens) for c in conversations]
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

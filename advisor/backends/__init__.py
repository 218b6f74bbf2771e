"""Generation backends: a local transformers model (trainable here) or an OpenAI-compatible endpoint.

`make_backend` is the one place that turns a task's `model:` into backends; code that needs weights asks
`is_trainable` (or takes the trainable factory), never a backend's kind."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Callable

from ..progress import Reporter
from .base import Backend, TrainableBackend, is_trainable

__all__ = ["Backend", "TrainableBackend", "is_trainable", "make_backend"]


def make_backend(model, base_dir: Path, task_file: Path | str | None, reporter: Reporter,
                 batch_size: int | str = "auto", field: str = "model", precision: str = "auto",
                 ) -> tuple[Backend, Callable[[], TrainableBackend] | None]:
    """The generation backend for `model` (a local folder or Hugging Face id, or a spec.EndpointModel), and a
    factory of the backend whose weights can be trained: the backend itself for local weights, a local copy of an
    endpoint's `weights` (loaded on first call, once, and shared), or None for an endpoint without weights."""
    from .models import resolve_model

    if isinstance(model, str):
        from .local import LocalBackend

        identity, where = resolve_model(model, base_dir, field, task_file, reporter)
        backend = LocalBackend(where, batch_size=batch_size, description=identity, precision=precision)
        return backend, lambda: backend
    from .openai_compat import OpenAIBackend

    endpoint = OpenAIBackend(model, task_file, field=field)
    if not model.weights:
        return endpoint, None

    @functools.cache
    def local_copy() -> TrainableBackend:  # loaded once, on first use, and shared by finetune and retrieval+finetune
        from .local import LocalBackend

        ident, where = resolve_model(model.weights, base_dir, f"{field}.weights", task_file, reporter)
        return LocalBackend(where, batch_size=batch_size, description=ident, precision=precision)

    return endpoint, local_copy

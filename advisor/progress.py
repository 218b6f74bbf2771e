"""A tiny progress interface so the library reports long work without depending on rich.

The CLI passes a rich-backed reporter; library callers get the silent default.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Protocol


class Stage(Protocol):
    def advance(self, n: int = 1, **fields: object) -> None: ...


class Reporter:
    """Silent by default; subclass to show progress."""

    @contextmanager
    def stage(self, description: str, total: int | None = None) -> Iterator[Stage]:
        yield _Silent()

    def note(self, message: str) -> None:
        """A one-line remark (e.g. 'reused cached predictions')."""


class _Silent:
    def advance(self, n: int = 1, **fields: object) -> None:
        pass

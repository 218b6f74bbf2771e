"""User-facing errors: one line naming the file and the field or line, plus a hint."""
from __future__ import annotations

import os
from pathlib import Path


def display_path(path: str | Path) -> str:
    """A path as the user should see it: relative to the working folder when inside it, else as given."""
    text = str(path)
    if not os.path.isabs(text):
        return text
    try:
        rel = os.path.relpath(text)
    except (ValueError, OSError):  # another drive on Windows, or the working folder is gone
        return text
    return text if rel.startswith("..") else rel


class UserError(Exception):
    """Bad input from the user. The CLI prints `str(err)` on one line and exits with code 2."""

    def __init__(self, file: str | Path | None, where: str | None, message: str, hint: str | None = None):
        self.file = str(file) if file is not None else None
        self.where = where
        self.message = message
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        loc = ": ".join(p for p in (display_path(self.file) if self.file else None, self.where) if p)
        text = f"{loc}: {self.message}" if loc else self.message
        if self.hint:
            text += f" (hint: {self.hint})"
        return " ".join(text.split())  # always exactly one line


def did_you_mean(name: str, choices: list[str] | tuple[str, ...]) -> str:
    """A hint for an unknown name: the closest choices, else the full list."""
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=2, cutoff=0.5)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return "available: " + ", ".join(sorted(choices))

"""User-facing errors: one line naming the file and the field or line, plus a hint."""
from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """Bad input from the user. The CLI prints `str(err)` on one line and exits with code 2."""

    def __init__(self, file: str | Path | None, where: str | None, message: str, hint: str | None = None):
        self.file = str(file) if file is not None else None
        self.where = where
        self.message = message
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        loc = ": ".join(p for p in (self.file, self.where) if p)
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

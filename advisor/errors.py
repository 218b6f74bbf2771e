"""User-facing errors: one line naming the file and the field or line, plus a hint."""
from __future__ import annotations

import os
import re
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
        file = printable(display_path(self.file), 200) if self.file else None
        loc = ": ".join(p for p in (file, self.where) if p)
        text = f"{loc}: {self.message}" if loc else self.message
        if self.hint:
            text += f" (hint: {self.hint})"
        return " ".join(printable(text).split())  # always exactly one line


def printable(text: str, limit: int | None = None) -> str:
    """`text` with control characters (terminal escapes, NUL) shown as \\xNN, and cut in the middle past `limit`."""
    if limit is not None and len(text) > limit:
        text = text[: limit // 2 - 2] + "..." + text[-(limit // 2 - 2):]
    return "".join(c if c.isprintable() or c in " \t\n" else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}"
                   for c in text)


def did_you_mean(name: str, choices: list[str] | tuple[str, ...]) -> str:
    """A hint for an unknown name: the closest choices, else the full list."""
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=2, cutoff=0.5)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return "available: " + ", ".join(sorted(choices))


# ---- never echo an unbounded value or a secret into a message ----

_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
_SECRET_LIKE = re.compile(r"(?i)\b(sk-[A-Za-z0-9_-]{8,}|(?:ghp|gho|github_pat|hf|xox[abp]|AKIA)[A-Za-z0-9_-]{12,}"
                          r"|eyJ[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{8,}|Bearer\s+[A-Za-z0-9._~+/-]{12,})")
_LONG_TOKEN = re.compile(r"[A-Za-z0-9_\-+/=.]{24,}")


def looks_like_secret(text: str) -> bool:
    """True for strings shaped like API keys or tokens: sk-..., hf_..., a JWT, credentials in a URL, or a long
    token that mixes upper case, lower case and digits (or is long hex). Hyphenated names are not keys."""
    if _SECRET_LIKE.search(text) or _URL_CREDENTIALS.search(text):
        return True
    for token in _LONG_TOKEN.findall(text):
        for part in re.split(r"[-_./]", token):  # file and model names are words joined by separators
            mixed = any(c.isupper() for c in part) and any(c.islower() for c in part) and any(c.isdigit() for c in part)
            if (mixed and len(part) >= 20) or re.fullmatch(r"[0-9a-f]{32,}|[0-9A-F]{32,}", part):
                return True
    return False


def redact(text: str) -> str:
    """`text` with credentials in URLs (`http://user:KEY@host`) and key-shaped tokens replaced by '***'."""
    text = _URL_CREDENTIALS.sub(r"\1***@", text)
    return _SECRET_LIKE.sub("***", text)


def _holds_secret(value: object, budget: list[int] | None = None, depth: int = 0) -> bool:
    """A secret-shaped string anywhere in `value` (lists and mappings; the first 2,000 items and 32 levels, so a
    YAML alias bomb or a deeply nested row costs nothing)."""
    budget = [2000] if budget is None else budget
    budget[0] -= 1
    if budget[0] < 0 or depth > 32:
        return False
    if isinstance(value, str):
        return looks_like_secret(value[:10_000])
    if isinstance(value, dict):
        return any(_holds_secret(k, budget, depth + 1) or _holds_secret(v, budget, depth + 1) for k, v in value.items())
    if isinstance(value, (list, tuple, set)):
        return any(_holds_secret(v, budget, depth + 1) for v in value)
    return False


def shown(value: object, limit: int = 60) -> str:
    """A bounded, secret-free repr of a user value for an error message (never formats the whole of a huge or
    deeply nested value, so a YAML alias bomb or a 1 MB string costs nothing to report)."""
    import reprlib

    if _holds_secret(value):
        return "(a value that looks like a secret, not shown)"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"(a number with about {int(value.bit_length() * 0.30103) + 1} digits)"
    r = reprlib.Repr()
    r.maxstring, r.maxother, r.maxlevel, r.maxlist, r.maxdict, r.maxlong = limit, limit, 2, 4, 4, 40
    text = r.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."

"""The bad-input corpus (cases.py) and the helpers every hostile-input test uses."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from advisor.cli import main


def run_in(folder: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    """`advise ARGS` run from `folder`, so messages show paths relative to it."""
    monkeypatch.chdir(folder)
    return CliRunner().invoke(main, list(args))


def one_error_line(result: Result) -> str:
    """The single `error: ...` line of a refused command (exit 2, no traceback)."""
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and len(lines) == 1, result.output
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]

"""Where the shipped data folders (rubrics/, templates/) live, installed or in a checkout."""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def data_dir(name: str) -> Path:
    """Folder of shipped data `name` ("rubrics" or "templates")."""
    try:
        path = Path(str(resources.files(f"advisor.{name}")))
        if path.is_dir():
            return path
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parent.parent / name

"""The run directory: atomic writes, append-only caches that survive kill -9, results.json and its re-reading."""
from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable

from .errors import UserError, shown

SCHEMA_VERSION = 1  # results.json's layout; `advise report` reads only this one
MAX_RESULTS_BYTES = 16 * 2**20  # a real results.json is tens of KiB; loss curves of long runs add a few MiB
MAX_RUN_JSON_DEPTH = 64  # results.json is about 8 levels deep
RERUN_HINT = "it was not written by this version of advise; rerun `advise compare`"
# Errors of writing into a folder the user chose (--out, init DIR): their fault or their disk's, not a bug.
# ENOENT: a folder that exists but takes no files (/proc), or one removed under us.
_USER_WRITE_ERRORS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EEXIST, errno.ENOTDIR,
                      errno.EISDIR, errno.ENAMETOOLONG, errno.EFBIG, errno.ELOOP, errno.EMLINK, errno.ENOENT}


def write_error(path: Path, err: OSError) -> UserError | None:
    """A one-line error for an OSError the user can fix (permissions, a full disk, a file where a folder must be)."""
    if err.errno not in _USER_WRITE_ERRORS:
        return None
    where = Path(err.filename) if isinstance(err.filename, str) and not os.path.basename(err.filename).startswith(
        f".{path.name}.") else path  # never name our temp file
    if err.errno in (errno.EEXIST, errno.ENOTDIR):
        blocker = next((p for p in [where, *where.parents] if os.path.exists(p) and not os.path.isdir(p)), None)
        if blocker is not None:
            return UserError(blocker, None, "is a file, expected a folder", "move the file away or choose another folder")
    hint = ("free some disk space or choose another folder" if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
            else "choose a folder you can write to" if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
            else "choose another folder")
    return UserError(where, None, f"cannot write: {err.strerror}", hint)


def make_folder(path: Path) -> None:
    """`mkdir -p` with one-line errors: a file in the way, no permission, a read-only or full disk."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise (write_error(path, err) or err) from None


def check_out_folder(path: Path) -> None:
    """Fail early, before any work, when `path` cannot become a run folder: a file, or under a file, or in a folder
    that cannot be written (tried with a temporary file, since root may write anywhere but /proc or /sys)."""
    existing = next((p for p in [path, *path.absolute().parents] if os.path.lexists(p)), None)
    if existing is None:
        return
    if not existing.is_dir():
        raise UserError(existing, None, "is a file, expected a folder", "the run folder (--out, default runs/NAME) is "
                        "created if missing; move the file or choose another --out")
    if not os.access(existing, os.W_OK | os.X_OK):
        read_only = hasattr(os, "statvfs") and bool(os.statvfs(existing).f_flag & getattr(os, "ST_RDONLY", 1))
        raise UserError(existing, None, "is on a read-only file system" if read_only else "is not writable",
                        "choose a folder you can write to")
    try_writing(existing / ".advise-probe", name_folder=True)


def try_writing(path: Path, name_folder: bool = False) -> None:
    """Create and remove a temporary file named as `atomic_write_text` would name one for `path`, when its folder
    exists: a folder that takes no files, or a name too long, fails now and on one line rather than after the work.
    `name_folder`: the error names the folder (the file name is only a probe)."""
    if not path.parent.is_dir():
        return
    try:
        fd, tmp = _temp_beside(path)
    except OSError as err:
        problem = write_error(path, err)
        if problem is None:
            raise
        raise (UserError(path.parent, None, problem.message, problem.hint) if name_folder else problem) from None
    os.close(fd)
    os.unlink(tmp)


def _temp_beside(path: Path) -> tuple[int, str]:
    """A new private temporary file in `path`'s folder, named after it: (open descriptor, its path)."""
    return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")


def atomic_write_text(path: Path, text: str, mode: int | None = None) -> None:
    """Write via a temp file in the same folder and rename, so readers never see half a file. `mode`: permissions
    (the temp file is private, 0600, until then). A full disk, no permission, a file in the way: one-line errors."""
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")), mode)


def atomic_write(path: Path, fill: Callable[[BinaryIO], object], mode: int | None = None) -> None:
    """`atomic_write_text` for any content: `fill` writes the bytes into the open temporary file."""
    make_folder(path.parent)
    try:
        fd, tmp = _temp_beside(path)
    except OSError as err:
        raise (write_error(path, err) or err) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fill(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise (write_error(path, err) or err) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def read_json(path: Path) -> Any | None:
    """One of our own cache files, or None when it is missing or unreadable (then it is recomputed)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


def finite(value: object) -> float | None:
    """A number from a run's files as a finite float; None for a missing or null value, NaN or infinity, a bool or
    text (the reports, charts, gates and diffs show or skip it rather than fail)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def stable_hash(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class JsonlCache:
    """Append-only key -> record store. A torn last line (kill -9 mid-write) is ignored on reload."""

    def __init__(self, path: Path):
        self.path = path
        self._data: dict[str, dict] = {}
        if path.is_file():
            with path.open("r", encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    try:
                        row = json.loads(line)
                        self._data[row["k"]] = row["v"]
                    except (ValueError, KeyError, TypeError, RecursionError):
                        continue  # torn or foreign line: regenerate that entry

    def get(self, key: str) -> dict | None:
        return self._data.get(key)

    def __len__(self) -> int:
        return len(self._data)

    def put_many(self, rows: list[tuple[str, dict]]) -> None:
        if not rows:
            return
        make_folder(self.path.parent)
        try:
            needs_newline = self.path.is_file() and self.path.stat().st_size > 0 and not self._ends_with_newline()
            with self.path.open("a", encoding="utf-8") as fh:
                if needs_newline:
                    fh.write("\n")
                for key, value in rows:
                    fh.write(json.dumps({"k": key, "v": value}, ensure_ascii=False) + "\n")
                    self._data[key] = value
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as err:
            raise (write_error(self.path, err) or err) from None

    def _ends_with_newline(self) -> bool:
        with self.path.open("rb") as fh:
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) == b"\n"


# ---- re-reading a run folder (`advise report`): every file checked before anything is rendered ----

def read_results(run_dir: Path) -> dict:
    """RUN_DIR/results.json, checked to have every field the report reads, with the right types."""
    from .files import read_text

    run_dir = Path(run_dir)
    _check_run_folder(run_dir)
    path = run_dir / "results.json"
    if not os.path.lexists(path):
        raise UserError(path, None, "not found", "run `advise compare` first; it writes results.json")
    try:
        text = read_text(path, MAX_RESULTS_BYTES)
    except UserError as err:
        raise _rehint(err, RERUN_HINT) from None
    results = _parse_json(text, path, None)
    check_results(results, path)
    return results


def read_predictions(run_dir: Path, results: dict) -> dict[str, list[dict]]:
    """Each ok lever's prediction records, from the file its `artifacts.predictions` names inside RUN_DIR."""
    from .files import MAX_DATA_BYTES, read_text

    run_dir = Path(run_dir)
    out: dict[str, list[dict]] = {}
    for i, lever in enumerate(results["levers"]):
        if lever.get("status") != "ok":
            continue
        path = inside_run(run_dir, lever["artifacts"]["predictions"], f"levers[{i}].artifacts.predictions")
        try:
            text = read_text(path, MAX_DATA_BYTES)
        except UserError as err:
            raise _rehint(err, "the run folder is incomplete or damaged; rerun `advise compare`") from None
        rows = []
        for n, line in enumerate(text.split("\n"), 1):
            if line.strip():
                row = _parse_json(line, path, f"line {n}")
                _check_prediction(row, path, n)
                rows.append(row)
        out[str(lever["name"])] = rows
    return out


def inside_run(run_dir: Path, value: str, field: str) -> Path:
    """RUN_DIR/value, refused unless it stays inside RUN_DIR once `..` and symlinks are resolved."""
    file = run_dir / "results.json"
    hint = "artifact paths are relative to the run folder and stay inside it; rerun `advise compare`"
    if not value or Path(value).is_absolute():
        raise UserError(file, field, f"{shown(value)} must be a path relative to the run folder", hint)
    try:
        inside = (run_dir / value).resolve().is_relative_to(run_dir.resolve())
    except (OSError, ValueError, RuntimeError):  # a NUL byte; a symlink loop on older Pythons
        inside = False
    if not inside:
        raise UserError(file, field, f"{shown(value)} points outside the run folder", hint)
    return run_dir / value


def check_results(results: Any, path: Path) -> None:
    """Raise a UserError naming the first field of `results` that breaks results.json's contract (`advisor.results`:
    missing, or a wrong type), or that a lever which ran lacks."""
    if not isinstance(results, dict):
        raise UserError(path, None, f"must hold a JSON object, not {_kind(results)}", RERUN_HINT)
    problem = contract_problem(results)
    if problem is not None:
        raise UserError(path, problem[0], problem[1], RERUN_HINT)
    if results["schema_version"] != SCHEMA_VERSION:
        raise UserError(path, "schema_version", f"is {shown(results['schema_version'])}; this version of advise "
                        f"reads {SCHEMA_VERSION}", "rerun `advise compare` with this version, or use the advise that "
                        "wrote it")


def contract_problem(results: dict) -> tuple[str | None, str] | None:
    """(field, problem) for the first way `results` breaks the `advisor.results.Results` contract, else None."""
    from pydantic import ValidationError

    from .results import Results

    try:
        model = Results.model_validate(results)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
        return loc or None, _problem(first)
    gap = model.missing_when_ok()
    return None if gap is None else (gap[0], "missing (the lever ran, so it must be there)")


def write_results(path: Path, results: dict) -> None:
    """Write results.json after checking it against its contract: a mismatch is a bug in advise, not a user error.
    The text checked is the text written (json round trip), so the file on disk is what the contract describes."""
    text = json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n"
    problem = contract_problem(json.loads(text))
    if problem is not None:
        raise AssertionError(f"results.json does not match advisor.results.Results (a bug in advise): "
                             f"{problem[0] or 'results'}: {problem[1]}")
    atomic_write_text(path, text)


def _check_prediction(row: Any, path: Path, line: int) -> None:
    """A prediction record has an id, the prediction text and a mapping of scores (numbers or null)."""
    def fail(field: str | None, message: str) -> UserError:
        return UserError(path, f"line {line}" + (f": {field}" if field else ""), message, RERUN_HINT)

    if not isinstance(row, dict):
        raise fail(None, f"must be a JSON object, not {_kind(row)}")
    for field, ok, expected in (("id", lambda v: isinstance(v, (str, int)) and not isinstance(v, bool), "a string"),
                                ("prediction", lambda v: isinstance(v, str), "a string"),
                                ("scores", lambda v: isinstance(v, dict), "an object")):
        if field not in row:
            raise fail(field, "missing")
        if not ok(row[field]):
            raise fail(field, f"must be {expected}, not {_kind(row[field])}")
    for name, value in row["scores"].items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise fail(f"scores.{shown(name, 40).strip(chr(39))}", f"must be a number or null, not {_kind(value)}")
    judged = row.get("judgements", {})
    if not isinstance(judged, dict) or not all(isinstance(j, dict) for j in judged.values()):
        raise fail("judgements", "must be an object of {criterion: {score, parsed, reason}}")


def _check_run_folder(run_dir: Path) -> None:
    hint = "pass the folder `advise compare` wrote (default runs/<task name>/)"
    if str(run_dir) == "":
        raise UserError(None, "RUN_DIR", "is an empty path", hint)
    if len(str(run_dir)) > 4096 or any(len(part) > 255 for part in run_dir.parts):
        raise UserError(None, "RUN_DIR", f"is too long a path ({len(str(run_dir)):,} characters)", hint)
    try:
        exists, is_dir = os.path.lexists(run_dir), run_dir.is_dir()
    except (OSError, ValueError):
        exists, is_dir = False, False
    if not exists:
        raise UserError(run_dir, None, "run folder not found", hint)
    if not is_dir:
        raise UserError(run_dir, None, "is not a folder (expected a run folder)", hint)


# Not one strict-JSON reader with data._parse_row (JSONL rows) and scoring.schemas.load_schema_file: the rules differ
# with what is read, and so do the messages. Our own files take NaN (json.dumps writes it) and are bounded in depth
# and integer size; a user's row refuses NaN/Infinity and lone surrogates and is bounded in length; a schema file
# refuses repeated keys and huge numbers. What they share is json's decoder itself.
def _parse_json(text: str, file: Path, where: str | None) -> Any:
    """JSON text -> value; syntax errors, runaway nesting and numbers too large for a float are one-line errors."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(file, where or f"line {err.lineno}", f"not valid JSON ({err.msg}, column {err.colno})",
                        RERUN_HINT) from None
    except (ValueError, RecursionError) as err:  # a 5,000-digit number; brackets nested thousands deep
        problem = "nested too deeply" if isinstance(err, RecursionError) else "a number with thousands of digits"
        raise UserError(file, where, f"not valid JSON: {problem}", RERUN_HINT) from None
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:  # iterative, so a deep document cannot hit the recursion limit here
        node, at, depth = stack.pop()
        if depth > MAX_RUN_JSON_DEPTH:
            raise UserError(file, _join(where, at), f"nested more than {MAX_RUN_JSON_DEPTH} levels deep", RERUN_HINT)
        if isinstance(node, dict):
            stack.extend((v, f"{at}.{k}" if at else str(k), depth + 1) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, f"{at}[{i}]", depth + 1) for i, v in enumerate(node))
        elif isinstance(node, int) and not isinstance(node, bool) and abs(node) > 2**63:
            raise UserError(file, _join(where, at), f"too large to use {shown(node)}", RERUN_HINT)
    return value


def _join(*parts: str | None) -> str | None:
    return ": ".join(p[:200] for p in parts if p) or None


def _rehint(err: UserError, hint: str) -> UserError:
    """A file-reader error with the hint that fits a run folder (a permissions hint is kept)."""
    keep = bool(err.hint) and "permission" in str(err.hint)
    return UserError(err.file, err.where, err.message, err.hint if keep else hint)


def _kind(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    kind = {bool: "true/false", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)
    return f"{kind} ({shown(value, 40)})" if isinstance(value, (str, int, float)) and not isinstance(value, bool) else kind


_EXPECTED = {"path_type": "a path", "string_type": "a string", "float_type": "a number", "int_type": "a whole number",
             "bool_type": "true or false", "list_type": "a list", "dict_type": "an object", "model_type": "an object"}


def _problem(error: dict) -> str:
    """One pydantic error as a short message: `missing`, or `must be a number, not a string ('high')`."""
    if error["type"] == "missing":
        return "missing"
    expected = _EXPECTED.get(error["type"])
    if expected:
        return f"must be {expected}, not {_kind(error.get('input'))}"
    return str(error.get("msg", "invalid")).lower()

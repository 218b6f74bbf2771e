"""Examples and the loaders that read them (JSONL, CSV, OpenAI chat `messages` JSONL)."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UserError, display_path

CORPUS_SUFFIXES = (".md", ".txt", ".jsonl")


@dataclass(frozen=True)
class Example:
    """One input/output pair. `context_ids` names the gold corpus documents, when known."""

    id: str
    input: str
    output: str
    context_ids: tuple[str, ...] = ()
    meta: dict = field(default_factory=dict, compare=False, hash=False)

def _from_messages(row: dict, path: Path, line: int) -> tuple[str, str]:
    """OpenAI chat format: the last user turn is the input, the last assistant turn the output."""
    msgs = row["messages"]
    if not isinstance(msgs, list) or not all(isinstance(m, dict) and "role" in m for m in msgs):
        raise UserError(path, f"line {line}", "`messages` must be a list of {role, content} objects")
    for i, m in enumerate(msgs):
        if not isinstance(m.get("content", ""), str):
            raise UserError(path, f"line {line}: messages[{i}].content", "must be a string")
    users = [m.get("content", "") for m in msgs if m["role"] == "user"]
    answers = [m.get("content", "") for m in msgs if m["role"] == "assistant"]
    if not users or not answers:
        missing = " and ".join(r for r, turns in (("user", users), ("assistant", answers)) if not turns)
        raise UserError(path, f"line {line}", f"`messages` has no {missing} turn",
                        "the last user turn is the input, the last assistant turn the reference output")
    return users[-1], answers[-1]


def _row_to_example(row: object, path: Path, line: int, index: int) -> Example:
    where = f"line {line}"
    if not isinstance(row, dict):
        raise UserError(path, where, "each row must be a JSON object", 'e.g. {"input": "...", "output": "..."}')
    if "messages" in row:
        text_in, text_out = _from_messages(row, path, line)
    else:
        for key in ("input", "output"):
            if key not in row or row[key] is None:
                raise UserError(path, where, f"row has no `{key}`",
                                "each row needs `input` and `output`, or OpenAI chat `messages`")
        text_in, text_out = row["input"], row["output"]
        if not isinstance(text_out, str):
            text_out = json.dumps(text_out, ensure_ascii=False)  # structured outputs are compared as JSON
        if not isinstance(text_in, str):
            text_in = json.dumps(text_in, ensure_ascii=False)
    if not text_in.strip():
        raise UserError(path, where, "`input` is empty", "every row needs a non-empty input")
    if not text_out.strip():
        raise UserError(path, where, "`output` is empty", "every row needs a reference output to score against")
    ctx = row.get("context_ids") or ()
    if isinstance(ctx, str):
        ctx = (ctx,)
    if not isinstance(ctx, (list, tuple)) or not all(isinstance(c, str) for c in ctx):
        raise UserError(path, f"{where}: context_ids", "must be a list of corpus document ids",
                        'e.g. "context_ids": ["hours.md"]')
    ex_id = str(row.get("id", f"{path.stem}-{index}"))
    return Example(ex_id, text_in, text_out, tuple(ctx))


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UserError(path, None, f"cannot read file: {err.strerror}") from None
    data = data.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark (Excel writes one)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise UserError(path, f"line {line}", "not valid UTF-8", "re-save the file as UTF-8") from None


def _check_path(path: Path, field: str, task_file: Path | None, want: str) -> None:
    """A path from task.yaml must exist; the error names the task file and field (or the path itself)."""
    problem = ("not found" if not path.exists() else
               f"is a folder, expected {want}" if path.is_dir() and want != "a file or folder" else None)
    if problem is None:
        return
    if task_file is not None:
        raise UserError(task_file, field, f"{display_path(path)} {problem}", "paths are relative to the task file's folder")
    raise UserError(path, None, problem, f"check `{field}`")


def load_examples(path: Path, field: str, task_file: Path | None = None) -> list[Example]:
    """Examples from JSONL (input/output or chat messages) or CSV (input,output columns).

    `field` names the task.yaml key that gave `path`; with `task_file`, a bad path is reported there."""
    _check_path(path, field, task_file, "a .jsonl or .csv file")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".json", ".ndjson"):
        where = (task_file, field) if task_file is not None else (path, None)
        raise UserError(*where, f"unsupported file type {suffix or '(none)'!r} for {display_path(path)}",
                        "use .jsonl with one JSON object per line, or .csv with input,output columns")
    text = _read_text(path)
    rows: list[tuple[int, Example]] = []
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        missing = {"input", "output"} - set(reader.fieldnames or [])
        if missing:
            raise UserError(path, "line 1", f"CSV header lacks column(s) {', '.join(sorted(missing))}",
                            f"found columns: {', '.join(reader.fieldnames or []) or 'none'}")
        for i, row in enumerate(reader):
            row = {k: v for k, v in row.items() if k is not None}
            if row.get("context_ids"):
                row["context_ids"] = [c.strip() for c in row["context_ids"].split(";") if c.strip()]
            rows.append((reader.line_num, _row_to_example(row, path, reader.line_num, i)))
    else:
        for line_no, line in enumerate(text.split("\n"), start=1):  # not splitlines: U+2028 may sit in a string
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise UserError(path, f"line {line_no}", f"malformed JSON: {err.msg} at column {err.colno}",
                                "each line must be one JSON object") from None
            rows.append((line_no, _row_to_example(row, path, line_no, len(rows))))
    if not rows:
        raise UserError(path, None, "no examples in file", f"`{field}` needs at least one row")
    seen: dict[str, int] = {}
    for line_no, ex in rows:
        if ex.id in seen:
            raise UserError(path, f"line {line_no}", f"duplicate id {ex.id!r} (also on line {seen[ex.id]})",
                            "ids must be unique within a file")
        seen[ex.id] = line_no
    return [ex for _, ex in rows]


@dataclass(frozen=True)
class Document:
    id: str
    text: str


def load_corpus(paths: list[Path], field: str = "data.corpus", task_file: Path | None = None) -> list[Document]:
    """Documents from files or folders of .md/.txt/.jsonl ({id, text} rows). Ids are paths relative to the folder.

    With several paths, errors name `field[i]`; with `task_file`, a bad path is reported there."""
    docs: list[Document] = []
    for i, root in enumerate(paths):
        where = f"{field}[{i}]" if len(paths) > 1 else field
        _check_path(root, where, task_file, "a file or folder")
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        readable = [p for p in files if p.suffix.lower() in CORPUS_SUFFIXES]
        if not readable:
            found = ", ".join(sorted({p.suffix or p.name for p in files})[:5]) or "nothing"
            message = f"no readable corpus files in {display_path(root)} (found {found})"
            hint = f"the corpus takes {', '.join(CORPUS_SUFFIXES)} files"
            raise UserError(task_file, where, message, hint) if task_file else UserError(root, None, message, hint)
        for p in readable:
            rel = p.relative_to(root).as_posix() if root.is_dir() else p.name
            text = _read_text(p)
            if p.suffix.lower() != ".jsonl":
                if text.strip():
                    docs.append(Document(rel, text))
                continue
            for line_no, line in enumerate(text.split("\n"), start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise UserError(p, f"line {line_no}", f"malformed JSON: {err.msg} at column {err.colno}",
                                    "each line must be one JSON object") from None
                if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                    raise UserError(p, f"line {line_no}", "corpus rows need a `text` string", 'e.g. {"id": "doc1", "text": "..."}')
                docs.append(Document(str(row.get("id", f"{rel}#{line_no}")), row["text"]))
    if paths and not docs:
        message, hint = "the corpus is empty (every file is blank)", "add non-empty .md/.txt files"
        raise UserError(task_file, field, message, hint) if task_file else UserError(paths[0], None, message, hint)
    return docs


def corpus_chunks_at_most(docs: list[Document], chunk_tokens: int, overlap: int) -> int:
    """An upper bound on how many retrieval chunks `docs` make (a token is at least one character;
    the embedder may shrink windows to its own limit, so assume windows of at most 64 tokens)."""
    size = min(chunk_tokens, 64)
    stride = size - min(overlap, size // 2)
    return sum(1 if len(d.text) <= size else math.ceil((len(d.text) - size) / stride) + 1 for d in docs)


# The default dev split: a quarter of train, 8 to 96 rows. Measured (benchmarks/dev_size.py, handbook-qa): the
# per-row score difference of two prompt variants has an SD of 0.37-0.44, so telling apart variants 0.05
# apart 9 times in 10 takes ~90 rows (0.10 apart: ~25); the old default, 37 rows, gets a 0.05 gap right 8 in 10.
DEV_SHARE, DEV_MIN, DEV_MAX = 0.25, 8, 96


def default_dev_size(n_train: int) -> int:
    """Dev rows when `data.dev_size` is not set: DEV_SHARE of train, at least DEV_MIN, at most DEV_MAX."""
    return max(DEV_MIN, min(DEV_MAX, round(n_train * DEV_SHARE)))


def split_dev(train: list[Example], dev_size: int | None, seed: int) -> tuple[list[Example], list[Example]]:
    """Carve a dev split from train (never from eval) for choosing variants and early stopping; at most half of
    train, so the other half is left to train on and to draw shots from."""
    n = dev_size if dev_size is not None else default_dev_size(len(train))
    n = min(n, len(train) // 2)
    order = list(range(len(train)))
    random.Random(seed).shuffle(order)
    dev_idx = set(order[:n])
    return [e for i, e in enumerate(train) if i not in dev_idx], [e for i, e in enumerate(train) if i in dev_idx]


def content_hash(items: list) -> str:
    """Stable sha256 (16 hex) over examples/documents, for cache keys and the report."""
    h = hashlib.sha256()
    for it in items:
        h.update(json.dumps([getattr(it, "id", ""), getattr(it, "input", ""), getattr(it, "output", ""),
                             list(getattr(it, "context_ids", ())), getattr(it, "text", "")]).encode())
    return h.hexdigest()[:16]

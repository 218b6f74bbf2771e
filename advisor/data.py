"""Examples and the loaders that read them (JSONL, CSV, OpenAI chat `messages` JSONL)."""
from __future__ import annotations

import csv
import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UserError

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
    users = [m.get("content", "") for m in msgs if m["role"] == "user"]
    answers = [m.get("content", "") for m in msgs if m["role"] == "assistant"]
    if not users or not answers:
        raise UserError(path, f"line {line}", "`messages` needs a user turn and an assistant turn",
                        "the last assistant message is the reference output")
    return str(users[-1]), str(answers[-1])


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
                                "each row needs `input` and `output` (or OpenAI chat `messages`)")
        text_in, text_out = row["input"], row["output"]
        if not isinstance(text_out, str):
            text_out = json.dumps(text_out, ensure_ascii=False)  # structured outputs are compared as JSON
        if not isinstance(text_in, str):
            text_in = json.dumps(text_in, ensure_ascii=False)
    if not text_in.strip():
        raise UserError(path, where, "`input` is empty")
    if not text_out.strip():
        raise UserError(path, where, "`output` is empty")
    ctx = row.get("context_ids") or ()
    if isinstance(ctx, str):
        ctx = (ctx,)
    if not isinstance(ctx, (list, tuple)) or not all(isinstance(c, str) for c in ctx):
        raise UserError(path, f"{where}: context_ids", "must be a list of corpus document ids")
    ex_id = str(row.get("id", f"{path.stem}-{index}"))
    return Example(ex_id, text_in, text_out, tuple(ctx))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        line = path.read_bytes()[: err.start].count(b"\n") + 1
        raise UserError(path, f"line {line}", "not valid UTF-8", "re-save the file as UTF-8") from None
    except OSError as err:
        raise UserError(path, None, f"cannot read file: {err.strerror}") from None


def load_examples(path: Path, field: str) -> list[Example]:
    """Examples from JSONL (input/output or chat messages) or CSV (input,output columns)."""
    if not path.exists():
        raise UserError(path, None, "file not found", f"check `{field}` in task.yaml (paths are relative to it)")
    if path.is_dir():
        raise UserError(path, None, "is a folder, expected a .jsonl or .csv file", f"check `{field}` in task.yaml")
    text = _read_text(path)
    examples: list[Example] = []
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        missing = {"input", "output"} - set(reader.fieldnames or [])
        if missing:
            raise UserError(path, "line 1", f"CSV header lacks column(s) {', '.join(sorted(missing))}",
                            f"found columns: {', '.join(reader.fieldnames or []) or 'none'}")
        for i, row in enumerate(reader):
            row = {k: v for k, v in row.items() if k is not None}
            if row.get("context_ids"):
                row["context_ids"] = [c.strip() for c in row["context_ids"].split(";") if c.strip()]
            examples.append(_row_to_example(row, path, reader.line_num, i))
    elif path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        for line_no, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise UserError(path, f"line {line_no}", f"malformed JSON: {err.msg} at column {err.colno}",
                                "each line must be one JSON object") from None
            examples.append(_row_to_example(row, path, line_no, len(examples)))
    else:
        raise UserError(path, None, f"unsupported file type {path.suffix!r}", "use .jsonl or .csv")
    if not examples:
        raise UserError(path, None, "no examples in file", f"`{field}` needs at least one row")
    seen: dict[str, int] = {}
    for ex in examples:
        if ex.id in seen:
            raise UserError(path, f"id {ex.id!r}", "duplicate example id", "ids must be unique within a file")
        seen[ex.id] = 1
    return examples


@dataclass(frozen=True)
class Document:
    id: str
    text: str


def load_corpus(paths: list[Path], field: str = "data.corpus") -> list[Document]:
    """Documents from files or folders of .md/.txt/.jsonl ({id, text} rows). Ids are paths relative to the folder."""
    docs: list[Document] = []
    for root in paths:
        if not root.exists():
            raise UserError(root, None, "corpus path not found", f"check `{field}` in task.yaml")
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        readable = [p for p in files if p.suffix.lower() in CORPUS_SUFFIXES]
        if not readable:
            raise UserError(root, None, "no readable corpus files", f"the corpus takes {', '.join(CORPUS_SUFFIXES)} files")
        for p in readable:
            rel = p.relative_to(root).as_posix() if root.is_dir() else p.name
            text = _read_text(p)
            if p.suffix.lower() != ".jsonl":
                if text.strip():
                    docs.append(Document(rel, text))
                continue
            for line_no, line in enumerate(text.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise UserError(p, f"line {line_no}", f"malformed JSON: {err.msg}") from None
                if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                    raise UserError(p, f"line {line_no}", "corpus rows need a `text` string", 'e.g. {"id": "doc1", "text": "..."}')
                docs.append(Document(str(row.get("id", f"{rel}#{line_no}")), row["text"]))
    if paths and not docs:
        raise UserError(paths[0], None, "corpus is empty", "add non-empty .md/.txt files")
    return docs


def split_dev(train: list[Example], dev_size: int | None, seed: int) -> tuple[list[Example], list[Example]]:
    """Carve a dev split from train (never from eval) for choosing variants and early stopping."""
    n = dev_size if dev_size is not None else max(8, min(40, len(train) // 8))
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

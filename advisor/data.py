"""Examples and the loaders that read them (JSONL, CSV, OpenAI chat `messages` JSONL), and the corpus.

Every file is read with `files.read_text` (regular files only, bounded size, one decoding rule) and every row is
checked where it is read, so a broken file or row is one line naming the file and the line, never a traceback.
"""
from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import math
import os
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .errors import UserError, display_path, shown
from .files import MAX_CORPUS_FILES, MAX_DATA_BYTES, MAX_ROW_CHARS, MiB, check_regular_file, read_text

CORPUS_SUFFIXES = (".md", ".txt", ".jsonl")
EXAMPLE_SUFFIXES = (".csv", ".jsonl", ".json", ".ndjson")


@dataclass(frozen=True)
class Example:
    """One input/output pair. `context_ids` names the gold corpus documents, when known."""

    id: str
    input: str
    output: str
    context_ids: tuple[str, ...] = ()
    meta: dict = field(default_factory=dict, compare=False, hash=False)


# ---- one JSON Lines row: bounded, finite numbers, valid Unicode ----

class _NonFinite(Exception):
    """NaN, Infinity or -Infinity in a row: Python's json reads them, JSON (and every other reader) does not."""


def _refuse_constant(name: str) -> object:
    raise _NonFinite(name)


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # cheap pre-check on the raw line; most rows have none
_SURROGATE = re.compile("[\ud800-\udfff]")
_ROW_LIMIT_HINT = "shorten it (see README, Limits); long documents belong in the corpus"


def _json_shown(value: object) -> str:
    """A user value as JSON spells it (null, true, a list), for messages about types."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (list, dict)):
        return "a list" if isinstance(value, list) else "an object"
    return shown(value, 40)


def _parse_row(line: str, path: Path, line_no: int, whole: str | None = None) -> object:
    """One JSONL line as a Python value. Too long, malformed, nested too deep, a number of thousands of digits,
    NaN/Infinity or a lone surrogate (it would crash a later UTF-8 write) is a UserError naming the line.
    `whole`: the file's text, given for its first row, to recognise one JSON document spread over lines."""
    where = f"line {line_no}"
    if len(line) > MAX_ROW_CHARS:
        raise UserError(path, where, f"row is {len(line):,} characters, over the {MAX_ROW_CHARS:,}-character limit",
                        _ROW_LIMIT_HINT)
    try:
        row = _DECODER.decode(line)
    except _NonFinite as err:
        raise UserError(path, where, f"{err} is not valid JSON",
                        'write null, a number, or text in quotes ("NaN")') from None
    except json.JSONDecodeError as err:
        if whole is not None:
            _refuse_one_document(whole, path, line_no)
        raise UserError(path, where, f"malformed JSON: {err.msg} at column {err.colno}",
                        "each line must be one JSON object") from None
    except RecursionError:
        raise UserError(path, where, "JSON nested too deeply to read (a thousand levels or more)",
                        "check for runaway brackets") from None
    except ValueError:  # an integer beyond Python's int_max_str_digits (4,300 digits)
        raise UserError(path, where, "a number too long to read (over 4,300 digits)",
                        "no row needs such a number; check for a pasted value") from None
    if _SURROGATE_ESCAPE.search(line):
        _refuse_surrogates(row, path, where)
    return row


def _refuse_surrogates(row: object, path: Path, where: str) -> None:
    """A \\ud800-\\udfff escape that is not half of a pair decodes to a lone surrogate: not a character."""
    stack: list[tuple[object, object]] = [(row, None)]
    while stack:  # iterative: a row nested hundreds deep must not hit the recursion limit here
        value, top = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                name = f": {top}" if isinstance(top, str) and top.isidentifier() and len(top) <= 40 else ""
                raise UserError(path, where + name, "contains a lone surrogate escape (\\ud800-\\udfff), which is not "
                                "a character", "the text was cut inside an emoji or other character; fix or remove "
                                "that \\u escape")
        elif isinstance(value, dict):
            for key, item in value.items():
                stack += [(key, top if top is not None else key), (item, top if top is not None else key)]
        elif isinstance(value, list):
            stack += [(item, top) for item in value]


def _jsonl_rows(text: str, path: Path) -> Iterator[tuple[int, object]]:
    """(line number, value) for each non-blank line of a JSON Lines file."""
    first = True
    for line_no, line in enumerate(text.split("\n"), start=1):  # not splitlines: U+2028 may sit in a string
        if not line.strip():
            continue
        yield line_no, _parse_row(line, path, line_no, text if first else None)
        first = False


def _jq_hint(path: Path, program: str) -> str:
    name = path.name if len(path.name) <= 60 and " " not in path.name else "FILE"
    out = f"{path.stem}.jsonl" if path.suffix.lower() != ".jsonl" and name != "FILE" else "rows.jsonl"
    return f"convert it: jq -c {program} {name} > {out}"


def _refuse_one_document(text: str, path: Path, line_no: int) -> None:
    """When the first row does not parse: is the file one JSON array or object spread over lines? Say so."""
    first_line = text.split("\n", line_no)[line_no - 1].strip()
    if first_line[:1] not in ("[", "{") or "\n" not in text.strip():
        return
    doc = None
    if len(text) <= 64 * MiB:
        try:
            doc = _DECODER.decode(text)
        except (ValueError, RecursionError, _NonFinite):
            pass
    if isinstance(doc, list) or (doc is None and first_line in ("[", "[{")):
        raise UserError(path, f"line {line_no}", "the file is one JSON array spread over lines; JSON Lines is "
                        "expected: one object per line", _jq_hint(path, "'.[]'"))
    if isinstance(doc, dict) or (doc is None and first_line == "{"):
        raise UserError(path, f"line {line_no}", "the file is one JSON object spread over lines; JSON Lines is "
                        "expected: one object per line", _jq_hint(path, "."))


# ---- CSV rows: strict quoting, bounded fields, as many fields as the header ----

def _csv_rows(text: str, path: Path, required: tuple[str, ...] = ("input", "output")) -> Iterator[tuple[int, dict]]:
    """(line the row starts on, {column: value}) for each non-blank CSV row."""
    csv.field_size_limit(MAX_ROW_CHARS)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)  # strict: an unclosed quote is an error
    start = 1
    try:
        names = next(reader, [])
        _check_header(names, path, required)
        start = reader.line_num + 1
        while (fields := next(reader, None)) is not None:
            if any(f.strip() for f in fields):  # a blank line, or Excel's `,,` row, is not a row
                yield start, _csv_row(names, fields, path, start, required)
            start = reader.line_num + 1
    except csv.Error as err:
        raise _csv_error(str(err), path, start, reader.line_num) from None


def _check_header(names: list[str], path: Path, required: tuple[str, ...]) -> None:
    if sum(map(len, names)) > MAX_ROW_CHARS:
        raise UserError(path, "line 1", f"the header is over the {MAX_ROW_CHARS:,}-character row limit",
                        _ROW_LIMIT_HINT)
    twice = sorted(n for n, count in Counter(names).items() if count > 1 and n.strip())
    if twice:
        raise UserError(path, "line 1", f"column {shown(twice[0], 40)} appears {names.count(twice[0])} times in "
                        "the header", "give each column its own name; only one of them would be read")
    missing = set(required) - set(names)
    if missing:
        found = ", ".join(names) or "none"
        hint = (f"the header looks {'semicolon' if ';' in names[0] else 'tab'}-separated; save the file as "
                "comma-separated CSV" if len(names) == 1 and (";" in names[0] or "\t" in names[0])
                else f"found columns: {found if len(found) <= 120 else found[:117] + '...'}")
        raise UserError(path, "line 1", f"CSV header lacks column(s) {', '.join(sorted(missing))}", hint)


def _csv_row(names: list[str], fields: list[str], path: Path, line: int, required: tuple[str, ...]) -> dict:
    where = f"line {line}"
    if sum(map(len, fields)) > MAX_ROW_CHARS:
        raise UserError(path, where, f"row is over the {MAX_ROW_CHARS:,}-character limit", _ROW_LIMIT_HINT)
    if len(fields) > len(names) and any(f.strip() for f in fields[len(names):]):
        raise UserError(path, where, f"row has {len(fields)} fields, the header has {len(names)}",
                        'quote a value that contains commas: "like, this"')
    row = {name: value for name, value in zip(names, fields) if name}
    for key in required:
        if key not in row:
            raise UserError(path, where, f"row has {len(fields)} of the header's {len(names)} fields, so it has no "
                            f"`{key}`", 'quote a value that contains commas or line breaks: "like, this"')
    if row.get("context_ids"):
        row["context_ids"] = [c.strip() for c in row["context_ids"].split(";") if c.strip()]
    return row


def _csv_error(message: str, path: Path, start: int, now: int) -> UserError:
    where, quote_hint = f"line {start}", 'close the quote; inside a quoted value write a quote twice: "say ""hi"""'
    if "field larger than field limit" in message:
        return UserError(path, where, f"a value over the {MAX_ROW_CHARS:,}-character row limit (or a quote that "
                         "never closes)", _ROW_LIMIT_HINT)
    if "unexpected end of data" in message:
        return UserError(path, where, "a quoted value in the row that starts here is never closed (the rest of the "
                         "file would become one value)", quote_hint)
    if "expected after" in message:
        problem = ("a quoted value on this line has a stray quote inside it" if now <= start else
                   f"a quoted value in the row that starts here runs on to line {now} (a quote is missing)")
        return UserError(path, where, problem, quote_hint)
    return UserError(path, where, f"CSV error: {shown(message, 80)}", "check the quoting of this row")


# ---- rows to examples ----

_ROLES = {"system": "System", "user": "User", "assistant": "Assistant"}
_CHAT_HINT = "the last assistant turn is the reference output, the turns before it the input"


def _from_messages(row: dict, path: Path, line: int) -> tuple[str, str]:
    """OpenAI chat format. The LAST assistant turn is the reference output and the conversation before it the
    input: a single user turn as its text (as before multi-turn support), several turns as a transcript
    ("User: ...\\nAssistant: ...\\nUser: ...", system turns as "System: ..."). A turn after the last assistant
    turn is refused: nothing would score it."""
    where = f"line {line}"
    msgs = row["messages"]
    if not isinstance(msgs, list) or not all(isinstance(m, dict) and "role" in m for m in msgs):
        raise UserError(path, where, "`messages` must be a list of {role, content} objects")
    for i, m in enumerate(msgs):
        if not isinstance(m["role"], str) or m["role"] not in _ROLES:
            raise UserError(path, f"{where}: messages[{i}].role", f"must be system, user or assistant, got "
                            f"{_json_shown(m['role'])}", "tool and function turns are not supported; put what they "
                            "say in a user turn")
        if not isinstance(m.get("content", ""), str):
            raise UserError(path, f"{where}: messages[{i}].content", "must be a string")
    roles = [m["role"] for m in msgs]
    missing = " and ".join(r for r in ("user", "assistant") if r not in roles)
    if missing:
        raise UserError(path, where, f"`messages` has no {missing} turn", _CHAT_HINT)
    last = len(roles) - 1 - roles[::-1].index("assistant")
    if last < len(roles) - 1:
        raise UserError(path, f"{where}: messages[{last + 1}]", f"a {roles[last + 1]} turn after the last assistant "
                        "turn", f"{_CHAT_HINT}; nothing would score a later turn, so end each conversation with the "
                        "assistant turn to score")
    before = msgs[:last]
    talk = [m for m in before if m["role"] != "system"]
    if "user" not in roles[:last]:
        raise UserError(path, where, "`messages` has no user turn before the last assistant turn", _CHAT_HINT)
    if len(talk) == 1:
        text_in = talk[0].get("content", "")
    else:
        text_in = "\n".join(f"{_ROLES[m['role']]}: {m.get('content', '')}" for m in before)
    return text_in, msgs[last].get("content", "")


def _as_text(value: object, path: Path, where: str) -> str:
    """A row value as text: strings as they are, structured values as JSON (they are compared as JSON)."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:  # a float literal beyond the float range (1e400) reads as infinity
        raise UserError(path, where, "holds a number too large for a float (it would read as infinity)",
                        "write it as text in quotes") from None
    except RecursionError:
        raise UserError(path, where, "nested too deeply to use", "check for runaway brackets") from None


def _example_id(row: dict, path: Path, where: str, index: int, from_csv: bool) -> tuple[str, bool]:
    """The row's id, and whether it was generated (`{file stem}-{row index}`) because the row has none."""
    raw = row.get("id")
    if "id" not in row or (from_csv and (raw is None or not raw.strip())):
        return f"{path.stem}-{index}", True
    hint = 'e.g. "id": "q17", or leave `id` out to get a generated one'
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise UserError(path, f"{where}: id", f"must be a string or a whole number, got {_json_shown(raw)}", hint)
    if isinstance(raw, str) and not raw.strip():
        raise UserError(path, f"{where}: id", "is empty", hint)
    return str(raw), False


def _row_to_example(row: object, path: Path, line: int, index: int, from_csv: bool = False) -> tuple[Example, bool]:
    """An example from one row, and whether its id was generated."""
    where = f"line {line}"
    if not isinstance(row, dict):
        if isinstance(row, list):
            raise UserError(path, where, "each row must be a JSON object, got a list",
                            "JSON Lines is expected: one object per line; " + _jq_hint(path, "'.[]'"))
        raise UserError(path, where, "each row must be a JSON object", 'e.g. {"input": "...", "output": "..."}')
    if "messages" in row:
        both = [k for k in ("input", "output") if k in row]
        if both:
            raise UserError(path, where, f"row has both `messages` and `{both[0]}`", "give `input` and `output`, or "
                            "chat `messages`, not both: which one is the reference would be a guess")
        text_in, text_out = _from_messages(row, path, line)
    else:
        for key in ("input", "output"):
            if key not in row or row[key] is None:
                raise UserError(path, where, f"row has no `{key}`",
                                "each row needs `input` and `output`, or OpenAI chat `messages`")
        text_in = _as_text(row["input"], path, f"{where}: input")
        text_out = _as_text(row["output"], path, f"{where}: output")
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
    ex_id, generated = _example_id(row, path, where, index, from_csv)
    return Example(ex_id, text_in, text_out, tuple(ctx)), generated


def _duplicate_id(path: Path, ex_id: str, line: int, generated: bool, first_line: int,
                  first_generated: bool) -> UserError:
    """The error for a second row with id `ex_id`; when a generated id is involved, say where it came from."""
    if not generated and not first_generated:
        return UserError(path, f"line {line}", f"duplicate id {shown(ex_id)} (also on line {first_line})",
                         "ids must be unique within a file")
    hint = f"give every row an id (a row without one gets `{path.stem}-` and its row index)"
    if generated:
        return UserError(path, f"line {line}", f"row on line {line} has no id, so it got the generated id "
                         f"{shown(ex_id)}, which line {first_line} also uses", hint)
    return UserError(path, f"line {line}", f"duplicate id {shown(ex_id)}: the row on line {first_line} has no id, so "
                     f"it got the generated id {shown(ex_id)}, which line {line} also uses", hint)


def read_rows(path: Path, field: str, task_file: Path | None = None,
              required: tuple[str, ...] = ("input", "output")) -> tuple[Iterator[tuple[int, object]], bool]:
    """(line number, row) of a .jsonl / .csv data file, read with every check, and whether it is CSV.

    `field` names the task.yaml key that gave `path`; with `task_file`, a bad path is reported there."""
    if path.is_dir():
        problem = "is a folder, expected a .jsonl or .csv file"
        if task_file is not None:
            raise UserError(task_file, field, f"{display_path(path)} {problem}",
                            "paths are relative to the task file's folder")
        raise UserError(path, None, problem, f"check `{field}`")
    check_regular_file(path, field, task_file)
    suffix = path.suffix.lower()
    if suffix not in EXAMPLE_SUFFIXES:
        where = (task_file, field) if task_file is not None else (path, None)
        raise UserError(*where, f"unsupported file type {shown(suffix or '(none)', 20)} for {display_path(path)}",
                        f"use .jsonl with one JSON object per line, or .csv with {','.join(required)} columns")
    text = read_text(path, MAX_DATA_BYTES, field, task_file)
    from_csv = suffix == ".csv"
    return (_csv_rows(text, path, required) if from_csv else _jsonl_rows(text, path)), from_csv


def load_examples(path: Path, field: str, task_file: Path | None = None) -> list[Example]:
    """Examples from JSONL (input/output or chat messages) or CSV (input,output columns)."""
    rows, from_csv = read_rows(path, field, task_file)
    examples: list[Example] = []
    seen: dict[str, tuple[int, bool]] = {}
    for line_no, row in rows:
        ex, generated = _row_to_example(row, path, line_no, len(examples), from_csv)
        if ex.id in seen:
            raise _duplicate_id(path, ex.id, line_no, generated, *seen[ex.id])
        seen[ex.id] = (line_no, generated)
        examples.append(ex)
    if not examples:
        raise UserError(path, None, "no examples in file", f"`{field}` needs at least one row")
    return examples


# ---- the corpus ----

@dataclass(frozen=True)
class Document:
    id: str
    text: str


class Corpus(list):
    """The loaded documents (a list of Document); `blank_skipped` counts blank files and rows left out."""

    blank_skipped: int = 0


def _corpus_files(root: Path, where: str, task_file: Path | None) -> list[Path]:
    """Every file under the folder `root`, sorted. Symlinked folders are not followed; a walk that meets another
    filesystem (a mount point such as /proc), passes MAX_CORPUS_FILES entries or an unreadable folder is refused,
    so `corpus: /` fails in a second."""
    name = where.split("[")[0]

    def fail(message: str, hint: str = f"point `{name}` at the folder that holds the documents") -> UserError:
        return UserError(task_file, where, message, hint) if task_file else UserError(root, None, message, hint)

    def shown_path(path: str | Path) -> str:
        return display_path(os.path.normpath(path))  # `corpus: ../../..` shows as /sys, not a/../../../sys

    root_dev, seen, files, stack = os.stat(root).st_dev, 0, [], [str(root)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name, reverse=True)  # a fixed order: a fixed first error
        except OSError as err:
            raise fail(f"cannot read the folder {shown_path(folder)} in the corpus: {err.strerror}",
                       "make it readable, or move it out of the corpus folder") from None
        for entry in entries:
            seen += 1
            if seen > MAX_CORPUS_FILES:
                raise fail(f"{shown_path(root)} holds more than {MAX_CORPUS_FILES:,} files and folders")
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.stat(follow_symlinks=False).st_dev != root_dev:
                        raise fail(f"{shown_path(entry.path)} is another filesystem (a mount point) inside "
                                   f"{shown_path(root)}")
                    stack.append(entry.path)
                elif entry.is_symlink() and entry.is_dir():
                    raise fail(f"{shown_path(entry.path)} is a symlink to a folder; symlinked folders are not "
                               "followed", f"list the folder it points to in `{name}`, or point `{name}` at the "
                               "folder that holds the documents")
                else:
                    files.append(Path(entry.path))
            except OSError:  # a symlink loop or a vanished entry: a file here; reading it says what is wrong
                files.append(Path(entry.path))
    return sorted(files)


def _read_found(path: Path) -> str:
    """A corpus file found in a folder (not named in task.yaml): errors name the file itself."""
    if path.is_symlink():
        try:
            os.stat(path)
        except OSError as err:
            if err.errno == errno.ENOENT:
                raise UserError(path, None, "is a symlink to a file that does not exist",
                                "fix or remove the link") from None
    return read_text(path, MAX_DATA_BYTES)


def _document_id(row: dict, rel: str, path: Path, line: int) -> str:
    if "id" not in row:
        return f"{rel}#{line}"
    raw = row["id"]
    if not isinstance(raw, str) or not raw.strip():
        got = "an empty string" if isinstance(raw, str) else _json_shown(raw)
        raise UserError(path, f"line {line}: id", f"must be a non-empty string, got {got}",
                        'context_ids name documents by it, e.g. "id": "returns-policy"; leave it out to get '
                        f"{shown(rel + '#' + str(line), 50)}")
    return raw


def _duplicate_document(doc_id: str, path: Path, line: int | None, first: tuple[Path, int | None]) -> UserError:
    first_path, first_line = first
    also = (f"on line {first_line}" if first_path == path else
            f"in {display_path(first_path)} line {first_line}" if first_line else
            f"the file {display_path(first_path)}")
    if line is None and first_line is None:  # two files with one relative path under two corpus folders
        return UserError(path, None, f"its document id {shown(doc_id)} is also the id of {display_path(first_path)}",
                         "ids are paths relative to each corpus folder; rename one, or list their common parent folder")
    where = f"line {line}" if line else None
    return UserError(path, where, f"duplicate document id {shown(doc_id)} (also {also})",
                     "document ids must be unique across the corpus, since context_ids name them")


def load_corpus(paths: list[Path], field: str = "data.corpus", task_file: Path | None = None) -> Corpus:
    """Documents from files or folders of .md/.txt/.jsonl ({id, text} rows). Ids are paths relative to the folder
    (rows: their `id`, else `file#line`) and must be unique; blank files and rows are skipped and counted.

    With several paths, errors name `field[i]`; with `task_file`, a bad path is reported there."""
    docs = Corpus()
    origin: dict[str, tuple[Path, int | None]] = {}

    def add(doc_id: str, text: str, path: Path, line: int | None) -> None:
        if doc_id in origin:
            raise _duplicate_document(doc_id, path, line, origin[doc_id])
        origin[doc_id] = (path, line)
        if text.strip():
            docs.append(Document(doc_id, text))
        else:
            docs.blank_skipped += 1

    for i, root in enumerate(paths):
        where = f"{field}[{i}]" if len(paths) > 1 else field
        named_file = not root.is_dir()
        if named_file:
            check_regular_file(root, where, task_file)
        files = [root] if named_file else _corpus_files(root, where, task_file)
        readable = [p for p in files if p.suffix.lower() in CORPUS_SUFFIXES]
        if not readable:
            found = ", ".join(sorted({(p.suffix or p.name)[:24] for p in files})[:5])
            message = f"no readable corpus files in {display_path(root)} (found {found or 'nothing'})"
            hint = f"the corpus takes {', '.join(CORPUS_SUFFIXES)} files"
            raise UserError(task_file, where, message, hint) if task_file else UserError(root, None, message, hint)
        for p in readable:
            rel = p.name if named_file else p.relative_to(root).as_posix()
            text = read_text(p, MAX_DATA_BYTES, where, task_file) if named_file else _read_found(p)
            if p.suffix.lower() != ".jsonl":
                add(rel, text, p, None)
                continue
            for line_no, row in _jsonl_rows(text, p):
                if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                    raise UserError(p, f"line {line_no}", "corpus rows need a `text` string",
                                    'e.g. {"id": "doc1", "text": "..."}')
                add(_document_id(row, rel, p, line_no), row["text"], p, line_no)
    if paths and not docs:
        message = "the corpus is empty (every file and row is blank)"
        hint = "add non-empty .md/.txt files or .jsonl rows"
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

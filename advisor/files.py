"""Reading user files safely: regular files only, bounded sizes, one decoding rule, one-line errors.

Every file a user names (task.yaml, rubric and schema files, train/eval/corpus data) is read here, so a FIFO,
/dev/zero, a symlink loop, a folder, a 10 GB file, UTF-16 or Latin-1 bytes each get the same clear error, never
a hang or a traceback.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .errors import UserError, display_path

MiB = 2**20
# Limits (documented in README.md, "Limits"): generous for real tasks, small enough to fail in seconds.
MAX_CONFIG_BYTES = 1 * MiB       # task.yaml, rubric .yaml, JSON Schema files
MAX_DATA_BYTES = 512 * MiB       # one train/eval/guard/corpus file
MAX_ROW_CHARS = 1 * MiB          # one JSONL line or CSV row
MAX_CORPUS_FILES = 100_000       # files under one corpus folder


def _human(n: int) -> str:
    return f"{n / MiB:.0f} MiB" if n >= MiB else f"{n / 1024:.0f} KiB" if n >= 1024 else f"{n} bytes"


def check_regular_file(path: Path, field: str | None = None, task_file: Path | None = None) -> os.stat_result:
    """`path` must be an existing regular file (not a folder, FIFO, device, socket or symlink loop).

    With `task_file`, the error names the task file and `field`; else the path itself."""

    def fail(problem: str, hint: str) -> UserError:
        if task_file is not None and field:
            return UserError(task_file, field, f"{display_path(path) or repr(str(path))} {problem}", hint)
        return UserError(path, None, problem, hint)

    if str(path) in ("", "."):
        raise fail("is an empty path", "give the path of a file, relative to the task file's folder")
    try:
        st = os.stat(path)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise fail("is a symlink loop", "point it at a real file") from None
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            raise fail("not found", "paths are relative to the task file's folder") from None
        if err.errno == errno.ENAMETOOLONG:
            raise fail("is too long a path", "shorten the path") from None
        raise fail(f"cannot be read: {err.strerror}", "check the file's permissions") from None
    except ValueError:  # an embedded NUL byte
        raise fail("is not a valid path (it contains a NUL byte)", "remove the stray character") from None
    if stat.S_ISDIR(st.st_mode):
        raise fail("is a folder, not a file", "name a file inside it")
    if not stat.S_ISREG(st.st_mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode)
                or stat.S_ISBLK(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) else "a special file")
        raise fail(f"is {kind}, not a regular file", "copy the data into a regular file")
    return st


def read_text(path: Path, limit: int = MAX_DATA_BYTES, field: str | None = None,
              task_file: Path | None = None) -> str:
    """The text of a user file: UTF-8 (with or without a byte-order mark) or UTF-16 with a BOM; CRLF and CR-only
    line endings become LF. Too big, not a regular file, unreadable or undecodable: a one-line UserError."""
    check_regular_file(path, field, task_file)
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)  # st_size lies for /proc and friends: read at most limit + 1
    except OSError as err:
        raise UserError(path, None, f"cannot read file: {err.strerror}", "check the file's permissions") from None
    if len(data) > limit:
        raise UserError(path, None, f"file is larger than the {_human(limit)} limit",
                        "split it, or trim it to the rows you need (see README, Limits)")
    return decode(data, path)


def decode(data: bytes, path: Path) -> str:
    """Bytes of a user file as text, by the rule of `read_text`."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise UserError(path, None, "not valid UTF-16 (it starts with a UTF-16 byte-order mark)",
                            "re-save the file as UTF-8") from None
    else:
        data = data.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark (Excel writes one)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            line = data[: err.start].count(b"\n") + 1
            looks_utf16 = data[:200].count(b"\x00") > len(data[:200]) // 4
            hint = ("it looks like UTF-16 without a byte-order mark; re-save it as UTF-8" if looks_utf16
                    else "re-save the file as UTF-8; it may be Latin-1 or Windows-1252")
            raise UserError(path, f"line {line}", f"not valid UTF-8 (byte 0x{data[err.start]:02x})", hint) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise UserError(path, f"line {line}", "contains a NUL character", "this is not a text file; re-save it as UTF-8 text")
    return text.replace("\r\n", "\n").replace("\r", "\n")

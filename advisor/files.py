"""Reading user files safely: regular files only, bounded sizes, one decoding rule, one-line errors.

Every file a user names (task.yaml, rubric and schema files, train/eval/corpus data) is read here, so a FIFO,
/dev/zero, a symlink loop, a folder, a 10 GB file, UTF-16 or Latin-1 bytes each get the same clear error, never
a hang or a traceback.
"""
from __future__ import annotations

import errno
import os
import re
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
        looks_utf16 = text[:200].count("\x00") > len(text[:200]) // 4
        hint = ("it looks like UTF-16 without a byte-order mark; re-save it as UTF-8" if looks_utf16
                else "this is not a text file; re-save it as UTF-8 text")
        raise UserError(path, f"line {line}", "contains a NUL character", hint)
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ---- YAML: duplicate keys refused, alias expansion and nesting bounded, huge numbers refused ----

MAX_YAML_NODES = 100_000   # values after alias expansion (a real task.yaml has a few hundred)
MAX_YAML_DEPTH = 64        # nesting of mappings and lists
MAX_NUMBER_DIGITS = 100


class _YamlLimit(Exception):
    def __init__(self, line: int | None, message: str, hint: str):
        self.line, self.message, self.hint = line, message, hint


def _yaml_loader():
    import yaml

    class Loader(yaml.SafeLoader):
        """SafeLoader that refuses duplicate keys and numbers too long to be meant."""

        def construct_mapping(self, node, deep=False):  # type: ignore[no-untyped-def]
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *base` may override keys on purpose
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key (a list or mapping as a key)
                    raise _YamlLimit(line, "a key must be a plain value, not a list or mapping",
                                     "check indentation and quoting") from None
                if first is not None:
                    raise _YamlLimit(line, f"duplicate key {shown_key(key)} (also on line {first})",
                                     "YAML keeps only the last of two equal keys; merge them into one")
                seen[key] = line
            return super().construct_mapping(node, deep=deep)

        def construct_yaml_int(self, node):  # type: ignore[no-untyped-def]
            digits = sum(c.isdigit() for c in str(node.value))
            if digits > MAX_NUMBER_DIGITS:
                raise _YamlLimit(node.start_mark.line + 1, f"a number with {digits} digits",
                                 "no setting needs more than a few digits; check for a pasted value")
            text = str(node.value).replace("_", "")
            if ":" in text:
                raise _YamlLimit(node.start_mark.line + 1, f"{shown_key(node.value)} is a base-60 number in YAML "
                                 f"({super().construct_yaml_int(node)})", f'quote it if it is text: "{node.value}"')
            if re.fullmatch(r"[-+]?0[0-9]+", text):
                raise _YamlLimit(node.start_mark.line + 1, f"{shown_key(node.value)} is an octal number in YAML "
                                 f"({super().construct_yaml_int(node)})",
                                 f'write it without the leading zero, or quote it if it is text: "{node.value}"')
            return super().construct_yaml_int(node)

        def construct_yaml_float(self, node):  # type: ignore[no-untyped-def]
            if sum(c.isdigit() for c in str(node.value)) > MAX_NUMBER_DIGITS:
                return self.construct_yaml_int(node)
            if ":" in str(node.value):
                raise _YamlLimit(node.start_mark.line + 1, f"{shown_key(node.value)} is a base-60 number in YAML "
                                 f"({super().construct_yaml_float(node)})", f'quote it if it is text: "{node.value}"')
            return super().construct_yaml_float(node)

    # YAML 1.1 reads 1e-3 and 1e308 (no dot) as text; YAML 1.2 and every user mean a number
    Loader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
                                 list("-+0123456789"))
    Loader.add_constructor("tag:yaml.org,2002:int", Loader.construct_yaml_int)
    Loader.add_constructor("tag:yaml.org,2002:float", Loader.construct_yaml_float)
    return Loader


def shown_key(key: object) -> str:
    from .errors import shown

    return shown(key, 40)


def _check_size(root) -> None:  # type: ignore[no-untyped-def]
    """Count values after alias expansion (memoized per node: linear in the document) and the nesting depth."""
    import yaml

    sizes: dict[int, int] = {}
    # iterative post-order walk: deep documents must not hit Python's recursion limit here
    stack: list[tuple[object, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        if id(node) in sizes and not done:
            continue
        if depth > MAX_YAML_DEPTH:
            raise _YamlLimit(node.start_mark.line + 1, f"nested more than {MAX_YAML_DEPTH} levels deep",
                             "task files are a few levels deep; check for runaway brackets")
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        if not done:
            stack.append((node, depth, True))
            stack.extend((c, depth + 1, False) for c in children if id(c) not in sizes)
            continue
        sizes[id(node)] = 1 + sum(sizes.get(id(c), 1) for c in children)
        if sizes[id(node)] > MAX_YAML_NODES:
            raise _YamlLimit(node.start_mark.line + 1, f"expands to more than {MAX_YAML_NODES:,} values (anchors "
                             "and aliases repeat their contents)", "write the values out, or use fewer aliases")


def load_yaml(path: Path, limit: int = MAX_CONFIG_BYTES, text: str | None = None) -> object:
    """Parse a user YAML file (read with `read_text` unless `text` is given); any problem is a one-line UserError
    with the line: syntax, duplicate keys, alias bombs, runaway nesting, numbers with hundreds of digits."""
    import yaml

    if text is None:
        text = read_text(path, limit)
    try:
        loader = _yaml_loader()(text)
    except yaml.reader.ReaderError as err:  # a control character: the reader refuses it before parsing starts
        line = text[: max(0, err.position)].count("\n") + 1
        raise UserError(path, f"line {line}", f"a control character (#x{err.character:04x}) YAML does not allow",
                        "delete it: an invisible character, often pasted in from elsewhere") from None
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _check_size(root)
        return loader.construct_document(root)
    except _YamlLimit as err:
        raise UserError(path, f"line {err.line}" if err.line else None, err.message, err.hint) from None
    except RecursionError:
        raise UserError(path, None, "nested too deeply to read", "task files are a few levels deep; check for "
                        "runaway brackets") from None
    except yaml.YAMLError as err:
        mark, context = getattr(err, "problem_mark", None), getattr(err, "context_mark", None)
        where = f"line {mark.line + 1}" if mark else None
        problem = getattr(err, "problem", None) or "invalid YAML"
        if context is not None and getattr(err, "context", None) and (mark is None or context.line != mark.line):
            problem += f", {err.context} that starts on line {context.line + 1}"  # e.g. an unclosed [
        raise UserError(path, where, f"YAML syntax error: {problem}", "check indentation and quoting") from None
    finally:
        loader.dispose()

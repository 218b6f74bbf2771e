"""Hostile train/eval/guard/corpus data: each case exits 2 within seconds with one line naming the file and the
field or line, never a traceback, a hang or a silent change of meaning; the valid look-alikes still load."""
from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner

from advisor import data as data_module
from advisor.cli import main
from advisor.data import load_corpus, load_examples
from advisor.errors import UserError
from advisor.files import MAX_ROW_CHARS

from bad_inputs.cases import Case, jsonl, materialize, row

CSV_TRAIN = (("train: data/train.jsonl", "train: data/train.csv"),)
CSV_HEAD = "id,input,output\n"


def csv_body(n: int = 24) -> list[str]:
    return [f"c{i},Question {i},answer {i}" for i in range(n)]


def lines_with(n: int, first: int, replace: dict[int, str]) -> str:
    return jsonl(first, n, replace)


def chat(*turns: tuple[str, str], **extra: object) -> str:
    return json.dumps({"messages": [{"role": r, "content": c} for r, c in turns], **extra})


def corpus_at(value: str) -> tuple[tuple[str, str], ...]:
    return (("corpus: docs/", f"corpus: {value}"),)


@dataclass(frozen=True)
class Hostile:
    case: Case
    setup: Callable[[Path], None] | None = None   # what files cannot express: FIFOs, symlinks, sockets


def fifo(rel: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        (folder / rel).unlink(missing_ok=True)
        os.mkfifo(folder / rel)
    return make


def symlink(rel: str, target: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        (folder / rel).unlink(missing_ok=True)
        os.symlink(target, folder / rel)
    return make


def bind_socket(folder: Path) -> None:
    (folder / "data/eval.jsonl").unlink()
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "data/eval.jsonl"))  # left bound until the test process ends; the file is what matters


HOSTILE = [
    # ---- files ----
    Hostile(Case("train_fifo", "task.yaml", "data.train (line 4)", "data/train.jsonl is a named pipe (FIFO)"),
            fifo("data/train.jsonl")),
    Hostile(Case("train_dev_zero", "task.yaml", "data.train (line 4)", "is a device, not a regular file"),
            symlink("data/train.jsonl", "/dev/zero")),
    Hostile(Case("train_symlink_loop", "task.yaml", "data.train (line 4)", "data/train.jsonl is a symlink loop"),
            lambda f: (symlink("data/train.jsonl", "loop.jsonl")(f), symlink("data/loop.jsonl", "train.jsonl")(f))),
    Hostile(Case("guard_fifo", "task.yaml", "data.guard (line 7)", "data/guard.jsonl is a named pipe (FIFO)",
                 edits=(("  corpus: docs/\n", "  corpus: docs/\n  guard: data/guard.jsonl\n"),)),
            fifo("data/guard.jsonl")),
    Hostile(Case("eval_socket", "task.yaml", "data.eval (line 5)", "data/eval.jsonl is a socket"), bind_socket),
    Hostile(Case("corpus_file_fifo", "task.yaml", "data.corpus (line 6)", "docs/pipe.md is a named pipe (FIFO)",
                 edits=corpus_at("docs/pipe.md")), fifo("docs/pipe.md")),
    Hostile(Case("json_array_file", "data/train.json", "line 1", "JSON Lines is expected: one object per line "
                 "(hint: convert it: jq -c '.[]' train.json > train.jsonl)",
                 edits=(("train: data/train.jsonl", "train: data/train.json"),),
                 files={"data/train.json": json.dumps([json.loads(row(i)) for i in range(24)], indent=2)})),
    Hostile(Case("json_object_over_lines", "data/eval.json", "line 1", "one JSON object spread over lines; JSON Lines "
                 "is expected", edits=(("eval: data/eval.jsonl", "eval: data/eval.json"),),
                 files={"data/eval.json": json.dumps(json.loads(row(100)), indent=4) + "\n"})),
    Hostile(Case("jsonl_row_over_limit", "data/train.jsonl", "line 9", "over the 1,048,576-character limit",
                 files={"data/train.jsonl": lines_with(24, 0, {9: row(8, note="n" * MAX_ROW_CHARS)})})),
    # ---- rows ----
    Hostile(Case("nested_100k_deep", "data/train.jsonl", "line 4", "nested too deeply",
                 files={"data/train.jsonl": lines_with(24, 0, {4: '{"input": ' + "[" * 100_000 + "]" * 100_000 +
                                                               ', "output": "x"}'})})),
    Hostile(Case("number_5000_digits", "data/eval.jsonl", "line 2", "a number too long to read",
                 files={"data/eval.jsonl": lines_with(8, 100, {2: '{"input": "q", "output": ' + "7" * 5000 + "}"})})),
    Hostile(Case("nan_literal", "data/train.jsonl", "line 3", "NaN is not valid JSON",
                 files={"data/train.jsonl": lines_with(24, 0, {3: '{"input": "q", "output": NaN}'})})),
    Hostile(Case("minus_infinity_in_extra_key", "data/train.jsonl", "line 5", "-Infinity is not valid JSON",
                 files={"data/train.jsonl": lines_with(24, 0, {5: '{"input": "q", "output": "a", "w": -Infinity}'})})),
    Hostile(Case("float_overflow", "data/train.jsonl", "line 6: output", "too large for a float",
                 files={"data/train.jsonl": lines_with(24, 0, {6: '{"input": "q", "output": [2e999]}'})})),
    Hostile(Case("lone_surrogate", "data/train.jsonl", "line 2: input", "lone surrogate",
                 files={"data/train.jsonl": lines_with(24, 0, {2: '{"input": "cut \\uD83D here", "output": "a"}'})})),
    Hostile(Case("input_and_messages", "data/train.jsonl", "line 3", "row has both `messages` and `input`",
                 files={"data/train.jsonl": lines_with(24, 0, {3: chat(("user", "q"), ("assistant", "a"), input="q")})})),
    Hostile(Case("turn_after_last_answer", "data/train.jsonl", "line 4: messages[2]", "a user turn after the last "
                 "assistant turn", files={"data/train.jsonl": lines_with(24, 0, {4: chat(
                     ("user", "q"), ("assistant", "a"), ("user", "thanks"))})})),
    Hostile(Case("tool_role", "data/train.jsonl", "line 4: messages[1].role", "must be system, user or assistant",
                 files={"data/train.jsonl": lines_with(24, 0, {4: chat(("user", "q"), ("tool", "{}"),
                                                                       ("assistant", "a"))})})),
    *[Hostile(Case(f"id_{name}", "data/train.jsonl", "line 2: id", f"must be a string or a whole number, got {got}",
                   files={"data/train.jsonl": lines_with(24, 0, {2: '{"id": ' + raw + ', "input": "q", "output": "a"}'})}))
      for name, raw, got in (("null", "null", "null"), ("list", '["a"]', "a list"), ("object", '{"k": 1}', "an object"),
                             ("bool", "false", "false"), ("float", "3.0", "3.0"))],
    Hostile(Case("generated_id_taken_earlier", "data/train.jsonl", "line 4", "row on line 4 has no id, so it got the "
                 "generated id 'train-3', which line 2 also uses (hint: give every row an id",
                 files={"data/train.jsonl": lines_with(24, 0, {2: row(1, id="train-3"),
                                                               4: '{"input": "q", "output": "a"}'})})),
    Hostile(Case("generated_id_taken_later", "data/train.jsonl", "line 7", "the row on line 1 has no id, so it got "
                 "the generated id 'train-0', which line 7 also uses",
                 files={"data/train.jsonl": lines_with(24, 0, {1: '{"input": "q", "output": "a"}',
                                                               7: row(6, id="train-0")})})),
    # ---- corpus ----
    Hostile(Case("corpus_duplicate_row_ids", "docs/faq.jsonl", "line 3", "duplicate document id 'a' (also on line 1)",
                 files={"docs/faq.jsonl": '{"id": "a", "text": "x"}\n{"id": "b", "text": "y"}\n{"id": "a", "text": "z"}\n'})),
    Hostile(Case("corpus_row_id_is_a_file_id", "docs/hours.md", None, "duplicate document id 'hours.md' (also in "
                 "docs/faq.jsonl line 1)", files={"docs/faq.jsonl": '{"id": "hours.md", "text": "x"}\n'})),
    Hostile(Case("corpus_same_path_two_folders", "more/hours.md", None, "its document id 'hours.md' is also the id of "
                 "docs/hours.md", edits=corpus_at("[docs/, more/]"), files={"more/hours.md": "Other hours.\n"})),
    Hostile(Case("corpus_id_null", "docs/faq.jsonl", "line 2: id", "must be a non-empty string, got null",
                 files={"docs/faq.jsonl": '{"id": "a", "text": "x"}\n{"id": null, "text": "y"}\n'})),
    Hostile(Case("corpus_id_number", "docs/faq.jsonl", "line 1: id", "must be a non-empty string, got 12",
                 files={"docs/faq.jsonl": '{"id": 12, "text": "x"}\n'})),
    Hostile(Case("corpus_only_blank_rows", "task.yaml", "data.corpus (line 6)", "the corpus is empty",
                 edits=corpus_at("blank/"), files={"blank/rows.jsonl": '{"id": "a", "text": ""}\n{"text": " \\n\\t"}\n'})),
    Hostile(Case("corpus_symlink_to_root", "task.yaml", "data.corpus (line 6)", "docs/all is a symlink to a folder; "
                 "symlinked folders are not followed"), symlink("docs/all", "/")),
    Hostile(Case("corpus_symlink_loop_folder", "task.yaml", "data.corpus (line 6)", "docs/again is a symlink to a "
                 "folder"), symlink("docs/again", ".")),
    Hostile(Case("corpus_fifo_inside", "docs/pipe.md", None, "is a named pipe (FIFO)"), fifo("docs/pipe.md")),
    Hostile(Case("corpus_dangling_link", "docs/gone.md", None, "is a symlink to a file that does not exist"),
            symlink("docs/gone.md", "nowhere.md")),
    Hostile(Case("corpus_row_nan", "docs/faq.jsonl", "line 1", "NaN is not valid JSON",
                 files={"docs/faq.jsonl": '{"id": "a", "text": "x", "score": NaN}\n'})),
    Hostile(Case("corpus_row_lone_surrogate", "docs/faq.jsonl", "line 1: text", "lone surrogate",
                 files={"docs/faq.jsonl": '{"id": "a", "text": "bad \\udc80"}\n'})),
    # ---- CSV ----
    Hostile(Case("csv_unclosed_quote", "data/train.csv", "line 5", "never closed (the rest of the file would become "
                 "one value)", edits=CSV_TRAIN, files={"data/train.csv": CSV_HEAD + "\n".join(
                     csv_body()[:3] + ['c3,"Question 3,answer 3'] + csv_body()[4:]) + "\n"})),
    Hostile(Case("csv_quote_pairs_with_a_later_one", "data/train.csv", "line 5", "runs on to line 12",
                 edits=CSV_TRAIN, files={"data/train.csv": CSV_HEAD + "\n".join(
                     csv_body()[:3] + ['c3,"Question 3,answer 3'] + csv_body()[4:10] + ['c10,q,"a" 10'] +
                     csv_body()[11:]) + "\n"})),
    Hostile(Case("csv_field_over_limit", "data/train.csv", "line 3", "row limit", edits=CSV_TRAIN,
                 files={"data/train.csv": CSV_HEAD + "c0,q,a\n" + 'c1,"' + "w" * (MAX_ROW_CHARS + 10) + '",a\n'})),
    Hostile(Case("csv_extra_fields", "data/train.csv", "line 8", "row has 4 fields, the header has 3", edits=CSV_TRAIN,
                 files={"data/train.csv": CSV_HEAD + "\n".join(csv_body()[:6] + ["c6,q,a,b"] + csv_body()[7:]) + "\n"})),
    Hostile(Case("csv_duplicate_column", "data/train.csv", "line 1", "column 'output' appears 2 times",
                 edits=CSV_TRAIN, files={"data/train.csv": "input,output,output\n" + "q,a,b\n" * 24})),
    Hostile(Case("csv_semicolons", "data/train.csv", "line 1", "looks semicolon-separated", edits=CSV_TRAIN,
                 files={"data/train.csv": "input;output\n" + "q;a\n" * 24})),
    Hostile(Case("csv_generated_id_clash", "data/train.csv", "line 4", "row on line 4 has no id, so it got the "
                 "generated id 'train-2', which line 2 also uses", edits=CSV_TRAIN,
                 files={"data/train.csv": CSV_HEAD + "train-2,q,a\nc0,q,a\n,q,a\n" + "\n".join(csv_body()[3:]) + "\n"})),
]


def run_case(hostile: Hostile, folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, float]:
    materialize(hostile.case, folder)
    if hostile.setup:
        hostile.setup(folder)
    monkeypatch.chdir(folder)
    start = time.monotonic()
    result = CliRunner().invoke(main, ["validate", "task.yaml"])
    took = time.monotonic() - start
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and len(lines) == 1, result.output
    return lines[0], took


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.case.name)
def test_hostile_data(hostile: Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    line, took = run_case(hostile, tmp_path, monkeypatch)
    named = ": ".join(p for p in (hostile.case.file, hostile.case.where) if p)
    assert line.startswith(f"error: {named}: "), line
    assert hostile.case.hint in line, line
    assert took < 10, f"{took:.1f} s"


@pytest.mark.parametrize("where", ["/", "/proc", "../../../../../../../../../../.."])
def test_corpus_at_a_system_folder_fails_fast(where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Never walks /proc or the whole disk, never dies on an unreadable folder: one line, in seconds."""
    line, took = run_case(Hostile(Case("corpus_system", None, None, edits=corpus_at(where))), tmp_path, monkeypatch)
    assert line.startswith("error: task.yaml: data.corpus (line 6): "), line
    assert "point `data.corpus` at the folder that holds the documents" in line or "make it readable" in line, line
    assert took < 10, f"{took:.1f} s"


def test_corpus_file_count_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(data_module, "MAX_CORPUS_FILES", 5)
    for i in range(4):
        (tmp_path / "docs" / f"sub{i}").mkdir(parents=True)
        (tmp_path / "docs" / f"sub{i}" / "a.md").write_text("text")
    with pytest.raises(UserError, match=r"^task.yaml: data.corpus: .*docs holds more than 5 files and folders "
                                        r"\(hint: point `data.corpus` at the folder"):
        load_corpus([tmp_path / "docs"], "data.corpus", Path("task.yaml"))


def test_corpus_unreadable_folder_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Tests may run as root, where chmod 000 still reads: a PermissionError from scandir is simulated."""
    (tmp_path / "docs" / "locked").mkdir(parents=True)
    (tmp_path / "docs" / "a.md").write_text("text")
    real = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(UserError, match=r"^task.yaml: data.corpus: cannot read the folder .*locked in the corpus: "
                                        r"Permission denied \(hint: make it readable"):
        load_corpus([tmp_path / "docs"], "data.corpus", Path("task.yaml"))


# ---- what the loaders make of valid look-alikes ----

def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_multi_turn_messages_make_a_transcript(tmp_path: Path):
    rows = [chat(("user", "When do you open?"), ("assistant", "6:30")),
            chat(("system", "Be brief."), ("user", "Who bakes?"), ("assistant", "Marta")),
            chat(("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello!"), ("user", "Hours?"),
                 ("assistant", "6:30 weekdays"))]
    examples = load_examples(write(tmp_path / "chat.jsonl", "\n".join(rows) + "\n"), "data.train")
    assert [(e.input, e.output) for e in examples] == [
        ("When do you open?", "6:30"),
        ("Who bakes?", "Marta"),  # a single user turn is its text, as before multi-turn rows were defined
        ("System: Be brief.\nUser: Hi\nAssistant: Hello!\nUser: Hours?", "6:30 weekdays")]
    assert [e.id for e in examples] == ["chat-0", "chat-1", "chat-2"]


def test_valid_look_alikes_load(tmp_path: Path):
    text = jsonl(0, 3)
    assert len(load_examples(write(tmp_path / "u16.jsonl", text.encode("utf-16")), "data.train")) == 3
    assert len(load_examples(write(tmp_path / "cr.jsonl", text.replace("\n", "\r")), "data.train")) == 3
    pair = load_examples(write(tmp_path / "emoji.jsonl", '{"input": "smile \\ud83d\\ude00", "output": "a"}\n'), "x")
    assert pair[0].input == "smile \U0001F600"
    big = "w " * 100_000  # over the csv module's default 131,072-character field limit
    csv_rows = load_examples(write(tmp_path / "big.csv", f'id,input,output\n,"{big}",a\n,"two\nlines",b\n,q,c,,\n'), "x")
    assert [(e.id, e.input[:5], e.output) for e in csv_rows] == [("big-0", "w w w", "a"), ("big-1", "two\nl", "b"),
                                                                ("big-2", "q", "c")]
    assert load_examples(write(tmp_path / "n.jsonl", '{"id": 12345678901234567890, "input": "q", "output": [[1]]}\n'),
                         "x")[0].id == "12345678901234567890"


def test_blank_corpus_rows_are_skipped_and_counted(tmp_path: Path):
    (tmp_path / "docs").mkdir()
    write(tmp_path / "docs" / "faq.jsonl", '{"id": "a", "text": ""}\n{"id": "b", "text": "real"}\n{"text": "  "}\n')
    write(tmp_path / "docs" / "empty.md", "\n \n")
    corpus = load_corpus([tmp_path / "docs"])
    assert [d.id for d in corpus] == ["b"]
    assert corpus.blank_skipped == 3


def test_a_large_jsonl_loads_quickly(tmp_path: Path):
    """No per-row re-reading: ~10 MB of rows load in well under the bound (about 0.2 s here)."""
    line = json.dumps({"input": "the bakery opens at half past six " * 40, "output": "6:30"}) + "\n"
    path = write(tmp_path / "big.jsonl", line * (10 * 2**20 // len(line)))
    start = time.monotonic()
    assert len(load_examples(path, "data.train")) > 7000
    assert time.monotonic() - start < 5

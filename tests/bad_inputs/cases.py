"""The bad-input corpus: each case is one mistake a user makes in a task folder, and the one line it must produce.

A case edits a valid task folder (BASE_YAML + small data files): `edits` replace text in task.yaml (or `task`
gives the whole file), `files` write (str or bytes), delete (None) or make a folder (DIR) relative to it.
`file` and `where` are what the error line must name (`file: where: ...`), `hint` a phrase it must contain.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

DIR = object()  # in `files`: make this path a folder

# Line numbers below refer to this text; keep it stable.
BASE_YAML = """\
name: bad-input-case
instruction: Answer the question with a short phrase.
data:
  train: data/train.jsonl
  eval: data/eval.jsonl
  corpus: docs/
rubric: short_answer_qa
levers:
  prompt:
    shots: [0, 2]
  retrieval:
    top_k: [2]
  finetune:
    rank: 8
    epochs: 2
    lr: auto
seed: 0
"""


def row(i: int, **fields: object) -> str:
    return json.dumps({"id": f"r{i}", "input": f"Question {i}: when does the bakery open?", "output": "6:30", **fields})


def jsonl(first: int, count: int, replace: dict[int, str] | None = None) -> str:
    """`count` valid rows with ids from `first`; `replace` swaps line N (1-based) for other text."""
    lines = [row(first + i) for i in range(count)]
    for line_no, text in (replace or {}).items():
        lines[line_no - 1] = text
    return "\n".join(lines) + "\n"


TRAIN, EVAL = jsonl(0, 24), jsonl(100, 8)
DOCS = {"docs/hours.md": "The bakery opens at 6:30 on weekdays.\n", "docs/team.md": "The head baker is Marta Ilves.\n",
        "docs/bread.md": "The signature loaf is the Dockside Sourdough.\n"}


@dataclass(frozen=True)
class Case:
    name: str
    file: str | None            # the file the line must name (None: a command-line option)
    where: str | None           # the field path or 'line N' right after the file
    hint: str = ""              # a phrase the line must contain (message or hint)
    edits: tuple[tuple[str, str], ...] = ()
    task: str | bytes | None = None
    files: dict[str, object] = field(default_factory=dict)
    command: str = "validate"
    args: tuple[str, ...] = ()


def materialize(case: Case, folder: Path) -> Path:
    """Write the case's task folder; returns the task.yaml path."""
    base = {"data/train.jsonl": TRAIN, "data/eval.jsonl": EVAL, **DOCS}
    for rel, content in {**base, **case.files}.items():
        path = folder / rel
        if content is None:
            if path.is_file():
                path.unlink()
            continue
        if content is DIR:
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else str(content).encode())
    text: str | bytes = BASE_YAML if case.task is None else case.task
    for old, new in case.edits:
        assert isinstance(text, str) and old in text, f"{case.name}: {old!r} not in task.yaml"
        text = text.replace(old, new, 1)
    (folder / "task.yaml").write_bytes(text if isinstance(text, bytes) else text.encode())
    return folder / "task.yaml"


def criteria(*items: str) -> tuple[tuple[str, str], ...]:
    """An inline rubric (list of criteria, one YAML flow mapping per line from line 8)."""
    return (("rubric: short_answer_qa\n", "rubric:\n" + "".join(f"  - {item}\n" for item in items)),)


_ENDPOINT = "model:\n  base_url: {url}\n  name: my-model\n  api_key_env: {key}\n"


def endpoint(url: str = "http://127.0.0.1:8000/v1", key: str = "OPENAI_API_KEY") -> tuple[tuple[str, str], ...]:
    """A `model:` endpoint block on lines 3-6 (the data block moves down by four)."""
    return (("data:\n", _ENDPOINT.format(url=url, key=key) + "data:\n"),)


CASES: list[Case] = [
    # ---- task.yaml: structure, keys, types ----
    Case("unknown_top_level_key", "task.yaml", "instructoin (line 2)", "did you mean 'instruction'",
         edits=(("instruction:", "instructoin:"),)),
    Case("unknown_nested_key", "task.yaml", "levers.finetune.rnak (line 14)", "did you mean 'rank'",
         edits=(("    rank: 8", "    rnak: 8"),)),
    Case("seed_not_an_integer", "task.yaml", "seed (line 17)", "must be a whole number, got 'abc'",
         edits=(("seed: 0", "seed: abc"),)),
    Case("epochs_not_an_integer", "task.yaml", "levers.finetune.epochs (line 15)", "must be a whole number, got 'many'",
         edits=(("epochs: 2", "epochs: many"),)),
    Case("missing_rubric", "task.yaml", "rubric", "required field is missing (hint: a shipped rubric name such as short_answer_qa",
         edits=(("rubric: short_answer_qa\n", ""),)),
    Case("missing_eval_key", "task.yaml", "data.eval (line 3)", "required field is missing",
         edits=(("  eval: data/eval.jsonl\n", ""),)),
    Case("data_not_a_mapping", "task.yaml", "data (line 3)", "must be a mapping",
         edits=(("data:\n  train: data/train.jsonl\n  eval: data/eval.jsonl\n  corpus: docs/\n", "data: data/train.jsonl\n"),)),
    Case("name_with_slash", "task.yaml", "name (line 1)", "must not contain slashes",
         edits=(("name: bad-input-case", "name: team/bad-input-case"),)),
    Case("selection_not_allowed", "task.yaml", "levers.prompt.selection[0] (line 11)",
         "must be 'fixed' or 'nearest', got 'random'",
         edits=(("    shots: [0, 2]\n", "    shots: [0, 2]\n    selection: [random]\n"),)),
    Case("model_wrong_type", "task.yaml", "model (line 3)", "expected a string or a mapping, got 5",
         edits=(("data:\n", "model: 5\ndata:\n"),)),
    Case("yaml_unclosed_bracket", "task.yaml", "line 11", "while parsing a flow sequence that starts on line 10",
         edits=(("    shots: [0, 2]\n", "    shots: [0, 2\n"),)),
    Case("yaml_tab_indent", "task.yaml", "line 5", "YAML syntax error",
         edits=(("  eval: data/eval.jsonl", "\teval: data/eval.jsonl"),)),
    Case("task_is_a_list", "task.yaml", None, "expected a mapping of keys", task="- name: x\n- data: y\n"),
    Case("task_is_empty", "task.yaml", None, "got an empty file", task=""),
    Case("task_bad_utf8", "task.yaml", "line 2", "not valid UTF-8",
         task=BASE_YAML.replace("short phrase", "short\xff phrase").encode("latin-1")),
    Case("task_file_missing", "nope.yaml", None, "task file not found", args=("nope.yaml",)),
    # ---- data files: paths ----
    Case("train_file_missing", "task.yaml", "data.train (line 4)", "data/nope.jsonl not found",
         edits=(("train: data/train.jsonl", "train: data/nope.jsonl"),)),
    Case("eval_file_missing", "task.yaml", "data.eval (line 5)", "data/eval.jsonl not found",
         files={"data/eval.jsonl": None}),
    Case("eval_is_a_folder", "task.yaml", "data.eval (line 5)", "is a folder, expected a .jsonl or .csv file",
         edits=(("eval: data/eval.jsonl", "eval: data/"),)),
    Case("unsupported_data_type", "task.yaml", "data.train (line 4)", "unsupported file type '.txt'",
         edits=(("train: data/train.jsonl", "train: data/train.txt"),), files={"data/train.txt": TRAIN}),
    # ---- data files: content ----
    Case("eval_empty", "data/eval.jsonl", None, "no examples in file (hint: `data.eval` needs at least one row)",
         files={"data/eval.jsonl": ""}),
    Case("eval_only_blank_lines", "data/eval.jsonl", None, "no examples in file", files={"data/eval.jsonl": "\n  \n\n"}),
    Case("malformed_jsonl", "data/train.jsonl", "line 3", "malformed JSON",
         files={"data/train.jsonl": jsonl(0, 24, {3: '{"id": "r2", "input": "x", "output": '})}),
    Case("row_without_output", "data/train.jsonl", "line 5", "row has no `output`",
         files={"data/train.jsonl": jsonl(0, 24, {5: json.dumps({"id": "r4", "input": "x"})})}),
    Case("row_with_empty_input", "data/eval.jsonl", "line 2", "`input` is empty (hint: every row needs a non-empty input)",
         files={"data/eval.jsonl": jsonl(100, 8, {2: json.dumps({"id": "x", "input": "  ", "output": "y"})})}),
    Case("row_not_an_object", "data/train.jsonl", "line 4", "each row must be a JSON object",
         files={"data/train.jsonl": jsonl(0, 24, {4: "[1, 2]"})}),
    Case("data_bad_utf8", "data/train.jsonl", "line 6", "not valid UTF-8",
         files={"data/train.jsonl": jsonl(0, 24).encode().replace(b"Question 5:", b"Question \xff5:")}),
    Case("context_ids_not_a_list", "data/eval.jsonl", "line 3: context_ids", "must be a list of corpus document ids",
         files={"data/eval.jsonl": jsonl(100, 8, {3: row(102, context_ids=7)})}),
    Case("csv_without_columns", "data/train.csv", "line 1", "lacks column(s) input, output (hint: found columns: question, answer",
         edits=(("train: data/train.jsonl", "train: data/train.csv"),),
         files={"data/train.csv": "question,answer\n" + "".join(f"q{i},a{i}\n" for i in range(24))}),
    Case("csv_empty_output", "data/train.csv", "line 4", "`output` is empty",
         edits=(("train: data/train.jsonl", "train: data/train.csv"),),
         files={"data/train.csv": "input,output\n" + "".join(f"q{i},{'' if i == 2 else 'a'}\n" for i in range(24))}),
    Case("chat_without_assistant", "data/train.jsonl", "line 2", "`messages` has no assistant turn",
         files={"data/train.jsonl": jsonl(0, 24, {2: json.dumps({"messages": [{"role": "user", "content": "hi"}]})})}),
    Case("duplicate_ids", "data/eval.jsonl", "line 6", "duplicate id 'r100' (also on line 1)",
         files={"data/eval.jsonl": jsonl(100, 8, {6: row(100)})}),
    Case("too_few_training_examples", "data/train.jsonl", None, "only 5 training examples (hint: `data.train` needs at least 8, since",
         files={"data/train.jsonl": jsonl(0, 5)}),
    # ---- rubric ----
    Case("reference_not_json_for_json_rubric", "data/train.jsonl", "row 'r0'",
         "its output cannot be scored: json_field_f1 needs a JSON object or array as the reference output, got '6:30'",
         edits=(("rubric: short_answer_qa", "rubric: strict_json"),)),
    Case("unknown_rubric_name", "task.yaml", "rubric (line 7)", "unknown rubric 'strict_jsn' (hint: did you mean 'strict_json'",
         edits=(("rubric: short_answer_qa", "rubric: strict_jsn"),)),
    Case("unknown_scorer", "task.yaml", "rubric[0].scorer (line 8)", "did you mean 'exact_match'",
         edits=criteria("{scorer: exact_mach}")),
    Case("unknown_scorer_option", "task.yaml", "rubric[0].options.normalise (line 8)", "did you mean 'normalize'",
         edits=criteria("{scorer: exact_match, options: {normalise: true}}")),
    Case("regex_without_pattern", "task.yaml", "rubric[0].options (line 8)", "scorer 'regex' needs option 'pattern'",
         edits=criteria("{scorer: regex}")),
    Case("invalid_regex", "task.yaml", "rubric[0].options.pattern (line 8)", "invalid regular expression '(unclosed'",
         edits=criteria("{scorer: regex, options: {pattern: '(unclosed'}}")),
    Case("negative_weight", "task.yaml", "rubric[1].weight (line 9)", "weights must be >= 0",
         edits=criteria("{scorer: exact_match, weight: 1}", "{scorer: token_f1, weight: -1}")),
    Case("all_weights_zero", "task.yaml", "rubric (line 7)", "not all zero (all are zero)",
         edits=criteria("{scorer: exact_match, weight: 0}", "{scorer: token_f1, weight: 0}")),
    Case("rubric_file_missing", "task.yaml", "rubric (line 7)", "rubric file not found: rubrics/mine.yaml",
         edits=(("rubric: short_answer_qa", "rubric: rubrics/mine.yaml"),)),
    Case("rubric_file_unknown_key", "rubrics/mine.yaml", "criteria[0].wieght (line 3)", "did you mean 'weight'",
         edits=(("rubric: short_answer_qa", "rubric: rubrics/mine.yaml"),),
         files={"rubrics/mine.yaml": "name: mine\ncriteria:\n  - {scorer: exact_match, wieght: 2}\n"}),
    # ---- corpus ----
    Case("corpus_missing", "task.yaml", "data.corpus (line 6)", "nodocs not found",
         edits=(("corpus: docs/", "corpus: nodocs/"),)),
    Case("corpus_no_readable_files", "task.yaml", "data.corpus (line 6)", "no readable corpus files in pdfs (found .docx, .pdf)",
         edits=(("corpus: docs/", "corpus: pdfs/"),), files={"pdfs/manual.pdf": b"%PDF-1.4", "pdfs/notes.docx": b"PK"}),
    Case("corpus_all_blank", "task.yaml", "data.corpus (line 6)", "the corpus is empty",
         edits=(("corpus: docs/", "corpus: blank/"),), files={"blank/a.md": "\n", "blank/b.txt": "  \n"}),
    Case("corpus_second_path_missing", "task.yaml", "data.corpus[1] (line 6)", "extra.md not found",
         edits=(("corpus: docs/", "corpus: [docs/, extra.md]"),)),
    Case("corpus_row_without_text", "docs/faq.jsonl", "line 2", "corpus rows need a `text` string",
         files={"docs/faq.jsonl": '{"id": "a", "text": "ok"}\n{"id": "b"}\n'}),
    # ---- model ----
    Case("endpoint_url_not_a_url", "task.yaml", "model.base_url (line 4)", "must be an http(s) URL",
         edits=endpoint(url="localhost:8000")),
    Case("api_key_env_holds_a_key", "task.yaml", "model.api_key_env (line 6)", "never the key itself",
         edits=endpoint(key="sk-abc123def456")),
    Case("model_folder_missing", "task.yaml", "model (line 3)", "model folder does not exist",
         edits=(("data:\n", "model: ./no-such-model\ndata:\n"),), command="compare"),
    Case("model_folder_without_config", "task.yaml", "model (line 3)", "has no config.json",
         edits=(("data:\n", "model: ./empty-model\ndata:\n"),), files={"empty-model/README.md": "weights go here\n"},
         command="compare"),
    # ---- levers ----
    Case("negative_lora_rank", "task.yaml", "levers.finetune.rank (line 14)", "must be > 0, got -4",
         edits=(("rank: 8", "rank: -4"),)),
    Case("chunk_overlap_not_below_tokens", "task.yaml", "levers.retrieval.chunk_overlap (line 14)",
         "must be smaller than chunk_tokens (64), got 64",
         edits=(("    top_k: [2]\n", "    top_k: [2]\n    chunk_tokens: 64\n    chunk_overlap: 64\n"),)),
    Case("prompt_k_beyond_training_pool", "task.yaml", "levers.prompt.shots (line 10)", "use k <= 12",
         edits=(("shots: [0, 2]", "shots: [0, 16]"),)),
    Case("retrieval_top_k_zero", "task.yaml", "levers.retrieval.top_k (line 12)", "each k must be between 1 and",
         edits=(("top_k: [2]", "top_k: 0"),)),
    Case("lr_out_of_range", "task.yaml", "levers.finetune.lr (line 16)", "learning rates must be between 0 and 1",
         edits=(("lr: auto", "lr: 5"),)),
    Case("lr_not_a_number", "task.yaml", "levers.finetune.lr (line 16)", "expected 'auto' or a number or a list, got 'fast'",
         edits=(("lr: auto", "lr: fast"),)),
    Case("step_budget_a_boolean", "task.yaml", "levers.finetune.max_steps (line 17)", "must be a whole number, got True",
         edits=(("lr: auto", "lr: auto\n    max_steps: true"),)),
    Case("step_budget_zero", "task.yaml", "levers.finetune.max_steps (line 17)", "must be >= 1, got 0",
         edits=(("lr: auto", "lr: auto\n    max_steps: 0"),)),
    Case("decision_margin_as_text", "task.yaml", "decision.margin (line 19)", "must be a number, got '5%'",
         edits=(("seed: 0", "seed: 0\ndecision:\n  margin: 5%"),)),
    Case("decision_margin_above_one", "task.yaml", "decision.margin (line 19)", "must be < 1.0, got 5",
         edits=(("seed: 0", "seed: 0\ndecision:\n  margin: 5"),)),
    # ---- command line ----
    Case("unknown_lever_option", None, "--levers", "unknown lever 'retreival' (hint: did you mean 'retrieval'",
         command="compare", args=("task.yaml", "--levers", "prompt,retreival")),
    Case("limit_zero", None, "--limit", "0 is not in the range x>=1", command="compare", args=("task.yaml", "--limit", "0")),
]

"""Hostile task.yaml values, YAML and secrets: exit 2 with one line naming the field, never a traceback, a hang,
a silent change of meaning or an echoed key. Valid look-alikes are still accepted."""
from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from advisor.backends.models import resolve_model
from advisor.backends.openai_compat import OpenAIBackend
from advisor.errors import UserError
from advisor.scaffold import scaffold
from advisor.spec import EndpointModel, load_task, pinpoint

from bad_inputs.cases import BASE_YAML, Case, materialize
from bad_inputs import one_error_line, run_in

KEY = "sk-HOSTILEkey0123456789abcdefXYZ"  # never to appear in any output
CTX_TRAIN = "".join(json.dumps({"id": f"r{i}", "input": f"Question {i}?", "output": "6:30",
                                "context_ids": ["hours.md"]}) + "\n" for i in range(24))






def endpoint(url: str = "http://127.0.0.1:8000/v1", key: str = "ADVISE_HOSTILE_KEY") -> tuple[str, str]:
    """A `model:` endpoint block on lines 3-6 (data moves down by four)."""
    return ("data:\n", f"model:\n  base_url: {url}\n  name: my-model\n  api_key_env: {key}\n" + "data:\n")


def after_key(line: str) -> tuple[str, str]:
    """Add `line` under the endpoint's api_key_env (line 7)."""
    return ("  api_key_env: ADVISE_HOSTILE_KEY\n", "  api_key_env: ADVISE_HOSTILE_KEY\n" + line)


# (case name, edits of BASE_YAML, the `file: where` the line must start with, a phrase it must contain)
REFUSED = [
    # ---- YAML ----
    ("duplicate_nested_key", [("    rank: 8", "    rank: 8\n    rank: 4")], "task.yaml: line 15", "duplicate key 'rank'"),
    ("seed_thousands_of_digits", [("seed: 0", "seed: " + "8" * 4400)], "task.yaml: line 17", "4400 digits"),
    ("seed_ninety_digits", [("seed: 0", "seed: " + "3" * 90)], "task.yaml: seed (line 17)",
     "got (a number with about 90 digits)"),
    ("flow_nesting_runaway", [("seed: 0", "seed: " + "[" * 2000 + "]" * 2000)], "task.yaml:", "nested"),
    ("key_that_is_a_number", [("seed: 0", "seed: 0\n42: x")], "task.yaml: (top level)", "a key must be text, got 42"),
    ("key_that_is_a_boolean", [("  prompt:\n", "  prompt:\n    off: 1\n")], "task.yaml: levers.prompt (line 9)",
     "are booleans in YAML"),
    ("binary_tag", [("name: bad-input-case", "name: !!binary Ym9vbQ==")], "task.yaml: name (line 1)",
     "!!binary value is not allowed"),
    ("unknown_key_long", [("seed: 0", "seed: 0\n" + "q" * 3000 + "x: 1")], "task.yaml:", "line 18"),
    # ---- values: name and instruction ----
    ("name_blank", [("name: bad-input-case", 'name: "  "')], "task.yaml: name (line 1)", "must not be blank"),
    ("name_dot_dot", [("name: bad-input-case", 'name: ".."')], "task.yaml: name (line 1)", "start with a dot"),
    ("name_nul", [("name: bad-input-case", 'name: "run\\0x"')], "task.yaml: name (line 1)", "control character U+0000"),
    ("name_escape_char", [("name: bad-input-case", 'name: "run\\ex"')], "task.yaml: name (line 1)", "U+001B"),
    ("name_leading_space", [("name: bad-input-case", 'name: " run"')], "task.yaml: name (line 1)",
     "must not start or end with a space"),
    ("name_too_many_bytes", [("name: bad-input-case", "name: " + "\u20ac" * 70)], "task.yaml: name (line 1)",
     "at most 200 bytes"),
    ("name_yaml_boolean", [("name: bad-input-case", "name: off")], "task.yaml: name (line 1)",
     'quote it: name: "off"'),
    ("name_yaml_number", [("name: bad-input-case", "name: 2024")], "task.yaml: name (line 1)",
     'quote it: name: "2024"'),
    ("name_yaml_date", [("name: bad-input-case", "name: 2024-05-01")], "task.yaml: name (line 1)",
     'quote it: name: "2024-05-01"'),
    ("instruction_blank", [("instruction: Answer the question with a short phrase.", 'instruction: " \\t "')],
     "task.yaml: instruction (line 2)", "must not be blank"),
    ("instruction_boolean", [("instruction: Answer the question with a short phrase.", "instruction: yes")],
     "task.yaml: instruction (line 2)", 'quote it: instruction: "yes"'),
    # ---- values: numbers ----
    ("seed_negative", [("seed: 0", "seed: -7")], "task.yaml: seed (line 17)", "0 <= seed < 2**32"),
    ("seed_too_big", [("seed: 0", "seed: 4294967296")], "task.yaml: seed (line 17)", "between 0 and 4294967295"),
    ("dev_size_over_half", [("data:\n", "data:\n  dev_size: 13\n")], "task.yaml: data.dev_size (line 4)",
     "use data.dev_size <= 12"),
    ("rank_yes", [("rank: 8", "rank: yes")], "task.yaml: levers.finetune.rank (line 14)",
     "must be a whole number, got True"),
    ("epochs_on", [("epochs: 2", "epochs: on")], "task.yaml: levers.finetune.epochs (line 15)", "booleans in YAML"),
    ("top_k_true", [("top_k: [2]", "top_k: true")], "task.yaml: levers.retrieval.top_k", "got True"),
    ("shots_with_boolean", [("shots: [0, 2]", "shots: [no, 2]")], "task.yaml: levers.prompt.shots[0] (line 10)",
     "got False"),
    ("lr_boolean", [("lr: auto", "lr: yes")], "task.yaml: levers.finetune.lr (line 16)", "booleans in YAML"),
    ("enabled_number", [("  prompt:\n", "  prompt:\n    enabled: 0\n")], "task.yaml: levers.prompt.enabled (line 10)",
     "must be true or false, got 0"),
    ("enabled_quoted_word", [("  prompt:\n", "  prompt:\n    enabled: 'off'\n")],
     "task.yaml: levers.prompt.enabled (line 10)", "must be true or false"),
    ("alpha_infinite", [("rank: 8", "rank: 8\n    alpha: .inf")], "task.yaml: levers.finetune.alpha (line 15)",
     "must be a finite number"),
    ("warmup_nan", [("rank: 8", "rank: 8\n    warmup_ratio: .nan")], "task.yaml: levers.finetune.warmup_ratio (line 15)",
     "must be a finite number"),
    ("calls_per_month_infinite", [("seed: 0", "seed: 0\ncosts:\n  calls_per_month: .Inf")],
     "task.yaml: costs.calls_per_month (line 19)", "finite"),
    ("margin_nan", [("seed: 0", "seed: 0\ndecision:\n  margin: .NaN")], "task.yaml: decision.margin (line 19)", "finite"),
    ("generation_batch_size_zero", [("seed: 0", "seed: 0\ngeneration:\n  batch_size: 0")],
     "task.yaml: generation.batch_size (line 19)", "must be 'auto' or a whole number >= 1, got 0"),
    ("generation_batch_size_word", [("seed: 0", "seed: 0\ngeneration:\n  batch_size: many")],
     "task.yaml: generation.batch_size (line 19)", "must be 'auto' or a whole number >= 1, got 'many'"),
    ("generation_batch_size_yes", [("seed: 0", "seed: 0\ngeneration:\n  batch_size: yes")],
     "task.yaml: generation.batch_size (line 19)", "got True"),
    ("every_lever_disabled", [("levers:\n", "levers:\n  retrieval+finetune: {enabled: false}\n"),
                              ("  prompt:\n", "  prompt:\n    enabled: false\n"),
                              ("  retrieval:\n", "  retrieval:\n    enabled: false\n"),
                              ("  finetune:\n", "  finetune:\n    enabled: false\n")],
     "task.yaml: levers (line 8)", "every lever is disabled"),
    # ---- endpoint and secrets ----
    ("api_key_env_not_a_name", [endpoint(key='"my openai key"')], "task.yaml: model.api_key_env (line 6)",
     "never the key itself"),
    ("api_key_env_starts_with_digit", [endpoint(key="9KEY")], "task.yaml: model.api_key_env (line 6)", "NAME"),
    ("base_url_with_password", [endpoint(url="http://me:hunter2@127.0.0.1:8000/v1")], "task.yaml: model.base_url (line 4)",
     "name it in model.api_key_env"),
    ("base_url_with_bad_port", [endpoint(url="http://127.0.0.1:99999/v1")], "task.yaml: model.base_url (line 4)",
     "not a valid URL"),
    ("endpoint_name_blank", [endpoint(), ("  name: my-model\n", '  name: " "\n')], "task.yaml: model.name (line 5)",
     "must not be blank"),
    ("model_blank", [("data:\n", 'model: ""\ndata:\n')], "task.yaml: model (line 3)", "must not be blank"),
]


@pytest.mark.parametrize("name, edits, starts, phrase", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_with_one_line(name, edits, starts, phrase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ADVISE_HOSTILE_KEY", "a-value")
    materialize(Case(name, None, None, edits=tuple(edits)), tmp_path)
    t0 = time.perf_counter()
    line = one_error_line(run_in(tmp_path, monkeypatch, "validate", "task.yaml"))
    assert time.perf_counter() - t0 < 10
    assert line.startswith(f"error: {starts}"), line
    assert phrase in line, line
    assert "hunter2" not in line and len(line) < 400, line


SECRET_FIELDS = [
    ("api_key_env_holds_key", [endpoint(key=KEY)], "model.api_key_env (line 6)"),
    ("api_key_env_holds_hf_token", [endpoint(key="hf_HOSTILEabcdefghijklmnop")], "model.api_key_env (line 6)"),
    ("api_key_env_holds_hex", [endpoint(key="9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c")], "model.api_key_env (line 6)"),
    ("base_url_user_key", [endpoint(url=f"https://{KEY}@api.example.com/v1")], "model.base_url (line 4)"),
    ("base_url_query_key", [endpoint(url=f"http://127.0.0.1:8000/v1?api-key={KEY}")], "model.base_url (line 4)"),
    ("concurrency_key", [endpoint(), after_key(f"  concurrency: {KEY}\n")], "model.concurrency (line 7)"),
    ("timeout_key", [endpoint(), after_key(f"  timeout: {KEY}\n")], "model.timeout (line 7)"),
    ("task_name_key", [("name: bad-input-case", f"name: {KEY}")], "name (line 1)"),
    ("seed_key", [("seed: 0", f"seed: {KEY}")], "seed (line 17)"),
    ("lr_key_in_list", [("lr: auto", f"lr: [{KEY}]")], "levers.finetune.lr"),
    ("model_key_in_list", [("data:\n", f"model: [{KEY}]\ndata:\n")], "model (line 3)"),
    ("unknown_key_named_like_a_key", [("seed: 0", f"seed: 0\n{KEY}: 1")], "(a value that looks like a secret"),
    ("model_is_a_key", [("data:\n", f"model: {KEY}\ndata:\n")], "model (line 3)"),
]


@pytest.mark.parametrize("name, edits, where", SECRET_FIELDS, ids=[c[0] for c in SECRET_FIELDS])
def test_a_key_in_any_field_is_never_echoed(name, edits, where, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ADVISE_HOSTILE_KEY", "a-value")
    materialize(Case(name, None, None, edits=tuple(edits)), tmp_path)
    result = run_in(tmp_path, monkeypatch, "validate", "task.yaml")
    line = one_error_line(result)
    assert line.startswith("error: task.yaml: ") and where in line, line
    for fragment in ("HOSTILEkey", "HOSTILEabc", "9f8e7d6c5b4a"):
        assert fragment not in result.output


def test_unset_key_variable_fails_validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("ADVISE_HOSTILE_KEY", raising=False)
    materialize(Case("unset", None, None, edits=(endpoint(),)), tmp_path)
    line = one_error_line(run_in(tmp_path, monkeypatch, "validate", "task.yaml"))
    assert line.startswith("error: task.yaml: model.api_key_env (line 6): environment variable ADVISE_HOSTILE_KEY "
                           "is not set or empty"), line
    assert "export ADVISE_HOSTILE_KEY=..." in line
    monkeypatch.setenv("ADVISE_HOSTILE_KEY", KEY)
    result = run_in(tmp_path, monkeypatch, "validate", "task.yaml")
    assert result.exit_code == 0, result.output
    assert "HOSTILEkey" not in result.output


def test_seed_option_out_of_range(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    materialize(Case("seed", None, None), tmp_path)
    line = one_error_line(run_in(tmp_path, monkeypatch, "compare", "task.yaml", "--seed", "-1"))
    assert line.startswith("error: --seed: must be between 0 and 4294967295, got -1"), line


def test_levers_option_naming_only_disabled_levers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    materialize(Case("off", None, None, edits=(("  prompt:\n", "  prompt:\n    enabled: false\n"),)), tmp_path)
    line = one_error_line(run_in(tmp_path, monkeypatch, "compare", "task.yaml", "--levers", "prompt"))
    assert line.startswith("error: --levers: every lever chosen (prompt) is disabled"), line


# ---- the task file itself: never a hang, always one line ----

@pytest.mark.parametrize("command", ["validate", "compare"])
def test_task_file_is_a_fifo(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    materialize(Case("fifo", None, None), tmp_path)
    os.mkfifo(tmp_path / "pipe.yaml")
    t0 = time.perf_counter()
    line = one_error_line(run_in(tmp_path, monkeypatch, command, "pipe.yaml"))
    assert time.perf_counter() - t0 < 10
    assert line.startswith("error: pipe.yaml: is a named pipe (FIFO), not a regular file"), line


@pytest.mark.parametrize("setup, arg, expected", [
    ("loop", "task.yaml", "error: task.yaml: is a symlink loop"),
    (None, "/dev/zero", "error: /dev/zero: is a device, not a regular file"),
    (None, "data", "error: data: is a folder, not a task file"),
    (None, "", "error: TASK_FILE: is an empty path"),
    (None, "missing/task.yaml", "error: missing/task.yaml: task file not found"),
    (None, "y" * 3000 + ".yaml", "is too long a path"),
])
def test_task_file_kinds(setup, arg, expected, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    materialize(Case("kind", None, None), tmp_path)
    if setup == "loop":
        (tmp_path / "task.yaml").unlink()
        (tmp_path / "task.yaml").symlink_to("task.yaml")
    line = one_error_line(run_in(tmp_path, monkeypatch, "validate", arg))
    assert expected in line and len(line) < 400, line


@pytest.mark.parametrize("encode", [
    lambda t: b"\xff\xfe" + t.encode("utf-16-le"),
    lambda t: b"\xfe\xff" + t.encode("utf-16-be"),
    lambda t: t.replace("\n", "\r").encode(),
    lambda t: b"\xef\xbb\xbf" + t.replace("\n", "\r\n").encode(),
], ids=["utf16le", "utf16be", "cr_only", "utf8_bom_crlf"])
def test_task_file_encodings_accepted(encode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    materialize(Case("enc", None, None, task=encode(BASE_YAML)), tmp_path)
    result = run_in(tmp_path, monkeypatch, "validate", "task.yaml")
    assert result.exit_code == 0, result.output


def test_latin1_task_file_names_the_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    materialize(Case("latin1", None, None, task=BASE_YAML.replace("short phrase", "short phras\xe9").encode("latin-1")),
                tmp_path)
    line = one_error_line(run_in(tmp_path, monkeypatch, "validate", "task.yaml"))
    assert line.startswith("error: task.yaml: line 2: not valid UTF-8"), line


# ---- valid look-alikes are accepted, and mean what they say ----

@pytest.mark.parametrize("edits", [
    [("seed: 0", "seed: 4294967295")],
    [("data:\n", "data:\n  dev_size: 12\n")],
    [("name: bad-input-case", 'name: "no"')],
    [("name: bad-input-case", "name: Bäckerei Q&A v2")],
    [("rank: 8", "rank: '8'")],
    [endpoint(key="MY_COMPANY_OPENAI_API_KEY_FOR_PRODUCTION_2024")],
    [("levers:\n", "levers:\n  retrieval+finetune: {enabled: false}\n"),
     ("  prompt:\n", "  prompt:\n    enabled: false\n"), ("  retrieval:\n", "  retrieval:\n    enabled: false\n")],
    [("name: bad-input-case", "name: my-bakery-qa-task-version-2-with-more-data-2024")],
    [endpoint(url="https://example.openai.azure.com/openai/deployments/gpt-4o-mini-2024-07-18?api-version=2024-02-15-preview")],
], ids=["seed_max", "dev_size_half", "quoted_no", "unicode_name", "quoted_rank", "long_env_name", "one_lever_left",
        "long_descriptive_name", "url_with_api_version"])
def test_valid_look_alikes_accepted(edits, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MY_COMPANY_OPENAI_API_KEY_FOR_PRODUCTION_2024", "x")
    monkeypatch.setenv("ADVISE_HOSTILE_KEY", "x")
    materialize(Case("valid", None, None, edits=tuple(edits)), tmp_path)
    result = run_in(tmp_path, monkeypatch, "validate", "task.yaml")
    assert result.exit_code == 0, result.output


def test_quoted_no_stays_text(tmp_path: Path):
    materialize(Case("valid", None, None, edits=(("name: bad-input-case", 'name: "no"'), ("rank: 8", "rank: '8'"))),
                tmp_path)
    task = load_task(tmp_path / "task.yaml")
    assert task.name == "no" and task.levers.finetune.rank == 8


def test_context_ids_without_corpus_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Rows naming gold documents with no corpus: the corpus line was forgotten, so retrieval would silently skip."""
    materialize(Case("ctx", None, None, edits=(("  corpus: docs/\n", ""),), files={"data/train.jsonl": CTX_TRAIN}),
                tmp_path)
    result = run_in(tmp_path, monkeypatch, "validate", "task.yaml")
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: task.yaml: data.train (line 4): rows name corpus documents"), result.output
    assert "set data.corpus" in result.output


@pytest.mark.parametrize("folder, name", [("no", 'name: "no"'), ("2024", 'name: "2024"'), ("a: b#c", "name: a-b-c"),
                                          (".hidden", "name: hidden"), (KEY, "name: my-task")])
def test_init_writes_a_name_that_validates(folder: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    scaffold(tmp_path / folder)
    assert name in (tmp_path / folder / "task.yaml").read_text().splitlines()
    result = run_in(tmp_path, monkeypatch, "validate", str(Path(folder) / "task.yaml"))
    assert result.exit_code == 0, result.output


def test_init_into_a_file(tmp_path: Path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UserError, match="is not a folder"):
        scaffold(tmp_path / "afile")


# ---- library paths: pinpoint, model resolution, the endpoint backend ----

def test_pinpoint_never_reads_a_fifo_or_crashes(tmp_path: Path):
    os.mkfifo(tmp_path / "pipe.yaml")
    err = UserError(tmp_path / "pipe.yaml", "rubric", "bad")
    assert pinpoint(err) is err
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    err = UserError(deep, "a", "bad")
    assert pinpoint(err) is err
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" + b"#" * (2 * 2**20))
    assert pinpoint(UserError(big, "a", "bad")).where == "a"


def test_resolve_model_never_echoes_a_key_or_a_huge_path(tmp_path: Path):
    with pytest.raises(UserError) as err:
        resolve_model(KEY, tmp_path, "model", tmp_path / "task.yaml")
    assert "HOSTILEkey" not in str(err.value) and err.value.where == "model"
    with pytest.raises(UserError) as err:
        resolve_model("z" * 5000, tmp_path, "model", tmp_path / "task.yaml")
    assert len(str(err.value)) < 400 and err.value.where == "model"


class _Echo(BaseHTTPRequestHandler):
    """Answers every completion with an error that quotes the Authorization header and the key back."""

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = json.dumps({"error": {"message": f"bad {self.headers.get('authorization')} {KEY}"}}).encode()
        self.send_response(self.server.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.parametrize("status", [400, 500])
def test_endpoint_errors_redact_url_credentials_and_keys(status: int, monkeypatch: pytest.MonkeyPatch):
    """load() refuses credentials in base_url; a library caller that builds the spec itself still gets no echo."""
    monkeypatch.setenv("ADVISE_HOSTILE_KEY", KEY)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.status = status
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://user:pw-HOSTILE-9876@127.0.0.1:{server.server_address[1]}/v1"
        spec = EndpointModel.model_construct(base_url=url, name="m", api_key_env="ADVISE_HOSTILE_KEY", concurrency=1,
                                             timeout=5.0, max_retries=0, weights=None)
        backend = OpenAIBackend(spec, "task.yaml", backoff_base=0.01, backoff_cap=0.02)
        with pytest.raises(UserError) as err:
            backend.generate([[{"role": "user", "content": "hi"}]], 4, lambda idx, gens: None)
    finally:
        server.shutdown()
    shown = " ".join([str(err.value), repr(backend), backend.identity, backend.description, backend.base_url])
    assert "pw-HOSTILE" not in shown and "HOSTILEkey" not in shown and "dXNlcjpwdy1IT1NUSUxF" not in shown
    assert "***" in str(err.value)


def test_connection_error_redacts_url_credentials():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    spec = EndpointModel.model_construct(base_url=f"http://me:pw-HOSTILE-1234@127.0.0.1:{port}/v1", name="m",
                                         api_key_env=None, concurrency=1, timeout=5.0, max_retries=0, weights=None)
    with pytest.raises(UserError) as err:
        OpenAIBackend(spec, "task.yaml").generate([[{"role": "user", "content": "hi"}]], 4, lambda idx, gens: None)
    assert err.value.where == "model.base_url" and "cannot connect to http://***@127.0.0.1" in str(err.value)
    assert "pw-HOSTILE" not in str(err.value)


def test_only_retrieval_enabled_without_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    materialize(Case("nothing_runs", None, None, edits=(("  corpus: docs/\n", ""),
                                                        ("  prompt:\n", "  prompt:\n    enabled: false\n"),
                                                        ("  finetune:\n", "  finetune:\n    enabled: false\n"))),
                tmp_path)
    line = one_error_line(run_in(tmp_path, monkeypatch, "validate", "task.yaml"))
    assert line.startswith("error: task.yaml: levers (line 7): no lever can run (retrieval: no data.corpus; "
                           "retrieval+finetune: no data.corpus)"), line


@pytest.mark.parametrize("edit, where", [(("train: data/train.jsonl", "train: ''"), "data.train (line 4)"),
                                         (("eval: data/eval.jsonl", 'eval: "  "'), "data.eval (line 5)"),
                                         (("corpus: docs/", "corpus: ['docs/', '']"), "data.corpus (line 6)")])
def test_empty_paths_are_refused(edit: tuple[str, str], where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An empty path is not the task's own folder (Path('') == Path('.'))."""
    materialize(Case("empty", None, None, edits=(edit,)), tmp_path)
    result = run_in(tmp_path, monkeypatch, "validate", "task.yaml")
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: task.yaml: {where}: must not be empty"), result.output


@pytest.mark.parametrize("model, message", [("/dev/zero", "/dev/zero is not a folder"),
                                            ("no-such-folder", "model folder does not exist: no-such-folder"),
                                            ("docs", "has no config.json")])
def test_validate_checks_a_local_model_folder(model: str, message: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch):
    """`advise validate` runs every load-time check: a local model folder must exist and hold config.json."""
    materialize(Case("model", None, None, edits=(("seed: 0", f"seed: 0\nmodel: {model}"),)), tmp_path)
    line = one_error_line(run_in(tmp_path, monkeypatch, "validate", "task.yaml"))
    assert line.startswith("error: task.yaml: model (line 18): ") and message in line, line

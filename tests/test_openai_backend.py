"""The OpenAI-compatible backend against real servers on loopback: llm-katan serving the tiny model, and a
canned-status http.server for retry rules. End to end through the CLI, outages, resume, and the key's secrecy."""
from __future__ import annotations

import json
import random
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from advisor.backends.base import generate_cached
from advisor.backends.openai_compat import OpenAIBackend, backoff_delays, estimate_tokens
from advisor.cli import main
from advisor.errors import UserError
from advisor.progress import Reporter
from advisor.runs import JsonlCache
from advisor.spec import EndpointModel

from conftest import write_task
from katan import Katan, free_port, katan_missing

SECRET = "sk-test-SECRET123"
needs_katan = pytest.mark.skipif(katan_missing() is not None, reason=katan_missing() or "")


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def cli_text(result) -> str:
    return result.output + result.stderr  # click >= 8.2: output has both streams; stderr alone for good measure


def endpoint_yaml(base_url: str, name: str = "tiny", api_key_env: str | None = None, **more) -> str:
    fields = {"base_url": base_url, "name": name, **({"api_key_env": api_key_env} if api_key_env else {}), **more}
    return "{" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in fields.items()) + "}"


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "error:" in line]


@pytest.fixture(scope="module")
def katan(tmp_path_factory, tiny_model):
    if katan_missing():
        pytest.skip(katan_missing())
    server = Katan(tiny_model, "tiny", free_port(), tmp_path_factory.mktemp("katan")).start()
    yield server
    server.stop()


# --- end to end through the CLI ----------------------------------------------------------------------------

@needs_katan
def test_compare_on_endpoint_keeps_the_key_secret(katan, tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("ADVISE_TEST_KEY", SECRET)
    task = write_task(tmp_path / "task", endpoint_yaml(katan.base_url, api_key_env="ADVISE_TEST_KEY"))
    out = tmp_path / "run"
    first = run_cli("compare", str(task), "--out", str(out))
    assert first.exit_code == 0, first.output
    results = json.loads((out / "results.json").read_text())
    assert results["model"]["kind"] == "openai" and results["model"]["source"] == katan.base_url
    levers = {lev["name"]: lev for lev in results["levers"]}
    assert levers["prompt"]["status"] == "ok" and levers["retrieval"]["status"] == "ok"
    assert levers["finetune"]["status"] == "skipped" and "weights" in levers["finetune"]["reason"]
    rows = [json.loads(line) for line in (out / "predictions" / "prompt.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and all(r["input_tokens"] > 0 and r["seconds"] > 0 for r in rows)  # usage from the server

    # the same endpoint with its weights on disk: finetune trains locally, the endpoint answers stay cached
    served_before = katan.requests_served()
    task.write_text(task.read_text().replace("api_key_env:", f"weights: {json.dumps(str(tiny_model))}, api_key_env:"))
    second = run_cli("compare", str(task), "--out", str(out))
    assert second.exit_code == 0, second.output
    assert katan.requests_served() == served_before, "a rerun asked the endpoint again"
    levers = {lev["name"]: lev for lev in json.loads((out / "results.json").read_text())["levers"]}
    assert levers["finetune"]["status"] == "ok" and (out / "predictions" / "finetune.jsonl").is_file()

    assert SECRET not in cli_text(first) + cli_text(second)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.name == "generations.jsonl" for p in files) and any(p.name == "report.html" for p in files)
    leaked = [str(p) for p in files if SECRET.encode() in p.read_bytes() or b"SECRET123" in p.read_bytes()]
    assert not leaked, f"the API key was written to {leaked}"


def test_missing_key_variable_names_the_field(tmp_path, monkeypatch):
    monkeypatch.delenv("ADVISE_ABSENT_KEY", raising=False)
    task = write_task(tmp_path / "task", endpoint_yaml(f"http://127.0.0.1:{free_port()}/v1",
                                                       api_key_env="ADVISE_ABSENT_KEY"), corpus=False)
    result = run_cli("compare", str(task), "--out", str(tmp_path / "run"), "--levers", "prompt")
    assert result.exit_code == 2
    [line] = error_lines(result.output)
    assert "model.api_key_env" in line and "ADVISE_ABSENT_KEY" in line and "Traceback" not in result.output
    monkeypatch.setenv("ADVISE_ABSENT_KEY", "  ")  # set but blank counts as missing
    result = run_cli("compare", str(task), "--out", str(tmp_path / "run"), "--levers", "prompt")
    assert result.exit_code == 2 and "model.api_key_env" in result.output


def test_connection_refused_fails_fast_on_one_line(tmp_path):
    port = free_port()  # nothing listens there
    task = write_task(tmp_path / "task", endpoint_yaml(f"http://127.0.0.1:{port}/v1", max_retries=1), corpus=False)
    t0 = time.perf_counter()
    result = run_cli("compare", str(task), "--out", str(tmp_path / "run"), "--levers", "prompt")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    [line] = error_lines(result.output)
    assert "model.base_url" in line and f"127.0.0.1:{port}" in line and "connection refused" in line
    assert "server running" in line and "2 attempts" in line
    assert time.perf_counter() - t0 < 60


def test_connection_refused_is_bounded_by_max_retries():
    spec = EndpointModel(base_url=f"http://127.0.0.1:{free_port()}/v1", name="tiny", max_retries=3, concurrency=4)
    backend = OpenAIBackend(spec, "task.yaml", backoff_base=0.05)
    t0 = time.perf_counter()
    with pytest.raises(UserError) as err:
        backend.generate([[{"role": "user", "content": f"q{i}"}] for i in range(8)], 4, lambda i, g: None)
    assert err.value.where == "model.base_url" and "4 attempts" in str(err.value)
    assert time.perf_counter() - t0 < 5  # 0.05 + 0.1 + 0.2 s of backoff at most, not 8 x that


# --- an outage in the middle of a run ----------------------------------------------------------------------

class KillServerAfter:
    """Pass-through backend that SIGKILLs the server once `n` results have been saved."""

    def __init__(self, backend: OpenAIBackend, server: Katan, n: int):
        self.backend, self.server, self.n, self.saved = backend, server, n, 0
        self.identity, self.generation_identity, self.kind = backend.identity, backend.generation_identity, backend.kind

    def count_tokens(self, text: str) -> int:
        return self.backend.count_tokens(text)

    def generate(self, conversations, max_new_tokens, on_done):
        def saved(idx, gens):
            on_done(idx, gens)
            self.saved += len(gens)
            if self.saved >= self.n:
                self.server.stop(signal.SIGKILL)
        return self.backend.generate(conversations, max_new_tokens, saved)


@needs_katan
def test_server_killed_mid_run_then_resumed_from_cache(tmp_path, tiny_model):
    server = Katan(tiny_model, "tiny", free_port(), tmp_path / "katan").start()
    try:
        spec = EndpointModel(base_url=server.base_url, name="tiny", concurrency=1, max_retries=2)
        backend = OpenAIBackend(spec, tmp_path / "task.yaml", backoff_base=0.05)
        conversations = [[{"role": "user", "content": f"Who is the head baker, question {i}?"}] for i in range(6)]
        cache_file = tmp_path / "generations.jsonl"
        t0 = time.perf_counter()
        with pytest.raises(UserError) as err:
            generate_cached(KillServerAfter(backend, server, 3), conversations, 6, JsonlCache(cache_file),
                            Reporter(), "eval")
        assert err.value.where == "model.base_url" and "cannot connect" in str(err.value)
        assert time.perf_counter() - t0 < 30
        saved = len(JsonlCache(cache_file))
        assert 3 <= saved < 6, "finished results must be saved before the error is raised"

        server.start()  # same port, same stats file
        before = server.requests_served()
        gens = generate_cached(backend, conversations, 6, JsonlCache(cache_file), Reporter(), "eval")
        assert server.requests_served() - before == 6 - saved, "the cached part was requested again"
        assert len(gens) == 6 and len(JsonlCache(cache_file)) == 6
        assert all(g.input_tokens > 0 for g in gens)
    finally:
        server.stop()


# --- retry rules against canned statuses ------------------------------------------------------------------

class Canned(ThreadingHTTPServer):
    """POST /v1/chat/completions answers the next scripted (status, body, headers): 200 echoes the user turn
    (a str body is sent as HTML instead), 0 is a 200 that comes a second late."""

    daemon_threads = True

    def __init__(self, script: list[tuple[int, dict | None, dict]], models: list[str] = ("tiny",)):
        super().__init__(("127.0.0.1", 0), _CannedHandler)
        self.script, self.models, self.posts, self.lock = list(script), list(models), 0, threading.Lock()
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def handle_error(self, request, client_address) -> None:
        pass  # a client that timed out closed the socket under a late answer: expected here


class _CannedHandler(BaseHTTPRequestHandler):
    server: Canned

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: dict | str, headers: dict | None = None) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "text/html" if isinstance(body, str) else "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._send(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in self.server.models]})

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["content-length"])))
        with self.server.lock:
            self.server.posts += 1
            status, body, headers = self.server.script.pop(0) if len(self.server.script) > 1 else self.server.script[0]
        if status == 0:  # a server that answers too late
            time.sleep(1.0)
            status = 200
        if status == 200 and not isinstance(body, str):
            text = request["messages"][-1]["content"]
            body = {"id": "x", "object": "chat.completion", "created": 0, "model": request["model"],
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                    **(body or {})}
        self._send(status, body or {"error": {"message": f"canned {status}"}}, headers)


@pytest.fixture
def canned():
    servers = []

    def make(script, models=("tiny",)):
        servers.append(Canned(script, models))
        return servers[-1]
    yield make
    for s in servers:
        s.shutdown()
        s.server_close()


def quick_backend(url: str, max_retries: int = 3, name: str = "tiny", api_key_env: str | None = None, **more):
    spec = EndpointModel(base_url=url, name=name, max_retries=max_retries, api_key_env=api_key_env, **more)
    return OpenAIBackend(spec, "task.yaml", backoff_base=0.01, backoff_cap=0.05)


def one(backend: OpenAIBackend, text: str = "hello there"):
    return backend.generate([[{"role": "user", "content": text}]], 4, lambda i, g: None)[0]


def test_backoff_schedule_doubles_with_jitter_and_cap():
    class Fixed(random.Random):
        def __init__(self, value):
            super().__init__()
            self.value = value

        def random(self):
            return self.value

    assert backoff_delays(4, base=0.5, cap=30, rng=Fixed(0.0)) == [0.25, 0.5, 1.0, 2.0]
    top = backoff_delays(8, base=0.5, cap=10, rng=Fixed(1.0))
    assert top == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    jittered = backoff_delays(6, base=1.0, cap=100, rng=random.Random(0))
    assert all(0.5 * 2 ** i <= d < 2 ** i for i, d in enumerate(jittered))
    assert backoff_delays(0) == []


def test_429_and_5xx_are_retried(canned):
    server = canned([(429, None, {"retry-after": "0"}), (500, None, {}), (503, None, {}),
                     (200, {"usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}}, {})])
    gen = one(quick_backend(server.base_url, max_retries=3))
    assert server.posts == 4 and gen.text == "hello there"
    assert (gen.input_tokens, gen.output_tokens) == (11, 3) and gen.seconds > 0


def test_400_is_not_retried(canned):
    server = canned([(400, {"error": {"message": "max_tokens is too large"}}, {}), (200, None, {})])
    with pytest.raises(UserError) as err:
        one(quick_backend(server.base_url))
    assert server.posts == 1 and err.value.where == "model" and "max_tokens is too large" in str(err.value)


def test_retries_are_bounded_then_one_clear_line(canned):
    server = canned([(502, {"error": {"message": "bad gateway"}}, {})])
    with pytest.raises(UserError) as err:
        one(quick_backend(server.base_url, max_retries=2))
    assert server.posts == 3
    assert "kept failing (502, after 3 attempts)" in str(err.value) and "\n" not in str(err.value)
    server = canned([(429, None, {})])
    with pytest.raises(UserError) as err:
        one(quick_backend(server.base_url, max_retries=1))
    assert server.posts == 2 and err.value.where == "model.concurrency"


def test_rejected_key_never_echoed(canned, monkeypatch):
    monkeypatch.setenv("ADVISE_TEST_KEY", SECRET)
    server = canned([(401, {"error": {"message": f"invalid API key: got '{SECRET}'"}}, {})])
    backend = quick_backend(server.base_url, api_key_env="ADVISE_TEST_KEY")
    assert SECRET not in repr(backend) and SECRET not in backend.identity and SECRET not in str(vars(backend))
    with pytest.raises(UserError) as err:
        one(backend)
    assert server.posts == 1 and err.value.where == "model.api_key_env" and "(401)" in str(err.value)
    assert SECRET not in str(err.value)
    # a server message that quotes the key is redacted wherever it is shown
    server = canned([(422, {"error": {"message": f"bad request from {SECRET}"}}, {})])
    with pytest.raises(UserError) as err:
        one(quick_backend(server.base_url, api_key_env="ADVISE_TEST_KEY"))
    assert SECRET not in str(err.value) and "***" in str(err.value)


def test_unknown_model_lists_what_the_server_has(canned):
    server = canned([(404, {"error": {"message": "model not found"}}, {})], models=["tiny-chat", "big-chat"])
    with pytest.raises(UserError) as err:
        one(quick_backend(server.base_url, name="tiny-chta"))
    assert err.value.where == "model.name" and "tiny-chat" in str(err.value) and server.posts == 1


def test_without_usage_tokens_are_estimated(canned):
    server = canned([(200, None, {})])
    backend = quick_backend(server.base_url)
    text = "Who is the head baker at the bakery?"
    gen = one(backend, text)
    assert estimate_tokens(text) == 9 and estimate_tokens("") == 0  # ceil(36 / 4)
    assert gen.input_tokens == backend.count_tokens(text) == gen.output_tokens  # the server echoed the text
    assert gen.input_tokens > 0


def test_concurrent_results_keep_their_order_and_arrive_in_groups(canned):
    server = canned([(200, None, {})])
    backend = quick_backend(server.base_url, concurrency=3)
    groups: list[list[int]] = []
    convs = [[{"role": "user", "content": f"question {i}"}] for i in range(10)]
    gens = backend.generate(convs, 4, lambda idx, g: groups.append(list(idx)))
    assert [g.text for g in gens] == [f"question {i}" for i in range(10)]
    assert sorted(i for grp in groups for i in grp) == list(range(10)) and len(groups) > 1
    assert server.posts == 10


def test_timeouts_are_retried_then_name_the_timeout(canned):
    server = canned([(0, None, {}), (200, None, {})])
    assert one(quick_backend(server.base_url, max_retries=1, timeout=0.3)).text == "hello there"
    assert server.posts == 2
    server = canned([(0, None, {})])
    with pytest.raises(UserError) as err:
        one(quick_backend(server.base_url, max_retries=1, timeout=0.3))
    assert server.posts == 2 and err.value.where == "model.timeout" and "0.3 s" in str(err.value)


def test_a_web_page_is_not_an_endpoint(canned):
    server = canned([(200, "<html><body>Welcome to nginx</body></html>", {})])
    with pytest.raises(UserError) as err:
        one(quick_backend(server.base_url))
    assert err.value.where == "model.base_url" and "did not answer like an OpenAI-compatible server" in str(err.value)

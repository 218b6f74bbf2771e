"""OpenAI-compatible endpoint backend (OpenAI, vLLM, Ollama, llama.cpp server, llm-katan).

Greedy chat completions with bounded concurrency, our own retries (exponential backoff with jitter on 429,
5xx, timeouts and connection errors) and one-line UserErrors for what a user can fix. The API key is read
only from the environment variable named by `model.api_key_env` and never appears in a message or repr.
Nothing touches the network before the first `generate`, so `advise validate` stays offline.
"""
from __future__ import annotations

import math
import os
import random
import re
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Callable

from ..errors import UserError, did_you_mean, redact, shown
from ..spec import EndpointModel
from .base import Generation, Messages

NO_KEY = "not-needed"  # local servers ignore the key, but the client insists on one
RETRY_STATUSES = frozenset({408, 429})  # plus every 5xx
FLUSH_SECONDS = 2.0  # hand finished results to the cache at least this often
_KEYLIKE = re.compile(r"\bsk-[A-Za-z0-9_\-*.]{6,}")  # OpenAI-style keys a server might quote back
_AUTH_HEADER = re.compile(r"(?i)\b(Basic|Bearer|Token)\s+[A-Za-z0-9._~+/=-]{6,}")  # an Authorization header quoted back


def backoff_delays(retries: int, base: float = 0.5, cap: float = 30.0,
                   rng: random.Random | None = None) -> list[float]:
    """Wait before retry i: base * 2**i, capped, scaled by a random factor in [0.5, 1) so clients spread out."""
    rng = rng or random.Random()
    return [min(cap, base * 2 ** i) * (0.5 + 0.5 * rng.random()) for i in range(retries)]


def estimate_tokens(text: str) -> int:
    """Tokenizer-free estimate: about 4 characters per token for English (ceil(len / 4))."""
    return math.ceil(len(text) / 4)


def _tiktoken_counter() -> Callable[[str], int] | None:
    """cl100k_base from tiktoken when installed and its data is available offline, else None."""
    try:
        import tiktoken

        enc = tiktoken.get_encoding("cl100k_base")
        return lambda text: len(enc.encode(text, disallowed_special=()))
    except Exception:  # not installed, or it would need to download its BPE file
        return None


class _Secret:
    """Holds the key so that no repr, traceback local or f-string shows it."""

    def __init__(self, value: str):
        self.value = value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__


class _Stopped(Exception):
    """A worker gave up because another request already failed for good."""


class _Retryable(Exception):
    def __init__(self, cause: Exception, retry_after: float | None = None):
        super().__init__(str(cause))
        self.cause, self.retry_after = cause, retry_after


class OpenAIBackend:
    kind = "openai"

    def __init__(self, spec: EndpointModel, task_file: Path | str | None = None, backoff_base: float = 0.5,
                 backoff_cap: float = 30.0, field: str = "model"):
        self.spec = spec
        self.task_file = task_file
        self.field = field  # where the endpoint is set in task_file (an llm_judge's judge: is elsewhere)
        self._url = spec.base_url.rstrip("/")  # for the client only; messages and records use base_url
        # redacted: load refuses credentials in base_url, this is the second line of defence for library callers
        self.base_url = redact(self._url)
        self.name = spec.name
        self.identity = f"openai:{self.base_url}/{self.name}"
        self.generation_identity = self.identity
        self.description = redact(f"{self.name} at {self.base_url}")
        self.concurrency = spec.concurrency
        self.max_retries = spec.max_retries
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self._key = _Secret(self._read_key())
        self._client = None
        self._count: Callable[[str], int] | None = None  # chosen on first use: nothing heavy at construction

    def __repr__(self) -> str:
        return f"OpenAIBackend({self.identity!r})"

    def _read_key(self) -> str:
        env = self.spec.api_key_env
        if env is None:
            return NO_KEY
        value = os.environ.get(env, "").strip()
        if not value:
            raise UserError(self.task_file, f"{self.field}.api_key_env", f"environment variable {env} is not set or empty",
                            f"export {env}=... before running, or remove {self.field}.api_key_env for a local server")
        return value

    @property
    def client(self):
        if self._client is None:
            from openai import OpenAI

            # max_retries=0: we retry ourselves (tested, and we know when to stop and what to say)
            self._client = OpenAI(base_url=self._url, api_key=self._key.value, timeout=self.spec.timeout,
                                  max_retries=0)
        return self._client

    def count_tokens(self, text: str) -> int:
        """Token count for costs and the generation cap: tiktoken's cl100k_base if usable, else ceil(len / 4)."""
        if self._count is None:
            self._count = _tiktoken_counter() or estimate_tokens
        return self._count(text)

    # --- generation --------------------------------------------------------------------------------------

    def generate(self, conversations: list[Messages], max_new_tokens: int,
                 on_done: Callable[[list[int], list[Generation]], None]) -> list[Generation]:
        """Greedy completions, `concurrency` at a time; finished ones go to on_done in small groups, so a
        failure or Ctrl-C loses at most the requests in flight."""
        out: list[Generation | None] = [None] * len(conversations)
        if not conversations:
            return []
        stop = threading.Event()
        group_size = max(1, min(8, self.concurrency))
        pending_idx: list[int] = []
        pending_gen: list[Generation] = []
        last_flush = time.monotonic()
        error: BaseException | None = None

        def flush() -> None:
            nonlocal last_flush
            if pending_idx:
                idx, gens = list(pending_idx), list(pending_gen)
                pending_idx.clear()
                pending_gen.clear()
                on_done(idx, gens)
            last_flush = time.monotonic()

        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(conversations)))
        futures: dict[Future, int] = {pool.submit(self._call, c, max_new_tokens, stop): i
                                      for i, c in enumerate(conversations)}
        try:
            todo = set(futures)
            while todo:
                done, todo = wait(todo, timeout=FLUSH_SECONDS, return_when=FIRST_COMPLETED)
                for fut in done:
                    if fut.cancelled():
                        continue
                    exc = fut.exception()
                    if exc is None:
                        out[futures[fut]] = fut.result()
                        pending_idx.append(futures[fut])
                        pending_gen.append(out[futures[fut]])
                    elif error is None and not isinstance(exc, _Stopped):
                        error = exc
                        stop.set()  # workers waiting to retry give up; queued requests never start
                        for f in todo:
                            f.cancel()
                if len(pending_idx) >= group_size or time.monotonic() - last_flush >= FLUSH_SECONDS:
                    flush()
        except BaseException:
            stop.set()
            for f in futures:
                f.cancel()
            raise
        finally:
            pool.shutdown(wait=True)
            for fut, i in futures.items():  # results that landed while we were stopping are kept too
                if out[i] is None and fut.done() and not fut.cancelled() and fut.exception() is None:
                    out[i] = fut.result()
                    pending_idx.append(i)
                    pending_gen.append(out[i])
            flush()
        if error is not None:
            raise error
        return out  # type: ignore[return-value]

    def _call(self, messages: Messages, max_new_tokens: int, stop: threading.Event) -> Generation:
        """One completion with retries; raises a UserError once retries are spent or the error is final."""
        delays = backoff_delays(self.max_retries, self.backoff_base, self.backoff_cap)
        for attempt in range(self.max_retries + 1):
            if stop.is_set():
                raise _Stopped()
            try:
                return self._attempt(messages, max_new_tokens)
            except _Retryable as err:
                if attempt == self.max_retries:
                    raise self._gave_up(err.cause, attempt + 1) from None
                delay = delays[attempt]
                if err.retry_after is not None:
                    delay = min(self.backoff_cap, max(delay, err.retry_after))
                if stop.wait(delay):
                    raise _Stopped() from None
        raise AssertionError("unreachable")

    def _attempt(self, messages: Messages, max_new_tokens: int) -> Generation:
        import openai

        t0 = time.perf_counter()
        try:
            resp = self.client.chat.completions.create(model=self.name, messages=messages, temperature=0,
                                                       max_tokens=max_new_tokens)
        except openai.APIConnectionError as err:  # includes timeouts
            raise _Retryable(err) from None
        except openai.APIStatusError as err:
            status = err.status_code
            if status in RETRY_STATUSES or status >= 500:
                raise _Retryable(err, _retry_after(err)) from None
            raise self._final(err) from None
        except openai.APIError as err:  # e.g. a body that is not JSON
            raise self._not_openai(str(err)) from None
        seconds = time.perf_counter() - t0
        if not hasattr(resp, "choices"):  # the client hands back text when the answer is not JSON
            raise self._not_openai(str(resp))
        choice = resp.choices[0] if resp.choices else None
        text = ((choice.message.content if choice and choice.message else None) or "").strip()
        usage = getattr(resp, "usage", None)
        n_in = getattr(usage, "prompt_tokens", None)
        n_out = getattr(usage, "completion_tokens", None)
        if n_in is None:
            n_in = sum(self.count_tokens(str(m.get("content") or "")) for m in messages)
        if n_out is None:
            n_out = self.count_tokens(text)
        return Generation(text, int(n_in), int(n_out), seconds)

    # --- errors --------------------------------------------------------------------------------------------

    def _clean(self, text: str, limit: int = 200) -> str:
        """A server's message, one line, without the key (or anything that looks like one)."""
        if self._key.value != NO_KEY:
            text = text.replace(self._key.value, "***")
        if self._url != self.base_url:
            text = text.replace(self._url, self.base_url)
        text = redact(_AUTH_HEADER.sub(r"\1 ***", _KEYLIKE.sub("sk-***", text)))
        text = " ".join(text.split())
        return text if len(text) <= limit else text[:limit] + "..."

    def _gave_up(self, err: Exception, attempts: int) -> UserError:
        import openai

        tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
        if isinstance(err, openai.APITimeoutError):
            return UserError(self.task_file, f"{self.field}.timeout", f"{self.base_url} did not answer within "
                             f"{self.spec.timeout:g} s ({tries})", f"raise {self.field}.timeout, or lower {self.field}.concurrency")
        if isinstance(err, openai.APIConnectionError):
            reason = "connection refused" if _refused(err) else self._clean(str(_root(err)) or str(err))
            return UserError(self.task_file, f"{self.field}.base_url", f"cannot connect to {self.base_url}: {reason} ({tries})",
                             f"is the server running? check the host and port in {self.field}.base_url")
        status = getattr(err, "status_code", None)
        if status == 429:
            return UserError(self.task_file, f"{self.field}.concurrency", f"{self.base_url} kept rate-limiting requests "
                             f"(429, {tries})", f"lower {self.field}.concurrency or raise {self.field}.max_retries")
        return UserError(self.task_file, f"{self.field}.base_url", f"{self.base_url} kept failing ({status}, {tries}): "
                         f"{self._clean(_server_message(err))}", f"check the server's log; raise {self.field}.max_retries "
                         "for a flaky server")

    def _final(self, err) -> UserError:
        """An error retrying would not fix: say which field to change."""
        status = err.status_code
        if status in (401, 403):
            return UserError(self.task_file, f"{self.field}.api_key_env", f"the endpoint rejected the API key ({status})",
                             f"check the key in ${self.spec.api_key_env}" if self.spec.api_key_env
                             else f"the server wants a key: set {self.field}.api_key_env to the NAME of a variable holding it")
        if status == 404:
            return self._not_found()
        return UserError(self.task_file, self.field, f"the endpoint refused the request ({status}): "
                         f"{self._clean(_server_message(err))}",
                         "check generation.max_new_tokens against the model's limits")

    def _not_openai(self, answer: str) -> UserError:
        return UserError(self.task_file, f"{self.field}.base_url", f"{self.base_url}/chat/completions did not answer like "
                         f"an OpenAI-compatible server: {self._clean(answer, 80)!r}",
                         "an OpenAI-compatible base_url usually ends with /v1")

    def _not_found(self) -> UserError:
        """404: a wrong model name (list what the server has) or a base_url missing its /v1."""
        try:
            served = sorted(m.id for m in self.client.models.list())
        except Exception:
            served = None
        if served and self.name not in served:
            import difflib

            close = difflib.get_close_matches(self.name, served, n=2, cutoff=0.5)
            hint = did_you_mean(self.name, [redact(m if len(m) <= 80 else m[:77] + '...') for m in close or served[:20]])
            return UserError(self.task_file, f"{self.field}.name", f"the server has no model {shown(self.name)}",
                             hint + (" ..." if not close and len(served) > 20 else ""))
        return UserError(self.task_file, f"{self.field}.base_url", f"{self.base_url}/chat/completions was not found (404)",
                         "an OpenAI-compatible base_url usually ends with /v1")


def _root(err: BaseException) -> BaseException:
    while err.__cause__ is not None or err.__context__ is not None:
        err = err.__cause__ or err.__context__  # type: ignore[assignment]
    return err


def _refused(err: BaseException) -> bool:
    e: BaseException | None = err
    while e is not None:
        if isinstance(e, ConnectionRefusedError) or "refused" in str(e).lower():
            return True
        e = e.__cause__ or e.__context__
    return False


def _retry_after(err) -> float | None:
    try:
        return float(err.response.headers.get("retry-after"))
    except (AttributeError, TypeError, ValueError):
        return None


def _server_message(err) -> str:
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        msg = inner.get("message") if isinstance(inner, dict) else inner
        if msg:
            return str(msg)
    return getattr(err, "message", "") or str(err)

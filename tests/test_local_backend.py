"""LocalBackend's batch sizing: generation.batch_size auto follows free memory, a number is taken as given."""
from __future__ import annotations

import pytest
import torch

from advisor.backends import local
from advisor.backends.local import LocalBackend


@pytest.fixture(scope="module")
def backend(tiny_model):
    return LocalBackend(tiny_model)


def test_auto_takes_the_cap_when_memory_is_plentiful(backend, monkeypatch):
    monkeypatch.setattr(local, "free_ram", lambda: 64 * 2**30)
    assert backend.batch_size == "auto"
    assert backend.rows_per_batch(200, 64) == local.AUTO_ROWS["cpu"] == 32


def test_auto_shrinks_with_memory_and_longer_prompts(backend, monkeypatch):
    monkeypatch.setattr(local, "free_ram", lambda: 2 * 2**20)  # 2 MiB free: a quarter is 512 KiB
    short, long = backend.rows_per_batch(20, 8), backend.rows_per_batch(400, 8)
    assert 1 <= long < short < 32
    monkeypatch.setattr(local, "free_ram", lambda: 1000)
    assert backend.rows_per_batch(400, 8) == 1  # never zero


def test_generate_sizes_each_batch_by_its_longest_prompt(backend, monkeypatch):
    monkeypatch.setattr(local, "free_ram", lambda: 2 * 2**20)
    convs = [[{"role": "user", "content": "word " * n}] for n in (2, 3, 200, 4, 150, 5)]
    sizes: list[int] = []
    out = backend.generate(convs, 4, lambda idx, batch: sizes.append(len(idx)))
    assert len(out) == 6 and all(g is not None for g in out)
    assert sum(sizes) == 6
    assert sizes[0] < sizes[-1]  # the two long prompts go first, in a smaller batch than the short ones


def test_a_number_is_used_as_given(tiny_model, monkeypatch):
    monkeypatch.setattr(local, "free_ram", lambda: 1000)
    assert LocalBackend(tiny_model, batch_size=5).rows_per_batch(10_000, 500) == 5


def test_shared_prefix_gives_the_same_answers_as_unshared(tiny_model, monkeypatch):
    backend = LocalBackend(tiny_model)
    torch.manual_seed(0)
    with torch.no_grad():  # the fixture's init (std 0.02) answers every prompt alike; larger weights tell rows apart
        for param in backend.model.parameters():
            param.normal_(0, 0.3)
    convs = [[{"role": "system", "content": "Answer briefly. " * 6}, {"role": "user", "content": f"Question {q}?"}]
             for q in ("one", "two two", "three three three", "four")]
    shared_calls = []
    original = local.DynamicCache.batch_repeat_interleave
    monkeypatch.setattr(local.DynamicCache, "batch_repeat_interleave",
                        lambda self, n: (shared_calls.append(n), original(self, n))[1])
    rows = [backend.encode(backend.render(c)) for c in convs]
    shared, start = backend._generate_batch(rows, 8)
    assert shared_calls == [4]  # the common prefix run once for four rows
    monkeypatch.setattr(local, "MIN_SHARED_PREFIX", 10**9)
    plain, plain_start = backend._generate_batch(rows, 8)
    assert shared_calls == [4] and start == plain_start  # the same width; only where the padding sits differs
    assert shared[:, start:].tolist() == plain[:, plain_start:].tolist()
    assert len({tuple(r) for r in shared[:, start:].tolist()}) > 1  # the rows are really answered separately

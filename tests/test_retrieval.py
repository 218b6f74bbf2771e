"""The FAISS index: exact up to APPROXIMATE_ABOVE chunks, HNSW beyond, with the same answers on clustered data."""
from __future__ import annotations

import numpy as np

from advisor.levers import retrieval


def _clustered(n: int, rng) -> np.ndarray:
    """Unit vectors of low intrinsic dimension (8 of 64), as real embeddings are; uniform noise in 64-d has no
    near neighbours to find and is no test of a graph index."""
    basis = np.random.default_rng(42).standard_normal((8, 64))
    x = rng.standard_normal((n, 8)) @ basis + 0.05 * rng.standard_normal((n, 64))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_exact_below_the_threshold_and_equal_to_brute_force():
    rng = np.random.default_rng(0)
    x, q = _clustered(2000, rng), _clustered(50, rng)
    index, kind = retrieval.build_index(x)
    assert kind == "flat"
    _, ids = index.search(q, 5)
    assert (ids == np.argsort(-(q @ x.T), axis=1)[:, :5]).all()


def test_hnsw_above_the_threshold_recalls_what_exact_finds(monkeypatch):
    monkeypatch.setattr(retrieval, "APPROXIMATE_ABOVE", 1000)
    rng = np.random.default_rng(1)
    x, q = _clustered(3000, rng), _clustered(100, rng)
    index, kind = retrieval.build_index(x)
    assert kind == "hnsw" and index.hnsw.efSearch == retrieval.HNSW["efSearch"]
    _, ids = index.search(q, 10)
    exact = np.argsort(-(q @ x.T), axis=1)[:, :10]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids.tolist(), exact.tolist())])
    assert recall >= 0.95

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


# --- RAFT rows: distractors cut to a token budget ------------------------------------------------------------------

def _minilm_tokenizer():
    from transformers import AutoTokenizer

    from advisor.backends.embedder import default_embedder_path

    return AutoTokenizer.from_pretrained(default_embedder_path())


def test_head_keeps_the_first_tokens_and_ends_on_a_word():
    tok = _minilm_tokenizer()
    text = " ".join(f"word{i} alpha-beta" for i in range(80))
    cut = retrieval.head(text, tok, 20)
    assert text.startswith(cut) and text[len(cut)] == " "  # a prefix, cut before a space
    assert 10 <= len(tok(cut, add_special_tokens=False)["input_ids"]) <= 20
    assert retrieval.head("a short chunk", tok, 20) == "a short chunk"
    exact = " ".join(["cat"] * 20)  # exactly 20 tokens: kept whole
    assert retrieval.head(exact, tok, 20) == exact


def test_raft_context_cuts_distractors_not_the_retrieved_chunks():
    import random
    from types import SimpleNamespace

    from advisor.levers.finetune import raft_context

    tok = _minilm_tokenizer()
    chunks = [" ".join(f"doc{d} token{i}" for i in range(100)) for d in range(6)]
    retrieved = chunks[:2]
    opts = SimpleNamespace(distractors=1, oracle_free_share=0.0, distractor_tokens=32)
    rows = [raft_context(retrieved, chunks, opts, random.Random(s), tok) for s in range(5)]
    for mixed in rows:
        assert len(mixed) == 3 and all(r in mixed for r in retrieved)  # retrieved chunks stay whole
        (noise,) = [t for t in mixed if t not in retrieved]
        assert len(tok(noise, add_special_tokens=False)["input_ids"]) <= 32
        assert any(c.startswith(noise) for c in chunks[2:])
    opts.oracle_free_share = 1.0  # distractors only, every one cut
    mixed = raft_context(retrieved, chunks, opts, random.Random(0), tok)
    assert len(mixed) == 3 and not set(mixed) & set(retrieved)
    assert all(len(tok(t, add_special_tokens=False)["input_ids"]) <= 32 for t in mixed)

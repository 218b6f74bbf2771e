"""Generation: LocalBackend's batched greedy path (shared prompt prefix, left-padded suffixes) vs a loop of
`model.generate`, one prompt at a time."""
from __future__ import annotations

import time

from rows import Row, load_now, log, ratio, support_tickets


def run(quick: bool) -> list[Row]:
    from transformers import AutoTokenizer

    from advisor.backends.local import LocalBackend
    from advisor.backends.models import default_model_folder

    task, train, evals, prompt = support_tickets()
    folder = default_model_folder()
    backend = LocalBackend(folder)
    convs = [prompt(e.input) for e in evals[: 8 if quick else 32]]
    # the cap `advise compare` derives: a margin over the longest training output
    cap = 16 if quick else int(min(1024, max(backend.count_tokens(e.output) for e in train) * 1.25 + 8))
    model = backend.model
    backend.generate(convs[:1], 2, lambda *_: None)  # first-call warm-up, shared by both sides
    load = load_now()

    rows = backend.rows_per_batch(max(len(backend.encode(backend.render(c))) for c in convs), cap)
    log(f"generation: batched, {len(convs)} prompts, {rows} rows per batch (batch_size auto), cap {cap}")
    t0 = time.perf_counter()
    ours = backend.generate(convs, cap, lambda *_: None)
    ours_s = time.perf_counter() - t0
    ours_tokens = sum(g.output_tokens for g in ours)

    log("generation: one prompt at a time")
    tok = AutoTokenizer.from_pretrained(folder)  # what a user would write: plain tokenizer, template, generate
    ref_texts, ref_tokens, same_prompt = [], 0, 0
    t0 = time.perf_counter()
    for messages in convs:
        enc = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                      return_dict=True).to(model.device)
        out = model.generate(**enc, max_new_tokens=cap, do_sample=False)
        new = out[0, enc["input_ids"].shape[1]:]
        ref_tokens += len(new)
        ref_texts.append(tok.decode(new, skip_special_tokens=True).strip())
        same_prompt += enc["input_ids"][0].tolist() == backend.encode(backend.render(messages))
    ref_s = time.perf_counter() - t0

    match = sum(g.text == r for g, r in zip(ours, ref_texts))
    capped = sum(g.output_tokens >= cap for g in ours)
    ours_tps, ref_tps = ours_tokens / ours_s, ref_tokens / ref_s
    n = len(convs)
    return [
        Row("generation", f"tokens/s, {n} prompts, greedy, cap {cap}", f"{ours_tps:.1f}", f"{ref_tps:.1f}",
            ratio(ours_tps, ref_tps),
            f"{rows} rows per batch (auto), left-padded, fp32; {ours_tokens} vs {ref_tokens} tokens; {load}"),
        Row("generation", "wall time, s", f"{ours_s:.1f}", f"{ref_s:.1f}", ratio(ref_s, ours_s),
            f"{capped}/{n} rows hit the cap"),
        Row("generation", "outputs identical to the reference", f"{match}/{n}", "-", "",
            f"prompt token ids identical in {same_prompt}/{n}; differences come from left-padding numerics"),
    ]

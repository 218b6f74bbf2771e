"""Regenerate data/train.jsonl and data/eval.jsonl for the already-easy example.

Deterministic (seeded `random`, stdlib only):  python make_data.py
Short customer messages that mention one order number (5 or 6 digits, written as "order 48213",
"#48213", "Order ID: 48213", ...); the output is the bare number. Messages come from many shops
(food, books, furniture, clothes, pharmacy, electronics) and mix in small distractor numbers
(quantities, prices, days) that are never 5 or 6 digits long.
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

SEED = 4
N_TRAIN, N_EVAL = 300, 200
HERE = Path(__file__).resolve().parent

REFS = ["order {o}", "order #{o}", "order number {o}", "order no. {o}", "#{o}", "order ID {o}", "order {o}"]
ITEMS = ["the oak bookshelf", "two paperbacks", "a size M rain jacket", "the pad thai and spring rolls",
         "my allergy tablets", "a phone case", "the garden hose", "a box of printer paper", "the kids' wellies",
         "a bag of dog food", "the espresso grinder", "three candles", "a yoga mat", "the birthday cake",
         "a pair of trail shoes", "the desk chair", "two bottles of olive oil", "a wall clock"]
ISSUES = [
    "I still haven't received {ref} with {item}.",
    "{Ref} arrived but {item} was missing from the box.",
    "Can you cancel {ref}? I ordered {item} by mistake.",
    "The tracking link for {ref} doesn't work.",
    "{item} from {ref} came damaged, the packaging was soaked.",
    "I was charged {n} times for {ref}.",
    "Could I change the delivery address on {ref}? I'm staying at my mum's this week.",
    "Is it too late to add {item} to {ref}?",
    "{Ref} says delivered but nothing's here.",
    "the courier left {ref} at the wrong house, two doors down from mine",
    "I'd like to return {item} from {ref}.",
    "Why has {ref} been 'processing' for {n} days?",
    "Got {ref} today, thanks! But {item} isn't what I ordered.",
    "pls send an invoice for {ref}, my company needs it",
    "Quick one: when will {ref} ship?",
    "My discount code didn't apply to {ref}, I paid ${p} instead of ${q}.",
]
OPENERS = ["", "", "", "Hi,", "Hello,", "Hey there,", "Good afternoon,", "Hi team,", "Morning!"]
EXTRAS = ["", "", "", "Thanks.", "Thanks in advance!", "Please get back to me soon.", "Cheers.",
          "It's the second time this happened.", "I need it by Saturday.", "Appreciate the help."]
NAMES = ["Sam", "Priya K.", "Olu", "Marta", "J. Becker", "Aiko", "Luis", "Fran", "Moritz", "Dana", "Bea", "Kofi",
         "Rhiannon", "Ivo", "Wen", ""]


def make_message(rng: random.Random) -> tuple[str, str]:
    number = str(rng.randint(10000, 999999))
    ref = rng.choice(REFS).format(o=number)
    issue = rng.choice(ISSUES).format(
        ref=ref, Ref=ref[0].upper() + ref[1:], item=rng.choice(ITEMS), n=rng.randint(2, 9),
        p=rng.randint(20, 90), q=rng.randint(10, 19))
    issue = issue[0].upper() + issue[1:] if rng.random() < 0.85 else issue
    name = rng.choice(NAMES)
    parts = [rng.choice(OPENERS), issue, rng.choice(EXTRAS), f"- {name}" if name else ""]
    text = " ".join(p for p in parts if p)
    assert re.findall(r"\d{5,}", text) == [number]
    return text, number


def main() -> None:
    rng = random.Random(SEED)
    seen_text: set[str] = set()
    seen_number: set[str] = set()
    rows = []
    while len(rows) < N_TRAIN + N_EVAL:
        text, number = make_message(rng)
        if text.lower() in seen_text or number in seen_number:
            continue
        seen_text.add(text.lower())
        seen_number.add(number)
        rows.append((text, number))
    splits = {"train": rows[:N_TRAIN], "eval": rows[N_TRAIN:]}
    train_inputs = {t.lower() for t, _ in splits["train"]}
    assert not any(t.lower() in train_inputs for t, _ in splits["eval"]), "eval input duplicates train"
    (HERE / "data").mkdir(exist_ok=True)
    for split, items in splits.items():
        with open(HERE / "data" / f"{split}.jsonl", "w", encoding="utf-8") as f:
            for i, (text, number) in enumerate(items):
                f.write(json.dumps({"id": f"{split}-{i:03d}", "input": text, "output": number}, ensure_ascii=False) + "\n")
    print(f"wrote {len(splits['train'])} train, {len(splits['eval'])} eval rows")


if __name__ == "__main__":
    main()

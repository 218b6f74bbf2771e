"""Regenerate data/ for the straight-answers example:  python make_data.py  (seeded `random`, stdlib only).

Each input is a short product sheet of an invented shop (Loom & Larch) and a customer's question about it; the
reference is the answer stated plainly, in a few words, from the sheet. The preference pairs (data/prefs.jsonl)
are other sheets and questions with two replies: the preferred one plain and right; the rejected one shows the
failures support teams flag in their logs: hedging ("I think", "probably"), apologies, and an invented extra
(a discount or a gift the sheet does not offer). The references alone never show those failures; the pairs do.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

SEED = 7
N_TRAIN, N_EVAL, N_PAIRS = 250, 100, 240
HERE = Path(__file__).resolve().parent

ITEMS = ["Alder lamp", "Birch stool", "Cedar shelf", "Dune rug", "Elm desk", "Fern planter", "Glade mirror",
         "Heath blanket", "Ivy vase", "Juniper chair", "Kelp throw", "Linden tray", "Moss cushion", "Nook bench",
         "Oak crate", "Pine frame", "Quill lamp", "Reed basket", "Sage mug", "Thistle clock"]
COLORS = ["sand", "slate", "olive", "rust", "ivory", "charcoal", "teal"]
QUESTIONS = {
    "price": ["How much is the {item}?", "What does the {item} cost?", "Price of the {item}?"],
    "warranty": ["How long is the warranty on the {item}?", "What warranty comes with the {item}?"],
    "shipping": ["How fast does the {item} ship?", "When would the {item} arrive?"],
    "colors": ["Which colours does the {item} come in?", "What colours can I get the {item} in?"],
    "returns": ["Can I return the {item}?", "What is the return window for the {item}?"],
}
HEDGES = ["I think", "Probably", "I'm not completely sure, but", "If I remember right,", "It might be that"]
APOLOGIES = ["Sorry for any confusion!", "Apologies, I hope that helps!", "Sorry, let me know if that's wrong."]
EXTRAS = ["and you also get 10% off your next order", "and it comes with a free gift box",
          "and shipping is free this week", "and we add a second one at half price"]


def _years(n: int) -> str:
    return f"{n} year{'s' if n > 1 else ''}"


def sheet(rng: random.Random, item: str) -> dict:
    return {"item": item, "price": f"${rng.randrange(19, 240)}", "warranty": _years(rng.choice([1, 2, 3, 5])),
            "shipping": f"{rng.choice([2, 3, 4, 5, 7])} working days", "colors": rng.sample(COLORS, 2),
            "returns": f"{rng.choice([14, 30, 60])} days"}


def sheet_text(s: dict) -> str:
    return (f"Product sheet - {s['item']}: price {s['price']}; warranty {s['warranty']}; ships in {s['shipping']}; "
            f"colours {s['colors'][0]} and {s['colors'][1]}; returns within {s['returns']}.")


def answer(s: dict, field: str) -> str:
    return {"price": f"{s['price']}.", "warranty": f"{s['warranty']}.", "shipping": f"In {s['shipping']}.",
            "colors": f"{s['colors'][0].capitalize()} or {s['colors'][1]}.",
            "returns": f"Yes, within {s['returns']}."}[field]


def bad_answer(rng: random.Random, s: dict, field: str) -> str:
    plain = answer(s, field).rstrip(".")
    plain = plain[0].lower() + plain[1:] if not plain.startswith("$") else plain
    return f"{rng.choice(HEDGES)} {plain}, {rng.choice(EXTRAS)}. {rng.choice(APOLOGIES)}"


def rows(rng: random.Random, n: int, prefix: str) -> list[dict]:
    out = []
    for i in range(n):
        s = sheet(rng, rng.choice(ITEMS))
        field = rng.choice(list(QUESTIONS))
        question = rng.choice(QUESTIONS[field]).format(item=s["item"])
        out.append({"id": f"{prefix}-{i:03d}", "input": f"{sheet_text(s)}\nQuestion: {question}",
                    "output": answer(s, field), "_sheet": s, "_field": field})
    return out


def main() -> None:
    rng = random.Random(SEED)
    train, evals = rows(rng, N_TRAIN, "train"), rows(rng, N_EVAL, "eval")
    pairs = [{"id": r["id"].replace("pair", "pref"), "prompt": r["input"], "chosen": r["output"],
              "rejected": bad_answer(rng, r["_sheet"], r["_field"])} for r in rows(rng, N_PAIRS, "pair")]
    data = HERE / "data"
    data.mkdir(exist_ok=True)
    for name, items in (("train", train), ("eval", evals)):
        (data / f"{name}.jsonl").write_text("".join(json.dumps({k: v for k, v in r.items() if not k.startswith("_")})
                                                    + "\n" for r in items))
    (data / "prefs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))


if __name__ == "__main__":
    main()

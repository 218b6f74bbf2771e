"""Regenerate docs/*.md, data/train.jsonl and data/eval.jsonl for the handbook-qa example.

Deterministic (seeded `random`, stdlib only):  python make_data.py
The handbook itself (documents and facts) is hand-written in handbook.py. Split:
- the documents in EVAL_ONLY are asked about only in eval;
- in every other document about a third of the facts go to eval, the rest to train;
so no eval answer is ever a train answer (checked below): fine-tuning cannot memorize them,
and the facts exist nowhere but in the corpus.
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

from handbook import DOCS, EVAL_ONLY

SEED = 7
N_TRAIN = 250
EVAL_SHARE = 0.3  # share of the facts of a shared document that go to eval
HERE = Path(__file__).resolve().parent

PREFIXES = ["", "", "", "", "Quick question: ", "Hi, ", "Does anyone know: ", "Sorry if this is obvious: ",
            "For the handbook quiz: ", "New starter here. "]


def style(rng: random.Random, question: str) -> str:
    """A light, meaning-preserving variation: a chatty prefix, lowercase, a dropped '?'."""
    prefix = rng.choice(PREFIXES)
    q = question
    if prefix and not prefix.endswith(". "):
        q = q[0].lower() + q[1:] if not q.split()[0].isupper() else q
    q = prefix + q
    if rng.random() < 0.15:
        q = q.lower()
    if rng.random() < 0.15:
        q = q.rstrip("?")
    return q


def norm(s: str) -> str:
    s = re.sub(r"\b(a|an|the)\b", " ", s.lower())
    return " ".join(re.sub(r"[^\w\s]", " ", s).split())


def main() -> None:
    rng = random.Random(SEED)
    files = [d["file"] for d in DOCS]
    assert len(set(files)) == len(files) and EVAL_ONLY <= set(files)

    docs_dir = HERE / "docs"
    docs_dir.mkdir(exist_ok=True)
    for d in DOCS:
        (docs_dir / d["file"]).write_text(f"# {d['title']}\n\n{d['body'].strip()}\n", encoding="utf-8")
        for answer, *_ in d["facts"]:
            assert answer.lower() in d["body"].lower(), (d["file"], answer)

    train_facts, eval_facts = [], []
    for d in DOCS:
        facts = [(d["file"], answer, qs) for answer, *qs in d["facts"]]
        if d["file"] in EVAL_ONLY:
            eval_facts += facts
            continue
        rng.shuffle(facts)
        k = round(len(facts) * EVAL_SHARE)
        eval_facts += facts[:k]
        train_facts += facts[k:]

    seen: set[str] = set()

    def fresh(question: str) -> str:
        """A styled variant of the question whose text no other row has."""
        for _ in range(50):
            q = style(rng, question)
            if q.lower() not in seen:
                seen.add(q.lower())
                return q
        raise RuntimeError(question)

    train_rows = [(f, a, fresh(q)) for f, a, qs in train_facts for q in qs]
    extra = list(train_facts)
    rng.shuffle(extra)
    for f, a, qs in extra[: max(0, N_TRAIN - len(train_rows))]:
        train_rows.append((f, a, fresh(rng.choice(qs))))
    eval_rows = [(f, a, fresh(rng.choice(qs))) for f, a, qs in eval_facts]
    rng.shuffle(train_rows)
    rng.shuffle(eval_rows)

    # Checks: no identical input across (or within) splits; no eval answer is, or is inside, a train answer.
    train_inputs = [q.lower() for _, _, q in train_rows]
    assert len(set(train_inputs)) == len(train_inputs), "duplicate train input"
    assert not {q.lower() for _, _, q in eval_rows} & set(train_inputs), "eval input duplicates train"
    train_answers = {norm(a) for _, a, _ in train_rows}
    for _, a, _ in eval_rows:
        assert not any(re.search(rf"\b{re.escape(norm(a))}\b", t) for t in train_answers), a

    (HERE / "data").mkdir(exist_ok=True)
    for split, rows in (("train", train_rows), ("eval", eval_rows)):
        with open(HERE / "data" / f"{split}.jsonl", "w", encoding="utf-8") as fh:
            for i, (f, a, q) in enumerate(rows):
                row = {"id": f"{split}-{i:03d}", "input": q, "output": a, "context_ids": [f]}
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(DOCS)} docs, {len(train_rows)} train rows ({len(train_facts)} facts), "
          f"{len(eval_rows)} eval rows ({len(eval_facts)} facts)")


if __name__ == "__main__":
    main()

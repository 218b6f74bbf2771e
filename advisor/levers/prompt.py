"""Prompt engineering: zero-shot and k-shot (fixed or nearest by embedding), instruction in system or user turn."""
from __future__ import annotations

import random

import numpy as np

from ..data import Example
from .base import Bench, Prepared, Variant, chat


def nearest_shots(bench: Bench, pool: list[Example], queries: list[Example], k: int) -> list[list[Example]]:
    """For each query, the k training examples whose inputs are closest by embedding (most similar last)."""
    pool_vecs = bench.embedder([e.input for e in pool], "Embedding train inputs")
    query_vecs = bench.embedder([e.input for e in queries], "Embedding inputs")
    sims = query_vecs @ pool_vecs.T
    top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return [[pool[j] for j in reversed(row)] for row in top]


def fixed_shots(pool: list[Example], k: int, seed: int) -> list[Example]:
    """k examples drawn once with the task seed, covering distinct outputs first (avoids one-label prompts)."""
    rng = random.Random(seed)
    order = list(range(len(pool)))
    rng.shuffle(order)
    chosen, seen = [], set()
    for i in order:  # first pass: distinct outputs, so a classifier sees several labels
        if pool[i].output not in seen:
            chosen.append(pool[i])
            seen.add(pool[i].output)
        if len(chosen) == k:
            return chosen
    rest = [pool[i] for i in order if pool[i] not in chosen]
    return chosen + rest[: k - len(chosen)]


class PromptLever:
    name = "prompt"

    def skip_reason(self, bench: Bench) -> str | None:
        return None if bench.task.levers.prompt.enabled else "disabled in task.yaml (levers.prompt.enabled: false)"

    def prepare(self, bench: Bench) -> Prepared:
        opts = bench.task.levers.prompt
        instruction, reminder = bench.task.instruction, bench.reminder
        variants: list[Variant] = []
        for placement in opts.placements:
            for k in opts.shots:
                if k == 0:
                    variants.append(Variant(f"zero-shot, instruction in {placement}",
                                            _builder(bench, placement, 0, "none"), info={"placement": placement, "shots": 0}))
                    continue
                for selection in opts.selection:
                    variants.append(Variant(f"{k}-shot {selection}, instruction in {placement}",
                                            _builder(bench, placement, k, selection),
                                            info={"placement": placement, "shots": k, "selection": selection}))
        return Prepared(variants, details={"format_reminder": reminder or None},
                        artifacts={"instruction": instruction})


def _builder(bench: Bench, placement: str, k: int, selection: str):
    instruction, reminder = bench.task.instruction, bench.reminder

    def build(examples: list[Example]) -> list:
        if k == 0:
            shots = [[] for _ in examples]
        elif selection == "fixed":
            shots = [fixed_shots(bench.train, k, bench.task.seed)] * len(examples)
        else:
            shots = nearest_shots(bench, bench.train, examples, k)
        return [chat(instruction, placement, e.input, s, reminder=reminder) for e, s in zip(examples, shots)]

    return build

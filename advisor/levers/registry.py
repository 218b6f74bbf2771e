"""Every lever's traits in one place: the decision, costs, analysis, report and comparison read these, never
lever-name tuples. Adding a lever is one module (a class with `name`, `skip_reason` and `prepare`) plus one
`register(LeverTraits(...))` call below (and docs).

Pure and cheap to import: no torch, no lever module is imported until `lever(name)` builds one
(`advisor.decide` reads ranks and traits and must never pull torch in).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class LeverTraits:
    """What the rest of advise needs to know about a lever without running it."""

    name: str  # as in --levers, results.json and the report
    rank: float  # simplicity order: lower is simpler and preferred among equally good levers
    options: str  # the attribute of spec.LeverOptions holding its options (its `enabled` flag among them)
    module: str  # the module that defines the lever class, imported only when the lever is built
    cls: str  # the lever class in `module`; built with no arguments
    trains_weights: bool = False  # pays a one-off training cost to save per call; overfitting/forgetting apply
    uses_retrieval: bool = False  # answers with retrieved context (retrieval recall bears on it)
    needs_corpus: bool = False  # skipped without data.corpus
    needs_local_weights: bool = False  # skipped for an endpoint without model.weights
    also_enabled: tuple[str, ...] = ()  # options of other levers that must be enabled too for it to run
    needs_data: str | None = None  # a `data:` field it needs (e.g. "preferences"): without it the lever is left out
    #                                of a run unless named in --levers (then it is skipped, saying why)
    load_check: str | None = None  # "module:function(task) -> None" run at load (`advise validate`) when the lever
    #                                is selected: checks its own data file, raising one-line UserErrors
    color: str | None = None  # its colour in every chart; None: one of the charts' spare colours


_REGISTRY: dict[str, LeverTraits] = {}


def register(traits: LeverTraits) -> LeverTraits:
    """Add a lever. Its name and its rank must be new (two levers of equal rank would have no order)."""
    if traits.name in _REGISTRY:
        raise ValueError(f"lever {traits.name!r} is already registered")
    same = [t.name for t in _REGISTRY.values() if t.rank == traits.rank]
    if same:
        raise ValueError(f"lever {traits.name!r} has the rank {traits.rank} of {same[0]!r}; pick another number")
    _REGISTRY[traits.name] = traits
    return traits


def names() -> list[str]:
    """Every registered lever, simplest first."""
    return [t.name for t in sorted(_REGISTRY.values(), key=lambda t: t.rank)]


def find(name: str) -> LeverTraits | None:
    """The lever's traits, or None for a name not registered (a stored run may carry one)."""
    return _REGISTRY.get(name)


def traits(name: str) -> LeverTraits:
    """The lever's traits; KeyError for a name not registered."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown lever {name!r}; registered: {', '.join(names())}") from None


def simplicity_rank(name: str) -> float:
    return traits(name).rank


def trains_weights(name: str) -> bool:
    """False for a name not registered."""
    t = find(name)
    return t is not None and t.trains_weights


def uses_retrieval(name: str) -> bool:
    """False for a name not registered."""
    t = find(name)
    return t is not None and t.uses_retrieval


def wanted(name: str, data: object) -> bool:
    """Whether a lever belongs in a run by default: it needs no data field, or the task gives it (`data` is the task's
    `data:` section)."""
    t = traits(name)
    return t.needs_data is None or bool(getattr(data, t.needs_data, None))


def run_load_check(name: str, task: object) -> None:
    """The lever's own load-time check of its data (see `load_check`), when it has one."""
    t = traits(name)
    if t.load_check:
        module, function = t.load_check.split(":")
        getattr(importlib.import_module(module), function)(task)


def lever(name: str):
    """A new instance of the lever's class (its module is imported now, not before)."""
    t = traits(name)
    return getattr(importlib.import_module(t.module), t.cls)()


# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
register(LeverTraits("prompt", 0, "prompt", "advisor.levers.prompt", "PromptLever", color="#0072B2"))
register(LeverTraits("retrieval", 1, "retrieval", "advisor.levers.retrieval", "RetrievalLever",
                     uses_retrieval=True, needs_corpus=True, color="#E69F00"))
register(LeverTraits("finetune", 2, "finetune", "advisor.levers.finetune", "FinetuneLever",
                     trains_weights=True, needs_local_weights=True, color="#009E73"))
register(LeverTraits("preference", 2.5, "preference", "advisor.levers.preference", "PreferenceLever",
                     trains_weights=True, needs_local_weights=True, needs_data="preferences",
                     load_check="advisor.levers.preference:check_task", color="#D55E00"))
register(LeverTraits("retrieval+finetune", 3, "combined", "advisor.levers.finetune", "CombinedLever",
                     trains_weights=True, uses_retrieval=True, needs_corpus=True, needs_local_weights=True,
                     also_enabled=("finetune", "retrieval"), color="#CC79A7"))

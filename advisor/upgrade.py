"""`advise upgrade RUN_DIR --to MODEL`: the upgrade drill. Carry a finished run's chosen configuration of every lever
to a new base model, as a team would on upgrade day, and measure what that costs.

Built on compare's public entry point only: for each lever a derived task.yaml (the run's task with `model:` replaced
and data paths made absolute) is written into the upgrade folder and `compare` runs on it twice:

- **as-is**: the lever's options pinned to what the old run chose (the prompt as it was, retrieval with the same k,
  the adapter retrained with the same learning rate and settings; the old adapter does not load on another base);
- **re-tuned**: the task's own options, every variant chosen again on dev for the new model.

Levers whose pins clash (retrieval and retrieval+finetune both set `levers.retrieval.top_k`) run in separate as-is
folders. The old run's FAISS index is copied into every new folder first: its cache key is the corpus, the embedder
and the chunking, none of which changed, so `RetrievalIndex` loads it instead of embedding the corpus again (checked
after the run: the copied `faiss.index` is still the same file, not rewritten). Each lever's new eval scores are
paired with the old run's on the same eval ids by `diff.diff_runs`; its measured seconds, tokens and dollars (at the
task's machine rate) are set against its monthly running cost: the lock-in line.
"""
from __future__ import annotations

import math
import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from .costs import DEFAULT_HORIZON_MONTHS
from .diff import LeverDiff, diff_runs
from .errors import UserError, display_path, shown
from .levers import registry
from .progress import Reporter
from .runs import check_out_folder, make_folder, read_predictions, read_results
from .spec import DEFAULT_MODEL, EndpointModel, Task, load_task, parse_model

SCHEMA = "advise-upgrade/1"
AS_IS, RE_TUNED = "as-is", "re-tuned"
LABEL_CHARS = 60


@dataclass
class Target:
    """The model to move to, as `model:` accepts it (text or an endpoint), and its short label."""

    model: str | EndpointModel
    label: str

    @property
    def has_weights(self) -> bool:
        """Adapters can be retrained: a local/hub model, or an endpoint with `weights`."""
        return isinstance(self.model, str) or bool(self.model.weights)

    def for_yaml(self) -> str | dict:
        return self.model if isinstance(self.model, str) else self.model.model_dump(exclude_none=True)

    def describe(self) -> str:
        return self.model if isinstance(self.model, str) else f"{self.model.name} at {self.model.base_url}"


def slug(text: str) -> str:
    """A folder-safe label: letters, digits, dot, dash and underscore."""
    out = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:LABEL_CHARS]
    return out or "model"


def target_from_options(to: str | None, endpoint: str | None = None, name: str | None = None,
                        weights: str | None = None, api_key_env: str | None = None,
                        label: str | None = None, cwd: Path | None = None) -> Target:
    """The CLI's --to / --to-endpoint options as a Target, every problem a one-line UserError. A local folder is
    made absolute (the derived task.yaml lives elsewhere); a hub id and the bundled default stay as written."""
    from .backends.models import resolve_model

    cwd = cwd or Path.cwd()
    if (to is None) == (endpoint is None):
        raise UserError(None, "--to", "give the new model with --to (a folder, a Hugging Face id or "
                        f"{DEFAULT_MODEL}) or with --to-endpoint URL --to-name NAME, not both" if to else
                        "is missing: name the model to upgrade to", f"e.g. --to ./models/other or --to {DEFAULT_MODEL}")
    if to is not None:
        for opt, value in (("--to-name", name), ("--to-weights", weights), ("--to-api-key-env", api_key_env)):
            if value is not None:
                raise UserError(None, opt, "goes with --to-endpoint, not --to", "drop it, or use --to-endpoint URL")
        model = parse_model(to, "--to")
        assert isinstance(model, str)
        if model not in (DEFAULT_MODEL, "default"):
            _, where = resolve_model(model, cwd, "--to", None)  # a missing folder is refused here, on one line
            model = str(where) if isinstance(where, Path) else model
        return Target(model, slug(label or (Path(model).name if os.sep in model or "/" in model else model)))
    if name is None:
        raise UserError(None, "--to-name", "is required with --to-endpoint", "the model name the server lists, "
                        "e.g. --to-name qwen2.5-0.5b-instruct")
    spec: dict[str, Any] = {"base_url": endpoint, "name": name}
    if api_key_env is not None:
        spec["api_key_env"] = api_key_env
    if weights is not None:
        spec["weights"] = weights
    model = parse_model(spec, "--to-endpoint")  # a key given where its variable's NAME belongs is refused here
    assert isinstance(model, EndpointModel)
    if model.api_key_env and not os.environ.get(model.api_key_env, "").strip():
        raise UserError(None, "--to-api-key-env", f"environment variable {model.api_key_env} is not set or empty",
                        f"export {model.api_key_env}=... before running, or leave the option out for a local server")
    if model.weights is not None:
        _, where = resolve_model(model.weights, cwd, "--to-weights", None)
        if isinstance(where, Path):
            model = model.model_copy(update={"weights": str(where)})
    return Target(model, slug(label or name))


# ---- what to run ----

@dataclass
class Move:
    """One lever of the old run and how it moves: the options pinned for the as-is run, what could not be pinned."""

    name: str
    carried: bool  # False: skipped in the old run, or it cannot run on the new model (see `reason`)
    reason: str | None = None
    pins: dict[str, Any] = field(default_factory=dict)  # dotted task option -> value, as-is run only
    notes: list[str] = field(default_factory=list)


def pins_for(lever: dict) -> tuple[dict[str, Any], list[str]]:
    """The task options that reproduce the old run's chosen configuration of `lever` (results.json `chosen` and
    `details`), and notes on what task.yaml cannot pin (so it is chosen on dev again)."""
    name, chosen, details = lever["name"], lever.get("chosen") or {}, lever.get("details") or {}
    pins: dict[str, Any] = {}
    notes: list[str] = []
    if name == "prompt":
        k = int(chosen.get("shots", 0))
        pins["levers.prompt.shots"] = [k]
        if chosen.get("placement"):
            pins["levers.prompt.placements"] = [chosen["placement"]]
        if k and chosen.get("selection"):
            pins["levers.prompt.selection"] = [chosen["selection"]]
    elif name == "retrieval":
        if chosen.get("top_k") is not None:
            pins["levers.retrieval.top_k"] = [int(chosen["top_k"])]
        notes.append(f"placement ({chosen.get('placement', '?')} in the old run) is chosen on dev again: task.yaml "
                     "has no option to pin it")
    elif name == "retrieval+finetune":
        if details.get("top_k") is not None:
            pins["levers.retrieval.top_k"] = [int(details["top_k"])]
        if chosen.get("lr") is not None:
            pins["levers.finetune.lr"] = float(chosen["lr"])
    elif name == "preference":
        if details.get("lr") is not None:  # the SFT learning rate; DPO runs at a fixed share of it
            pins["levers.finetune.lr"] = float(details["lr"])
        if chosen.get("beta") is not None:
            pins["levers.preference.beta"] = float(chosen["beta"])
            notes.append("the SFT-alone variant is trained too, and the pick between it and DPO made on dev")
        else:
            notes.append("the old run chose SFT alone; DPO is retrained at the task's betas and the pick made on dev")
    elif registry.trains_weights(name) and chosen.get("lr") is not None:
        pins["levers.finetune.lr"] = float(chosen["lr"])
    else:
        notes.append("no pinning rule for this lever: the as-is run uses the task's own options")
    return pins, notes


def plan_moves(old: dict, target: Target, levers: list[str] | None = None) -> list[Move]:
    """Which of the old run's levers move and how. A lever skipped in the old run has nothing to carry; one that
    needs local weights cannot move to an endpoint without them (adapters are trained here, on those weights)."""
    names = [str(lev["name"]) for lev in old["levers"]]
    if levers is not None:
        for n in levers:
            if n not in names:
                from .errors import did_you_mean

                raise UserError(None, "--levers", f"{shown(n, 40)} is not a lever of this run", did_you_mean(n, names))
    moves = []
    for lev in old["levers"]:
        name = str(lev["name"])
        if levers is not None and name not in levers:
            continue
        if lev["status"] != "ok":
            moves.append(Move(name, False, f"skipped in the old run: {lev.get('reason') or lev['status']}"))
            continue
        traits = registry.find(name)
        if traits is None:
            moves.append(Move(name, False, "not a lever this version of advise knows"))
            continue
        if traits.needs_local_weights and not target.has_weights:
            moves.append(Move(name, False, "the new model is an endpoint without weights: its adapter cannot be "
                                           "retrained here (give --to-weights, a folder or Hugging Face id of the "
                                           "same model)"))
            continue
        pins, notes = pins_for(lev)
        moves.append(Move(name, True, None, pins, notes))
    return moves


def group_moves(moves: list[Move]) -> list[list[Move]]:
    """As-is runs: levers whose pins agree share one compare run (one model load, one set of data checks)."""
    groups: list[tuple[dict[str, Any], list[Move]]] = []
    for move in (m for m in moves if m.carried):
        for pins, members in groups:
            if all(pins.get(k, v) == v for k, v in move.pins.items()):
                pins.update(move.pins)
                members.append(move)
                break
        else:
            groups.append((dict(move.pins), [move]))
    return [members for _, members in groups]


# ---- the derived task ----

def _absolute(value: str, base: Path) -> str:
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else (base / p).resolve())


def _exists_under(value: Any, base: Path) -> bool:
    try:
        return isinstance(value, str) and (base / value).exists()
    except (OSError, ValueError):
        return False


def derived_task(task: Task, target: Target, pins: dict[str, Any]) -> dict:
    """The run's task as a mapping for a task.yaml outside its folder: the new model, paths made absolute (data
    files, a rubric file, a schema_file or judge folder of inline criteria, an embedder folder), `pins` applied."""
    raw = task.model_dump(mode="json", by_alias=True)
    raw.pop("models", None)  # a single-model task (upgrade refuses a grid)
    base = task.base_dir
    raw["model"] = target.for_yaml()
    data = raw["data"]
    for key in ("train", "eval", "guard", "preferences", "judge_labels"):
        if data.get(key) is not None:
            data[key] = _absolute(data[key], base)
    data["corpus"] = [_absolute(p, base) for p in data.get("corpus") or []]
    rubric = raw["rubric"]
    if isinstance(rubric, str) and (rubric.lower().endswith((".yaml", ".yml")) or "/" in rubric or "\\" in rubric):
        raw["rubric"] = _absolute(rubric, base)
    criteria = rubric if isinstance(rubric, list) else rubric.get("criteria") if isinstance(rubric, dict) else None
    for crit in criteria if isinstance(criteria, list) else []:
        options = crit.get("options") if isinstance(crit, dict) else None
        if isinstance(options, dict):
            for key in ("schema_file", "judge"):
                if _exists_under(options.get(key), base):
                    options[key] = _absolute(options[key], base)
    retrieval = raw["levers"]["retrieval"]
    if _exists_under(retrieval.get("embedder"), base):
        retrieval["embedder"] = _absolute(retrieval["embedder"], base)
    for dotted, value in pins.items():
        node = raw
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault("retrieval+finetune" if part == "combined" else part, {})
        node[last] = value
    return raw


def write_task_file(path: Path, raw: dict) -> Path:
    from .runs import atomic_write_text

    make_folder(path.parent)
    header = "# written by `advise upgrade`: the run's task with the new model (and, as-is, the old choices pinned)\n"
    atomic_write_text(path, header + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    return path


# ---- the index ----

def seed_index(old_run: Path, new_run: Path) -> dict[str, Any] | None:
    """Copy the old run's index folder (hard links where possible) into `new_run`; returns the fingerprint of its
    faiss.index, to tell afterwards whether the new run loaded it (None when the old run has no index)."""
    src = old_run / "index"
    if not (src / "faiss.index").is_file() or not (src / "meta.json").is_file():
        return None
    dst = new_run / "index"
    make_folder(dst)
    for item in src.iterdir():
        if item.is_file():
            target = dst / item.name
            if target.exists():
                target.unlink()
            try:
                os.link(item, target)
            except OSError:
                shutil.copy2(item, target)
    return _fingerprint(dst / "faiss.index")


def _fingerprint(path: Path) -> dict[str, Any] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return {"inode": st.st_ino, "mtime_ns": st.st_mtime_ns, "size": st.st_size}


def index_reused(seeded: dict | None, new_run: Path) -> bool | None:
    """True when the new run's faiss.index is still the copied file (RetrievalIndex writes a new file, a new inode,
    whenever it rebuilds); None when there was nothing to seed."""
    if seeded is None:
        return None
    return _fingerprint(new_run / "index" / "faiss.index") == seeded


# ---- the drill ----

def upgrade(run_dir: Path | str, target: Target, out: Path | str | None = None, task_path: Path | str | None = None,
            levers: list[str] | None = None, resume: bool = False, reporter: Reporter | None = None) -> dict:
    """Run the drill and return upgrade.json's content (the caller renders it): per lever, old vs new paired on
    the eval ids, what was redone, its measured cost and the lock-in line."""
    from .compare import compare

    reporter = reporter or Reporter()
    run_dir = Path(run_dir)
    old = read_results(run_dir)  # a folder that is not a run is refused here, on one line
    old_predictions = read_predictions(run_dir, old)
    task_file = Path(task_path) if task_path is not None else Path(str(old["task"]["task_file"]))
    if task_path is None and not task_file.is_file():
        raise UserError(run_dir / "results.json", "task.task_file", f"names {shown(str(task_file), 120)}, which is not "
                        "a file any more", "pass --task PATH, the task.yaml this run was made from")
    task = load_task(task_file)
    if getattr(task, "models", None) is not None or "grid" in old:
        raise UserError(task_file, "models", "this run is a model x lever grid; the drill moves a single-model run",
                        "run `advise upgrade` on a run of one `model:`, or add the new model to the grid's models:")
    out_dir = Path(out) if out is not None else run_dir / f"upgrade-{target.label}"
    check_out_folder(out_dir)
    moves = plan_moves(old, target, levers)
    if not any(m.carried for m in moves):
        reasons: dict[str, list[str]] = {}
        for m in moves:
            reasons.setdefault(str(m.reason), []).append(m.name)
        why = "; ".join(f"{', '.join(names)}: {reason}" for reason, names in reasons.items()) or "no lever chosen"
        raise UserError(None, "--to-endpoint" if not target.has_weights else "RUN_DIR",
                        f"no lever of {display_path(run_dir)} can move ({why})",
                        "give the endpoint's weights with --to-weights, or move a run with a prompt or retrieval lever")
    n_eval = int(old["task"]["sizes"]["eval"])
    seed = int(old["environment"].get("seed", task.seed))
    groups = group_moves(moves)
    runs: list[dict] = []  # one per compare run: kind, folder, levers, results
    plan = [(f"{AS_IS}" + (f"-{i + 1}" if len(groups) > 1 else ""), AS_IS, g) for i, g in enumerate(groups)]
    plan.append((RE_TUNED, RE_TUNED, [m for m in moves if m.carried]))
    make_folder(out_dir)
    for folder_name, kind, members in plan:
        sub = out_dir / folder_name
        if sub.exists() and not resume:
            shutil.rmtree(sub)  # a fresh measurement: cached generations or adapters would hide the cost
        pins: dict[str, Any] = {}
        if kind == AS_IS:
            for m in members:
                pins.update(m.pins)
        task_yaml = write_task_file(sub / "task.yaml", derived_task(task, target, pins))
        seeded = seed_index(run_dir, sub) if any(registry.uses_retrieval(m.name) for m in members) else None
        reporter.note(f"upgrade {kind}: {', '.join(m.name for m in members)} on {target.describe()}")
        results = compare(task_yaml, out=sub, levers=[m.name for m in members], limit=n_eval, seed=seed,
                          reporter=reporter)
        runs.append({"folder": sub, "kind": kind, "levers": [m.name for m in members], "results": results,
                     "predictions": read_predictions(sub, results), "index_reused": index_reused(seeded, sub)})
    return summarize(run_dir, old, old_predictions, target, task, moves, runs, out_dir, seed)


def summarize(run_dir: Path, old: dict, old_predictions: dict, target: Target, task: Task, moves: list[Move],
              runs: list[dict], out_dir: Path, seed: int) -> dict:
    """upgrade.json: the lock-in table and everything behind it."""
    from .analysis import task_prices

    prices = task_prices(task)
    warnings: list[str] = []
    diffs: dict[tuple[str, str], LeverDiff] = {}
    for run in runs:
        d = diff_runs(old, old_predictions, run["results"], run["predictions"], a_dir=run_dir, b_dir=run["folder"],
                      levers=run["levers"], seed=seed)
        warnings += [f"{run['kind']}: {w}" for w in d.warnings]
        for lev in d.levers:
            diffs[(run["kind"], lev.name)] = lev
            if lev.n_text_changed:
                warnings.append(f"{lev.name} ({run['kind']}): {lev.n_text_changed} eval ids carry another input or "
                                "reference than in the old run: the eval set changed, not only the model")
        for key in ("train", "eval"):
            a, b = old["task"]["hashes"][key], run["results"]["task"]["hashes"][key]
            if a != b and not any(key in w and run["kind"] in w for w in warnings):
                warnings.append(f"data.{key} changed since the old run ({a} -> {b}) in the {run['kind']} run: the "
                                "difference mixes the data change with the model change")
    old_levers = {str(lev["name"]): lev for lev in old["levers"]}
    rows = []
    for move in moves:
        old_lev = old_levers[move.name]
        row: dict[str, Any] = {"name": move.name, "carried": move.carried, "reason": move.reason,
                               "old": _old_side(old_lev), "pins": move.pins, "notes": list(move.notes)}
        for run in runs:
            if move.name in run["levers"]:
                row[_key(run["kind"])] = _new_side(move.name, run, diffs.get((run["kind"], move.name)), prices,
                                                   out_dir)
        row["lock_in"] = lock_in(row.get("as_is"), prices)
        rows.append(row)
    notes = decision_notes(rows)
    first = runs[0]["results"]
    if first["model"]["id"] == old["model"]["id"]:
        warnings.insert(0, f"the new model is the old one ({old['model']['id']}): the drill measures run-to-run "
                           "noise and the cost of a rerun, not an upgrade")
    return {
        "schema": SCHEMA,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "task": old["task"]["name"],
        "run": display_path(run_dir),
        "folder": display_path(out_dir),
        "label": target.label,
        "old_model": {"id": old["model"]["id"], "kind": old["model"]["kind"],
                      "parameters": old["model"].get("parameters")},
        "new_model": {"id": first["model"]["id"], "kind": first["model"]["kind"],
                      "parameters": first["model"].get("parameters"), "given": target.describe()},
        "eval_size": int(old["task"]["sizes"]["eval"]),
        "prices": {"machine_cost_per_hour": prices.machine_cost_per_hour, "calls_per_month": prices.calls_per_month,
                   "price_per_1m_input": prices.price_per_1m_input, "price_per_1m_output": prices.price_per_1m_output},
        "levers": rows,
        "runs": [{"kind": r["kind"], "folder": display_path(r["folder"]), "levers": r["levers"],
                  "load_model_seconds": r["results"]["timings"].get("load_model"),
                  "data_checks_seconds": r["results"]["timings"].get("data_checks"),
                  "total_seconds": r["results"]["timings"].get("total"), "index_reused": r["index_reused"]}
                 for r in runs],
        "decision_notes": notes,
        "warnings": warnings,
        "horizon_months": DEFAULT_HORIZON_MONTHS,
    }


def _key(kind: str) -> str:
    return kind.replace("-", "_")


def _old_side(lev: dict) -> dict:
    if lev["status"] != "ok":
        return {"status": lev["status"]}
    cost = lev["cost"]
    return {"status": "ok", "score": lev["score"]["mean"], "ci_low": lev["score"]["ci_low"],
            "ci_high": lev["score"]["ci_high"], "chosen": lev.get("chosen") or {},
            "monthly_cost": cost.get("monthly_cost"), "cost_per_1k_calls": cost.get("cost_per_1k_calls")}


def _new_side(name: str, run: dict, d: LeverDiff | None, prices, out_dir: Path) -> dict:
    lev = next(lev for lev in run["results"]["levers"] if lev["name"] == name)
    side: dict[str, Any] = {"folder": display_path(run["folder"]), "status": lev["status"]}
    if lev["status"] != "ok":
        side["reason"] = lev["reason"]
        return side
    cost, details = lev["cost"], lev.get("details") or {}
    n_eval = int(run["results"]["task"]["sizes"]["eval"])
    dev = lev.get("dev") or []
    prompt_tokens = (sum(float(r.get("input_tokens_per_call") or 0) * int(r.get("dev_rows") or 0) for r in dev)
                     + cost["input_tokens_per_call"] * n_eval)
    output_tokens = cost["output_tokens_per_call"] * n_eval  # dev replies' lengths are not recorded
    training_tokens = int(details.get("tokens_seen") or 0)
    seconds = float(lev.get("wall_seconds") or 0.0)
    # a loaded index records the seconds its first build took: this move did not spend them
    index_seconds = 0.0 if run["index_reused"] and registry.uses_retrieval(name) else cost["index_seconds"]
    machine_seconds = cost["train_seconds"] + index_seconds
    dollars, missing = move_dollars(seconds, machine_seconds, prompt_tokens, output_tokens, prices)
    side.update({
        "chosen": lev.get("chosen") or {}, "score": lev["score"]["mean"],
        "ci_low": lev["score"]["ci_low"], "ci_high": lev["score"]["ci_high"],
        "variants_on_dev": len(dev) if dev else 1,
        "redone": redone(name, run["kind"], lev, run["index_reused"]),
        "cost": {"seconds": round(seconds, 2), "train_seconds": cost["train_seconds"],
                 "index_seconds": index_seconds, "dollars": dollars, "dollars_missing": missing,
                 "prompt_tokens": int(round(prompt_tokens)), "output_tokens": int(round(output_tokens)),
                 "training_tokens": training_tokens},
        "monthly_cost": cost.get("monthly_cost"), "cost_per_1k_calls": cost.get("cost_per_1k_calls"),
    })
    if d is not None and d.status == "compared":
        side["paired"] = {"n": d.n_shared, "old_mean": d.a_mean, "new_mean": d.b_mean, "diff": d.diff,
                          "ci_low": d.ci_low, "ci_high": d.ci_high, "p_holm": d.p_holm, "test": d.test,
                          "verdict": d.verdict, "regressed": d.n_regressed, "fixed": d.n_fixed}
    elif d is not None:
        side["paired"] = {"n": 0, "note": d.note}
    return side


def redone(name: str, kind: str, lev: dict, reused: bool | None) -> list[str]:
    """What moving the lever took, in words: re-run or re-tuned prompts, the index reused or rebuilt, adapters
    retrained."""
    traits = registry.traits(name)
    chosen, details = lev.get("chosen") or {}, lev.get("details") or {}
    n = len(lev.get("dev") or []) or 1
    out = []
    if traits.uses_retrieval:
        was_reused = details.get("index_reused", reused) if name == "retrieval" else reused
        out.append("index reused (embedder unchanged)" if was_reused else "index rebuilt")
    if traits.trains_weights:
        what = "SFT and DPO adapters retrained" if name == "preference" else (
            "combined adapter retrained" if traits.uses_retrieval else "adapter retrained")
        lr = details.get("lr", chosen.get("lr"))
        out.append(f"{what} (lr {lr:.1e}, {'same settings' if kind == AS_IS else 'task settings'})"
                   if isinstance(lr, (int, float)) else what)
    if kind == AS_IS:
        if not traits.trains_weights:
            out.append("prompt re-run as-is" if not traits.uses_retrieval else "prompts re-run with the same top-k")
        if n > 1:
            out.append(f"{n} variants scored on dev (what task.yaml cannot pin)")
    elif n > 1:
        out.append(f"re-tuned on dev ({n} variants)")
    elif not traits.trains_weights:
        out.append("re-run (one variant: nothing to tune)")
    return out


def move_dollars(seconds: float, machine_seconds: float, prompt_tokens: float, output_tokens: float,
                 prices) -> tuple[float | None, str | None]:
    """The move's cost in $: with token prices (an endpoint), its generated tokens at those prices plus training and
    index seconds at the machine rate; otherwise every measured second at the machine rate, as costs.py prices a
    local model. (None, what is missing) when a needed price is not set."""
    rate = prices.machine_cost_per_hour
    if prices.has_token_prices:
        if machine_seconds > 0 and rate is None:
            return None, "costs.machine_cost_per_hour (to price training and the index)"
        return (prompt_tokens * (prices.price_per_1m_input or 0.0) + output_tokens * (prices.price_per_1m_output or 0.0)
                ) / 1e6 + machine_seconds * (rate or 0.0) / 3600, None
    if rate is None:
        return None, "costs.machine_cost_per_hour (or endpoint token prices)"
    return seconds * rate / 3600, None


def lock_in(side: dict | None, prices) -> dict:
    """The cost of moving the lever (its as-is run) against its monthly running cost on the new model."""
    if side is None or side.get("status") != "ok":
        return {"months": None, "text": "not moved"}
    dollars, monthly = side["cost"]["dollars"], side.get("monthly_cost")
    missing = []
    if dollars is None:
        missing.append(side["cost"]["dollars_missing"])
    if monthly is None:
        missing.append("costs.calls_per_month" if prices.is_set else
                       "costs.machine_cost_per_hour or token prices, and costs.calls_per_month")
    seconds = side["cost"]["seconds"]
    if missing:
        return {"months": None, "dollars": dollars, "monthly": monthly,
                "text": f"moving took {seconds:,.1f} s; unpriced: set {' and '.join(dict.fromkeys(missing))} in "
                        "task.yaml"}
    if monthly == 0:
        return {"months": None, "dollars": dollars, "monthly": 0.0,
                "text": f"moving costs {money(dollars)}; it costs $0 a month to run at these prices"}
    months = dollars / monthly
    return {"months": months, "dollars": dollars, "monthly": monthly,
            "text": f"moving costs {money(dollars)} = {number(months)} months of its running cost ({money(monthly)} "
                    f"a month at {prices.calls_per_month:,.0f} calls)"}


def money(x: float | None) -> str:
    """$1,234.50, $0.42, $0.000055 (two significant digits below a dollar); a dash when unknown."""
    if x is None:
        return "—"
    if x == 0 or x >= 1:
        return f"${x:,.2f}"
    return f"${x:.{max(2, 1 - math.floor(math.log10(x)))}f}"


def number(x: float) -> str:
    """A count of months or similar: 1,234 / 12.3 / 0.032."""
    return f"{x:,.0f}" if x >= 10 else f"{x:.1f}" if x >= 1 else f"{x:.2g}"


def decision_notes(rows: list[dict]) -> list[str]:
    """Per lever that trains weights: does what it saves a year against a lever that trains none cover one upgrade a
    year? A lever whose move costs more than its yearly saving is not cheaper (this report's reading only; the
    run's own decision is unchanged)."""
    notes = []
    moved = [r for r in rows if (r.get("as_is") or {}).get("status") == "ok"]
    for r in moved:
        if not registry.trains_weights(r["name"]):
            continue
        mine, move = r["as_is"].get("monthly_cost"), r["as_is"]["cost"]["dollars"]
        for other in moved:
            theirs = other["as_is"].get("monthly_cost")
            if registry.trains_weights(other["name"]) or mine is None or theirs is None or move is None:
                continue
            saving = DEFAULT_HORIZON_MONTHS * (theirs - mine)
            if saving <= 0:
                continue
            verdict = ("is not cheaper than" if move > saving else "stays cheaper than")
            notes.append(f"{r['name']} {verdict} {other['name']} with one upgrade a year: it saves {money(saving)} a "
                         f"year in running cost, and moving it costs {money(move)}")
    return notes

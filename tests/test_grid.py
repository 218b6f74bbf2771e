"""The model x lever grid (`models:` in task.yaml): two different tiny models (same tokenizer) x every lever write
the grid to results.json, the report and the terminal; cells are paired on eval ids; the decision picks a cell by
the levers' rules; a single `model:` run has no grid; bad `models:` input is one line naming the field and line."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from advisor.analysis import analyse_grid, pareto_front
from advisor.cli import main
from advisor.costs import LeverCost
from advisor.decide import LeverSummary, cell_name, cost_ratio_words, lever_of, model_of, recommend_cell
from advisor.results import Results
from conftest import build_tiny_model, write_task
from katan import Katan, free_port, katan_missing
from test_preference import preference_rows
from test_results import undocumented, validator

LEVERS = ["prompt", "retrieval", "finetune", "preference", "retrieval+finetune"]
LABELS = ["big", "small"]


BIG_RATE = 2.0  # the big model's machine_cost_per_hour (prices: in its entry); the small one keeps costs: 0.20


def grid_yaml(models: dict[str, str], prices: dict[str, str] | None = None) -> str:
    return "models:\n" + "".join(f"  - {{label: {label}, model: {json.dumps(ref)}"
                                 + (f", prices: {prices[label]}" if prices and label in prices else "") + "}\n"
                                 for label, ref in models.items())


def grid_task(folder: Path, models: dict[str, str], prices: dict[str, str] | None = None, **kwargs) -> Path:
    """write_task's tiny QA task with `models:` in place of `model:`, and preference pairs for the fifth lever."""
    task = write_task(folder, "PLACEHOLDER", **kwargs)
    text = task.read_text().replace("model: PLACEHOLDER\n", grid_yaml(models, prices))
    text = text.replace("  eval: data/eval.jsonl\n", "  eval: data/eval.jsonl\n  preferences: data/prefs.jsonl\n")
    task.write_text(text)
    (folder / "data" / "prefs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in preference_rows()))
    return task


@pytest.fixture(scope="module")
def small_model(tmp_path_factory) -> Path:
    """A second tiny Llama: half as wide, one layer, other weights; the same tokenizer as `tiny_model`."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama-small"), hidden=32, layers=1)


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory, tiny_model, small_model) -> tuple[Path, dict, str]:
    folder = tmp_path_factory.mktemp("grid")
    task = grid_task(folder / "task", {"big": str(tiny_model), "small": str(small_model)},
                     {"big": f"{{machine_cost_per_hour: {BIG_RATE}}}"}, n_train=16, n_eval=6)
    out = folder / "run"
    result = CliRunner().invoke(main, ["compare", str(task), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, json.loads((out / "results.json").read_text(encoding="utf-8")), result.output


def totals(path: Path) -> dict[str, float]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {str(r["id"]): r["scores"]["total"] for r in rows}


# --- the grid end to end ------------------------------------------------------------------------------------------

def test_the_two_tokenizers_match_and_the_models_differ(tiny_model, small_model) -> None:
    from transformers import AutoConfig, AutoTokenizer

    a, b = AutoTokenizer.from_pretrained(tiny_model), AutoTokenizer.from_pretrained(small_model)
    assert a.get_vocab() == b.get_vocab()
    assert AutoConfig.from_pretrained(tiny_model).hidden_size != AutoConfig.from_pretrained(small_model).hidden_size


def test_every_lever_runs_on_every_model_and_the_grid_is_in_results_json(grid_run) -> None:
    out, results, _ = grid_run
    validator().validate(results)
    model = Results.model_validate(results)
    assert undocumented(model) == [] and model.missing_when_ok() is None
    grid = results["grid"]
    assert [m["label"] for m in grid["models"]] == LABELS
    assert [(c["model"], c["lever"]) for c in grid["cells"]] == [(m, lv) for m in LABELS for lv in LEVERS]
    for cell in grid["cells"]:
        assert cell["status"] == "ok", cell
        assert cell["name"] == f"{cell['model']} + {cell['lever']}"
        s = cell["score"]
        assert s["ci_low"] <= s["mean"] <= s["ci_high"]
        assert cell["cost"]["cost_per_1k_calls"] > 0 and cell["cost"]["seconds_per_call"] > 0
        assert (cell["cost"]["train_seconds"] > 0) == (cell["lever"] in ("finetune", "preference", "retrieval+finetune"))
        assert cell["predictions"] == f"predictions/{cell['model']}/{cell['lever']}.jsonl"
        assert len(totals(out / cell["predictions"])) == 6
    # the top level is the recommended model's run, as a single-model run would write it
    rec = results["recommendation"]
    assert rec["model"] in LABELS and rec["lever"] in LEVERS and rec["cell"] == f"{rec['model']} + {rec['lever']}"
    own = next(m for m in grid["models"] if m["label"] == rec["model"])
    assert results["model"] == own["model"]
    assert [lev["name"] for lev in results["levers"]] == LEVERS
    assert all(lev["artifacts"]["predictions"].startswith(f"predictions/{rec['model']}/") for lev in results["levers"])
    assert grid["models"][0]["model"]["source"] != grid["models"][1]["model"]["source"]
    assert grid["models"][0]["model"]["parameters"] > grid["models"][1]["model"]["parameters"]


def test_each_model_is_priced_by_its_own_prices(grid_run) -> None:
    """A cell's cost per call is its measured seconds at its model's rate: prices: in the entry for big (2.0 an
    hour), the task's costs: for small (0.20); prompt spends no retrieval time, so that is all there is."""
    _, results, _ = grid_run
    cells = {c["name"]: c for c in results["grid"]["cells"]}
    for label, rate in (("big", BIG_RATE), ("small", 0.20)):
        cost = cells[f"{label} + prompt"]["cost"]
        assert cost["cost_per_1k_calls"] == pytest.approx(cost["seconds_per_call"] * rate / 3600 * 1000, rel=1e-9)
        tuned = cells[f"{label} + finetune"]["cost"]
        assert tuned["one_off_cost"] == pytest.approx(tuned["train_seconds"] * rate / 3600, rel=1e-2)  # rounded s
    top = results["cost_model"]["machine_cost_per_hour"]
    assert top == (BIG_RATE if results["recommendation"]["model"] == "big" else 0.20)


def test_comparisons_across_cells_are_paired_on_eval_ids(grid_run) -> None:
    """Every pair of cells is tested (Holm over all of them), and each difference is the mean over shared eval ids
    of the two cells' per-example totals as their predictions files hold them (rounded to 4 decimals there)."""
    out, results, _ = grid_run
    grid = results["grid"]
    by_name = {c["name"]: totals(out / c["predictions"]) for c in grid["cells"]}
    assert len(grid["comparisons"]) == 10 * 9 // 2
    assert {frozenset((c["a"], c["b"])) for c in grid["comparisons"]} == {
        frozenset((a, b)) for i, a in enumerate(by_name) for b in list(by_name)[i + 1:]}
    for c in grid["comparisons"]:
        a, b = by_name[c["a"]], by_name[c["b"]]
        assert a.keys() == b.keys()
        assert c["diff"] == pytest.approx(np.mean([a[i] - b[i] for i in a]), abs=1e-4)
        assert c["p_holm"] >= c["p_value"] and c["ci_low"] <= c["diff"] <= c["ci_high"]


def test_pairing_refuses_cells_whose_rows_are_not_the_eval_rows_in_order() -> None:
    from advisor.data import Example
    from advisor.scoring import load_rubric

    evals = [Example(id=f"e{i}", input="q", output="a") for i in range(4)]
    rubric = load_rubric("short_answer_qa", Path("."), Path("task.yaml"))
    from advisor.spec import Task

    task = Task.model_validate({"name": "t", "instruction": "x", "data": {"train": "t.jsonl", "eval": "e.jsonl"},
                                "rubric": "short_answer_qa"})

    def lever(ids: list[str], scores: list[float]) -> dict:
        return {"name": "prompt", "status": "ok", "reason": None, "score": {"mean": 0.5, "ci_low": 0, "ci_high": 1},
                "criteria": {}, "cost": {"input_tokens_per_call": 1.0, "output_tokens_per_call": 1.0,
                                         "seconds_per_call": 0.1, "latency_p50": 0.1, "latency_p95": 0.1,
                                         "train_seconds": 0.0, "index_seconds": 0.0},
                "artifacts": {"predictions": "p.jsonl"}, "_rows": [{"id": i} for i in ids],
                "_scores": {"total": np.asarray(scores)}}

    ids = [e.id for e in evals]
    rec = {"lever": "prompt", "confidence": "likely", "reasons": [], "what_would_change": []}
    model = {"kind": "local", "id": "m", "source": "m", "parameters": 1}
    grid = analyse_grid([("a", model, [lever(ids, [1, 1, 0, 0])], rec, []),
                         ("b", model, [lever(ids, [1, 0, 0, 0])], rec, [])], rubric, evals, task)
    assert grid["comparisons"][0]["diff"] == pytest.approx(0.25)
    with pytest.raises(AssertionError, match="not the eval rows in order"):
        analyse_grid([("a", model, [lever(ids, [1, 1, 0, 0])], rec, []),
                      ("b", model, [lever(ids[::-1], [0, 0, 0, 1])], rec, [])], rubric, evals, task)


def test_the_pareto_front_is_exactly_the_undominated_cells(grid_run) -> None:
    _, results, _ = grid_run
    cells = results["grid"]["cells"]
    front = set(results["grid"]["pareto"])
    assert front

    def dominates(x: dict, y: dict) -> bool:
        xs, ys = (x["score"]["mean"], -x["cost"]["cost_per_1k_calls"]), (y["score"]["mean"], -y["cost"]["cost_per_1k_calls"])
        return xs[0] >= ys[0] and xs[1] >= ys[1] and xs != ys

    for cell in cells:
        assert (cell["name"] in front) == (not any(dominates(o, cell) for o in cells)), cell["name"]
    # hand-made: B is dearer and worse than A (off the front), C is dearer but better (on it)
    made = [{"name": n, "score": {"mean": m}, "cost": {"cost_per_1k_calls": k}}
            for n, m, k in (("A", 0.7, 1.0), ("B", 0.6, 2.0), ("C", 0.9, 5.0), ("D", 0.7, 1.0))]
    assert pareto_front(made) == ["A", "D", "C"]


def test_caches_are_shared_and_adapters_are_kept_per_model(grid_run) -> None:
    out, results, _ = grid_run
    assert len(list((out / "finetune").iterdir())) == 2  # one adapter per base model (keyed by the model)
    assert (out / "index" / "faiss.index").is_file() and len(list((out / "index").glob("*.index"))) == 1
    names = sorted(p.name for p in (out / "cache").iterdir())  # one generation cache, keyed by model; one embedder's
    assert names[-1] == "generations.jsonl" and len(names) == 2 and names[0].startswith("embeddings-")


def test_a_rerun_regenerates_and_retrains_nothing(grid_run) -> None:
    out, results, _ = grid_run
    cache = out / "cache" / "generations.jsonl"
    before = cache.read_bytes()
    task = Path(results["task"]["task_file"])
    again = CliRunner().invoke(main, ["compare", str(task), "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert cache.read_bytes() == before
    rerun = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [c["score"] for c in rerun["grid"]["cells"]] == [c["score"] for c in results["grid"]["cells"]]
    assert rerun["recommendation"]["cell"] == results["recommendation"]["cell"]


def test_the_report_and_the_terminal_show_the_grid(grid_run) -> None:
    out, results, output = grid_run
    page = (out / "report.html").read_text(encoding="utf-8")
    assert '<section id="grid"' in page and page.count("data-cell=") == 10
    assert 'aria-label="Score against cost per 1,000 calls for every model and lever, Pareto front marked"' in page
    assert 'src="http' not in page and 'href="http' not in page  # self-contained
    rec = results["recommendation"]
    assert re.search(rf'class="cell recommended[^"]*" data-cell="{re.escape(rec["cell"])}"', page)
    front = results["grid"]["pareto"]
    assert len(re.findall(r'class="cell[^"]*\bpareto\b', page)) == len(front)
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## Model × lever grid" in md
    rows = [line for line in md.splitlines() if line.startswith(("| big |", "| small |"))]
    assert len(rows) == 2 and all(line.count(" · $") == 5 for line in rows)
    assert f"on `{rec['model']}`" in md
    # the terminal: one row per cell, the recommended one starred
    for cell in results["grid"]["cells"]:
        assert re.search(rf"{cell['model']}\s*│\s*{re.escape(cell['lever'])}", output), cell["name"]
    assert f"recommend {rec['lever']} on {rec['model']}" in output
    # advise report re-renders the same grid from the stored run
    first = page
    again = CliRunner().invoke(main, ["report", str(out)])
    assert again.exit_code == 0, again.output
    assert (out / "report.html").read_text(encoding="utf-8").count("data-cell=") == first.count("data-cell=")


def test_the_report_lists_the_other_models_warnings(grid_run, tmp_path) -> None:
    from advisor.compare import load_predictions
    from advisor.report import render_report

    out, results, _ = grid_run
    results = json.loads(json.dumps(results))
    other = next(m for m in results["grid"]["models"] if m["label"] != results["recommendation"]["model"])
    other["warnings"].append({"code": "overfitting", "message": "finetune: train loss fell far below dev loss"})
    html_path, _ = render_report(results, load_predictions(out, results), tmp_path)
    page = html_path.read_text(encoding="utf-8")
    assert "Warnings on the other models" in page
    assert f"<strong>{other['label']}</strong>: <code>overfitting</code> finetune: train loss fell" in page


def test_the_ci_gate_reads_the_recommended_cell(grid_run) -> None:
    """--fail-under gates on the recommended cell: its lever's score in the top level (the recommended model's run)
    is the cell's score."""
    out, results, _ = grid_run
    rec = results["recommendation"]
    cell = next(c for c in results["grid"]["cells"] if c["name"] == rec["cell"])
    lever = next(lev for lev in results["levers"] if lev["name"] == rec["lever"])
    assert lever["score"] == cell["score"] and cell["score"]["mean"] < 0.99
    passed = CliRunner().invoke(main, ["report", str(out), "--fail-under", f"{cell['score']['mean'] - 1e-6:.6f}"])
    assert passed.exit_code == 0, passed.output
    failed = CliRunner().invoke(main, ["report", str(out), "--fail-under", f"{cell['score']['mean'] + 0.01:.4f}"])
    assert failed.exit_code == 3 and rec["lever"] in failed.output, failed.output


# --- an endpoint without weights: prompt and retrieval only -------------------------------------------------------

@pytest.mark.skipif(katan_missing() is not None, reason=katan_missing() or "")
def test_an_endpoint_without_weights_runs_prompt_and_retrieval_and_says_why_not_the_rest(
        tmp_path, tiny_model, small_model) -> None:
    server = Katan(tiny_model, "tiny", free_port(), tmp_path / "katan").start()
    try:
        task = write_task(tmp_path / "task", "PLACEHOLDER", n_train=16, n_eval=4)
        endpoint = f"{{base_url: {server.base_url}, name: tiny}}"
        task.write_text(task.read_text().replace("model: PLACEHOLDER\n", f"models:\n  - {{label: local, model: "
                                                 f"{json.dumps(str(small_model))}}}\n  - {{label: served, model: "
                                                 f"{endpoint}}}\n"))
        result = CliRunner().invoke(main, ["compare", str(task), "--out", str(tmp_path / "run"),
                                           "--levers", "prompt,retrieval,finetune"])
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "run" / "results.json").read_text(encoding="utf-8"))
    cells = {c["name"]: c for c in results["grid"]["cells"]}
    assert [cells[f"local + {lv}"]["status"] for lv in ("prompt", "retrieval", "finetune")] == ["ok"] * 3
    assert cells["served + prompt"]["status"] == "ok" and cells["served + retrieval"]["status"] == "ok"
    assert cells["served + finetune"]["status"] == "skipped" and "weights" in cells["served + finetune"]["reason"]
    assert results["grid"]["models"][1]["model"]["kind"] == "openai"
    page = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert re.search(r'class="cell skipped" data-cell="served \+ finetune">\s*<span class="badge badge-skipped">'
                     r'skipped</span> <span class="reason small">[^<]*weights', page)
    md = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    served = next(line for line in md.splitlines() if line.startswith("| served |"))
    assert served.count(" · $") == 2 and "skipped: " in served and "weights" in served
    assert len(results["grid"]["comparisons"]) == 5 * 4 // 2  # skipped cells are not compared
    assert all("served + finetune" not in (c["a"], c["b"]) for c in results["grid"]["comparisons"])


def test_one_model_at_a_time_is_held(tmp_path, tiny_model, small_model, monkeypatch) -> None:
    """Each model's backend is released before the next one loads (two big models need not fit together)."""
    import gc
    import weakref

    from advisor import compare as compare_module

    made, alive_at_load = [], []
    build = compare_module.make_backend

    def tracked(task, reporter):
        gc.collect()
        alive_at_load.append(sum(ref() is not None for ref in made))
        backend, factory = build(task, reporter)
        made.append(weakref.ref(backend))
        return backend, factory

    monkeypatch.setattr(compare_module, "make_backend", tracked)
    task = grid_task(tmp_path / "task", {"big": str(tiny_model), "small": str(small_model)}, n_train=16, n_eval=4)
    compare_module.compare(task, tmp_path / "run", levers=["prompt", "finetune"])
    assert len(made) == 2 and alive_at_load == [0, 0]


# --- a single model writes what it always wrote ------------------------------------------------------------------

def test_a_single_model_run_has_no_grid(tmp_path, tiny_model) -> None:
    from advisor.compare import compare

    task = write_task(tmp_path / "task", str(tiny_model), n_train=16, n_eval=4)
    compare(task, tmp_path / "run", levers=["prompt", "retrieval"])
    results = json.loads((tmp_path / "run" / "results.json").read_text(encoding="utf-8"))
    validator().validate(results)
    assert "grid" not in results
    assert set(results["recommendation"]) == {"lever", "confidence", "reasons", "what_would_change"}
    assert sorted(p.name for p in (tmp_path / "run" / "predictions").iterdir()) == ["prompt.jsonl", "retrieval.jsonl"]
    assert set(results["timings"]) == {"load_model", "data_checks", "lever_prompt", "lever_retrieval", "total"}
    page = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert 'id="grid"' not in page and "Model × lever grid" not in (tmp_path / "run" / "report.md").read_text()


# --- the decision over cells --------------------------------------------------------------------------------------

def test_cell_names_split_back_into_model_and_lever() -> None:
    assert cell_name("small", "retrieval+finetune") == "small + retrieval+finetune"
    assert lever_of("small + retrieval+finetune") == "retrieval+finetune" and model_of("small + finetune") == "small"
    assert lever_of("retrieval+finetune") == "retrieval+finetune" and model_of("finetune") is None


@pytest.mark.parametrize("ratio, words", [(0.2, "at a fifth of the cost per call"), (0.5, "at half the cost per call"),
                                          (0.26, "at a quarter of the cost per call"),
                                          (0.37, "at 37% of the cost per call"), (0.02, "at 1/50 of the cost per call"),
                                          (1.0, "at about the same cost per call"),
                                          (2.5, "at 2.5 times the cost per call")])
def test_cost_ratios_in_words(ratio: float, words: str) -> None:
    assert cost_ratio_words(ratio) == words


def _verdict(a: str, b: str, diff: float, lo: float, hi: float, verdict: str = "indistinguishable") -> dict:
    return {"a": a, "b": b, "diff": diff, "ci_low": lo, "ci_high": hi, "p_value": 0.5, "p_holm": 0.9,
            "test": "sign_flip+paired_bootstrap", "verdict": verdict, "mdd": 0.1}


def test_a_small_tuned_model_that_matches_a_big_prompted_one_at_a_fifth_of_the_cost_is_chosen() -> None:
    cells = [LeverSummary("big + prompt", "ok", 0.80, 0.76, 0.84, cost_per_1k_calls=5.0, one_off_cost=0.0),
             LeverSummary("small + prompt", "ok", 0.55, 0.50, 0.60, cost_per_1k_calls=1.0, one_off_cost=0.0),
             LeverSummary("small + finetune", "ok", 0.79, 0.75, 0.83, cost_per_1k_calls=1.0, one_off_cost=10.0)]
    verdicts = [_verdict("small + finetune", "big + prompt", -0.01, -0.04, 0.02),
                _verdict("big + prompt", "small + prompt", 0.25, 0.20, 0.30, "better"),
                _verdict("small + finetune", "small + prompt", 0.24, 0.19, 0.29, "better")]
    money = {c.name: LeverCost(c.cost_per_1k_calls, c.one_off_cost, c.cost_per_1k_calls * 100) for c in cells}
    rec = recommend_cell(cells, verdicts, money, min_saving=100.0, margin=0.05)
    assert rec.lever == "small + finetune"
    assert rec.reasons[0] == ("small + finetune matches big + prompt (-0.01 [-0.04, +0.02]) "
                              "at a fifth of the cost per call.")
    assert any("cheaper at the stated volume" in r for r in rec.reasons)
    # at a tenth of the volume the saving is below min_yearly_saving: the simpler cell (prompt) wins
    few = {c.name: LeverCost(c.cost_per_1k_calls, c.one_off_cost, c.cost_per_1k_calls * 1) for c in cells}
    rec = recommend_cell(cells, verdicts, few, min_saving=100.0, margin=0.05)
    assert rec.lever == "big + prompt"
    assert rec.reasons[0] == "big + prompt matches small + finetune (+0.01 [-0.02, +0.04]) at 5.0 times the cost per call."


def test_a_cell_shown_worse_is_never_chosen_for_its_price() -> None:
    cells = [LeverSummary("big + prompt", "ok", 0.80, 0.76, 0.84, cost_per_1k_calls=5.0, one_off_cost=0.0),
             LeverSummary("small + prompt", "ok", 0.60, 0.55, 0.65, cost_per_1k_calls=0.1, one_off_cost=0.0)]
    verdicts = [_verdict("big + prompt", "small + prompt", 0.20, 0.15, 0.25, "better")]
    money = {c.name: LeverCost(c.cost_per_1k_calls, c.one_off_cost, c.cost_per_1k_calls * 1000) for c in cells}
    rec = recommend_cell(cells, verdicts, money, min_saving=0.0)
    assert rec.lever == "big + prompt" and rec.confidence == "clear"
    assert rec.reasons[0] == "big + prompt beats small + prompt (+0.20 [+0.15, +0.25]) at 50 times the cost per call."


# --- bad input: one line naming the file, field and line, with a hint; exit 2 ------------------------------------

@pytest.mark.parametrize("models, where, words", [
    ("models: []\n", "models (line 3)", "must list at least one model"),
    ("models:\n  - {label: small, model: default}\n  - {label: small, model: x/y}\n", "models[1].label (line 5)",
     "label small is used twice"),
    ("models:\n  - {label: \"two words\", model: default}\n", "models[0].label (line 4)", "must be a short name"),
    ("models:\n  - {label: a, model: default}\n  - {label: b}\n", "models[1].model (line 5)", "required field is missing"),
    ("models:\n  - {label: a, model: default}\n  - {label: b, modle: x/y}\n", "models[1].modle (line 5)", "unknown key"),
    ("models:\n  - {label: a, model: default}\n  - {label: b, model: default}\n", "models[1].model (line 5)",
     "the same model as models[0]"),
    ("models:\n  - {label: a, model: default}\n  - {label: b, model: ./nowhere}\n", "models[1].model (line 5)",
     "model folder does not exist"),
    ("models:\n  - {label: a, model: default}\n  - {label: b, model: {base_url: 'http://127.0.0.1:9/v1', name: m, "
     "api_key_env: ADVISE_GRID_UNSET}}\n", "models[1].model.api_key_env (line 5)", "ADVISE_GRID_UNSET is not set"),
    ("models: default\n", "models (line 3)", "must be a list of {label, model} entries"),
])
def test_bad_models_are_one_line_with_file_field_and_line(tmp_path, models: str, where: str, words: str) -> None:
    task = write_task(tmp_path / "task", "PLACEHOLDER")
    text = task.read_text().replace("model: PLACEHOLDER\n", "")
    lines = text.splitlines(keepends=True)
    task.write_text("".join(lines[:2]) + models + "".join(lines[2:]))
    result = CliRunner().invoke(main, ["validate", str(task)])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    assert f"task.yaml: {where}: " in errors[0] and words in errors[0] and "(hint: " in errors[0], errors[0]


def test_model_and_models_together_are_refused(tmp_path, tiny_model) -> None:
    task = write_task(tmp_path / "task", str(tiny_model))
    task.write_text(task.read_text() + "models:\n  - {label: a, model: default}\n")
    result = CliRunner().invoke(main, ["validate", str(task)])
    assert result.exit_code == 2
    assert re.search(r"task\.yaml: model \(line 3\): model: and models: are both set \(hint: ", result.output)


def test_a_model_on_which_no_lever_can_run_is_named(tmp_path) -> None:
    task = write_task(tmp_path / "task", "PLACEHOLDER", corpus=False)
    task.write_text(task.read_text().replace("model: PLACEHOLDER\n", "models:\n  - {label: a, model: default}\n"
                                             "  - {label: b, model: {base_url: 'http://127.0.0.1:9/v1', name: m}}\n"))
    result = CliRunner().invoke(main, ["validate", str(task), ])
    assert result.exit_code == 0, result.output  # prompt runs on the endpoint
    result = CliRunner().invoke(main, ["compare", str(task), "--levers", "finetune", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "task.yaml: models[1].model (line 5): no lever can run on this model (finetune: an endpoint without " \
           "model.weights)" in result.output


# --- the grid in a real headless Chromium ------------------------------------------------------------------------

CHART_LABEL = "Score against cost per 1,000 calls for every model and lever, Pareto front marked"


@pytest.mark.parametrize("viewport", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_the_grid_renders_in_a_browser(grid_run, tmp_path, viewport) -> None:
    from test_report_browser import CHROMIUM, LAUNCH_ARGS

    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    out, results, _ = grid_run
    page_uri = (out / "report.html").as_uri()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        requests, problems = [], []
        page.on("request", lambda req: requests.append(req.url))
        page.on("console", lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None)
        page.on("pageerror", lambda err: problems.append(str(err)))
        page.goto(page_uri, wait_until="load")
        assert requests == [page_uri] and problems == []
        page.locator("nav.toc a[href='#grid']").click()
        grid = page.locator("#grid")
        assert grid.is_visible()
        rows = grid.locator("table.grid tbody tr")
        assert rows.count() == 2
        assert [rows.nth(i).locator("th").inner_text().split("\n")[0] for i in range(2)] == LABELS
        assert all(rows.nth(i).locator("td.cell").count() == 5 for i in range(2))
        chosen = grid.locator("td.cell.recommended")
        assert chosen.count() == 1 and chosen.get_attribute("data-cell") == results["recommendation"]["cell"]
        assert "★" in chosen.inner_text()
        assert grid.locator("td.cell.pareto").count() == len(results["grid"]["pareto"])
        chart = grid.locator(f"svg[aria-label='{CHART_LABEL}']")
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        assert chart.is_visible() and box and box["width"] >= min(300, viewport[0] - 60) and box["height"] > 200
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport[0]  # the chart fits the screen
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than the viewport"
        pairs = grid.locator("table.grid-pairs tbody tr")
        assert pairs.count() == 9  # the recommended cell against each of the other nine
        grid.screenshot(path=str(tmp_path / f"grid-{viewport[0]}.png"))
        browser.close()

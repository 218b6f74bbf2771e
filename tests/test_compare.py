"""End to end through the CLI on the tiny model: every lever, the run dir contract, caching, determinism."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from advisor import stats
from advisor.cli import main
from advisor.runs import read_jsonl

from conftest import write_task


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, tiny_model):
    folder = tmp_path_factory.mktemp("e2e")
    task = write_task(folder / "task", str(tiny_model))
    out = folder / "run"
    result = run_cli("compare", str(task), "--out", str(out))
    assert result.exit_code == 0, result.output
    return task, out


def test_results_contract(finished_run):
    _, out = finished_run
    results = json.loads((out / "results.json").read_text())
    assert results["task"]["name"] == "tiny-task"
    assert [lev["name"] for lev in results["levers"]] == ["prompt", "retrieval", "finetune", "retrieval+finetune"]
    for lev in results["levers"]:
        assert lev["status"] == "ok", lev
        s = lev["score"]
        assert 0 <= s["ci_low"] <= s["mean"] <= s["ci_high"] <= 1
        assert set(lev["criteria"]) == {c["name"] for c in results["rubric"]["criteria"]}
        for key in ("input_tokens_per_call", "output_tokens_per_call", "seconds_per_call", "train_seconds"):
            assert lev["cost"][key] >= 0
        rows = read_jsonl(out / lev["artifacts"]["predictions"])
        assert len(rows) == 8 and {"input", "reference", "prediction", "scores"} <= set(rows[0])
        assert abs(sum(r["scores"]["total"] for r in rows) / 8 - s["mean"]) < 1e-3
    assert results["recommendation"]["lever"] in {"prompt", "retrieval", "finetune"}
    assert results["recommendation"]["reasons"]
    assert results["environment"]["seed"] == 0 and "torch" in results["environment"]["packages"]
    assert (out / "report.html").read_text().count("tiny-task") >= 1


def test_prompt_variants_chosen_on_dev(finished_run):
    _, out = finished_run
    prompt = json.loads((out / "results.json").read_text())["levers"][0]
    names = {row["variant"] for row in prompt["dev"]}
    # zero-shot and 2-shot (fixed, nearest), each with the instruction in the system and in the user turn
    assert len(names) == 6 and any("system" in n for n in names) and any("user" in n for n in names)
    full = [r for r in prompt["dev"] if r["dev_rows"] == max(x["dev_rows"] for x in prompt["dev"])]
    chosen = next(r for r in prompt["dev"] if r["variant"] == prompt["chosen"]["variant"])
    best = max(full, key=lambda r: r["score"])
    # the best on dev wins: at the default costs (machine time at $0.20/h, 10,000 calls/month) no variant of a tiny
    # model saves the $100 a year that would make a cost difference material
    assert chosen["score"] == best["score"] and chosen["chosen_because"] == "best dev score"
    assert [r for r in prompt["dev"] if "chosen_because" in r] == [chosen]


def test_successive_halving_screens_then_confirms(tmp_path, tiny_model):
    task = write_task(tmp_path / "task", str(tiny_model), corpus=False, n_train=200, n_eval=4, repeat=6)
    task.write_text(task.read_text().replace("data:\n", "data:\n  dev_size: 20\n"))
    result = run_cli("compare", str(task), "--out", str(tmp_path / "run"), "--levers", "prompt")
    assert result.exit_code == 0, result.output
    dev = json.loads((tmp_path / "run" / "results.json").read_text())["levers"][0]["dev"]
    # 6 variants screened on 16 rows; the best 2 and the cheapest (a zero-shot one) confirmed on all 20
    assert len(dev) == 6 and {r["dev_rows"] for r in dev} == {16, 20}
    confirmed = [r for r in dev if r["dev_rows"] == 20]
    assert 2 <= len(confirmed) <= 3 and any(r["shots"] == 0 for r in confirmed)


def test_retrieval_reports_retriever_metrics(finished_run):
    _, out = finished_run
    retrieval = json.loads((out / "results.json").read_text())["levers"][1]
    metrics = retrieval["details"]["retriever"]
    assert metrics["queries_with_gold"] == 8
    k = retrieval["chosen"]["top_k"]
    # three one-line documents: the gold document is always within the top 2
    assert metrics[f"recall@{k}"] == 1.0 and 0.5 <= metrics[f"mrr@{k}"] <= 1 and "ndcg@4" in metrics
    assert (out / "index" / "faiss.index").is_file()


def test_adapter_is_standard_peft(finished_run, tiny_model):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    _, out = finished_run
    finetune = json.loads((out / "results.json").read_text())["levers"][2]
    details = finetune["details"]
    assert details["lr_choice"] == "scaled" and details["epochs_run"] >= 1
    curve = details["loss_curve"]  # the dev loss at each score check (half epochs), the epochs' ends among them
    assert [s for s, _ in curve["dev"]] == [s for s, _ in curve["dev_score"]]
    assert set(curve["epochs"]) <= {s for s, _ in curve["dev"]} and len(curve["epochs"]) == details["epochs_run"]
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), str(out / finetune["artifacts"]["adapter"]))
    lora = [n for n, _ in model.named_parameters() if "lora_B" in n]
    assert lora, "adapter has no LoRA weights"
    assert any(float(p.abs().sum()) > 0 for n, p in model.named_parameters() if "lora_B" in n), "LoRA B never trained"


def test_warm_rerun_reuses_everything(finished_run):
    task, out = finished_run
    cache = out / "cache" / "generations.jsonl"
    lines_before = cache.read_text().count("\n")
    done = next(out.glob("finetune/*/done.json"))
    mtime = done.stat().st_mtime
    before = json.loads((out / "results.json").read_text())
    result = run_cli("compare", str(task), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert cache.read_text().count("\n") == lines_before, "a warm rerun generated again"
    assert done.stat().st_mtime == mtime, "a warm rerun retrained"
    after = json.loads((out / "results.json").read_text())
    assert [lev["score"] for lev in after["levers"]] == [lev["score"] for lev in before["levers"]]


def test_rubric_change_rescores_without_generating(finished_run, tmp_path):
    task, shared = finished_run
    out = tmp_path / "run"
    shutil.copytree(shared, out)  # a copy: the other tests (in any order) compare against the shared run's results
    cache = out / "cache" / "generations.jsonl"
    lines_before = cache.read_text().count("\n")
    changed = task.parent / "task-exact.yaml"
    changed.write_text(task.read_text().replace("rubric: short_answer_qa", "rubric: classification"))
    result = run_cli("compare", str(changed), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert cache.read_text().count("\n") == lines_before
    results = json.loads((out / "results.json").read_text())
    assert results["rubric"]["name"] == "classification"


def test_same_seed_same_predictions(tmp_path, tiny_model):
    outs = []
    for name in ("a", "b"):
        task = write_task(tmp_path / name, str(tiny_model), corpus=False)
        assert run_cli("compare", str(task), "--out", str(tmp_path / name / "run")).exit_code == 0
        outs.append(tmp_path / name / "run")
    for lever in ("prompt", "finetune"):
        a = [(r["prediction"], r["scores"]) for r in read_jsonl(outs[0] / "predictions" / f"{lever}.jsonl")]
        b = [(r["prediction"], r["scores"]) for r in read_jsonl(outs[1] / "predictions" / f"{lever}.jsonl")]
        assert a == b
    results = json.loads((outs[0] / "results.json").read_text())
    retrieval = results["levers"][1]
    assert retrieval["status"] == "skipped" and "no corpus" in retrieval["reason"]


def test_report_rerenders_from_run_dir(finished_run):
    _, out = finished_run
    (out / "report.html").unlink()
    result = run_cli("report", str(out))
    assert result.exit_code == 0 and (out / "report.html").is_file() and (out / "report.md").is_file()


def test_init_scaffold_validates(tmp_path):
    result = run_cli("init", str(tmp_path / "new"))
    assert result.exit_code == 0, result.output
    result = run_cli("validate", str(tmp_path / "new" / "task.yaml"))
    assert result.exit_code == 0 and "33 train" in result.output


def test_seeds_guard_and_learning_curve(tmp_path, tiny_model):
    task = write_task(tmp_path / "task", str(tiny_model), corpus=False)
    guard = [{"input": f"What is {a} plus {b}?", "output": str(a + b)} for a, b in [(1, 2), (2, 3), (4, 4), (5, 1), (3, 3), (6, 2)]]
    (task.parent / "data" / "guard.jsonl").write_text("".join(json.dumps(r) + "\n" for r in guard))
    task.write_text(task.read_text().replace("data:\n", "data:\n  guard: data/guard.jsonl\n")
                    .replace("  finetune:\n", "  finetune:\n    seeds: 2\n    learning_curve: true\n"))
    result = run_cli("compare", str(task), "--out", str(tmp_path / "run"), "--levers", "finetune")
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["task"]["sizes"]["guard"] == 6
    details = results["levers"][0]["details"]
    assert len(details["seed_scores"]) == 2 and details["seeds"] == 2
    assert abs(sum(details["seed_scores"]) / 2 - results["levers"][0]["score"]["mean"]) < 1e-3
    assert set(details["forgetting"]) == {"base", "finetuned", "drop"}
    # compare measured forgetting on the chosen adapter: the lever's record follows its overfitting record
    records = [c for c in results["checks"] if c.get("lever") == "finetune"]
    assert [c["name"] for c in records] == ["overfitting", "forgetting"] and records[1]["status"] != "skipped"
    assert records[1]["detail"].startswith("finetune: on the 6 guard examples")
    assert [row["fraction"] for row in details["learning_curve"]] == [0.25, 0.5, 1.0]
    assert details["learning_curve"][-1]["train_examples"] == results["task"]["sizes"]["train"]
    # the full-train point is the chosen adapter, scored on eval like the lever itself (first seed's scores)
    assert details["learning_curve"][-1]["score"] == pytest.approx(details["seed_scores"][0], abs=1e-3)
    assert len(list((tmp_path / "run" / "finetune").iterdir())) == 2  # one adapter per seed


def test_compare_measures_forgetting_for_every_lever_that_trains_weights():
    """Levers do not score: compare runs the forgetting check for each lever with the trains_weights trait."""
    from pathlib import Path
    from types import SimpleNamespace

    from advisor.compare import measure_forgetting
    from advisor.levers import registry
    from advisor.levers.base import Variant

    chosen = Variant("tuned", lambda exs: [], adapter=Path("adapter"), adapter_id="adapter")
    no_guard = SimpleNamespace(guard=[])
    trains = [n for n in registry.names() if registry.trains_weights(n)]
    assert "finetune" in trains
    for name in registry.names():
        summary, checked = measure_forgetting(no_guard, name, chosen)
        assert summary is None
        if name not in trains:
            assert checked == []
            continue
        assert [c.record() for c in checked] == [{
            "name": "forgetting", "status": "skipped", "lever": name,
            "detail": f"{name}: no guard set (data.guard), so forgetting was not measured"}]


def _priced(prompt_tokens: float, seconds: float = 0.5, **prices):
    from advisor.costs import LeverUsage, Prices, lever_costs

    settings = {"machine_cost_per_hour": 0.20, "calls_per_month": 10_000, **prices}
    return lever_costs(LeverUsage(prompt_tokens, 5.0, seconds), Prices(**settings))


def _dev(correct: int, n: int = 37, offset: int = 0):
    scores = np.zeros(n)
    scores[offset:offset + correct] = 1.0
    return scores


def test_the_best_dev_score_wins_when_a_cheaper_variant_saves_little():
    from advisor.compare import prefer_variant

    # the reported case: "4-shot fixed" 0.24 vs "4-shot nearest" 0.35 on the same 37 dev rows, indistinguishable
    # by the paired bootstrap; the fixed shots' shorter prompt saves cents a year on machine time
    names = ["4-shot fixed", "4-shot nearest"]
    scores = {0: _dev(9), 1: _dev(13, offset=5)}
    assert stats.compare_levers("fixed", scores[0], "nearest", scores[1], pass_fail=False).verdict == "indistinguishable"
    chosen, because = prefer_variant(names, scores, {0: _priced(300, 0.4), 1: _priced(320, 0.5)}, 10_000, 100.0)
    assert names[chosen] == "4-shot nearest" and because == "best dev score"


def test_a_cheaper_variant_not_shown_worse_wins_when_it_saves_enough():
    from advisor.compare import prefer_variant

    names = ["zero-shot", "4-shot nearest"]
    scores = {0: _dev(12), 1: _dev(13, offset=3)}
    assert stats.compare_levers("zero", scores[0], "4-shot", scores[1], pass_fail=False).verdict == "indistinguishable"
    tokens = {"price_per_1m_input": 10.0, "price_per_1m_output": 30.0}
    # 300 fewer prompt tokens at $10 per 1M tokens and 100,000 calls a month: $3,600 a year
    running = {0: _priced(100, **tokens, calls_per_month=100_000), 1: _priced(400, **tokens, calls_per_month=100_000)}
    chosen, because = prefer_variant(names, scores, running, 100_000, 100.0)
    assert names[chosen] == "zero-shot"
    assert because == "0.03 below the best on dev (4-shot nearest) but saves $3,600 a year at 100,000 calls/month"
    # the same saving below the task's threshold, or with no monthly volume, leaves the best
    assert prefer_variant(names, scores, running, 100_000, 5_000.0) == (1, "best dev score")
    running_no_volume = {0: _priced(100, **tokens, calls_per_month=None), 1: _priced(400, **tokens, calls_per_month=None)}
    assert prefer_variant(names, scores, running_no_volume, None, 100.0) == (1, "best dev score")


def test_a_cheaper_variant_shown_worse_on_dev_never_wins():
    from advisor.compare import prefer_variant

    tokens = {"price_per_1m_input": 10.0, "calls_per_month": 1_000_000}
    scores = {0: _dev(5, n=64), 1: _dev(40, n=64)}  # 5/64 vs 40/64 on the same rows: significantly worse
    running = {0: _priced(100, **tokens), 1: _priced(400, **tokens)}
    assert prefer_variant(["zero-shot", "4-shot"], scores, running, 1_000_000, 100.0) == (1, "best dev score")


def test_default_dev_split_scales_with_train_and_leaves_half_to_train_on():
    from advisor.data import DEV_MAX, DEV_MIN, Example, default_dev_size, split_dev

    assert default_dev_size(24) == DEV_MIN and default_dev_size(10_000) == DEV_MAX
    assert default_dev_size(40) < default_dev_size(250) < default_dev_size(300) <= DEV_MAX
    train = [Example(id=f"r{i}", input=f"question {i}", output=f"answer {i}") for i in range(300)]
    rest, dev = split_dev(train, None, seed=0)
    assert len(dev) == default_dev_size(300) and len(rest) + len(dev) == 300
    assert {e.id for e in rest}.isdisjoint(e.id for e in dev)
    assert [len(split_dev(train[:12], size, seed=0)[1]) for size in (None, 40)] == [6, 6]  # never more than half


def test_a_moved_run_folder_reruns_warm_from_where_it_lies(finished_run, tmp_path):
    """done.json remembers where an adapter was trained; a run folder copied elsewhere (the original gone) must use
    its own adapters: nothing retrained or regenerated, artifact paths inside the folder."""
    import shutil

    task, out = finished_run
    moved = tmp_path / "moved"
    shutil.copytree(out, moved)
    lines = (moved / "cache" / "generations.jsonl").read_text().count("\n")
    hidden = out.with_name(out.name + ".away")
    out.rename(hidden)
    try:
        result = run_cli("compare", str(task), "--out", str(moved))
    finally:
        hidden.rename(out)
    assert result.exit_code == 0, result.output
    assert "reusing the adapter" in result.output
    assert (moved / "cache" / "generations.jsonl").read_text().count("\n") == lines, "a moved run generated again"
    levers = {lev["name"]: lev for lev in json.loads((moved / "results.json").read_text())["levers"]}
    for name in ("finetune", "retrieval+finetune"):
        adapter = levers[name]["artifacts"]["adapter"]
        assert not Path(adapter).is_absolute() and (moved / adapter / "adapter_config.json").is_file()

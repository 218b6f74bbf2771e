"""`advise upgrade RUN_DIR --to MODEL`: a tiny run on one tiny model moved to another (different size and
initialisation, the same tokenizer); the lock-in table, the files, the index reuse, the pins, and bad inputs."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from advisor.cli import main
from advisor.runs import read_json
from advisor.spec import EndpointModel, load_task
from advisor.upgrade import Target, derived_task, group_moves, pins_for, plan_moves
from bad_inputs import one_error_line, run_in
from conftest import build_tiny_model, write_task
from katan import Katan, free_port, katan_missing

LEVERS = ["prompt", "retrieval", "finetune", "retrieval+finetune"]
N_EVAL = 8  # write_task's default eval size


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def other_model(tmp_path_factory, tiny_model) -> Path:
    """A second tiny Llama: wider and deeper, so differently initialised, with the same trained tokenizer."""
    folder = build_tiny_model(tmp_path_factory.mktemp("other-llama"), hidden=96, layers=3)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        assert (folder / name).read_text() == (tiny_model / name).read_text()
    return folder


@pytest.fixture(scope="module")
def drill(tmp_path_factory, tiny_model, other_model):
    """A finished tiny run of every lever on tiny_model, then `advise upgrade RUN --to OTHER`."""
    folder = tmp_path_factory.mktemp("upgrade")
    task = write_task(folder / "task", str(tiny_model))
    run = folder / "run"
    made = run_cli("compare", str(task), "--out", str(run))
    assert made.exit_code == 0, made.output
    result = run_cli("upgrade", str(run), "--to", str(other_model))
    assert result.exit_code == 0, result.output
    out = run / f"upgrade-{other_model.name}"
    return task, run, out, result.output, json.loads((out / "upgrade.json").read_text())


def test_lock_in_table_per_lever(drill, tiny_model, other_model) -> None:
    _, run, _, output, u = drill
    old = read_json(run / "results.json")
    assert [r["name"] for r in u["levers"]] == LEVERS == [lev["name"] for lev in old["levers"]]
    assert u["old_model"]["id"] == str(tiny_model) and u["new_model"]["id"] == str(other_model)
    assert u["new_model"]["parameters"] > u["old_model"]["parameters"]  # really another model
    redone = {r["name"]: r["as_is"]["redone"] for r in u["levers"]}
    assert redone["prompt"] == ["prompt re-run as-is"]  # one variant: nothing scored on dev
    assert redone["retrieval"][0] == "index reused (embedder unchanged)"
    assert redone["finetune"][0].startswith("adapter retrained (lr ")
    assert redone["retrieval+finetune"][0] == "index reused (embedder unchanged)"
    assert redone["retrieval+finetune"][1].startswith("combined adapter retrained (lr ")
    for r in u["levers"]:
        old_lev = next(lev for lev in old["levers"] if lev["name"] == r["name"])
        for side in ("as_is", "re_tuned"):
            s = r[side]
            assert s["status"] == "ok"
            assert s["paired"]["n"] == N_EVAL  # every eval id paired with the old run's
            # the pairing reads the two runs' own scores: old = the stored run's mean, new = the new run's
            assert s["paired"]["old_mean"] == pytest.approx(old_lev["score"]["mean"])
            assert s["paired"]["new_mean"] == pytest.approx(s["score"])
            assert s["paired"]["ci_low"] <= s["paired"]["diff"] <= s["paired"]["ci_high"]
            assert s["cost"]["seconds"] > 0 and s["cost"]["dollars"] > 0 and s["cost"]["prompt_tokens"] > 0
        trains = r["name"] in ("finetune", "retrieval+finetune")
        assert (r["as_is"]["cost"]["training_tokens"] > 0) == trains
        assert (r["as_is"]["cost"]["train_seconds"] > 0) == trains
        assert r["lock_in"]["months"] > 0
        assert r["lock_in"]["months"] == pytest.approx(r["lock_in"]["dollars"] / r["as_is"]["monthly_cost"])
        assert "months of its running cost" in r["lock_in"]["text"] and "10,000 calls" in r["lock_in"]["text"]
    # the terminal table and the decision reading
    assert "paired on 8 eval ids" in output and "wrote " in output
    for name in LEVERS:
        assert name in output
    assert all(" with one upgrade a year: it saves " in n for n in u["decision_notes"])


def test_as_is_pins_the_old_choices_and_re_tuned_does_not(drill, other_model) -> None:
    _, run, out, _, u = drill
    old = {lev["name"]: lev for lev in read_json(run / "results.json")["levers"]}
    rows = {r["name"]: r for r in u["levers"]}
    assert rows["prompt"]["as_is"]["chosen"] == old["prompt"]["chosen"]
    assert rows["retrieval"]["as_is"]["chosen"]["top_k"] == old["retrieval"]["chosen"]["top_k"]
    assert rows["finetune"]["as_is"]["chosen"]["lr"] == old["finetune"]["chosen"]["lr"]
    assert rows["prompt"]["re_tuned"]["variants_on_dev"] > 1  # the task's grid, tried again on dev
    groups = [r for r in u["runs"] if r["kind"].startswith("as-is")]
    assert sorted(n for g in groups for n in g["levers"]) == sorted(LEVERS)
    for g in groups:
        pinned = yaml.safe_load((out / Path(g["folder"]).name / "task.yaml").read_text())
        assert pinned["model"] == str(other_model) and Path(pinned["data"]["train"]).is_absolute()
        if "prompt" in g["levers"]:
            assert pinned["levers"]["prompt"]["shots"] == [old["prompt"]["chosen"]["shots"]]
        if "finetune" in g["levers"]:
            assert pinned["levers"]["finetune"]["lr"] == old["finetune"]["chosen"]["lr"]
        if "retrieval" in g["levers"]:
            assert pinned["levers"]["retrieval"]["top_k"] == [old["retrieval"]["chosen"]["top_k"]]
    free = yaml.safe_load((out / "re-tuned" / "task.yaml").read_text())
    assert free["levers"]["prompt"]["shots"] == [0, 2] and free["levers"]["finetune"]["lr"] == "auto"


def test_the_index_is_reused_not_rebuilt(drill) -> None:
    """The embedder did not change, so every new run loads the old run's FAISS index: the copied file is still
    there, byte for byte, and the retrieval lever says it loaded it."""
    _, run, out, _, u = drill
    old_meta = read_json(run / "index" / "meta.json")
    for r in u["runs"]:
        folder = out / Path(r["folder"]).name
        assert r["index_reused"] is True
        assert read_json(folder / "index" / "meta.json") == old_meta
        assert (folder / "index" / "faiss.index").read_bytes() == (run / "index" / "faiss.index").read_bytes()
        results = read_json(folder / "results.json")
        retrieval = next(lev for lev in results["levers"] if lev["name"] == "retrieval")
        assert retrieval["details"]["index_reused"] is True
    rows = {x["name"]: x for x in u["levers"]}
    assert rows["retrieval"]["as_is"]["cost"]["index_seconds"] == 0.0  # not the old build's seconds


def test_files_written(drill) -> None:
    _, _, out, _, u = drill
    for name in ("upgrade.html", "upgrade.md", "upgrade.json"):
        assert (out / name).is_file()
    html, md = (out / "upgrade.html").read_text(), (out / "upgrade.md").read_text()
    assert "<script" not in html and "Lock-in table" in html
    assert "## Lock-in table" in md
    for name in LEVERS:
        assert f"<th scope=\"row\">{name}</th>" in html
        assert f"| {name} |" in md
    for r in u["runs"]:
        assert (out / Path(r["folder"]).name / "results.json").is_file()


def test_missing_prices_are_named_not_invented(drill, tmp_path: Path) -> None:
    """A task without calls_per_month (passed with --task, the run's task moved): the lock-in line names the
    missing setting instead of a number."""
    task, run, _, _, _ = drill
    moved = tmp_path / "moved"
    shutil.copytree(task.parent, moved)
    text = (moved / "task.yaml").read_text() + "costs:\n  calls_per_month: null\n"
    (moved / "task.yaml").write_text(text)
    other = tmp_path / "model"
    build_tiny_model(other, hidden=32, layers=1)
    result = run_cli("upgrade", str(run), "--to", str(other), "--levers", "prompt", "--task",
                     str(moved / "task.yaml"), "--out", str(tmp_path / "up"))
    assert result.exit_code == 0, result.output
    u = json.loads((tmp_path / "up" / "upgrade.json").read_text())
    (row,) = u["levers"]
    assert row["name"] == "prompt" and row["as_is"]["paired"]["n"] == N_EVAL
    assert row["lock_in"]["months"] is None
    assert row["lock_in"]["text"].endswith("unpriced: set costs.calls_per_month in task.yaml")
    assert row["as_is"]["cost"]["dollars"] > 0  # the machine rate is still set: the move itself is priced


def test_a_changed_chunking_rebuilds_the_index_and_leaves_the_old_one_alone(drill, other_model, tmp_path) -> None:
    """The reuse check can say no: with other chunk sizes the index's key differs, so the new run builds its own,
    and the old run's index (the new folder held hard links to it) is untouched."""
    task, run, _, _, _ = drill
    before = (run / "index" / "faiss.index").stat()
    moved = tmp_path / "moved"
    shutil.copytree(task.parent, moved)
    text = (moved / "task.yaml").read_text().replace("levers:\n", "levers:\n  retrieval:\n    chunk_tokens: 24\n"
                                                     "    chunk_overlap: 4\n", 1)
    (moved / "task.yaml").write_text(text)
    result = run_cli("upgrade", str(run), "--to", str(other_model), "--levers", "retrieval", "--task",
                     str(moved / "task.yaml"), "--out", str(tmp_path / "up"))
    assert result.exit_code == 0, result.output
    u = json.loads((tmp_path / "up" / "upgrade.json").read_text())
    assert [r["index_reused"] for r in u["runs"]] == [False, False]
    (row,) = u["levers"]
    assert row["as_is"]["redone"][0] == row["re_tuned"]["redone"][0] == "index rebuilt"
    assert row["as_is"]["cost"]["index_seconds"] > 0
    after = (run / "index" / "faiss.index").stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (before.st_ino, before.st_mtime_ns, before.st_size)
    assert read_json(run / "index" / "meta.json") != read_json(tmp_path / "up" / "as-is" / "index" / "meta.json")


# ---- planning, without model work ----

def _lever(name: str, chosen: dict, details: dict | None = None, status: str = "ok") -> dict:
    return {"name": name, "status": status, "reason": None if status == "ok" else "no corpus",
            "chosen": chosen, "details": details or {}}


def test_pins_that_clash_run_apart() -> None:
    """retrieval chose k=4, retrieval+finetune trains with k=2: both set levers.retrieval.top_k, so they need two
    as-is runs; prompt and finetune join the first."""
    old = {"levers": [_lever("prompt", {"shots": 2, "selection": "nearest", "placement": "user"}),
                      _lever("retrieval", {"top_k": 4, "placement": "system"}),
                      _lever("finetune", {"lr": 1e-3}),
                      _lever("retrieval+finetune", {"lr": 1e-3}, {"top_k": 2})]}
    moves = plan_moves(old, Target("/models/other", "other"))
    assert pins_for(old["levers"][0])[0] == {"levers.prompt.shots": [2], "levers.prompt.placements": ["user"],
                                             "levers.prompt.selection": ["nearest"]}
    groups = [[m.name for m in g] for g in group_moves(moves)]
    assert groups == [["prompt", "retrieval", "finetune"], ["retrieval+finetune"]]


def test_preference_pins_the_sft_learning_rate_and_the_beta() -> None:
    """The preference lever's chosen lr is DPO's (a share of SFT's): the pin is the SFT lr from its details."""
    pins, notes = pins_for(_lever("preference", {"beta": 0.5, "lr": 2e-4}, {"lr": 2e-3}))
    assert pins == {"levers.finetune.lr": 2e-3, "levers.preference.beta": 0.5}
    assert "made on dev" in notes[0]
    pins, notes = pins_for(_lever("preference", {"beta": None, "lr": 2e-3}, {"lr": 2e-3}))
    assert pins == {"levers.finetune.lr": 2e-3} and "chose SFT alone" in notes[0]


def test_an_endpoint_without_weights_moves_only_what_needs_none() -> None:
    old = {"levers": [_lever("prompt", {"shots": 0, "placement": "system"}), _lever("retrieval", {"top_k": 2}),
                      _lever("finetune", {"lr": 1e-3}), _lever("retrieval+finetune", {"lr": 1e-3}, {"top_k": 2}),
                      _lever("preference", {}, status="skipped")]}
    endpoint = Target(EndpointModel(base_url="http://127.0.0.1:9/v1", name="m"), "m")
    moves = {m.name: m for m in plan_moves(old, endpoint)}
    assert moves["prompt"].carried and moves["retrieval"].carried
    for name in ("finetune", "retrieval+finetune"):
        assert not moves[name].carried and "endpoint without weights" in moves[name].reason
    assert moves["preference"].reason == "skipped in the old run: no corpus"
    with_weights = Target(EndpointModel(base_url="http://127.0.0.1:9/v1", name="m", weights="/w"), "m")
    assert all(m.carried for m in plan_moves(old, with_weights) if m.name != "preference")


def test_derived_task_is_loadable_from_another_folder(tmp_path: Path, tiny_model) -> None:
    task = load_task(write_task(tmp_path / "t", str(tiny_model)))
    raw = derived_task(task, Target(str(tiny_model), "x"), {"levers.retrieval.top_k": [4]})
    (tmp_path / "elsewhere").mkdir()
    path = tmp_path / "elsewhere" / "task.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    again = load_task(path)
    assert again.resolve(again.data.train) == task.resolve(task.data.train)
    assert again.levers.retrieval.top_k == [4] and again.levers.finetune == task.levers.finetune


# ---- bad inputs: one line, exit 2, before any model work ----

def test_not_a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, other_model) -> None:
    (tmp_path / "empty").mkdir()
    line = one_error_line(run_in(tmp_path, monkeypatch, "upgrade", "empty", "--to", str(other_model)))
    assert "results.json: not found" in line


def test_to_a_missing_folder(drill, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, run, _, _, _ = drill
    line = one_error_line(run_in(tmp_path, monkeypatch, "upgrade", str(run), "--to", "./no-such-model"))
    assert line.startswith("error: --to: model folder does not exist")


def test_endpoint_without_weights_for_levers_that_train(drill, tmp_path: Path, monkeypatch) -> None:
    _, run, _, _, _ = drill
    line = one_error_line(run_in(tmp_path, monkeypatch, "upgrade", str(run), "--to-endpoint", "http://127.0.0.1:9/v1",
                                 "--to-name", "m", "--levers", "finetune,retrieval+finetune"))
    assert line.startswith("error: --to-endpoint: no lever of ")
    assert "finetune, retrieval+finetune: the new model is an endpoint without weights" in line


@pytest.mark.parametrize("args, where", [
    ((), "--to: is missing"),
    (("--to", "x", "--to-endpoint", "http://127.0.0.1:9/v1"), "--to: give the new model"),
    (("--to-endpoint", "http://127.0.0.1:9/v1"), "--to-name: is required"),
    (("--to-endpoint", "ftp://h/v1", "--to-name", "m"), "--to-endpoint.base_url"),
    (("--to", "default", "--to-name", "m"), "--to-name: goes with --to-endpoint"),
    (("--to", "default", "--levers", "promt"), "--levers: 'promt' is not a lever of this run"),
    (("--to-endpoint", "http://127.0.0.1:9/v1", "--to-name", "m", "--to-api-key-env", "ADVISE_UNSET_VAR_X"),
     "--to-api-key-env: environment variable ADVISE_UNSET_VAR_X is not set"),
    (("--to-endpoint", "http://127.0.0.1:9/v1", "--to-name", "m", "--to-weights", "./no-weights"),
     "--to-weights: model folder does not exist"),
])
def test_option_mistakes(drill, tmp_path: Path, monkeypatch, args, where) -> None:
    _, run, _, _, _ = drill
    line = one_error_line(run_in(tmp_path, monkeypatch, "upgrade", str(run), *args))
    assert line.startswith(f"error: {where}"), line


def test_a_run_whose_task_file_moved(drill, tmp_path: Path, monkeypatch, other_model) -> None:
    _, run, _, _, _ = drill
    copy = tmp_path / "copy"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("upgrade-*", "cache", "finetune", "retrieval-finetune"))
    results = read_json(copy / "results.json")
    results["task"]["task_file"] = str(tmp_path / "gone" / "task.yaml")
    (copy / "results.json").write_text(json.dumps(results))
    line = one_error_line(run_in(tmp_path, monkeypatch, "upgrade", "copy", "--to", str(other_model)))
    assert "task.task_file: names" in line and "pass --task PATH" in line


@pytest.mark.skipif(katan_missing() is not None, reason=katan_missing() or "")
def test_to_an_endpoint_without_weights(drill, other_model, tmp_path: Path) -> None:
    """The new model served by a real OpenAI-compatible server (llm-katan on loopback), no weights given: prompt and
    retrieval move and are paired; the levers that train weights are listed as not moved, with why."""
    _, run, _, _, _ = drill
    server = Katan(other_model, "other", free_port(), tmp_path / "katan").start()
    try:
        result = run_cli("upgrade", str(run), "--to-endpoint", server.base_url, "--to-name", "other",
                         "--out", str(tmp_path / "up"))
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    u = json.loads((tmp_path / "up" / "upgrade.json").read_text())
    assert u["label"] == "other" and u["new_model"]["kind"] == "openai"
    rows = {r["name"]: r for r in u["levers"]}
    for name in ("prompt", "retrieval"):
        assert rows[name]["carried"] and rows[name]["as_is"]["paired"]["n"] == N_EVAL
    for name in ("finetune", "retrieval+finetune"):
        assert not rows[name]["carried"] and "as_is" not in rows[name]
        assert "endpoint without weights" in rows[name]["reason"]
        assert rows[name]["lock_in"]["text"] == "not moved"
    assert "not moved: the new model is an endpoint without weights" in (tmp_path / "up" / "upgrade.md").read_text()

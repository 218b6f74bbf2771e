"""What issue 13's speed work changed, held in place: generation precision, embeddings cached on disk (a warm rerun
loads neither embedder nor model), and `compare --plan`."""
from __future__ import annotations

import json

import torch
from click.testing import CliRunner

from advisor.backends.local import LocalBackend
from advisor.cli import main
from conftest import write_task


def test_precision_auto_is_fp32_on_cpu_and_keeps_the_cache_key(tiny_model):
    backend = LocalBackend(tiny_model, device="cpu")
    assert backend.precision == "fp32"
    assert backend.generation_identity == backend.identity
    assert backend.inference_model is backend.model


def test_bf16_generates_from_a_copy_and_keeps_training_weights_fp32(tiny_model, tmp_path):
    fp32 = LocalBackend(tiny_model, precision="fp32")
    bf16 = LocalBackend(tiny_model, precision="bf16")
    assert bf16.identity == fp32.identity  # adapters are keyed by the weights: shared
    assert bf16.generation_identity != fp32.generation_identity  # answers may differ: cached apart
    convs = [[{"role": "user", "content": f"Question {i}?"}] for i in range(3)]
    out = bf16.generate(convs, 4, lambda *_: None)
    assert len(out) == 3 and all(g.output_tokens >= 1 for g in out)
    assert next(bf16.inference_model.parameters()).dtype == torch.bfloat16
    assert next(bf16.model.parameters()).dtype == torch.float32

    from peft import LoraConfig, get_peft_model

    peft = get_peft_model(bf16.model, LoraConfig(r=4, target_modules="all-linear"))
    peft.save_pretrained(tmp_path / "adapter")
    bf16.model = peft.unload()
    inference = bf16.inference_model
    with bf16.adapter(tmp_path / "adapter"):  # the adapter goes on the bf16 copy, and comes off again
        assert bf16._active is not None
        assert len(bf16.generate(convs, 4, lambda *_: None)) == 3
    assert bf16._active is None and not hasattr(bf16.inference_model, "peft_config")
    assert type(bf16.inference_model) is type(inference)
    assert next(bf16.model.parameters()).dtype == torch.float32


def test_a_warm_rerun_loads_no_model_and_no_embedder(tmp_path, tiny_model, monkeypatch):
    task = write_task(tmp_path / "task", str(tiny_model))
    out = tmp_path / "run"
    runner = CliRunner()
    levers = "prompt,retrieval,finetune,retrieval+finetune"  # the combined lever cuts distractors with the tokenizer
    first = runner.invoke(main, ["compare", str(task), "--out", str(out), "--levers", levers])
    assert first.exit_code == 0, first.output
    before = json.loads((out / "results.json").read_text())
    cached = (out / "cache").glob("embeddings-*.jsonl")
    assert sum(1 for f in cached for _ in f.open()) > 24  # train and eval inputs, chunks, queries

    from advisor.backends import embedder, local

    def refuse(*_a, **_k):
        raise AssertionError("a warm rerun loaded a model")

    monkeypatch.setattr(local.LocalBackend, "model", property(refuse))
    monkeypatch.setattr(embedder.Embedder, "model", property(refuse))
    second = runner.invoke(main, ["compare", str(task), "--out", str(out), "--levers", levers])
    assert second.exit_code == 0, second.output
    after = json.loads((out / "results.json").read_text())
    assert after["recommendation"]["lever"] == before["recommendation"]["lever"]  # (its cost lines use measured seconds)
    assert [lev["score"] for lev in after["levers"]] == [lev["score"] for lev in before["levers"]]


def test_the_embedder_tokenizer_alone_cuts_as_the_model_s_does():
    from advisor.backends.embedder import Embedder
    from advisor.levers.retrieval import head

    text = "Quillfeather Labs' Lisbon office opens at 08:30; parking permits (PK-2291) come from reception. " * 3
    alone = Embedder().tokenizer  # no model loaded
    loaded = Embedder()
    assert loaded.model is not None and loaded.tokenizer is loaded.model.tokenizer
    assert alone(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"] == \
        loaded.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    assert head(text, alone, 20) == head(text, loaded.tokenizer, 20) != text


def test_damaged_embedding_cache_rows_are_recomputed(tmp_path, tiny_model):
    from advisor.backends.embedder import Embedder

    emb = Embedder(cache_dir=tmp_path)
    first = emb(["the bakery opens at 6:30", "Marta Ilves"])
    (store,) = tmp_path.glob("embeddings-*.jsonl")
    rows = store.read_text().splitlines()
    store.write_text(rows[0].replace('"b64": "', '"b64": "!!') + "\n" + rows[1][:20] + "\n")  # bad base64, torn line
    again = Embedder(cache_dir=tmp_path)(["the bakery opens at 6:30", "Marta Ilves"])
    assert again.shape == (2, 384)
    assert abs(again - first).max() < 1e-5


def test_plan_counts_the_work_without_running_it(tmp_path, tiny_model):
    task = write_task(tmp_path / "task", str(tiny_model))
    result = CliRunner().invoke(main, ["compare", str(task), "--plan"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "task" / "runs").exists() and not (tmp_path / "runs").exists()
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 3}
    assert {"prompt", "retrieval", "finetune", "retrieval+…", "total"} <= set(lines) | {"retrieval+…"}
    assert "min" in lines["total"]


def test_planned_generations_bound_what_a_run_generates(tmp_path, tiny_model):
    from advisor.compare import compare
    from advisor.plan import make_plan

    task = write_task(tmp_path / "task", str(tiny_model))
    (plan,) = make_plan(task, ["prompt", "retrieval"])
    planned = {p.lever: p.generations for p in plan.levers}
    compare(task, out=tmp_path / "run", levers=["prompt", "retrieval"])
    made = sum(1 for _ in (tmp_path / "run" / "cache" / "generations.jsonl").open())
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    evals = results["task"]["sizes"]["eval"]
    assert made <= planned["prompt"] + planned["retrieval"]  # an upper bound: survivors may be fewer
    assert made >= 2 * evals and planned["prompt"] >= evals + 16


def test_the_screen_stops_a_variant_already_shown_worse(tmp_path, tiny_model, monkeypatch):
    """On 40 dev rows: 'bad' loses every screen row to 'good', so it stops after the screen; 'close' loses 2 of 16,
    is not shown worse, and runs on all of dev."""
    from types import SimpleNamespace

    from advisor import compare as cmp
    from advisor.backends.base import Generation
    from advisor.data import Example
    from advisor.levers.base import Variant
    from advisor.spec import load_task

    task = load_task(write_task(tmp_path / "task", str(tiny_model)))
    dev = [Example(f"d{i}", f"question {i}", "answer") for i in range(40)]
    asked: dict[str, int] = {}
    per_row = {"good": lambda i: 1.0, "bad": lambda i: 0.0, "close": lambda i: float(i % 8 != 0)}

    def fake_generate(bench, variant, examples, description):
        asked[variant.name] = asked.get(variant.name, 0) + len(examples)
        return [Generation(variant.name + "|" + e.id, 10, 2, 0.01) for e in examples]

    def fake_score(bench, rubric, gens, examples):
        return {"total": [per_row[g.text.split("|")[0]](int(g.text.split("|d")[1])) for g in gens]}

    monkeypatch.setattr(cmp, "_generate", fake_generate)
    monkeypatch.setattr(cmp, "_score", fake_score)
    bench = SimpleNamespace(dev=dev, task=task, rubric=None)
    chosen, rows = cmp.choose_variant(bench, "prompt", [Variant(n, lambda exs: exs) for n in ("bad", "good")])
    assert chosen.name == "good" and asked == {"good": 16 + 40, "bad": 16}  # (the real cache answers the 16 again)
    assert rows[0]["dev_rows"] == 16 and "significantly worse than good" in rows[0]["dropped"]
    assert "dropped" not in rows[1] and rows[1]["dev_rows"] == 40
    asked.clear()
    chosen, rows = cmp.choose_variant(bench, "prompt", [Variant(n, lambda exs: exs) for n in ("close", "good")])
    assert chosen.name == "good" and asked == {"good": 16 + 40, "close": 16 + 40}
    assert all("dropped" not in r and r["dev_rows"] == 40 for r in rows)

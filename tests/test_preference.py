"""The preference lever: our DPO objective against TRL's DPOTrainer on the same batch (loss and gradients), the
preference data formats and their one-line errors, and the lever end to end on the tiny model."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from advisor.backends.dpo import DPOObjective, PairItem, dpo_loss
from advisor.preferences import load_preferences, split_pairs
from bad_inputs import one_error_line, run_in
from conftest import write_task

needs_trl = pytest.mark.skipif(importlib.util.find_spec("trl") is None, reason="TRL is not installed (test extra)")

PAIRS = [{"prompt": "When does the bakery open?", "chosen": "6:30.", "rejected": "I am not sure, maybe noon or so."},
         {"prompt": "Who is the head baker?", "chosen": "Marta Ilves.", "rejected": "Sorry, I cannot say."},
         {"prompt": "Which day is it closed?", "chosen": "Sunday.", "rejected": "It might be Monday, I think."}]


def test_dpo_loss_by_hand():
    # r_c - r_r = (-1 - -2) - (-3 - -1) = 1 - (-2) = 3; loss = -log sigmoid(0.5 * 3)
    out = dpo_loss(torch.tensor([-1.0]), torch.tensor([-3.0]), torch.tensor([-2.0]), torch.tensor([-1.0]), 0.5)
    assert float(out.loss) == pytest.approx(-float(torch.nn.functional.logsigmoid(torch.tensor(1.5))), abs=1e-7)
    assert float(out.margins[0]) == pytest.approx(1.5)


@needs_trl
def test_loss_and_gradients_equal_trl_dpo_trainer_on_the_same_batch(tiny_model, tmp_path):
    """TRL re-trains an existing adapter against a frozen copy of it (its 'ref' adapter); ours stores the adapter's
    log-probs as training starts. On the same tokens, after the same update, both give the same loss and gradients."""
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", lora_dropout=0.0,
                                            init_lora_weights=False))  # a trained SFT adapter stands here
    args = DPOConfig(output_dir=str(tmp_path / "trl"), beta=0.3, per_device_train_batch_size=len(PAIRS), report_to=[],
                     use_cpu=True, max_length=64, gradient_checkpointing=False, remove_unused_columns=False)
    trainer = DPOTrainer(model=model, args=args, train_dataset=Dataset.from_list(PAIRS), processing_class=tokenizer)
    batch = next(iter(trainer.get_train_dataloader()))
    # the same tokens as our items: (ids without padding, where the answer starts), chosen rows first
    rows = []
    for ids, mask, completion in zip(batch["input_ids"], batch["attention_mask"], batch["completion_mask"]):
        n = int(mask.sum())
        rows.append((ids[:n].tolist(), int(completion[:n].nonzero()[0])))
    items = [PairItem(c, r) for c, r in zip(rows[:len(PAIRS)], rows[len(PAIRS):])]
    ours = DPOObjective(beta=0.3, max_length=64, pad_id=tokenizer.pad_token_id)
    ours.start(model, items, [], "cpu")  # the reference: the adapter as DPO starts
    with torch.no_grad():  # one update's worth of change, so the policy differs from the reference
        noise = torch.Generator().manual_seed(1)
        for name, p in model.named_parameters():
            if "lora_" in name and ".default." in name:
                p.add_(0.05 * torch.randn(p.shape, generator=noise))
    model.train()
    trl_loss = trainer.compute_loss(model, batch)
    trl_loss.backward()
    trl_grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    summed, _ = ours.loss(model, items, "cpu")
    our_loss = summed / ours.weight(items)
    our_loss.backward()
    our_grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    assert abs(float(trl_loss) - 0.693147) > 0.01  # not the trivial value of a policy equal to its reference
    assert float(our_loss) == pytest.approx(float(trl_loss), abs=1e-5)
    assert set(our_grads) == set(trl_grads) and len(our_grads) > 0
    largest = max(float(g.abs().max()) for g in trl_grads.values())
    assert max(float((our_grads[n] - trl_grads[n]).abs().max()) for n in trl_grads) <= 1e-5 * max(1.0, largest)


# --- the data: the formats people have, and one-line errors ----------------------------------------------------

FACTS = [("When does the bakery open?", "6:30"), ("Who is the head baker?", "Marta Ilves"),
         ("What is the signature loaf?", "Dockside Sourdough"), ("Which day is it closed?", "Sunday")]


def preference_rows(n: int = 12) -> list[dict]:
    """Pairs whose rejected answer hedges (the failure to avoid) and whose chosen answer states the fact."""
    return [{"prompt": f"{FACTS[i % 4][0]} (#{i})", "chosen": FACTS[i % 4][1],
             "rejected": f"Sorry, I am not sure. Maybe {FACTS[i % 4][1]}?"} for i in range(n)]


def preference_task(folder: Path, model: Path, rows: list[dict] | str, name: str = "prefs.jsonl") -> Path:
    task = write_task(folder, str(model), corpus=False)
    task.write_text(task.read_text().replace("  eval: data/eval.jsonl\n",
                                             f"  eval: data/eval.jsonl\n  preferences: data/{name}\n"))
    text = rows if isinstance(rows, str) else "".join(json.dumps(r) + "\n" for r in rows)
    (folder / "data" / name).write_text(text)
    return task


def test_trl_openai_and_csv_rows_read_the_same(tmp_path):
    trl = [{"prompt": "Q?", "chosen": "A", "rejected": "B"}]
    conversational = [{"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q?"}],
                       "chosen": [{"role": "assistant", "content": "A"}],
                       "rejected": [{"role": "assistant", "content": "B"}]}]
    openai = [{"input": {"messages": [{"role": "user", "content": "Q?"}]},
               "preferred_output": [{"role": "assistant", "content": "A"}],
               "non_preferred_output": [{"role": "assistant", "content": "B"}]}]
    for i, rows in enumerate((trl, conversational, openai)):
        path = tmp_path / f"p{i}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows * 8))
        pairs = load_preferences(path)
        assert [(p.prompt, p.chosen, p.rejected) for p in pairs] == [("Q?", "A", "B")] * 8
        assert pairs[3].id == f"p{i}-3"
    (tmp_path / "p.csv").write_text("prompt,chosen,rejected\n" + "Q?,A,B\n" * 8)
    assert {(p.prompt, p.chosen, p.rejected) for p in load_preferences(tmp_path / "p.csv")} == {("Q?", "A", "B")}
    train, dev = split_pairs(load_preferences(tmp_path / "p.csv"), seed=0)
    assert (len(train), len(dev)) == (4, 4)


@pytest.mark.parametrize("bad, words", [
    ({"prompt": "Q?", "chosen": "A"}, "row has no `rejected`"),
    ({"prompt": "Q?", "chosen": "A", "rejected": " A "}, "the chosen and the rejected answer are the same"),
    ({"prompt": "Q?", "chosen": "", "rejected": "B"}, "chosen: is empty"),
    ({"input": {"messages": [{"role": "user", "content": "Q?"}]}, "preferred_output": [{"role": "user", "content": "A"}],
      "non_preferred_output": [{"role": "assistant", "content": "B"}]}, "preferred_output[0].role: must be assistant"),
    ({"prompt": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A"}], "chosen": "A",
      "rejected": "B"}, "must end with a user turn"),
    ({"prompt": "Q?", "chosen": [{"role": "assistant", "content": "A"}, {"role": "assistant", "content": "C"}],
      "rejected": "B"}, "has 2 assistant turns"),
    ({"prompt": "Q?", "chosen": 5, "rejected": "B"}, "must be a non-empty list"),
    ({"id": True, "prompt": "Q?", "chosen": "A", "rejected": "B"}, "id: must be a string or a whole number"),
])
def test_bad_pairs_are_one_line_naming_the_line(tmp_path, monkeypatch, tiny_model, bad, words):
    rows = preference_rows(10)
    rows.insert(3, bad)
    task = preference_task(tmp_path, tiny_model, rows)
    line = one_error_line(run_in(tmp_path, monkeypatch, "validate", str(task)))
    assert "prefs.jsonl: line 4" in line and words in line, line


def test_too_few_pairs_a_missing_file_and_asking_without_data(tmp_path, monkeypatch, tiny_model):
    task = preference_task(tmp_path, tiny_model, preference_rows(5))
    line = one_error_line(run_in(tmp_path, monkeypatch, "validate", str(task)))
    assert "prefs.jsonl: 5 preference pairs; at least 8 are needed" in line
    task.write_text(task.read_text().replace("prefs.jsonl", "nope.jsonl"))
    line = one_error_line(run_in(tmp_path, monkeypatch, "validate", str(task)))
    assert "task.yaml: data.preferences" in line and "not found" in line
    plain = write_task(tmp_path / "plain", str(tiny_model), corpus=False)
    line = one_error_line(run_in(tmp_path, monkeypatch, "compare", str(plain), "--levers", "preference"))
    assert "the preference lever needs data.preferences" in line


def test_without_preference_data_the_lever_is_not_part_of_a_run(tmp_path, tiny_model):
    from advisor.compare import load

    plain = write_task(tmp_path / "plain", str(tiny_model), corpus=False)
    assert "preference" not in load(plain).levers
    with_pairs = preference_task(tmp_path / "pairs", tiny_model, preference_rows())
    assert "preference" in load(with_pairs).levers


# --- the lever, end to end on the tiny model --------------------------------------------------------------------

def test_preference_lever_runs_sft_then_dpo_and_reports_pair_accuracy(tmp_path, tiny_model):
    from click.testing import CliRunner

    from advisor.cli import main

    task = preference_task(tmp_path / "task", tiny_model, preference_rows())
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["compare", str(task), "--out", str(out), "--levers", "finetune,preference"])
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    lever = next(lev for lev in results["levers"] if lev["name"] == "preference")
    assert lever["status"] == "ok"
    assert [row["variant"] for row in lever["dev"]] == ["SFT on train and preferred answers",
                                                         "SFT, then DPO at beta 0.1", "SFT, then DPO at beta 0.5"]
    assert lever["chosen"]["variant"] in {row["variant"] for row in lever["dev"]}
    assert lever["details"]["preference_pairs"] == {"train": 8, "dev": 4}
    for run, beta in zip(lever["details"]["dpo"], (0.1, 0.5)):
        assert run["beta"] == beta and run["pairs"] == 4 and run["steps"] > 0
        for key in ("preferred_first_before", "preferred_first_after", "reward_accuracy"):
            assert 0.0 <= run[key] <= 1.0
        # DPO pushes the rejected answers down relative to SFT more than the chosen ones: a positive margin
        assert run["reward_margin"] > 0 and run["drift_rejected"] < run["drift_chosen"]
    assert lever["cost"]["train_seconds"] > 0 and lever["artifacts"]["dpo_adapter_beta_0.1"]
    assert any(row["lever"] == "preference" for row in results["cost_model"]["break_even"])
    assert "preference" in (out / "report.html").read_text()

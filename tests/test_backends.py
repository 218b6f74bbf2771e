"""The backend factory (what is trainable), TrainConfig from the options model, and the SFT objective's loss."""
from __future__ import annotations

import pytest
import torch

from advisor.backends import is_trainable, make_backend
from advisor.backends.local import LocalBackend
from advisor.backends.training import SFTObjective, TrainConfig, _micro_batches, dev_loss_sums
from advisor.progress import Reporter
from advisor.spec import EndpointModel, FinetuneOptions

PAIRS = [([{"role": "user", "content": q}], a) for q, a in
         [("When does the bakery open?", "6:30"), ("Who is the head baker?", "Marta Ilves"),
          ("What is the signature loaf?", "Dockside Sourdough"), ("Which day is it closed?", "Sunday")]]


def test_an_endpoint_without_weights_is_not_trainable(tmp_path):
    backend, trainable = make_backend(EndpointModel(base_url="http://127.0.0.1:9/v1", name="m"), tmp_path,
                                      tmp_path / "task.yaml", Reporter())
    assert trainable is None and not is_trainable(backend)
    assert backend.description == "m at http://127.0.0.1:9/v1"


def test_an_endpoint_with_weights_trains_a_local_copy(tmp_path, tiny_model):
    spec = EndpointModel(base_url="http://127.0.0.1:9/v1", name="m", weights=str(tiny_model))
    backend, trainable = make_backend(spec, tmp_path, tmp_path / "task.yaml", Reporter(), batch_size=3)
    assert not is_trainable(backend) and trainable is not None
    local = trainable()
    assert is_trainable(local) and local is trainable()  # loaded once, shared by the finetune levers
    assert local.batch_size == 3 and local.description == str(tiny_model)


def test_a_local_model_is_its_own_trainable_backend(tmp_path, tiny_model):
    backend, trainable = make_backend(str(tiny_model), tmp_path, tmp_path / "task.yaml", Reporter())
    assert is_trainable(backend) and trainable() is backend
    assert backend._model is None  # asking never loads the weights


def test_train_config_defaults_are_the_options_defaults():
    opts = FinetuneOptions()
    config = TrainConfig(lr=1e-3)
    for name in ("rank", "alpha", "dropout", "target_modules", "epochs", "batch_size", "warmup_ratio", "patience",
                 "max_length", "max_steps", "max_train_minutes"):
        assert getattr(config, name) == getattr(opts, name), name
    assert config.seed == 0
    with pytest.raises(TypeError):
        TrainConfig()  # a run's learning rate is a number it chooses: `auto` has no TrainConfig default


def test_from_options_takes_every_shared_field_and_the_run_values():
    opts = FinetuneOptions(rank=4, alpha=8, dropout=0.0, epochs=2, lr=[1e-3, 2e-3], batch_size=2, warmup_ratio=0.2,
                           patience=3, max_length=64, max_steps=9, max_train_minutes=1.5, target_modules=["q_proj"])
    config = TrainConfig.from_options(opts, lr=2e-3, seed=7, max_steps=5)
    assert config == TrainConfig(rank=4, alpha=8, dropout=0.0, target_modules=["q_proj"], epochs=2, lr=2e-3,
                                 batch_size=2, warmup_ratio=0.2, patience=3, max_length=64, max_steps=5,
                                 max_train_minutes=1.5, seed=7)


def test_sft_loss_is_the_completion_only_cross_entropy(tiny_model):
    """SFTObjective's summed loss over a batch, divided by its weight, is the mean cross-entropy over the answer
    tokens alone: what the model's own loss gives with the prompt's labels masked (the loss before objectives
    were injected), and the same whether the batch is taken whole or in micro-batches."""
    backend = LocalBackend(tiny_model, device="cpu")
    torch.manual_seed(0)
    with torch.no_grad():  # larger weights than the fixture's so the tokens' losses differ
        for param in backend.model.parameters():
            param.normal_(0, 0.3)
    objective = SFTObjective(max_length=512)
    items = objective.prepare(backend, PAIRS)
    pad = backend.tokenizer.pad_token_id
    with torch.inference_mode():
        total, fed = objective.loss(backend.model, items, "cpu")
        parts = [objective.loss(backend.model, part, "cpu")[0] for part in _micro_batches(items, 1)]
        width = max(len(ids) for ids, _ in items)
        ids = torch.full((len(items), width), pad)
        mask = torch.zeros_like(ids)
        labels = torch.full_like(ids, -100)
        for r, (seq, start) in enumerate(items):
            ids[r, :len(seq)], mask[r, :len(seq)] = torch.tensor(seq), 1
            labels[r, start:len(seq)] = torch.tensor(seq[start:])
        reference = backend.model(input_ids=ids, attention_mask=mask, labels=labels).loss.item()
    weight = objective.weight(items)
    assert weight == int((labels[:, 1:] != -100).sum()) and fed == int(mask.sum())
    assert total.item() / weight == pytest.approx(reference, rel=1e-5)
    assert len(parts) == len(items) and sum(p.item() for p in parts) == pytest.approx(total.item(), rel=1e-5)
    dev_total, dev_weight = dev_loss_sums(objective, backend.model, items, 2, "cpu")
    assert dev_weight == weight and dev_total == pytest.approx(total.item(), rel=1e-5)

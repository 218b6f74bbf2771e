"""Direct Preference Optimization (Rafailov et al., 2023): the sigmoid loss on (chosen, rejected) pairs against a
frozen reference policy, and the sequence log-probabilities it needs. Pure torch; the trainer lives in training.py.

For a pair, with log-ratios r = log pi(y|x) - log pi_ref(y|x) summed over the completion tokens:
    loss = -log sigmoid(beta * (r_chosen - r_rejected))
and the implicit rewards beta * r_chosen, beta * r_rejected (their difference is the reward margin; the share of
pairs with a positive margin is the preference accuracy). This equals TRL's DPOTrainer with loss_type "sigmoid",
f_divergence_type "reverse_kl" and no length weighting (tests/test_preference.py checks loss and gradients).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class DPOOutput:
    loss: torch.Tensor  # mean over pairs
    chosen_rewards: torch.Tensor  # beta * (log pi - log pi_ref) of the chosen answers, per pair (detached)
    rejected_rewards: torch.Tensor

    @property
    def margins(self) -> torch.Tensor:
        return self.chosen_rewards - self.rejected_rewards


def dpo_loss(chosen_logps: torch.Tensor, rejected_logps: torch.Tensor, ref_chosen_logps: torch.Tensor,
             ref_rejected_logps: torch.Tensor, beta: float) -> DPOOutput:
    """The DPO sigmoid loss of a batch of pairs, from sequence log-probs under the policy and the reference."""
    chosen = chosen_logps - ref_chosen_logps
    rejected = rejected_logps - ref_rejected_logps
    loss = -F.logsigmoid(beta * (chosen - rejected)).mean()
    return DPOOutput(loss, (beta * chosen).detach(), (beta * rejected).detach())


@dataclass
class PairItem:
    """One encoded pair: token ids of prompt+answer and where the answer starts, for both answers; `ref_*` are the
    reference's summed answer log-probs, set once by `DPOObjective.start`."""

    chosen: tuple[list[int], int]
    rejected: tuple[list[int], int]
    ref_chosen: float = 0.0
    ref_rejected: float = 0.0


def answer_logps(model, items: list[tuple[list[int], int]], pad_id: int, device: str) -> tuple[torch.Tensor, int]:
    """Summed log-probs of each row's answer tokens (those the SFT loss counts), computing logits
    only at the positions that predict an answer token; and the tokens fed."""
    from .training import _collate

    ids, mask, labels = _collate(items, pad_id, device)
    targets = labels[:, 1:]
    keep = (targets != -100).any(dim=0).nonzero().squeeze(1)
    logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=keep).logits.float()
    kept = targets[:, keep]
    per_token = torch.gather(torch.log_softmax(logits, dim=-1), 2, kept.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (per_token * (kept != -100)).sum(dim=1), int(mask.sum())


class DPOObjective:
    """DPO on top of the adapter training starts from (the SFT adapter): items are `PairItem`s; `start` stores the
    reference log-probs (the model as training begins, frozen); the loss is the sigmoid DPO loss summed over pairs.
    Rows are (messages, chosen answer, rejected answer)."""

    label = "DPO LoRA"

    def __init__(self, beta: float, max_length: int, pad_id: int | None = None):
        self.beta, self.max_length, self.pad_id = beta, max_length, pad_id

    def prepare(self, backend, rows) -> list[PairItem]:
        from .training import encode_pair

        if self.pad_id is None:
            self.pad_id = backend.tokenizer.pad_token_id
        return [PairItem(encode_pair(backend, m, c, self.max_length), encode_pair(backend, m, r, self.max_length))
                for m, c, r in rows]

    def length(self, item: PairItem) -> int:
        return len(item.chosen[0]) + len(item.rejected[0])

    def weight(self, items: list[PairItem]) -> int:
        return len(items)

    def logps(self, model, items: list[PairItem], device: str) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Summed answer log-probs of the chosen and of the rejected answers under `model`, and the tokens fed."""
        both, fed = answer_logps(model, [i.chosen for i in items] + [i.rejected for i in items], self.pad_id, device)
        return both[:len(items)], both[len(items):], fed

    @torch.no_grad()
    def start(self, model, train: list[PairItem], dev: list[PairItem], device: str, batch: int = 8) -> None:
        was_training = model.training
        model.eval()
        for items in (train, dev):
            for s in range(0, len(items), batch):
                part = items[s:s + batch]
                chosen, rejected, _ = self.logps(model, part, device)
                for item, c, r in zip(part, chosen.tolist(), rejected.tolist()):
                    item.ref_chosen, item.ref_rejected = c, r
        model.train(was_training)

    def output(self, model, items: list[PairItem], device: str) -> tuple[DPOOutput, int]:
        chosen, rejected, fed = self.logps(model, items, device)
        ref_c = torch.tensor([i.ref_chosen for i in items], device=chosen.device)
        ref_r = torch.tensor([i.ref_rejected for i in items], device=chosen.device)
        return dpo_loss(chosen, rejected, ref_c, ref_r, self.beta), fed

    def loss(self, model, items: list[PairItem], device: str) -> tuple[torch.Tensor, int]:
        out, fed = self.output(model, items, device)
        return out.loss * len(items), fed

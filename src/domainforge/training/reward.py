"""Pairwise reward modelling: a 1-logit sequence-classification head trained with
-log sigmoid(r_chosen - r_rejected), read at each sequence's last real token."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch
import torch.nn.functional as F
from transformers import Trainer

from domainforge import progress
from domainforge.training.packing import as_messages


def preference_chats(preferences: pd.DataFrame) -> list[tuple[str, list[dict], list[dict]]]:
    """(id, prompt + chosen, prompt + rejected) message lists for every preference row."""
    pairs = []
    for row in preferences.itertuples(index=False):
        prompt = as_messages(row.prompt, f"preference {row.id} prompt")
        chosen = as_messages(row.chosen, f"preference {row.id} chosen")
        rejected = as_messages(row.rejected, f"preference {row.id} rejected")
        pairs.append((row.id, prompt + chosen, prompt + rejected))
    return pairs


def chat_ids(messages: Sequence[dict], tokenizer, max_length: int) -> list[int]:
    """The templated chat's tokens; long chats keep their end, where the reward is read."""
    text = tokenizer.apply_chat_template(list(messages), tokenize=False)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return ids[-max_length:]


class PairCollator:
    """Chosen sequences then rejected ones, right-padded with a pad token that is not EOS."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, items: Sequence[dict]) -> dict:
        sequences = [item["chosen"] for item in items] + [item["rejected"] for item in items]
        width = max(map(len, sequences))
        ids = torch.full((len(sequences), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(sequences), width), dtype=torch.long)
        for row, sequence in enumerate(sequences):
            ids[row, : len(sequence)] = torch.tensor(sequence)
            mask[row, : len(sequence)] = 1
        return {"input_ids": ids, "attention_mask": mask}


def pairwise_loss(chosen: torch.Tensor, rejected: torch.Tensor) -> torch.Tensor:
    return -F.logsigmoid(chosen - rejected).mean()


def pair_wins(chosen: Sequence[float], rejected: Sequence[float]) -> list[float]:
    """Per pair: 1 where the chosen answer scores higher, 0 where lower, 0.5 for a tie."""
    if len(chosen) == 0:
        raise ValueError("no preference pairs to score")
    return [1.0 if c > r else 0.5 if c == r else 0.0 for c, r in zip(chosen, rejected, strict=True)]


def reward_accuracy(chosen: Sequence[float], rejected: Sequence[float]) -> float:
    """Share of pairs where the chosen answer scores higher; a tie counts half."""
    wins = pair_wins(chosen, rejected)
    return sum(wins) / len(wins)


class PairwiseRewardTrainer(Trainer):
    # The loss is a mean over the micro-batch's pairs, so the Trainer must divide it by the
    # number of accumulation steps itself.
    loss_is_scaled_for_ga = False

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        rewards = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).logits[:, 0]
        chosen, rejected = rewards.chunk(2)
        loss = pairwise_loss(chosen, rejected)
        return (loss, {"chosen": chosen, "rejected": rejected}) if return_outputs else loss


@torch.no_grad()
def score_pairs(model, tokenizer, preferences: pd.DataFrame, max_length: int, batch_size: int = 8):
    """(ids, chosen rewards, rejected rewards) of a reward model over preference rows."""
    model.eval()
    device = next(model.parameters()).device
    collate = PairCollator(tokenizer.pad_token_id)
    pairs = preference_chats(preferences)
    chosen, rejected = [], []
    for begin in progress.bar(range(0, len(pairs), batch_size), desc="reward model pairs", unit="batch"):
        items = [
            {"chosen": chat_ids(c, tokenizer, max_length), "rejected": chat_ids(r, tokenizer, max_length)}
            for _, c, r in pairs[begin : begin + batch_size]
        ]
        batch = {k: v.to(device) for k, v in collate(items).items()}
        c, r = model(**batch).logits[:, 0].float().cpu().chunk(2)
        chosen += c.tolist()
        rejected += r.tolist()
    return [p[0] for p in pairs], chosen, rejected

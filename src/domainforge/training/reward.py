"""Pairwise reward modelling: a 1-logit sequence-classification head trained (by TRL's
RewardTrainer, stages.py) with -log sigmoid(r_chosen - r_rejected), read at each sequence's last
real token. Here: the pairs' tokens, shared by training and scoring, and the held-out maths."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch

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


def pair_ids(preferences: pd.DataFrame, tokenizer, max_length: int) -> list[dict]:
    """Per preference row {"chosen_ids", "rejected_ids"}: TRL's tokenized preference format, each
    chat cut to its last `max_length` tokens (TRL's own max_length would drop the pair instead)."""
    return [
        {"chosen_ids": chat_ids(chosen, tokenizer, max_length), "rejected_ids": chat_ids(rejected, tokenizer, max_length)}
        for _, chosen, rejected in preference_chats(preferences)
    ]


def pair_wins(chosen: Sequence[float], rejected: Sequence[float]) -> list[float]:
    """Per pair: 1 where the chosen answer scores higher, 0 where lower, 0.5 for a tie."""
    if len(chosen) == 0:
        raise ValueError("no preference pairs to score")
    return [1.0 if c > r else 0.5 if c == r else 0.0 for c, r in zip(chosen, rejected, strict=True)]


def reward_accuracy(chosen: Sequence[float], rejected: Sequence[float]) -> float:
    """Share of pairs where the chosen answer scores higher; a tie counts half."""
    wins = pair_wins(chosen, rejected)
    return sum(wins) / len(wins)


@torch.no_grad()
def score_pairs(model, tokenizer, preferences: pd.DataFrame, max_length: int, batch_size: int = 8):
    """(ids, chosen rewards, rejected rewards) of a reward model over preference rows, batched as
    RewardTrainer batches them in training (chosen then rejected, right-padded with the pad token)."""
    from trl.trainer.reward_trainer import DataCollatorForPreference

    model.eval()
    device = next(model.parameters()).device
    collate = DataCollatorForPreference(pad_token_id=tokenizer.pad_token_id)
    items = pair_ids(preferences, tokenizer, max_length)
    chosen, rejected = [], []
    for begin in progress.bar(range(0, len(items), batch_size), desc="reward model pairs", unit="batch"):
        batch = {k: v.to(device) for k, v in collate(items[begin : begin + batch_size]).items()}
        c, r = model(**batch).logits[:, 0].float().cpu().chunk(2)
        chosen += c.tolist()
        rejected += r.tolist()
    return list(preferences["id"]), chosen, rejected

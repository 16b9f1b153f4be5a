"""Reward-model maths and the pad-token trap, checked by hand (no training)."""

import math

import pytest
import torch
from tiny_training import preferences

from domainforge.evaluation.stats import bootstrap_ci
from domainforge.training.base_model import ensure_pad_token
from domainforge.training.reward import PairCollator, chat_ids, pair_wins, pairwise_loss, reward_accuracy, score_pairs


def test_reward_accuracy_hand_checked():
    # pair 1 right, pair 2 wrong, pair 3 a tie (half), pair 4 right -> (1 + 0 + 0.5 + 1) / 4
    assert reward_accuracy([1.0, 0.2, 0.5, -1.0], [0.5, 0.3, 0.5, -2.0]) == 0.625
    with pytest.raises(ValueError):
        reward_accuracy([], [])
    low, high = bootstrap_ci(pair_wins([1.0, 0.2, 0.5, -1.0], [0.5, 0.3, 0.5, -2.0]))
    assert 0 <= low < 0.625 < high <= 1


def test_pairwise_loss_hand_checked():
    chosen, rejected = torch.tensor([2.0, 0.0]), torch.tensor([1.0, 1.0])
    expected = (-math.log(1 / (1 + math.exp(-1))) - math.log(1 / (1 + math.exp(1)))) / 2
    assert pairwise_loss(chosen, rejected).item() == pytest.approx(expected, rel=1e-6)


def test_pad_token_differs_from_eos_and_batched_rewards_match_single(tokenizer, tiny_model):
    """With pad == EOS a classification head reads the reward from the wrong token once
    sequences of different lengths share a batch; ensure_pad_token prevents that."""
    from transformers import AutoModelForSequenceClassification

    tok = tokenizer.__class__.from_pretrained(tiny_model)
    assert tok.pad_token_id == tok.eos_token_id
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model, num_labels=1)
    ensure_pad_token(tok, model)
    assert tok.pad_token_id != tok.eos_token_id
    assert model.config.pad_token_id == tok.pad_token_id
    pairs = preferences(3)
    pairs.at[1, "chosen"] = [{"role": "assistant", "content": "多喝水，注意休息，必要时就医。" * 3}]
    _, batched_c, batched_r = score_pairs(model, tok, pairs, max_length=128, batch_size=3)
    for i in range(3):
        _, single_c, single_r = score_pairs(model, tok, pairs.iloc[[i]], max_length=128, batch_size=1)
        assert batched_c[i] == pytest.approx(single_c[0], abs=1e-5)
        assert batched_r[i] == pytest.approx(single_r[0], abs=1e-5)


def test_pair_collator_right_pads_with_attention_mask():
    batch = PairCollator(pad_token_id=0)([{"chosen": [5, 6, 7], "rejected": [8]}])
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_long_chats_keep_their_end(tokenizer):
    messages = [{"role": "user", "content": "问题" * 20}, {"role": "assistant", "content": "回答"}]
    ids = chat_ids(messages, tokenizer, max_length=6)
    assert len(ids) == 6
    assert tokenizer.decode(ids).endswith("<|im_end|>\n")

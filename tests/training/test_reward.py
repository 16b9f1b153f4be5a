"""Reward-model maths, the pad-token trap and the rm stage's TRL RewardTrainer, checked by hand
(no training steps)."""

import pytest
import torch
import torch.nn.functional as F
from tiny_training import PARAMS, preferences

from domainforge.evaluation.stats import bootstrap_ci
from domainforge.training.base_model import ensure_pad_token
from domainforge.training.reward import chat_ids, pair_wins, reward_accuracy, score_pairs


def test_reward_accuracy_hand_checked():
    # pair 1 right, pair 2 wrong, pair 3 a tie (half), pair 4 right -> (1 + 0 + 0.5 + 1) / 4
    assert reward_accuracy([1.0, 0.2, 0.5, -1.0], [0.5, 0.3, 0.5, -2.0]) == 0.625
    with pytest.raises(ValueError):
        reward_accuracy([], [])
    low, high = bootstrap_ci(pair_wins([1.0, 0.2, 0.5, -1.0], [0.5, 0.3, 0.5, -2.0]))
    assert 0 <= low < 0.625 < high <= 1


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


def test_reward_trainer_trains_on_the_pairwise_loss_of_the_scored_rewards(tiny_model, tmp_path):
    """The rm stage's RewardTrainer: its loss on a padded batch is -log sigma(r_c - r_r) of the
    rewards score_pairs reads from each chat alone (so at the last real token, the pad token not
    being EOS), and a pair longer than max_length is cut to its end, not dropped."""
    from domainforge.training import Runtime
    from domainforge.training.artifacts import ModelDir
    from domainforge.training.stage_settings import stage_settings
    from domainforge.training.stages import reward_trainer

    max_length = 48
    pairs = preferences(4)
    pairs.at[1, "chosen"] = [{"role": "assistant", "content": "多喝水，注意休息，必要时就医。" * 20}]
    params = stage_settings("rm", {**PARAMS["rm"], "max_length": max_length})
    trainer, stats = reward_trainer(
        ModelDir(tiny_model), pairs, params=params, runtime=Runtime(deepspeed={}), output_dir=str(tmp_path)
    )
    tok, model = trainer.processing_class, trainer.model
    assert stats["pairs"] == len(trainer.train_dataset) == 4
    assert tok.pad_token_id != tok.eos_token_id and model.config.pad_token_id == tok.pad_token_id
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(4)])
    assert batch["input_ids"].shape == (8, max_length)  # the long chat, cut; the others padded
    assert (batch["input_ids"][batch["attention_mask"] == 0] == tok.pad_token_id).all()
    model.eval()
    with torch.no_grad():
        loss = trainer.compute_loss(model, batch)
    _, chosen, rejected = score_pairs(model, tok, pairs, max_length=max_length, batch_size=1)
    assert len(set(chosen + rejected)) == 8  # distinct rewards: the comparison can tell pairs apart
    expected = -F.logsigmoid(torch.tensor(chosen) - torch.tensor(rejected)).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_long_chats_keep_their_end(tokenizer):
    messages = [{"role": "user", "content": "问题" * 20}, {"role": "assistant", "content": "回答"}]
    ids = chat_ids(messages, tokenizer, max_length=6)
    assert len(ids) == 6
    assert tokenizer.decode(ids).endswith("<|im_end|>\n")


def test_dpo_reward_scores_long_prompts_within_preference_max_length(tmp_path):
    """A pair whose prompt fills `max_length` is skipped, with its reason; `preference_max_length`
    gives preference scoring a longer window without changing the perplexity windows."""
    from tiny_llama import save_tiny_llama
    from tiny_training import make_tokenizer, preferences

    from domainforge.training import evaluate

    pairs = preferences(3)
    pairs.at[0, "prompt"] = [{"role": "user", "content": "问题 " * 30}]
    model_dir = save_tiny_llama(tmp_path / "model", make_tokenizer())

    short = evaluate.evaluate_dpo(model_dir, model_dir, pairs, {"max_length": 48}, beta=0.1)
    assert short["pairs"] == 2 and [s["id"] for s in short["skipped"]] == ["pair0"]
    long = evaluate.evaluate_dpo(model_dir, model_dir, pairs, {"max_length": 48, "preference_max_length": 512}, beta=0.1)
    assert long["pairs"] == 3 and long["skipped"] == [], long["skipped"]

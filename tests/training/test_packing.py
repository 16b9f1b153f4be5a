"""Tokenization, masking and padding-free packing (no training, no DeepSpeed)."""

import numpy as np
import pytest
import torch
from tiny_training import chats

from domainforge.training.packing import (
    IGNORE,
    PackedCollator,
    TokenSequence,
    as_messages,
    chat_sequence,
    chat_sequences,
    document_blocks,
    pack,
)


def _labelled_text(tokenizer, sequence):
    return tokenizer.decode(
        [t for t, label in zip(sequence.input_ids, sequence.labels, strict=True) if label != IGNORE]
    )


def test_loss_only_on_every_assistant_turn(tokenizer):
    messages = [
        {"role": "system", "content": "你是医生。"},
        {"role": "user", "content": "发热怎么办？"},
        {"role": "assistant", "content": "多喝水。"},
        {"role": "user", "content": "还要注意什么？"},
        {"role": "assistant", "content": "注意休息。"},
    ]
    sequence, truncated = chat_sequence(messages, tokenizer, max_length=512)
    assert not truncated
    assert _labelled_text(tokenizer, sequence) == "多喝水。<|im_end|>\n注意休息。<|im_end|>\n"
    # No prompt token carries a label: every labelled id sits inside an assistant span.
    prompt_only = chat_sequence(messages[:2] + [{"role": "assistant", "content": ""}], tokenizer, 512)[0]
    prompt_len = len(
        tokenizer(tokenizer.apply_chat_template(messages[:2], tokenize=False, add_generation_prompt=True))[
            "input_ids"
        ]
    )
    assert all(label == IGNORE for label in sequence.labels[:prompt_len])
    assert all(label == IGNORE for label in prompt_only.labels[:prompt_len])


def test_last_turn_target_and_truncation(tokenizer):
    messages = [
        {"role": "user", "content": "问题"},
        {"role": "assistant", "content": "多喝水。"},
        {"role": "user", "content": "还有？"},
        {"role": "assistant", "content": "注意休息。"},
    ]
    last, _ = chat_sequence(messages, tokenizer, 512, target="last")
    assert _labelled_text(tokenizer, last) == "注意休息。<|im_end|>\n"
    short, truncated = chat_sequence(messages, tokenizer, max_length=5)
    assert truncated and len(short.input_ids) == 5


def test_chats_without_trainable_tokens_are_reported_not_dropped_silently(tokenizer):
    table = chats(3)
    table.at[1, "messages"] = [{"role": "assistant", "content": "开场白"}, {"role": "user", "content": "嗯"}]
    sequences, stats = chat_sequences(table, tokenizer, max_length=4)
    reasons = {entry["id"]: entry["reason"] for entry in stats["skipped"]}
    assert set(reasons) == {"chat0", "chat1", "chat2"}
    assert "starts with an assistant turn" in reasons["chat1"]
    assert "no assistant token within 4 tokens" in reasons["chat0"]
    assert sequences == []


def test_messages_arrive_as_lists_arrays_or_json():
    expected = [{"role": "user", "content": "hi"}]
    assert as_messages(np.array(expected, dtype=object)) == expected
    assert as_messages('[{"role": "user", "content": "hi"}]') == expected
    with pytest.raises(ValueError, match="chat 7"):
        as_messages([{"role": "user"}], "chat 7")


def test_pretraining_blocks_put_eos_between_documents(tokenizer):
    texts = ["发热是最常见的症状。", "The history of the kingdom."]
    blocks = document_blocks(texts, tokenizer, block_len=8)
    stream = [t for block in blocks for t in block["input_ids"]]
    first = tokenizer(texts[0], add_special_tokens=False)["input_ids"]
    second = tokenizer(texts[1], add_special_tokens=False)["input_ids"]
    eos = tokenizer.eos_token_id
    assert stream == first + [eos] + second + [eos]
    assert all(len(b["input_ids"]) == 8 for b in blocks[:-1])
    separate = document_blocks(texts, tokenizer, block_len=len(stream), separate_documents=True)[0]
    assert separate["position_ids"][len(first) + 1] == 0  # positions restart after the EOS
    assert separate["position_ids"][: len(first) + 1] == list(range(len(first) + 1))


def test_first_fit_decreasing_packs_whole_sequences_within_capacity():
    sequences = [TokenSequence([i] * n, [i] * n) for i, n in enumerate([5, 3, 7, 2, 4, 1])]
    rows = pack(sequences, capacity=8)
    assert sorted(m for row in rows for m in row["members"]) == list(range(6))
    assert all(len(row["input_ids"]) <= 8 for row in rows)
    assert len(rows) == 3  # 22 tokens in 3 rows of 8: no fourth row needed
    for row in rows:
        starts = [p for p in row["position_ids"] if p == 0]
        assert len(starts) == len(row["members"])
    with pytest.raises(ValueError, match="exceeds the packing capacity"):
        pack([TokenSequence([1] * 9, [1] * 9)], capacity=8)


def test_collator_ignores_labels_across_sequence_starts():
    rows = pack([TokenSequence([5, 6, 7], [5, 6, 7]), TokenSequence([8, 9], [8, 9])], capacity=8)
    batch = PackedCollator()(rows)
    assert batch["input_ids"].shape == (1, 5)
    assert batch["labels"][0].tolist() == [IGNORE, 6, 7, IGNORE, 9]
    assert batch["position_ids"][0].tolist() == [0, 1, 2, 0, 1]
    assert batch["use_cache"] is False
    blocks = [{"input_ids": [1, 2], "labels": [1, 2], "position_ids": [0, 1]}] * 3
    stacked = PackedCollator()(blocks)  # equal lengths: [batch, length], still no padding
    assert stacked["input_ids"].shape == (3, 2) and stacked["labels"][:, 0].eq(IGNORE).all()


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_packed_sequences_do_not_attend_to_each_other(tiny_model, attention):
    """Logits of a chat packed after another equal its logits alone; without the position
    reset (one long sequence) they would not."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model, attn_implementation=attention).eval()
    a, b = [5, 6, 7, 8, 9, 10], [11, 12, 13, 14]
    batch = PackedCollator()(pack([TokenSequence(a, a), TokenSequence(b, b)], capacity=16))
    assert batch["input_ids"][0].tolist() == a + b
    with torch.no_grad():
        packed = model(**{k: v for k, v in batch.items() if k != "labels"}).logits[0, len(a) :]
        alone = model(input_ids=torch.tensor([b]), use_cache=False).logits[0]
        leaked = model(input_ids=batch["input_ids"], use_cache=False).logits[0, len(a) :]
    torch.testing.assert_close(packed, alone, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(leaked, alone, atol=1e-3)

"""Turn record tables into padding-free token streams.

Every training and evaluation batch here is padding-free: one row of concatenated examples,
`[1, n_tokens]` (or equal-length blocks stacked), with `position_ids` restarting at 0 wherever an
independent sequence starts. Transformers builds a block-diagonal causal mask from such position
ids (attention_mask=None, no cache), so packed sequences never attend to each other and no
compute is spent on padding tokens.

- Pretraining: documents joined with EOS and cut into fixed blocks. Documents inside a block
  attend to each other by default (standard continued-pretraining packing);
  `separate_documents=True` restarts positions after each EOS instead.
- Chats: the tokenizer's chat template, labels only on assistant turns (every turn).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

IGNORE = -100


def as_messages(value, where: str = "") -> list[dict]:
    """A chat as a list of {"role", "content"} dicts (lists may arrive as numpy arrays or JSON)."""
    if isinstance(value, str):
        value = json.loads(value)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, list | tuple) or not value:
        raise ValueError(f"{where}: expected a non-empty list of messages, got {type(value).__name__}")
    messages = []
    for message in value:
        if not isinstance(message, dict) or not {"role", "content"} <= message.keys():
            raise ValueError(f"{where}: each message needs 'role' and 'content', got {message!r:.80}")
        messages.append({"role": str(message["role"]), "content": str(message["content"])})
    return messages


@dataclass
class TokenSequence:
    """One independent token sequence: ids plus labels (IGNORE where no loss is taken)."""

    input_ids: list[int]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)


def document_blocks(
    texts: Iterable[str], tokenizer, block_len: int, separate_documents: bool = False
) -> list[dict]:
    """Pack documents (each followed by EOS) into blocks of `block_len` tokens.

    The last, shorter block is kept. Returns items with input_ids, labels, position_ids.
    """
    eos = tokenizer.eos_token_id
    if eos is None:
        raise ValueError("tokenizer has no eos_token: documents cannot be separated when packed")
    ids: list[int] = []
    starts: list[bool] = []  # True where a new document starts
    for text in texts:
        tokens = tokenizer(text, add_special_tokens=False)["input_ids"] + [eos]
        ids.extend(tokens)
        starts.extend([True] + [False] * (len(tokens) - 1))
    blocks = []
    for begin in range(0, len(ids), block_len):
        block, block_starts = ids[begin : begin + block_len], starts[begin : begin + block_len]
        if len(block) < 2:
            continue
        if separate_documents:
            positions, position = [], 0
            for is_start in block_starts:
                position = 0 if is_start else position + 1
                positions.append(position)
        else:
            positions = list(range(len(block)))
        blocks.append({"input_ids": block, "labels": list(block), "position_ids": positions})
    return blocks


def _render(tokenizer, messages, add_generation_prompt=False) -> str:
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=add_generation_prompt
    )


def chat_sequence(
    messages: Sequence[dict], tokenizer, max_length: int, target: str = "assistant"
) -> tuple[TokenSequence, bool]:
    """Tokenize a chat with its template; labels on assistant turns, IGNORE elsewhere.

    target="assistant": every assistant turn; target="last": only the final assistant turn
    (the completion in preference pairs). Returns (sequence, truncated).
    Spans are found by rendering growing prefixes of the chat: the template must render a prefix
    of the chat as a prefix of the full text (true for ChatML, Llama-3, Qwen, Mistral templates).
    """
    full = _render(tokenizer, messages)
    turns = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
    if target == "last":
        turns = turns[-1:]
    spans = []
    for i in turns:
        if i == 0:
            raise ValueError("the chat starts with an assistant turn (no prompt to condition on)")
        prompt = _render(tokenizer, messages[:i], add_generation_prompt=True)
        upto = _render(tokenizer, messages[: i + 1])
        if not (full.startswith(upto) and upto.startswith(prompt)):
            raise ValueError(
                "the chat template does not render a chat's prefix as a prefix of the full chat; "
                "assistant-only labels cannot be located for this tokenizer"
            )
        spans.append((len(prompt), len(upto)))
    encoded = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    ids = encoded["input_ids"]
    labels = [IGNORE] * len(ids)
    span_starts = [s for s, _ in spans]
    for k, (start, _end) in enumerate(encoded["offset_mapping"]):
        j = bisect.bisect_right(span_starts, start) - 1
        if j >= 0 and start < spans[j][1]:
            labels[k] = ids[k]
    truncated = len(ids) > max_length
    return TokenSequence(ids[:max_length], labels[:max_length]), truncated


def pack(sequences: Sequence[TokenSequence], capacity: int) -> list[dict]:
    """First-fit-decreasing bin packing of whole sequences into rows of at most `capacity` tokens.

    Each row keeps its sequences separate: position_ids restart at 0 for each one; "members"
    lists the indices of the sequences it holds, in order.
    """
    order = sorted(range(len(sequences)), key=lambda i: -len(sequences[i]))
    bins: list[list[int]] = []
    free: list[tuple[int, int]] = []  # (free tokens, bin index), sorted
    for i in order:
        size = len(sequences[i])
        if size > capacity:
            raise ValueError(f"sequence of {size} tokens exceeds the packing capacity {capacity}")
        slot = bisect.bisect_left(free, (size, -1))
        if slot == len(free):
            bins.append([i])
            bisect.insort(free, (capacity - size, len(bins) - 1))
        else:
            room, b = free.pop(slot)
            bins[b].append(i)
            bisect.insort(free, (room - size, b))
    rows = []
    for members in bins:
        ids, labels, positions = [], [], []
        for i in members:
            ids += sequences[i].input_ids
            labels += sequences[i].labels
            positions += range(len(sequences[i]))
        rows.append({"input_ids": ids, "labels": labels, "position_ids": positions, "members": members})
    return rows


class PackedCollator:
    """Padding-free batches; no label crosses a sequence start.

    Items of equal length (pretraining blocks) are stacked as `[batch, length]`; otherwise they
    are concatenated into one `[1, total]` row. The label at a position where position_ids
    restart would be predicted from the previous sequence's last token, so it is ignored.
    """

    def __call__(self, items: Sequence[dict]) -> dict:
        def tensor(key):
            return torch.tensor([item[key] for item in items], dtype=torch.long)

        def row(key):
            return torch.tensor([t for item in items for t in item[key]], dtype=torch.long)[None]

        # Stacking keeps attention at batch x length^2 instead of (batch x length)^2.
        same_length = len({len(item["input_ids"]) for item in items}) == 1
        build = tensor if same_length else row
        ids, labels, positions = build("input_ids"), build("labels"), build("position_ids")
        labels[positions == 0] = IGNORE
        return {
            "input_ids": ids,
            "labels": labels,
            "position_ids": positions,
            # A KV cache would disable the block-diagonal mask built from position_ids.
            "use_cache": False,
        }


class ListDataset(torch.utils.data.Dataset):
    def __init__(self, items: Sequence):
        self.items = list(items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


def chat_sequences(chats, tokenizer, max_length: int, target: str = "assistant"):
    """Tokenize a chats table. Returns (sequences, stats); chats that cannot be trained on (no
    assistant token left after truncation, template problems) are listed in stats["skipped"]."""
    sequences, skipped, truncated = [], [], 0
    for row in chats.itertuples(index=False):
        try:
            sequence, was_truncated = chat_sequence(
                as_messages(row.messages, f"chat {row.id}"), tokenizer, max_length, target
            )
        except ValueError as error:
            skipped.append({"id": row.id, "reason": str(error)})
            continue
        if not any(label != IGNORE for label in sequence.labels):
            skipped.append({"id": row.id, "reason": f"no assistant token within {max_length} tokens"})
            continue
        truncated += was_truncated
        sequences.append(sequence)
    stats = {
        "chats": len(chats),
        "chats_used": len(sequences),
        "chats_truncated": truncated,
        "skipped": skipped,
        "chat_tokens": sum(map(len, sequences)),
        "target_tokens": sum(sum(label != IGNORE for label in s.labels) for s in sequences),
    }
    return sequences, stats

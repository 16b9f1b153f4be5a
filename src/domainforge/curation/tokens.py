"""Count tokens with the base model's tokenizer, or characters when there is none."""
from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager


def count_tokens(texts: Sequence[str], tokenizer=None, batch_size: int = 512) -> list[int]:
    """Token count per text (no special tokens); character count if `tokenizer` is None.
    `tokenizer`: a transformers tokenizer or a bare `tokenizers.Tokenizer` (same counts)."""
    if tokenizer is None:
        return [len(t) for t in texts]
    # encode_batch_fast skips the offsets the counts do not need.
    encode = getattr(tokenizer, "encode_batch_fast", None)
    counts: list[int] = []
    for start in range(0, len(texts), batch_size):
        batch = list(texts[start : start + batch_size])
        if encode is not None:
            counts += [len(encoding.ids) for encoding in encode(batch, add_special_tokens=False)]
        else:
            counts += [len(ids) for ids in tokenizer(batch, add_special_tokens=False)["input_ids"]]
    return counts


@contextmanager
def _one_thread() -> Iterator[None]:
    """tokenizers spreads a batch over every core (Rayon) unless TOKENIZERS_PARALLELISM, read on
    each call, says no. An engine task has one CPU (a forked local worker; Ray reserves one per
    task), so its counting stays on that CPU: `workers` tasks use `workers` cores, not
    `workers` x cores fighting over them."""
    previous = os.environ.get("TOKENIZERS_PARALLELISM")
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["TOKENIZERS_PARALLELISM"]
        else:
            os.environ["TOKENIZERS_PARALLELISM"] = previous


def chat_text(messages) -> str:
    return "\n".join(m["content"] for m in messages)


def count_step(frame, task: int, tokenizer=None):
    """Plan step: a `tokens` column (0 for records no longer in play), counted once, right after
    normalisation, for the mix budget and the data report's funnel."""
    live = (frame["status"] == "").to_numpy()
    counts = [0] * len(frame)
    with _one_thread():
        found = count_tokens(frame["text"].to_numpy()[live].tolist(), tokenizer)
    for i, n in zip(live.nonzero()[0], found):
        counts[i] = n
    return frame.assign(tokens=counts), {}

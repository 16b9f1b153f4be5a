"""Held-out evaluation of every stage's model: perplexity on domain and general text (the
forgetting check), assistant-token loss on held-out chats, reward-model accuracy, DPO implicit
reward accuracy and margins, and greedy sample answers to fixed prompts.

All token scoring runs padding-free through the same packing as training, so a held-out loss is
computed exactly as the training loss is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import torch
import torch.nn.functional as F

from domainforge import progress
from domainforge.evaluation.stats import bootstrap_ci
from domainforge.training.artifacts import ModelDir
from domainforge.training.base_model import ensure_pad_token
from domainforge.training.packing import (
    IGNORE,
    PackedCollator,
    TokenSequence,
    as_messages,
    chat_sequences,
    pack,
)
from domainforge.training.reward import pair_wins, reward_accuracy, score_pairs
from domainforge.training.stage_settings import EvalSettings, eval_settings


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_causal(model_dir: ModelDir):
    dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    return ModelDir(model_dir).load_causal_lm(dtype=dtype).to(device()).eval()


@torch.no_grad()
def sequence_nll(
    model, sequences: Sequence[TokenSequence], batch_tokens: int, desc: str = "score tokens"
) -> list[tuple[float, int]]:
    """(summed negative log-likelihood, scored tokens) per sequence, over its labelled tokens;
    `desc` names the progress bar."""
    collate = PackedCollator()
    results: list[tuple[float, int]] = [(0.0, 0)] * len(sequences)
    capacity = max(batch_tokens, max(map(len, sequences), default=1))
    for row in progress.bar(pack(sequences, capacity), desc=desc, unit="batch"):
        batch = collate([row])
        labels = batch["labels"][0, 1:].to(device())
        logits = model(
            input_ids=batch["input_ids"].to(device()),
            position_ids=batch["position_ids"].to(device()),
            use_cache=False,
        ).logits[0, :-1]
        nll = F.cross_entropy(logits.float(), labels, ignore_index=IGNORE, reduction="none")
        # Token t of the row is predicted at position t-1: split the per-token losses per sequence.
        begin = 0
        for member in row["members"]:
            end = begin + len(sequences[member])
            span = slice(max(begin - 1, 0), end - 1)
            scored = int((labels[span] != IGNORE).sum())
            results[member] = (float(nll[span].sum()), scored)
            begin = end
    return results


def _windows(texts: Sequence[str], tokenizer, max_length: int, max_tokens: int) -> list[TokenSequence]:
    """Documents cut into non-overlapping windows, up to `max_tokens` in all."""
    windows, total = [], 0
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        for begin in range(0, len(ids), max_length):
            window = ids[begin : begin + max_length]
            if len(window) < 2:
                continue
            window = window[: max_tokens - total]
            windows.append(TokenSequence(window, list(window)))
            total += len(window)
            if total >= max_tokens:
                return windows
    return windows


def perplexity(model, tokenizer, texts: Sequence[str], settings) -> dict:
    """settings: max_length, max_tokens, batch_tokens (EvalSettings, or evaluation's PerplexitySettings)."""
    windows = _windows(texts, tokenizer, settings.max_length, settings.max_tokens)
    if not windows:
        return {"perplexity": None, "tokens": 0}
    nll = sequence_nll(model, windows, settings.batch_tokens, "perplexity")
    total, tokens = sum(n for n, _ in nll), sum(t for _, t in nll)
    return {"perplexity": math.exp(total / tokens), "nll_per_token": total / tokens, "tokens": tokens}


def chat_loss(model, tokenizer, chats: pd.DataFrame, settings: EvalSettings) -> dict:
    """Mean loss over assistant tokens of held-out chats (the SFT objective)."""
    sequences, stats = chat_sequences(chats, tokenizer, settings.max_length)
    budget, kept = settings.max_tokens, []
    for sequence in sequences:
        if budget <= 0:
            break
        kept.append(sequence)
        budget -= len(sequence)
    if not kept:
        return {"loss": None, "target_tokens": 0, "chats": 0}
    nll = sequence_nll(model, kept, settings.batch_tokens, "held-out chat loss")
    total, tokens = sum(n for n, _ in nll), sum(t for _, t in nll)
    return {"loss": total / tokens, "target_tokens": tokens, "chats": len(kept), "skipped": stats["skipped"]}


@torch.no_grad()
def generate_samples(
    model, tokenizer, prompts: Sequence[str], max_new_tokens: int, repetition_penalty: float = 1.0
) -> list[dict]:
    """Greedy answers to fixed prompts, so stages can be compared side by side."""
    samples = []
    for prompt in progress.bar(prompts, desc="generate samples", unit="prompt"):
        ids = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}],
            add_generation_prompt=True,
            return_tensors="pt",
            return_dict=True,
        )["input_ids"].to(device())
        output = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            repetition_penalty=repetition_penalty,
            pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
        )
        samples.append(
            {
                "prompt": prompt,
                "response": tokenizer.decode(output[0, ids.shape[1] :], skip_special_tokens=True),
            }
        )
    return samples


def _by_corpus(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    ordered = frame.sort_values("id", kind="stable")
    return {corpus: part for corpus, part in ordered.groupby("corpus", sort=True)}


def evaluate_language_model(
    model_dir: ModelDir, documents: pd.DataFrame, chats: pd.DataFrame, params: dict
) -> dict:
    """Perplexity per corpus, held-out chat loss per corpus, and sample generations.

    params: `training.eval` (EvalSettings, or its mapping).
    """
    settings = eval_settings(params)
    model = load_causal(model_dir)
    tokenizer = ModelDir(model_dir).load_tokenizer()
    return {
        "perplexity": {
            corpus: perplexity(model, tokenizer, list(part["text"]), settings)
            for corpus, part in _by_corpus(documents).items()
        },
        "chat_loss": {
            corpus: chat_loss(model, tokenizer, part, settings) for corpus, part in _by_corpus(chats).items()
        },
        "samples": generate_samples(
            model,
            tokenizer,
            settings.prompts,
            settings.max_new_tokens,
            settings.repetition_penalty,
        ),
    }


def evaluate_reward_model(model_dir: ModelDir, preferences: pd.DataFrame, params: dict | EvalSettings) -> dict:
    settings = eval_settings(params)
    model_dir = ModelDir(model_dir)
    tokenizer = model_dir.load_tokenizer()
    ensure_pad_token(tokenizer)
    model = model_dir.load_reward_model(dtype=torch.float32).to(device())
    ids, chosen, rejected = score_pairs(model, tokenizer, preferences, settings.max_length)
    margins = [c - r for c, r in zip(chosen, rejected, strict=True)]
    return {
        "pairs": len(ids),
        "accuracy": reward_accuracy(chosen, rejected),
        "ci95": list(bootstrap_ci(pair_wins(chosen, rejected))),  # pairs resampled, seeded
        "margin_mean": sum(margins) / len(margins),
        "chosen_reward_mean": sum(chosen) / len(chosen),
        "rejected_reward_mean": sum(rejected) / len(rejected),
    }


def preference_sequences(tokenizer, preferences: pd.DataFrame, max_length: int) -> tuple[list[str], list, list[dict]]:
    """(ids of the scorable pairs, their token sequences chosen then rejected, skipped pairs). A
    pair is skipped, with its reason, when a completion has no token within `max_length` (its
    prompt is that long)."""
    chats = []
    for row in preferences.itertuples(index=False):
        prompt = as_messages(row.prompt, f"preference {row.id} prompt")
        for side in ("chosen", "rejected"):
            chats.append({"id": f"{row.id}:{side}", "messages": prompt + as_messages(getattr(row, side), row.id)})
    sequences, stats = chat_sequences(pd.DataFrame(chats), tokenizer, max_length, target="last")
    failed = {item["id"]: item["reason"] for item in stats["skipped"]}
    by_id = dict(zip([c["id"] for c in chats if c["id"] not in failed], sequences, strict=True))
    pair_ids, scored, skipped = [], [], []
    for pair_id in preferences["id"]:
        sides = (f"{pair_id}:chosen", f"{pair_id}:rejected")
        reasons = [f"{side.rsplit(':', 1)[1]}: {failed[side]}" for side in sides if side in failed]
        if reasons:
            skipped.append({"id": pair_id, "reason": "; ".join(reasons)})
            continue
        pair_ids.append(pair_id)
        scored += [by_id[side] for side in sides]
    return pair_ids, scored, skipped


def completion_logps(model, sequences: list, batch_tokens: int) -> tuple[list[float], list[float]]:
    """Summed log-probabilities of each pair's chosen and of its rejected completion given the
    prompt, for `preference_sequences`' sequences (chosen then rejected, pair by pair)."""
    logps = [-nll for nll, _ in sequence_nll(model, sequences, batch_tokens, "preference log-probs")] if sequences else []
    return logps[0::2], logps[1::2]


def evaluate_dpo(
    policy_dir: ModelDir, reference_dir: ModelDir, preferences: pd.DataFrame, params: dict | EvalSettings, beta: float
) -> dict:
    """DPO's implicit reward r = beta * (log pi(y|x) - log pi_ref(y|x)) on held-out pairs (beta:
    the DPO stage's), scored within `preference_max_length` (default: `max_length`)."""
    settings = eval_settings(params)
    tokenizer = ModelDir(policy_dir).load_tokenizer()
    ids, sequences, skipped = preference_sequences(
        tokenizer, preferences, settings.preference_max_length or settings.max_length
    )
    if not ids:
        return {"pairs": 0, "beta": beta, "reward_accuracy": None, "skipped": skipped}
    policy_c, policy_r = completion_logps(load_causal(policy_dir), sequences, settings.batch_tokens)
    ref_c, ref_r = completion_logps(load_causal(reference_dir), sequences, settings.batch_tokens)
    chosen = [beta * (p - r) for p, r in zip(policy_c, ref_c, strict=True)]
    rejected = [beta * (p - r) for p, r in zip(policy_r, ref_r, strict=True)]
    margins = [c - r for c, r in zip(chosen, rejected, strict=True)]
    return {
        "pairs": len(ids),
        "beta": beta,
        "reward_accuracy": reward_accuracy(chosen, rejected),
        "ci95": list(bootstrap_ci(pair_wins(chosen, rejected))),
        "reward_margin_mean": sum(margins) / len(margins),
        "chosen_reward_mean": sum(chosen) / len(chosen),
        "rejected_reward_mean": sum(rejected) / len(rejected),
        "skipped": skipped,
    }

"""Mix general and domain data to a target ratio measured in tokens of the base model.

The side over its share keeps the longest prefix of a seeded hash order of its record ids that
fits its token budget (at least one record, so a side is never emptied by one oversized record);
the rest is dropped with reason `dropped:mix:over_ratio`. The achieved ratio is reported.

Chats are mixed in memory (`mix_sft`). Documents are a sharded table (`mix_pretraining`): the
totals and the cutoff come from passes over the parts that hold per-part histograms (hash_order),
and the same pass assigns the train/eval split, so the mixed table says where every record went.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from domainforge.curation import hash_order
from domainforge.curation.engine import CurationRuntime, run_tasks
from domainforge.curation.plan import Map, Plan, source_of
from domainforge.curation.records import drop_rows
from domainforge.curation.shards import STATUS, Shards
from domainforge.curation.split import SplitSettings, eval_count, split_settings
from domainforge.curation.stage import Stage
from domainforge.curation.tokens import chat_text, count_tokens
from domainforge.typed_settings import from_params

STAGE = Stage("mix", ("drops_mix_sft",))
OVER_RATIO = "dropped:mix:over_ratio"
CORPORA = ("domain", "general")


@dataclass(frozen=True)
class MixSettings:
    """`mix`: the general:domain ratio of the training sets (MedicalGPT / ChatLaw mix 1:1)."""

    pretrain_general_per_domain: float = 1.0  # tokens of general text per token of domain text
    sft_general_per_domain: float = 1.0
    count_by: Literal["tokens", "characters"] = "tokens"  # tokens of the base model's tokenizer, or characters
    seed: int = 42  # the hash order the over-represented side is cut in


def mix_settings(params: Mapping | MixSettings) -> MixSettings:
    return from_params(MixSettings, params, "mix")


def budgets(totals: Mapping[str, float], ratio: float) -> dict[str, float]:
    """The token budget of the side over its share (general:domain = ratio), if one is."""
    domain, general = totals.get("domain", 0), totals.get("general", 0)
    if general > ratio * domain:
        return {"general": ratio * domain}
    if ratio > 0 and general < ratio * domain:
        return {"domain": general / ratio}
    return {}


def _report(unit: str, ratio: float, before: Mapping, after: Mapping) -> dict:
    return {
        "unit": unit,
        "target_general_per_domain": ratio,
        "achieved_general_per_domain": after["general"] / after["domain"] if after["domain"] else None,
        "before": {"domain": int(before["domain"]), "general": int(before["general"]), "records": int(before["records"])},
        "after": {"domain": int(after["domain"]), "general": int(after["general"]), "records": int(after["records"])},
    }


def mix_by_ratio(table: pd.DataFrame, tokens: list[int], ratio: float, seed: int, unit: str):
    """Downsample `table` (with a `corpus` column) to general:domain = ratio in `unit`s."""
    tokens = np.asarray(tokens, dtype=np.int64)
    corpus = table["corpus"].to_numpy()
    rank = hash_order.ranks(table["id"], seed)
    totals = {side: int(tokens[corpus == side].sum()) for side in CORPORA}
    keep = np.ones(len(table), dtype=bool)
    for side, budget in budgets(totals, ratio).items():
        on = corpus == side
        keep[on] = hash_order.below(rank[on], hash_order.prefix_cutoff(rank[on], tokens[on], budget))
    after = {side: int(tokens[keep & (corpus == side)].sum()) for side in CORPORA}
    report = _report(unit, ratio, {**totals, "records": len(table)}, {**after, "records": int(keep.sum())})
    mixed, drops = drop_rows(table.assign(tokens=tokens), ~keep, OVER_RATIO)
    return mixed, drops, report


def _unit(tokenizer) -> str:
    return "tokens" if tokenizer is not None else "characters"


def mix_sft(chats: pd.DataFrame, tokenizer, params: Mapping | MixSettings):
    settings = mix_settings(params)
    tokenizer = tokenizer if settings.count_by == "tokens" else None
    tokens = count_tokens([chat_text(m) for m in chats["messages"]], tokenizer)
    return mix_by_ratio(chats, tokens, settings.sft_general_per_domain, settings.seed, _unit(tokenizer))


# --- documents: a sharded table ---------------------------------------------------------------


def _live(table: Shards, task: int) -> pd.DataFrame:
    frame = table.read(task, ["id", "corpus", "tokens", STATUS])
    return frame[frame[STATUS] == ""]


def _mix_keep(frame: pd.DataFrame, seed: int, cutoffs: Mapping[str, int | None]) -> np.ndarray:
    rank = hash_order.ranks(frame["id"], seed)
    keep = np.ones(len(frame), dtype=bool)
    for side, cutoff in cutoffs.items():
        on = (frame["corpus"] == side).to_numpy()
        keep[on] = hash_order.below(rank[on], cutoff)
    return keep


def _weights(frame: pd.DataFrame, weight: str) -> np.ndarray:
    return frame["tokens"].to_numpy(dtype=np.float64) if weight == "tokens" else np.ones(len(frame))


def _histograms(table: Shards, seed: int, weight: str, mixed: tuple | None, task: int) -> dict:
    """Per corpus: totals and the weight per hash bucket of this part's live records (those the
    mix keeps, when `mixed` = (mix seed, cutoffs))."""
    frame = _live(table, task)
    if mixed is not None:
        frame = frame[_mix_keep(frame, *mixed)]
    rank = hash_order.ranks(frame["id"], seed)
    out = {}
    for side in CORPORA:
        on = (frame["corpus"] == side).to_numpy()
        w = _weights(frame[on], weight)
        out[side] = {
            "records": int(on.sum()), "tokens": int(frame["tokens"].to_numpy()[on].sum()),
            "histogram": hash_order.histogram(rank[on], w),
        }
    return out


def _bucket_members(table: Shards, seed: int, weight: str, mixed: tuple | None, wanted: Mapping[str, int], task: int) -> dict:
    """Per corpus: (rank, weight) of this part's live records in that corpus's boundary bucket."""
    frame = _live(table, task)
    if mixed is not None:
        frame = frame[_mix_keep(frame, *mixed)]
    rank = hash_order.ranks(frame["id"], seed)
    out = {}
    for side, bucket in wanted.items():
        on = (frame["corpus"] == side).to_numpy() & (hash_order.buckets(rank) == bucket)
        out[side] = (rank[on], _weights(frame[on], weight))
    return out


def _cutoffs(table: Shards, runtime: CurationRuntime, seed: int, weight: str, budget_of, mixed: tuple | None = None):
    """(cutoff per corpus, per-corpus totals): the two passes over the parts."""
    tasks = list(range(len(table.parts)))
    parts = run_tasks(_histograms, tasks, runtime, table, seed, weight, mixed, desc="mix/split totals")
    totals = {side: {key: sum(p[side][key] for p in parts) for key in ("records", "tokens")} for side in CORPORA}
    histograms = {side: sum((p[side]["histogram"] for p in parts), np.zeros(hash_order.BUCKETS)) for side in CORPORA}
    bounds = {}
    for side, budget in budget_of(totals).items():
        found = hash_order.boundary(histograms[side], budget)
        if found is not None:
            bounds[side] = (*found, budget)
    cutoffs: dict[str, int | None] = {side: None for side in CORPORA}
    if bounds:
        wanted = {side: bound[0] for side, bound in bounds.items()}
        members = run_tasks(_bucket_members, tasks, runtime, table, seed, weight, mixed, wanted, desc="mix/split cutoff")
        for side, (bucket, before, budget) in bounds.items():
            rank = np.concatenate([m[side][0] for m in members])
            w = np.concatenate([m[side][1] for m in members])
            cutoffs[side] = hash_order.cutoff_in_bucket(rank, w, bucket, before, budget, keep_first=weight == "tokens")
    return cutoffs, totals


def _mark(frame: pd.DataFrame, task: int, mix_seed: int, mix_cutoffs: Mapping, split_seed: int, split_cutoffs: Mapping):
    """Plan step: `dropped:mix:over_ratio` for the records over the budget; `split` (train|eval)
    for the ones kept."""
    live = (frame[STATUS] == "").to_numpy()
    kept = np.zeros(len(frame), dtype=bool)
    kept[live] = _mix_keep(frame[live], mix_seed, mix_cutoffs)
    over = live & ~kept
    frame.loc[frame.index[over], STATUS] = OVER_RATIO
    split = np.full(len(frame), None, dtype=object)
    survivors = frame[kept]
    rank = hash_order.ranks(survivors["id"], split_seed)
    is_eval = np.zeros(len(survivors), dtype=bool)
    for side, cutoff in split_cutoffs.items():
        on = (survivors["corpus"] == side).to_numpy()
        is_eval[on] = hash_order.below(rank[on], cutoff) if cutoff is not None else False
    split[kept] = np.where(is_eval, "eval", "train")
    return frame.assign(split=split), {"stages": {"mix": {"dropped": {"over_ratio": int(over.sum())}}}}


def mix_pretraining(
    documents: Shards, mix: Mapping | MixSettings, split: Mapping | SplitSettings, runtime: CurationRuntime
) -> tuple[Plan, dict]:
    """(plan of the mixed table: every document, with the mix's drops and each kept one's split,
    report). Token counts are the `tokens` column counted after normalisation."""
    mix, split = mix_settings(mix), split_settings(split)
    ratio, mix_seed = mix.pretrain_general_per_domain, mix.seed
    unit = mix.count_by
    mix_cutoffs, before = _cutoffs(documents, runtime, mix_seed, "tokens",
                                   lambda t: budgets({s: t[s]["tokens"] for s in CORPORA}, ratio))
    fraction, minimum, split_seed = split.eval_fraction, split.min_eval, split.seed
    n_eval = {}

    def eval_budget(totals):
        n_eval.update({side: eval_count(totals[side]["records"], fraction, minimum) for side in CORPORA})
        return {side: n for side, n in n_eval.items() if n < totals[side]["records"]}

    split_cutoffs, after = _cutoffs(documents, runtime, split_seed, "records", eval_budget, (mix_seed, mix_cutoffs))
    # A corpus with no eval records at all: cutoff None would mean "all"; say "none" instead.
    split_cutoffs = {side: (-1 if n_eval.get(side, 0) == 0 else cutoff) for side, cutoff in split_cutoffs.items()}
    report = _report(
        unit, ratio,
        {**{s: before[s]["tokens"] for s in CORPORA}, "records": sum(before[s]["records"] for s in CORPORA)},
        {**{s: after[s]["tokens"] for s in CORPORA}, "records": sum(after[s]["records"] for s in CORPORA)},
    )
    plan = source_of(documents, runtime).then(
        Map("mix", _mark, (mix_seed, mix_cutoffs, split_seed, split_cutoffs))
    )
    return plan, report


def _select(frame: pd.DataFrame, task: int, side: str) -> tuple[pd.DataFrame, dict]:
    out = frame[(frame[STATUS] == "") & (frame["split"] == side)]
    return out.drop(columns=[STATUS, "split"]), {}


def split_pretraining(mixed: Shards, runtime: CurationRuntime) -> tuple[Plan, Plan]:
    """The model inputs: the kept documents of each side of the split (views of the mixed table)."""
    source = source_of(mixed, runtime)
    return tuple(source.then(Map(f"select_{side}", _select, (side,), selects=True)) for side in ("train", "eval"))

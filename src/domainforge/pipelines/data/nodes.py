"""The data pipeline's nodes.

Documents are sharded tables (domainforge.curation.shards). A record-level node returns a plan
(domainforge.curation.plan): it adds its stage to what it was given, and the sharded dataset that
saves the plan runs every stage since the last saved table in one pass over the parts, on the
engine `curation_runtime` names. Chats and preference pairs are tables in memory, curated by the
same stages (`run_stage`).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping

import pandas as pd

from domainforge.curation import chat_format, decontaminate as decontam, ledger, mix, normalise, tokens
from domainforge.curation.dedup import minhash, sharded
from domainforge.curation.dedup.keys import drop_keys_step, keys_step
from domainforge.curation.engine import CurationRuntime
from domainforge.curation.ingest import raw_shards, read
from domainforge.curation.plan import Judge, Map, Plan, source_of
from domainforge.curation.privacy import scrub as privacy
from domainforge.curation.quality import classifier, language
from domainforge.curation.quality import rules as quality
from domainforge.curation.shards import Shards

log = logging.getLogger(__name__)


def _runtime(params: Mapping) -> CurationRuntime:
    return CurationRuntime.from_params(params)


# --- documents: plans over sharded tables ---------------------------------------------------------


def ingest_documents(raw_domain: Mapping, raw_general: Mapping, params: Mapping, runtime: Mapping) -> Plan:
    """Every document of the raw folders (records that cannot be used: `quarantined:<reason>`)."""
    runtime = _runtime(runtime)
    read.on_unreadable_file(params)  # a bad setting fails before any work
    roles = {"pretrain_domain": raw_domain, "pretrain_general": raw_general}
    for role, files in roles.items():
        if not files:
            log.warning("no input files for %s", role)
    tasks = raw_shards.plan_tasks(roles, params, runtime.raw_shard_mb * 1024 * 1024)
    return Plan(raw_shards.RawSource(tasks, dict(params)), runtime=runtime)


def normalise_documents(documents: Shards | Plan, params: Mapping, runtime: Mapping) -> Plan:
    return source_of(documents, _runtime(runtime)).then(Judge(normalise.STAGE, params))


def count_tokens(documents: Plan, tokenizer, params: Mapping) -> Plan:
    """Base-model tokens of each normalised document (`mix.count_by: characters`: characters)."""
    counter = tokenizer if mix.mix_settings(params).count_by == "tokens" else None
    return documents.then(Map("tokens", tokens.count_step, (counter,)))


def detect_language(documents: Plan, params: Mapping, runtime: Mapping) -> Plan:
    return source_of(documents, _runtime(runtime)).then(Judge(language.STAGE, params))


def filter_quality(documents: Plan, params: Mapping, runtime: Mapping) -> Plan:
    return source_of(documents, _runtime(runtime)).then(Judge(quality.STAGE, params))


def tokenise_for_classifier(documents: Plan, params: Mapping, runtime: Mapping) -> Plan:
    """Each document's fastText input line, saved with the table: the training sample and the
    filter both read it."""
    return source_of(documents, _runtime(runtime)).then(Map("fasttext_tokens", classifier.tokens_step, (params,)))


def train_quality_classifier(documents: Shards, nonprose_files: Mapping, params: Mapping):
    sample = classifier.training_sample(documents, params)
    return classifier.train_quality_classifier(
        sample, nonprose_files, params, sample[classifier.TOKENS_COLUMN].tolist()
    )


def filter_by_classifier(documents: Shards, model, params: Mapping, runtime: Mapping) -> Plan:
    return source_of(documents, _runtime(runtime)).then(
        Judge(classifier.STAGE, params, (classifier.PortableModel(model),)),
        Map("drop_fasttext_tokens", classifier.drop_tokens_step),
    )


def dedup_keys(documents: Plan, params: dict) -> Plan:
    """Each live document's exact and near dedup keys, computed on the workers with the rest of
    its part, so the dedup nodes read keys, not text."""
    return documents.then(Map("dedup_keys", keys_step, (params,)))


def exact_dedup(documents: Shards, params: dict, runtime: Mapping):
    return sharded.exact_duplicates(documents, params, _runtime(runtime))


def near_dedup(documents: Shards, exact: sharded.Duplicates, params: dict, runtime: Mapping):
    return sharded.near_duplicates(documents, exact, params, _runtime(runtime))


def decontaminate_documents(
    documents: Shards, exact: sharded.Duplicates, near: sharded.Duplicates, index, params: Mapping, runtime: Mapping
) -> Plan:
    """The dedup decisions, then the records overlapping a benchmark question."""
    return source_of(documents, _runtime(runtime)).then(
        Map("dedup", sharded.apply_duplicates, (exact, near)),
        Map("drop_dedup_keys", drop_keys_step),
        Judge(decontam.STAGE, params, (index,)),
    )


def scrub_documents(documents: Plan, params: Mapping, runtime: Mapping) -> Plan:
    return source_of(documents, _runtime(runtime)).then(
        Judge(privacy.STAGE, params, ("documents",)),
        Map("privacy_counts", privacy.counts_step, (params,)),
    )


def privacy_report_documents(documents: Shards, params: Mapping) -> dict:
    return privacy.report_from_totals(params, documents.stats.get("privacy", {}))


def mix_pretraining(documents: Shards, mix_params: Mapping, split_params: Mapping, runtime: Mapping):
    return mix.mix_pretraining(documents, mix_params, split_params, _runtime(runtime))


def split_pretraining(mixed: Shards, runtime: Mapping):
    return mix.split_pretraining(mixed, _runtime(runtime))


def build_ledger(documents_raw: Shards, pretrain_mixed: Shards, runtime: Mapping, **tables: pd.DataFrame) -> Plan:
    return ledger.build_ledger_node(documents_raw, pretrain_mixed, runtime, **tables)


def decontamination_report(index, documents: Shards, **drops: pd.DataFrame) -> dict:
    return decontam.decontamination_report(index, documents, **drops)


def build_decontamination_index(raw_benchmarks, benchmarks: dict, suites: dict, evaluation: dict, params: dict):
    return decontam.build_index(raw_benchmarks, benchmarks, suites, evaluation, params)


# --- chats and preference pairs: tables in memory ---------------------------------------------


def validate_chats(chats: pd.DataFrame, params: dict, runtime: dict):
    return chat_format.validate_chats(chats, params, _runtime(runtime))


def validate_preferences(preferences: pd.DataFrame, params: dict, runtime: dict):
    return chat_format.validate_preferences(preferences, params, _runtime(runtime))


def decontaminate(records: pd.DataFrame, index, params: dict, runtime: dict):
    return decontam.decontaminate(records, index, params, _runtime(runtime))


def scrub_chats(chats: pd.DataFrame, params: dict, runtime: dict):
    return privacy.scrub_chats(chats, params, _runtime(runtime))


def scrub_preferences(preferences: pd.DataFrame, params: dict, runtime: dict):
    return privacy.scrub_preferences(preferences, params, _runtime(runtime))


def _with_text(records: pd.DataFrame) -> pd.DataFrame:
    return records.assign(text=decontam.record_texts(records))


def exact_dedup_records(records: pd.DataFrame, params: dict):
    """Chats or preference pairs by the exact dedup of documents, on all their message text."""
    kept, drops = minhash.exact_dedup(_with_text(records), params)
    return kept.drop(columns=["text"]), drops


def near_dedup_records(records: pd.DataFrame, params: dict):
    """Chats or preference pairs by the near dedup of documents, on all their message text."""
    kept, drops, report = minhash.near_dedup(_with_text(records), params)
    return kept.drop(columns=["text"]), drops, report

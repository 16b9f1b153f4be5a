"""The data half of a domain build: raw files in, training-ready, fully accounted-for datasets out.

Domain-agnostic: the registry instantiates it once per domain under the domain's namespace, so
`raw_pretrain_domain` becomes `medical.raw_pretrain_domain` and `params:mix` becomes
`params:medical.mix`.
"""
from kedro.pipeline import Pipeline, node, pipeline

from domainforge.curation import decontaminate, mix, registry, report, split
from domainforge.curation.ingest import read as ingest
from domainforge.export.hf_dataset import chat_dataset_files
from domainforge.pipelines.data import nodes

# The machine settings are global, not per domain (the registry keeps them un-namespaced).
RUNTIME = "params:curation_runtime"
# The kept outputs of the in-memory tables (documents: the mixed table says where each went).
KEPT_RECORD_TABLES = [
    "sft_train",
    "sft_eval",
    "preference_train",
    "preference_eval",
]


def _ingest() -> Pipeline:
    return pipeline(
        [
            node(
                nodes.ingest_documents,
                ["raw_pretrain_domain", "raw_pretrain_general", "params:ingest", RUNTIME],
                "documents_raw",
                name="ingest_documents",
            ),
            node(
                ingest.ingest_chats,
                ["raw_sft_domain", "raw_sft_general", "params:ingest"],
                ["chats_raw", "quarantine_chats"],
                name="ingest_chats",
            ),
            node(
                ingest.ingest_preferences,
                ["raw_preference", "params:ingest"],
                ["preferences_raw", "quarantine_preferences"],
                name="ingest_preferences",
            ),
        ],
        tags=["ingest"],
    )


def _curate_documents() -> Pipeline:
    """Sharded tables, saved where a stage needs all documents first (the classifier's training
    sample, dedup, the mix); the record-level stages between them pass plans in memory and run
    as one pass over the parts when the next table is saved (see nodes.py)."""
    return pipeline(
        [
            node(
                nodes.normalise_documents,
                ["documents_raw", "params:normalise", RUNTIME],
                "documents_normalised",
                name="normalise_documents",
                tags=["normalise"],
            ),
            node(
                nodes.count_tokens,
                ["documents_normalised", "base_tokenizer", "params:mix"],
                "documents_counted",
                name="count_tokens",
                tags=["normalise"],
            ),
            node(
                nodes.detect_language,
                ["documents_counted", "params:language", RUNTIME],
                "documents_language",
                name="detect_language",
                tags=["quality"],
            ),
            node(
                nodes.filter_quality,
                ["documents_language", "params:quality", RUNTIME],
                "documents_filtered",
                name="filter_quality",
                tags=["quality"],
            ),
            node(
                nodes.tokenise_for_classifier,
                ["documents_filtered", "params:quality_classifier", RUNTIME],
                "documents_quality",
                name="tokenise_for_classifier",
                tags=["quality"],
            ),
            node(
                nodes.train_quality_classifier,
                ["documents_quality", "raw_nonprose", "params:quality_classifier"],
                ["quality_classifier", "quality_classifier_metrics"],
                name="train_quality_classifier",
                tags=["quality"],
            ),
            node(
                nodes.filter_by_classifier,
                ["documents_quality", "quality_classifier", "params:quality_classifier", RUNTIME],
                "documents_scored",
                name="filter_by_classifier",
                tags=["quality"],
            ),
            node(
                nodes.dedup_keys,
                ["documents_scored", "params:dedup"],
                "documents_classified",
                name="dedup_keys",
                tags=["dedup"],
            ),
            node(
                nodes.exact_dedup,
                ["documents_classified", "params:dedup", RUNTIME],
                "exact_duplicates",
                name="exact_dedup",
                tags=["dedup"],
            ),
            node(
                nodes.near_dedup,
                ["documents_classified", "exact_duplicates", "params:dedup", RUNTIME],
                ["near_duplicates", "dedup_report"],
                name="near_dedup",
                tags=["dedup"],
            ),
            node(
                nodes.decontaminate_documents,
                ["documents_classified", "exact_duplicates", "near_duplicates", "decontamination_index",
                 "params:decontamination", RUNTIME],
                "documents_decontaminated",
                name="decontaminate_documents",
                tags=["decontam"],
            ),
            node(
                nodes.scrub_documents,
                ["documents_decontaminated", "params:privacy", RUNTIME],
                "documents_curated",
                name="scrub_documents",
                tags=["privacy"],
            ),
            node(
                nodes.privacy_report_documents,
                ["documents_curated", "params:privacy"],
                "privacy_report_documents",
                name="report_privacy_documents",
                tags=["privacy", "report"],
            ),
        ]
    )


def _decontamination_index() -> Pipeline:
    return pipeline(
        [
            node(
                nodes.build_decontamination_index,
                ["raw_benchmarks", "params:benchmarks", "params:benchmark_suites", "params:evaluation",
                 "params:decontamination"],
                "decontamination_index",
                name="build_decontamination_index",
                tags=["decontam"],
            ),
            node(
                nodes.decontamination_report,
                {"index": "decontamination_index", "documents": "documents_curated",
                 **{t: t for t in decontaminate.STAGE.drop_tables}},
                "decontamination_report",
                name="report_decontamination",
                tags=["decontam", "report"],
            ),
        ]
    )


def _curate_records(kind: str, validate) -> Pipeline:
    """Chats or preference pairs: validated, deduplicated, decontaminated, scrubbed."""
    return pipeline(
        [
            node(
                validate,
                [f"{kind}_raw", "params:normalise", RUNTIME],
                [f"{kind}_valid", f"drops_{'chat' if kind == 'chats' else 'preference'}_format"],
                name=f"validate_{kind}",
                tags=["format"],
            ),
            node(
                nodes.exact_dedup_records,
                [f"{kind}_valid", "params:dedup"],
                [f"{kind}_exact_dedup", f"drops_exact_dedup_{kind}"],
                name=f"exact_dedup_{kind}",
                tags=["dedup"],
            ),
            node(
                nodes.near_dedup_records,
                [f"{kind}_exact_dedup", "params:dedup"],
                [f"{kind}_deduped", f"drops_near_dedup_{kind}", f"dedup_report_{kind}"],
                name=f"near_dedup_{kind}",
                tags=["dedup"],
            ),
            node(
                nodes.decontaminate,
                [f"{kind}_deduped", "decontamination_index", "params:decontamination", RUNTIME],
                [f"{kind}_decontaminated", f"drops_decontam_{kind}"],
                name=f"decontaminate_{kind}",
                tags=["decontam"],
            ),
            node(
                nodes.scrub_chats if kind == "chats" else nodes.scrub_preferences,
                [f"{kind}_decontaminated", "params:privacy", RUNTIME],
                [f"{kind}_curated", f"privacy_report_{kind}"],
                name=f"scrub_{kind}",
                tags=["privacy"],
            ),
        ]
    )


def _mix_and_split() -> Pipeline:
    return pipeline(
        [
            node(
                nodes.mix_pretraining,
                ["documents_curated", "params:mix", "params:split", RUNTIME],
                ["pretrain_mixed", "mix_report_pretrain"],
                name="mix_pretraining",
                tags=["mix"],
            ),
            node(
                mix.mix_sft,
                ["chats_curated", "base_tokenizer", "params:mix"],
                ["sft_mixed", "drops_mix_sft", "mix_report_sft"],
                name="mix_sft",
                tags=["mix"],
            ),
            node(
                nodes.split_pretraining,
                ["pretrain_mixed", RUNTIME],
                ["pretrain_train", "pretrain_eval"],
                name="split_pretraining",
                tags=["format"],
            ),
            node(
                split.split_records,
                ["sft_mixed", "params:split"],
                ["sft_train", "sft_eval"],
                name="split_sft",
                tags=["format"],
            ),
            node(
                split.split_preferences,
                ["preferences_curated", "params:split"],
                ["preference_train", "preference_eval"],
                name="split_preferences",
                tags=["format"],
            ),
            node(
                chat_dataset_files,
                ["sft_train", "sft_eval", "preference_train", "preference_eval", "params:model_card"],
                "hf_chat_dataset",
                name="export_chat_dataset",
                tags=["export"],
            ),
        ]
    )


def _account() -> Pipeline:
    in_memory = [*registry.INPUT_TABLES, *registry.drop_tables(), *KEPT_RECORD_TABLES]
    return pipeline(
        [
            node(
                nodes.build_ledger,
                {"documents_raw": "documents_raw", "pretrain_mixed": "pretrain_mixed", "runtime": RUNTIME,
                 **{name: name for name in in_memory}},
                "ledger",
                name="build_ledger",
                tags=["report"],
            ),
            node(
                report.build_data_report,
                {
                    "ledger": "ledger",
                    "chats_raw": "chats_raw",
                    "preferences_raw": "preferences_raw",
                    "documents_curated": "documents_curated",
                    "tokenizer": "base_tokenizer",
                    **{
                        name: name
                        for name in [
                            "mix_report_pretrain",
                            "mix_report_sft",
                            "dedup_report",
                            "dedup_report_chats",
                            "dedup_report_preferences",
                            "decontamination_report",
                            "quality_classifier_metrics",
                            "privacy_report_documents",
                            "privacy_report_chats",
                            "privacy_report_preferences",
                        ]
                    },
                },
                "data_report",
                name="build_data_report",
                tags=["report"],
            ),
            node(
                report.plot_funnel,
                "data_report",
                "funnel_plot",
                name="plot_funnel",
                tags=["report"],
            ),
            node(
                report.plot_distributions,
                "documents_curated",
                "distribution_plot",
                name="plot_distributions",
                tags=["report"],
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    return (
        _ingest()
        + _decontamination_index()
        + _curate_documents()
        + _curate_records("chats", nodes.validate_chats)
        + _curate_records("preferences", nodes.validate_preferences)
        + _mix_and_split()
        + _account()
    )

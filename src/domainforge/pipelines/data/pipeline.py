"""The data half of a domain build: raw files in, training-ready, fully accounted-for datasets out.

Domain-agnostic: the registry instantiates it once per domain under the domain's namespace, so
`raw_pretrain_domain` becomes `medical.raw_pretrain_domain` and `params:mix` becomes
`params:medical.mix`.
"""
from kedro.pipeline import Pipeline, node, pipeline

from domainforge.data import (
    chat_format,
    dedup,
    ingest,
    language,
    ledger,
    mix,
    normalise,
    privacy,
    quality,
    quality_classifier,
    report,
    split,
)

# Every dataset that holds records dropped or quarantined somewhere; the ledger reads them all.
DROP_TABLES = [
    "quarantine_documents",
    "quarantine_chats",
    "quarantine_preferences",
    "drops_normalise",
    "drops_language",
    "drops_quality",
    "drops_classifier",
    "drops_exact_dedup",
    "drops_near_dedup",
    "drops_chat_format",
    "drops_preference_format",
    "drops_mix_pretrain",
    "drops_mix_sft",
]
INPUT_TABLES = ["documents_raw", "chats_raw", "preferences_raw"]
KEPT_TABLES = [
    "pretrain_train",
    "pretrain_eval",
    "sft_train",
    "sft_eval",
    "preference_train",
    "preference_eval",
]


def _ingest() -> Pipeline:
    return pipeline(
        [
            node(
                ingest.ingest_documents,
                ["raw_pretrain_domain", "raw_pretrain_general", "params:ingest"],
                ["documents_raw", "quarantine_documents"],
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
    return pipeline(
        [
            node(
                normalise.normalise_documents,
                ["documents_raw", "params:normalise"],
                ["documents_normalised", "drops_normalise"],
                name="normalise_documents",
                tags=["normalise"],
            ),
            node(
                language.detect_language,
                ["documents_normalised", "params:language"],
                ["documents_language", "drops_language"],
                name="detect_language",
                tags=["quality"],
            ),
            node(
                quality.filter_quality,
                ["documents_language", "params:quality"],
                ["documents_quality", "drops_quality"],
                name="filter_quality",
                tags=["quality"],
            ),
            node(
                quality_classifier.tokenise_documents,
                ["documents_quality", "params:quality_classifier"],
                "classifier_tokens",
                name="tokenise_for_classifier",
                tags=["quality"],
            ),
            node(
                quality_classifier.train_quality_classifier,
                ["documents_quality", "raw_nonprose", "params:quality_classifier", "classifier_tokens"],
                ["quality_classifier", "quality_classifier_metrics"],
                name="train_quality_classifier",
                tags=["quality"],
            ),
            node(
                quality_classifier.filter_by_classifier,
                ["documents_quality", "quality_classifier", "params:quality_classifier", "classifier_tokens"],
                ["documents_classified", "drops_classifier"],
                name="filter_by_classifier",
                tags=["quality"],
            ),
            node(
                dedup.exact_dedup,
                ["documents_classified", "params:dedup"],
                ["documents_exact_dedup", "drops_exact_dedup"],
                name="exact_dedup",
                tags=["dedup"],
            ),
            node(
                dedup.near_dedup,
                ["documents_exact_dedup", "params:dedup"],
                ["documents_deduped", "drops_near_dedup", "dedup_report"],
                name="near_dedup",
                tags=["dedup"],
            ),
            node(
                privacy.scrub_documents,
                ["documents_deduped", "params:privacy"],
                ["documents_curated", "privacy_report_documents"],
                name="scrub_documents",
                tags=["privacy"],
            ),
        ]
    )


def _curate_chats() -> Pipeline:
    return pipeline(
        [
            node(
                chat_format.validate_chats,
                ["chats_raw", "params:normalise"],
                ["chats_valid", "drops_chat_format"],
                name="validate_chats",
                tags=["format"],
            ),
            node(
                privacy.scrub_chats,
                ["chats_valid", "params:privacy"],
                ["chats_curated", "privacy_report_chats"],
                name="scrub_chats",
                tags=["privacy"],
            ),
            node(
                chat_format.validate_preferences,
                ["preferences_raw", "params:normalise"],
                ["preferences_valid", "drops_preference_format"],
                name="validate_preferences",
                tags=["format"],
            ),
            node(
                privacy.scrub_preferences,
                ["preferences_valid", "params:privacy"],
                ["preferences_curated", "privacy_report_preferences"],
                name="scrub_preferences",
                tags=["privacy"],
            ),
        ]
    )


def _mix_and_split() -> Pipeline:
    return pipeline(
        [
            node(
                mix.mix_pretraining,
                ["documents_curated", "base_tokenizer", "params:mix"],
                ["pretrain_mixed", "drops_mix_pretrain", "mix_report_pretrain"],
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
                split.split_records,
                ["pretrain_mixed", "params:split"],
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
                split.split_records,
                ["preferences_curated", "params:split"],
                ["preference_train", "preference_eval"],
                name="split_preferences",
                tags=["format"],
            ),
        ]
    )


def _account() -> Pipeline:
    return pipeline(
        [
            node(
                ledger.build_ledger_node,
                {name: name for name in INPUT_TABLES + DROP_TABLES + KEPT_TABLES},
                "ledger",
                name="build_ledger",
                tags=["report"],
            ),
            node(
                report.build_data_report,
                {
                    "ledger": "ledger",
                    "documents_raw": "documents_raw",
                    "chats_raw": "chats_raw",
                    "documents_curated": "documents_curated",
                    "tokenizer": "base_tokenizer",
                    **{
                        name: name
                        for name in [
                            "mix_report_pretrain",
                            "mix_report_sft",
                            "dedup_report",
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
    return _ingest() + _curate_documents() + _curate_chats() + _mix_and_split() + _account()

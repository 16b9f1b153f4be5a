"""Every curation stage, in pipeline order: the one list the data pipeline (drop tables), the
ledger (which tables are drops) and the data report (funnel rows) read. A new stage is a
`Stage` in its own module, added here once."""
from __future__ import annotations

from domainforge.curation import chat_format, decontaminate, mix, normalise
from domainforge.curation.dedup import minhash as dedup
from domainforge.curation.ingest import read as ingest
from domainforge.curation.privacy import scrub as privacy
from domainforge.curation.quality import classifier, language
from domainforge.curation.quality import rules as quality
from domainforge.curation.stage import Stage

# The in-memory tables ingest reads in: every chat and preference id of the ledger starts here
# (or in quarantine); documents start in the sharded `documents_raw`.
INPUT_TABLES = ("chats_raw", "preferences_raw")

STAGES: tuple[Stage, ...] = (
    ingest.STAGE,
    normalise.STAGE,
    language.STAGE,
    quality.STAGE,
    classifier.STAGE,
    chat_format.STAGE,
    dedup.STAGE,
    decontaminate.STAGE,
    privacy.STAGE,
    mix.STAGE,
)
BY_NAME = {stage.name: stage for stage in STAGES}
if len(BY_NAME) != len(STAGES):
    raise ValueError("two curation stages share a name")


def drop_tables() -> list[str]:
    """Every dataset holding dropped or quarantined chats or preference pairs, in pipeline order."""
    return [table for stage in STAGES for table in stage.drop_tables]


def funnel_stages() -> list[str]:
    """The stages that can drop records, in pipeline order: one funnel row each."""
    return [stage.name for stage in STAGES if stage.drops]


def stage_of(status: str) -> str:
    """The stage a ledger status names: `kept`, or the registered stage that dropped it."""
    if status == "kept":
        return "kept"
    name = "ingest" if status.startswith("quarantined:") else status.split(":")[1]
    if name not in BY_NAME:
        raise ValueError(f"status {status!r} names no registered curation stage ({sorted(BY_NAME)})")
    return name

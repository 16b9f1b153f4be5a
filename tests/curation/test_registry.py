"""The registry is the one list of curation stages: the pipeline writes exactly its drop tables,
and the funnel reads each status's stage from it."""
import pytest

from domainforge.curation import registry
from domainforge.pipelines.data.pipeline import create_pipeline


def test_the_pipeline_writes_exactly_the_registered_drop_tables():
    outputs = create_pipeline().all_outputs()
    written = {name for name in outputs if name.startswith(("drops_", "quarantine_"))}
    assert written == set(registry.drop_tables())


def test_funnel_stages_follow_pipeline_order():
    assert registry.funnel_stages()[:3] == ["ingest", "normalise", "language"]
    assert "privacy" not in registry.funnel_stages()  # it rewrites text, never drops


def test_every_status_maps_to_a_registered_stage():
    assert registry.stage_of("kept") == "kept"
    assert registry.stage_of("quarantined:bad_json") == "ingest"
    assert registry.stage_of("dropped:dedup:near_duplicate_of:x#1") == "dedup"
    with pytest.raises(ValueError, match="no registered curation stage"):
        registry.stage_of("dropped:decontaminate:mmlu")

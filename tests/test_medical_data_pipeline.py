"""`medical_data` end to end through KedroSession on the shipped sample."""
import json

import pandas as pd
import pytest
from kedro_project import chdir, copy_project, run_pipelines

from domainforge.curation import registry
from domainforge.curation.chat_format import chat_problem
from domainforge.curation.shards import Shards

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("run") / "project")
    # Parts of 50 records: the sample (a few hundred documents) is curated in several tasks.
    catalog = run_pipelines(project, ["medical_data", "legal_data"], params=SMALL_PARTS)
    with chdir(project):
        yield project, {name: _frame(catalog.load(f"medical.{name}")) for name in OUTPUTS}, catalog


def _frame(data):
    """Sharded tables (documents, the ledger) as one DataFrame: every record, with its status."""
    return data.to_pandas(live=False) if isinstance(data, Shards) else data


SMALL_PARTS = {"curation_runtime": {"shard_rows": 50}}
OUTPUTS = [
    "documents_raw", "chats_raw", "preferences_raw", "quarantine_chats",
    "quarantine_preferences", "ledger", "pretrain_train", "pretrain_eval", "sft_train", "sft_eval",
    "preference_train", "preference_eval", "mix_report_pretrain", "mix_report_sft", "data_report",
]


def test_ledger_accounts_for_every_input_record_exactly_once(project):
    _, out, _ = project
    ledger = out["ledger"]
    inputs = set(pd.concat([out[t]["id"] for t in ["documents_raw", "chats_raw", "preferences_raw"]]))
    quarantined = set(pd.concat([out[t]["id"] for t in ["quarantine_chats", "quarantine_preferences"]]))
    assert not ledger["id"].duplicated().any()
    assert set(ledger["id"]) == inputs | quarantined
    kept = ledger["status"] == "kept"
    assert kept.sum() + ledger["status"].str.startswith(("dropped:", "quarantined:")).sum() == len(ledger)
    assert kept.sum() == sum(len(out[t]) for t in ["pretrain_train", "pretrain_eval", "sft_train", "sft_eval", "preference_train", "preference_eval"])
    # The shipped sample plants malformed lines and junk: they must show up, with reasons.
    assert ledger["status"].str.startswith("quarantined:").any()
    assert out["documents_raw"]["status"].str.startswith("quarantined:").any()
    assert ledger["status"].str.startswith("dropped:").any()


def test_mix_ratio_within_five_percent(project):
    _, out, _ = project
    for report in (out["mix_report_pretrain"], out["mix_report_sft"]):
        assert report["unit"] == "tokens"
        assert report["achieved_general_per_domain"] == pytest.approx(report["target_general_per_domain"], rel=0.05)


def test_every_output_record_is_schema_valid(project):
    _, out, _ = project
    for name in ["pretrain_train", "pretrain_eval"]:
        table = out[name]
        assert (table["text"].str.len() > 0).all() and set(table["corpus"]) == {"domain", "general"}
    for name in ["sft_train", "sft_eval"]:
        assert all(chat_problem(list(m)) is None for m in out[name]["messages"])
    for name in ["preference_train", "preference_eval"]:
        for _, row in out[name].iterrows():
            assert chat_problem(list(row["prompt"]), needs_answer=False) is None
            assert row["chosen"][0]["role"] == row["rejected"][0]["role"] == "assistant"
            assert row["chosen"][0]["content"] != row["rejected"][0]["content"]
    assert len(out["pretrain_eval"]) and len(out["sft_eval"]) and len(out["preference_eval"])


def test_report_and_plots_are_written(project):
    path, out, _ = project
    report = out["data_report"]
    assert report["records"]["input"] == len(out["ledger"])
    assert report["funnel"][0]["records"] == len(out["ledger"]) and report["funnel"][0]["tokens"] > 0
    assert json.loads((path / "data/08_reporting/medical/data_report.json").read_text())["records"] == report["records"]
    # Only planted junk (a menu line, a symbol-spam line) fails a content-type rule; the classifier
    # learned the shipped non-prose files.
    content_rules = {rule for kind in report["content_type_drops"].values() for rule in kind["by_rule"]}
    dropped = out["ledger"][out["ledger"]["status"].isin([f"dropped:quality:{rule}" for rule in content_rules])]
    assert set(dropped["id"]) <= {"pretrain_domain/textbook_zh.txt#L3", "pretrain_domain/textbook_zh.txt#L54"}
    assert sum(kind["documents"] for kind in report["content_type_drops"].values()) == len(dropped) >= 1
    assert report["stages"]["quality_classifier_metrics"]["examples"]["nonprose"] > 50
    for plot in ["funnel_plot.png", "distribution_plot.png"]:
        assert (path / "data/08_reporting/medical" / plot).stat().st_size > 1000


def test_second_domain_needs_only_parameters_and_raw_folder(project):
    """`legal` has no catalog entries or code of its own: factories and the registry serve it."""
    path, _, catalog = project
    ledger = catalog.load("legal.ledger").to_pandas(live=False)
    assert not ledger["id"].duplicated().any() and (ledger["status"] == "kept").any()
    assert ledger["source"].str.startswith(("pretrain_domain/statutes", "pretrain_general/", "sft_", "preference/")).all()
    assert (path / "data/05_model_input/legal/sft_train.jsonl").exists()


def test_ray_engine_on_a_two_node_cluster_gives_identical_outputs(project, tmp_path):
    """`--env ray` on a real cluster (head + two nodes on loopback): the same ledger, drop
    tables and model inputs, and byte-identical sharded tables, as the local engine."""
    from ray_cluster import local_ray_cluster

    local_path, _, local_catalog = project
    ray_project = copy_project(tmp_path / "project")
    with local_ray_cluster(nodes=2, cpus_per_node=1):
        # Dedup distributed too (the sample is far below the in-memory threshold).
        ray_catalog = run_pipelines(
            ray_project, ["medical_data"], env="ray",
            params={"curation_runtime": {**SMALL_PARTS["curation_runtime"], "in_memory_dedup_below": 0}},
        )
    with chdir(ray_project):
        for name in ["ledger", *registry.drop_tables(), "chats_curated", "sft_train", "pretrain_train"]:
            with chdir(local_path):
                expected = _frame(local_catalog.load(f"medical.{name}"))
            pd.testing.assert_frame_equal(_frame(ray_catalog.load(f"medical.{name}")), expected, obj=name)
    tables = ["02_intermediate/medical/documents_raw", "03_primary/medical/documents_curated",
              "04_feature/medical/pretrain_mixed", "08_reporting/medical/ledger"]
    for table in tables:
        local_parts = sorted((local_path / "data" / table).glob("part-*.parquet"))
        assert len(local_parts) > 1, table  # several tasks ran, on both nodes
        for part in local_parts:
            assert (ray_project / "data" / table / part.name).read_bytes() == part.read_bytes(), part
    curated = "data/03_primary/medical/chats_curated.jsonl"
    assert (ray_project / curated).read_bytes() == (local_path / curated).read_bytes()


def _normalised(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def test_no_record_has_a_copy_on_the_other_side_of_the_split(project):
    """Chats and preference pairs are deduplicated like documents, so the hash split cannot put two
    copies of one record in train and eval; the shipped sample plants such copies."""
    from domainforge.curation.decontaminate import record_texts

    path, out, catalog = project
    for kind in ("pretrain", "sft", "preference"):
        train, eval_ = (set(map(_normalised, record_texts(out[f"{kind}_{side}"]))) for side in ("train", "eval"))
        assert not train & eval_, kind
    with chdir(path):
        copies = [catalog.load(f"medical.drops_exact_dedup_{kind}") for kind in ("chats", "preferences")]
    assert all(len(table) for table in copies)
    assert out["data_report"]["stages"]["decontamination_report"]["ngram"] == 13

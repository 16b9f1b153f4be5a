"""`medical_data` end to end through KedroSession on the shipped sample."""
import json

import pandas as pd
import pytest

from domainforge.data.chat_format import chat_problem
from kedro_project import chdir, copy_project, run_pipelines

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("run") / "project")
    catalog = run_pipelines(project, ["medical_data", "legal_data"])
    with chdir(project):
        yield project, {name: catalog.load(f"medical.{name}") for name in OUTPUTS}, catalog


OUTPUTS = [
    "documents_raw", "chats_raw", "preferences_raw", "quarantine_documents", "quarantine_chats",
    "quarantine_preferences", "ledger", "pretrain_train", "pretrain_eval", "sft_train", "sft_eval",
    "preference_train", "preference_eval", "mix_report_pretrain", "mix_report_sft", "data_report",
]


def test_ledger_accounts_for_every_input_record_exactly_once(project):
    _, out, _ = project
    ledger = out["ledger"]
    inputs = set(pd.concat([out[t]["id"] for t in ["documents_raw", "chats_raw", "preferences_raw"]]))
    quarantined = set(pd.concat([out[t]["id"] for t in ["quarantine_documents", "quarantine_chats", "quarantine_preferences"]]))
    assert not ledger["id"].duplicated().any()
    assert set(ledger["id"]) == inputs | quarantined
    kept = ledger["status"] == "kept"
    assert kept.sum() + ledger["status"].str.startswith(("dropped:", "quarantined:")).sum() == len(ledger)
    assert kept.sum() == sum(len(out[t]) for t in ["pretrain_train", "pretrain_eval", "sft_train", "sft_eval", "preference_train", "preference_eval"])
    # The shipped sample plants malformed lines and junk: they must show up, with reasons.
    assert ledger["status"].str.startswith("quarantined:").any()
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
    ledger = catalog.load("legal.ledger")
    assert not ledger["id"].duplicated().any() and (ledger["status"] == "kept").any()
    assert ledger["source"].str.startswith(("pretrain_domain/statutes", "pretrain_general/", "sft_", "preference/")).all()
    assert (path / "data/05_model_input/legal/sft_train.jsonl").exists()

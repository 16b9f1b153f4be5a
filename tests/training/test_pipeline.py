"""The Kedro training pipelines with the project's real catalog config, on the tiny model.

Same inputs and recipe as the session chain, same work_dir: every stage must be found finished
and reused (the catalog models are hard links of the chain's run directories), while the
evaluation, report and plot nodes run for real; then the eval pipeline (the shipped sample
benchmarks) and the training summary it ends in.
"""

import json
import os

import pytest
from tiny_training import PARAMS, REPO, chats, documents, preferences

pytestmark = pytest.mark.slow  # Kedro sessions that train and evaluate models


def test_kedro_stage_pipelines_reuse_finished_runs_and_write_reports(
    chain, tiny_model, work_dir, tmp_path, monkeypatch
):
    from kedro.config import OmegaConfigLoader
    from kedro.io import DataCatalog
    from kedro.runner import SequentialRunner
    from kedro_datasets.plotly import JSONDataset as PlotlyJSON

    from domainforge import settings
    from domainforge.pipelines.eval import domain_pipeline as eval_pipeline
    from domainforge.pipelines.training import create_base_model_pipeline, domain_pipelines
    from domainforge.training import ModelDir

    monkeypatch.chdir(tmp_path)  # relative catalog paths (data/...) land in tmp_path
    (tmp_path / "conf").symlink_to(REPO / "conf")
    (tmp_path / "data").mkdir()
    (tmp_path / "data/01_raw").symlink_to(REPO / "data/01_raw")  # the sample benchmarks
    # The project's loader args: parameters_legal.yml needs their `merge` resolver.
    loader = OmegaConfigLoader(conf_source=str(REPO / "conf"), **settings.CONFIG_LOADER_ARGS)
    catalog = DataCatalog.from_config(loader["catalog"])
    inputs = {
        "pretrain_train": documents(),
        "pretrain_eval": documents(6),
        "sft_train": chats(),
        "sft_eval": chats(4),
        "preference_train": preferences(),
        "preference_eval": preferences(4),
    }
    for name, frame in inputs.items():
        catalog[f"medical.{name}"] = frame
    for key in ("pt", "sft", "rm", "dpo", "eval", "checks"):
        catalog[f"params:medical.training.{key}"] = PARAMS[key]
    catalog["params:training_runtime"] = {
        "deepspeed": "zero2",
        "micro_batch_tokens": 256,
        "work_dir": str(work_dir),
    }
    catalog["params:base_model"] = {"path": str(tiny_model), "hub_id": "tiny/llama", "license": "apache-2.0"}
    catalog["params:medical.model_card"] = {"domain": "medical", "tags": ["medical"], "disclaimer": "Not advice."}
    catalog["params:benchmark_suites"] = loader["parameters"]["benchmark_suites"]
    catalog["params:medical.benchmarks"] = loader["parameters"]["medical"]["benchmarks"]
    window = {key: PARAMS["eval"][key] for key in ("max_length", "max_tokens", "batch_tokens")}
    catalog["params:medical.evaluation"] = {**loader["parameters"]["medical"]["evaluation"], "perplexity": window}
    catalog["medical.data_report"] = {"token_unit": "tokens", "funnel": [], "languages": {"zh": 9}, "stages": {}}

    pipelines = domain_pipelines("medical")
    assert set(pipelines) == {"medical_pt", "medical_sft", "medical_rm", "medical_dpo"}
    # then the eval pipeline: benchmarks on the shipped sample and the training summary
    everything = sum(pipelines.values(), start=create_base_model_pipeline()) + eval_pipeline("medical")
    # GGUF export needs a tokenizer llama.cpp knows (tests/export/test_gguf.py), not the tiny BPE one.
    SequentialRunner().run(everything - everything.only_nodes("medical.training.dpo.export_gguf"), catalog)

    models = tmp_path / "data/06_models"
    for stage, name in [
        ("pt", "pt_model"),
        ("sft", "sft_model"),
        ("rm", "reward_model"),
        ("dpo", "dpo_model"),
    ]:
        assert os.path.samefile(
            models / "medical" / name / "model.safetensors", chain[stage].model.path / "model.safetensors"
        ), f"{stage} was retrained"
        card = catalog.load(f"medical.{name}_card")  # README.md written from the stage's report
        assert card.data.base_model == "tiny/llama" and f"domainforge-medical-{stage}" in card.text
    dpo_model = catalog.load("medical.dpo_model")
    assert isinstance(dpo_model, ModelDir) and dpo_model.load_causal_lm().config.model_type == "llama"

    reports = tmp_path / "data/08_reporting/medical/training"
    for stage in ("base", "pt", "sft", "rm", "dpo"):
        report = json.loads((reports / f"{stage}_report.json").read_text(encoding="utf-8"))
        assert report["stage"] == stage and report["evaluation"]
    for stage in ("pt", "sft", "rm", "dpo"):
        figure = PlotlyJSON(filepath=str(reports / f"{stage}_loss_curve.json")).load()
        assert len(figure.data[0].x) == PARAMS[stage]["max_steps"]
    summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    in_distribution = summary["general_perplexity_in_distribution"]
    assert in_distribution["change_pct"] <= PARAMS["checks"]["max_general_ppl_increase_pct"]
    assert "pass" not in in_distribution  # the training sources' own tail tests no forgetting
    assert summary["domain_perplexity"]["pass"] and summary["sft_heldout_loss"]["pass"]
    assert summary["rm_accuracy"]["pass"] and summary["dpo_reward_accuracy"]["pass"]
    forgetting = summary["forgetting"]  # random tiny models: its outcome says nothing, its shape does
    assert set(forgetting["general_benchmarks"]["by_stage"]) == {"pt", "sft", "dpo"}
    assert set(forgetting["general_benchmarks"]["by_stage"]["pt"]) == {"general_zh", "general_en"}
    assert set(forgetting["heldout_general_perplexity"]["change_pct"]) == {"pt", "sft", "dpo"}
    checked = ("domain_perplexity", "forgetting", "sft_heldout_loss", "rm_accuracy", "dpo_reward_accuracy")
    assert summary["all_pass"] == all(summary[key]["pass"] for key in checked)
    assert summary["sft_heldout_loss"]["sft"] < summary["sft_heldout_loss"]["base"]
    assert set(summary["perplexity_by_stage"]) == {"base", "pt", "sft", "dpo"}

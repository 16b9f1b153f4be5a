"""The Kedro training pipelines with the project's real catalog config, on the tiny model.

Same inputs and recipe as the session chain, same work_dir: every stage must be found finished
and reused (the catalog models are hard links of the chain's run directories), while the
evaluation, report and plot nodes run for real.
"""

import json
import os

from tiny_training import PARAMS, REPO, chats, documents, preferences


def test_kedro_stage_pipelines_reuse_finished_runs_and_write_reports(
    chain, tiny_model, work_dir, tmp_path, monkeypatch
):
    from kedro.config import OmegaConfigLoader
    from kedro.io import DataCatalog
    from kedro.runner import SequentialRunner
    from kedro_datasets.plotly import JSONDataset as PlotlyJSON

    from domainforge.pipelines.training import create_base_model_pipeline, domain_pipelines
    from domainforge.training import ModelDir

    monkeypatch.chdir(tmp_path)  # relative catalog paths (data/...) land in tmp_path
    (tmp_path / "conf").symlink_to(REPO / "conf")
    catalog = DataCatalog.from_config(
        OmegaConfigLoader(conf_source=str(REPO / "conf"), base_env="base", default_run_env="local")["catalog"]
    )
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
    catalog["params:base_model"] = {"path": str(tiny_model)}

    pipelines = domain_pipelines("medical")
    assert set(pipelines) == {"medical_pt", "medical_sft", "medical_rm", "medical_dpo"}
    SequentialRunner().run(sum(pipelines.values(), start=create_base_model_pipeline()), catalog)

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
    assert summary["general_perplexity"]["change_pct"] <= PARAMS["checks"]["max_general_ppl_increase_pct"]
    assert summary["all_pass"]  # domain and general perplexity down, SFT loss down, RM and DPO > 0.5
    assert summary["rm_accuracy"]["pass"] and summary["dpo_reward_accuracy"]["pass"]
    assert summary["sft_heldout_loss"]["sft"] < summary["sft_heldout_loss"]["base"]
    assert set(summary["perplexity_by_stage"]) == {"base", "pt", "sft", "dpo"}

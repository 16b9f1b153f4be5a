"""A real `kedro run --pipelines medical_eval` up to the benchmark report (four tiny random Llamas
as base, PT, SFT and DPO; lm-eval scores them on the shipped sample, a few questions each) is an
MLflow run whose metrics are the report's accuracies and paired differences against base; read
back from the tracking store."""
import json

import pytest
from kedro_project import copy_project, run_pipelines
from tiny_llama import save_tiny_llama
from tiny_training import make_tokenizer

pytestmark = pytest.mark.slow
STAGES = ["base", "pt", "sft", "dpo"]
LIMIT = 6  # questions per benchmark


def test_benchmark_report_accuracies_are_metrics_of_the_run(tmp_path, monkeypatch):
    from mlflow import MlflowClient

    project = copy_project(tmp_path / "project")
    tokenizer = make_tokenizer()
    models = project / "data" / "06_models"
    for seed, stage in enumerate(STAGES):  # different random weights: different answers per stage
        save_tiny_llama(models / ("base_model" if stage == "base" else f"medical/{stage}_model"), tokenizer, seed=seed)
    limits = ", ".join(f"{name}: {LIMIT}" for name in ("general_en", "general_zh", "medical_en", "medical_zh"))
    (project / "conf" / "local" / "parameters_limits.yml").write_text(
        f"medical:\n  benchmarks:\n    limits: {{{limits}}}\n", encoding="utf-8"
    )
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "benchmark-metrics")
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    monkeypatch.delenv("DOMAINFORGE_TRACKING", raising=False)
    run_pipelines(project, ["medical_eval"], to_outputs=["medical.benchmark_report"])

    report = json.loads((project / "data/08_reporting/medical/eval/benchmark_report.json").read_text("utf-8"))
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("benchmark-metrics")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == "kedro run medical_eval" and run.info.status == "FINISHED"
    metrics = run.data.metrics

    assert report["stages"] == STAGES and len(report["benchmarks"]) == 4
    for name, benchmark in report["benchmarks"].items():
        assert benchmark["n"] == LIMIT
        for stage in STAGES:
            row, key = benchmark["by_stage"][stage], f"medical.benchmark.{name}.{stage}"
            assert metrics[f"{key}.accuracy"] == pytest.approx(row["accuracy"])
            assert metrics[f"{key}.accuracy_ci95_low"] == pytest.approx(row["ci95"][0])
            assert metrics[f"{key}.accuracy_ci95_high"] == pytest.approx(row["ci95"][1])
            assert metrics[f"{key}.acc_norm"] == pytest.approx(row["acc_norm"])
            if stage == "base":
                assert not [k for k in metrics if k.startswith(f"{key}.vs_base")]
                continue
            paired = row["vs_base"]
            assert metrics[f"{key}.vs_base.difference"] == pytest.approx(paired["difference"])
            assert metrics[f"{key}.vs_base.difference"] == pytest.approx(
                row["accuracy"] - benchmark["by_stage"]["base"]["accuracy"]
            )
            assert metrics[f"{key}.vs_base.ci95_low"] == pytest.approx(paired["ci95"][0])
            assert metrics[f"{key}.vs_base.ci95_high"] == pytest.approx(paired["ci95"][1])
            assert metrics[f"{key}.vs_base.mcnemar_p"] == pytest.approx(paired["mcnemar_p"])
    for stage in STAGES:
        perplexity = report["heldout_general_perplexity"]["by_stage"][stage]["perplexity"]
        assert metrics[f"medical.benchmark.heldout_general.{stage}.perplexity"] == pytest.approx(perplexity)
    # 4 benchmarks x (4 stages x 4 scores + 3 stages x 4 paired values) + 4 perplexities
    assert len([k for k in metrics if k.startswith("medical.benchmark.")]) == 4 * (16 + 12) + 4

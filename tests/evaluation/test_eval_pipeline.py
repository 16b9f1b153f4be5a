"""The eval pipeline with the project's real catalog and parameters on the shipped sample
benchmarks: four tiny random models stand in for base, PT, SFT and DPO (lm-eval scores them
for real), and the report, the charts and the selected questions must have the right shape."""

import json

import pytest
from tiny_llama import save_tiny_llama
from tiny_training import REPO, train_chat_tokenizer

STAGES = ["base", "pt", "sft", "dpo"]


def _sample_questions() -> dict[str, list[dict]]:
    folder = REPO / "data/01_raw/medical/benchmarks"
    return {
        path.stem: [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for path in sorted(folder.glob("*.jsonl"))
    }


@pytest.mark.slow
def test_medical_eval_on_the_shipped_sample_writes_report_and_charts(tmp_path, monkeypatch):
    from kedro.config import OmegaConfigLoader
    from kedro.io import DataCatalog
    from kedro.runner import SequentialRunner
    from kedro_datasets.plotly import JSONDataset as PlotlyJSON

    from domainforge import settings
    from domainforge.pipelines.eval import domain_pipeline
    from domainforge.training import ModelDir

    sample = _sample_questions()
    assert {name: len(q) for name, q in sample.items()} == {"general_en": 20, "general_zh": 20, "medical_en": 40, "medical_zh": 40}
    texts = [q["question"] + " " + " ".join(q["options"].values()) for qs in sample.values() for q in qs]
    tokenizer = train_chat_tokenizer(texts, 400)
    models = {stage: save_tiny_llama(tmp_path / "models" / stage, tokenizer, seed=i) for i, stage in enumerate(STAGES)}

    monkeypatch.chdir(tmp_path)  # relative catalog paths (data/...) land in tmp_path
    (tmp_path / "conf").symlink_to(REPO / "conf")
    (tmp_path / "data").mkdir()
    (tmp_path / "data/01_raw").symlink_to(REPO / "data/01_raw")
    loader = OmegaConfigLoader(conf_source=str(REPO / "conf"), **settings.CONFIG_LOADER_ARGS)
    catalog = DataCatalog.from_config(loader["catalog"])
    parameters = loader["parameters"]
    catalog["base_model"] = ModelDir(models["base"])
    for stage in STAGES[1:]:
        catalog[f"medical.{stage}_model"] = ModelDir(models[stage])
    catalog["params:benchmark_suites"] = parameters["benchmark_suites"]
    for key in ("benchmarks", "evaluation"):
        catalog[f"params:medical.{key}"] = parameters["medical"][key]

    eval_pipeline = domain_pipeline("medical").to_outputs("medical.benchmark_report")
    assert {n.name for n in eval_pipeline.nodes} == {
        "medical.eval.select_benchmark_questions",
        *(f"medical.eval.evaluate_{stage}_on_benchmarks" for stage in STAGES),
        "medical.eval.report_benchmarks",
    }
    SequentialRunner().run(eval_pipeline, catalog)

    questions = json.loads((tmp_path / "data/05_model_input/medical/benchmark_questions.json").read_text("utf-8"))
    assert {name: len(b["questions"]) for name, b in questions.items()} == {name: len(q) for name, q in sample.items()}
    assert questions["general_en"]["role"] == "general" and questions["medical_zh"]["role"] == "domain"
    assert questions["medical_zh"]["questions"][0]["id"] == "benchmarks/medical_zh.jsonl#L1"

    report = json.loads((tmp_path / "data/08_reporting/medical/eval/benchmark_report.json").read_text("utf-8"))
    assert report["stages"] == STAGES
    assert set(report["benchmarks"]) == set(sample)
    for name, benchmark in report["benchmarks"].items():
        n = len(sample[name])
        assert benchmark["n"] == n and benchmark["shots"] == 0
        assert benchmark["language"] == name.rsplit("_", 1)[1]
        base = benchmark["by_stage"]["base"]
        assert base["vs_base"] is None
        for stage in STAGES:
            row = benchmark["by_stage"][stage]
            assert row["ci95"][0] <= row["accuracy"] <= row["ci95"][1]
            assert 0 <= row["acc_norm"] <= 1
        for stage in STAGES[1:]:
            paired = benchmark["by_stage"][stage]["vs_base"]
            assert paired["n"] == n
            assert paired["difference"] == pytest.approx(benchmark["by_stage"][stage]["accuracy"] - base["accuracy"])
            assert paired["ci95"][0] <= paired["difference"] <= paired["ci95"][1]
            assert paired["a_only"] - paired["b_only"] == round(n * paired["difference"])
    # Different random models answer differently: the paired comparison has something to compare.
    assert any(b["by_stage"][s]["vs_base"]["a_only"] + b["by_stage"][s]["vs_base"]["b_only"] for b in report["benchmarks"].values() for s in STAGES[1:])
    assert set(report["eval_seconds"]) == set(STAGES) and all(s > 0 for s in report["eval_seconds"].values())
    heldout = report["heldout_general_perplexity"]
    assert "heldout_general" in heldout["source"]
    assert all(h["tokens"] > 1000 and h["perplexity"] > 1 for h in heldout["by_stage"].values())

    charts = tmp_path / "data/08_reporting/medical/eval"
    domain = PlotlyJSON(filepath=str(charts / "accuracy_domain.json")).load()
    general = PlotlyJSON(filepath=str(charts / "accuracy_general.json")).load()
    assert [trace.name for trace in domain.data] == ["medical_zh (n=40)", "medical_en (n=40)"]
    assert [trace.name for trace in general.data] == ["general_zh (n=20)", "general_en (n=20)"]
    trace = general.data[1]
    assert list(trace.x) == STAGES
    row = report["benchmarks"]["general_en"]["by_stage"]["sft"]
    assert trace.y[2] == pytest.approx(row["accuracy"])
    assert trace.error_y.array[2] == pytest.approx(row["ci95"][1] - row["accuracy"])

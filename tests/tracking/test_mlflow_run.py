"""A real `kedro run` (medical_data + base_model + medical_pt on a tiny Llama) is one MLflow run:
parameters, funnel and evaluation metrics, a nested PT run with its loss curve (transformers'
MLflowCallback), report artifacts; read back through a headless `mlflow server`'s REST API."""
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from kedro_project import copy_project, run_pipelines
from tiny_llama import save_tiny_llama
from tiny_training import make_tokenizer

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow
PT_STEPS = 3


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


@pytest.fixture
def tracked_run(tmp_path, monkeypatch):
    project = copy_project(tmp_path / "project")
    model = save_tiny_llama(tmp_path / "tiny", make_tokenizer())
    local = project / "conf" / "local"
    (local / "globals.yml").write_text(
        f"base_model:\n  path: {model}\n  package: null\n  gguf_file: null\n", encoding="utf-8"
    )
    (local / "parameters_tracking_test.yml").write_text(
        f"""training_runtime:
  micro_batch_tokens: 256
  work_dir: {tmp_path / 'runs'}
  report_to: [mlflow]
medical:
  training:
    pt: {{max_steps: {PT_STEPS}, seq_len: 64, batch_tokens: 256, save_steps: 100, logging_steps: 1}}
""",
        encoding="utf-8",
    )
    db = tmp_path / "mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "tracking-test")
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    started = time.time()
    run_pipelines(project, ["medical_data", "base_model", "medical_pt"])
    return project, db, time.time() - started


def test_kedro_run_is_an_mlflow_run_with_a_nested_training_run(tracked_run, tmp_path):
    from domainforge.training.runtime import free_port

    project, db, seconds = tracked_run
    port = free_port()
    log = tmp_path / "mlflow-server.log"
    # The server runs from its own environment (`make setup` builds .venv-mlflow: the full mlflow
    # caps pyarrow below the project's pin); MLFLOW_SERVER_BIN points elsewhere.
    mlflow_bin = Path(os.environ.get("MLFLOW_SERVER_BIN", REPO / ".venv-mlflow/bin/mlflow"))
    if not mlflow_bin.is_file():
        pytest.fail(f"no MLflow server at {mlflow_bin}: run `make setup` (or set MLFLOW_SERVER_BIN)")
    with open(log, "w") as out:
        server = subprocess.Popen(
            [str(mlflow_bin), "server", "--backend-store-uri", f"sqlite:///{db}",
             "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{db}"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        experiment = None
        deadline = time.time() + 120
        while time.time() < deadline and experiment is None:
            assert server.poll() is None, f"mlflow server exited:\n{log.read_text()[-3000:]}"
            try:
                experiment = _get(f"{url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=tracking-test")
            except OSError:
                time.sleep(1)
        assert experiment is not None, f"mlflow server did not answer in 120 s:\n{log.read_text()[-3000:]}"
        exp_id = experiment["experiment"]["experiment_id"]
        runs = _post(f"{url}/api/2.0/mlflow/runs/search", {"experiment_ids": [exp_id], "max_results": 100})["runs"]
        by_name = {r["info"]["run_name"]: r for r in runs}
        parent = next(r for name, r in by_name.items() if name.startswith("kedro run"))
        nested = by_name["medical.training.pt.continued_pretraining"]
        parent_id = parent["info"]["run_id"]
        assert parent["info"]["status"] == "FINISHED" and nested["info"]["status"] == "FINISHED"
        nested_tags = {t["key"]: t["value"] for t in nested["data"]["tags"]}
        assert nested_tags["mlflow.parentRunId"] == parent_id

        params = {p["key"]: p["value"] for p in parent["data"]["params"]}
        assert params["medical.training.pt.max_steps"] == str(PT_STEPS)
        assert params["training_runtime.report_to"] == "['mlflow']"
        assert any(k.startswith("medical.") and ".training." not in k for k in params)  # curation stages
        assert all(len(k) <= 250 and len(v) <= 6000 for k, v in params.items())
        metrics = {m["key"]: m["value"] for m in parent["data"]["metrics"]}
        funnel = [k for k in metrics if k.startswith("medical.funnel.") and k.endswith(".records")]
        assert len(funnel) >= 3 and any(k.endswith(".tokens") for k in metrics)
        assert metrics["medical.records.input"] > 0
        for stage in ("base", "pt"):  # the evaluation reports' perplexities
            assert metrics[f"medical.{stage}.eval.perplexity.domain.perplexity"] > 0

        history = _get(
            f"{url}/api/2.0/mlflow/metrics/get-history?run_id={nested['info']['run_id']}&metric_key=loss"
        )["metrics"]
        assert sorted(m["step"] for m in history) == list(range(1, PT_STEPS + 1))
        assert all(m["value"] > 0 for m in history)
        nested_params = {p["key"] for p in nested["data"]["params"]}
        assert "training.pt.learning_rate" in nested_params or "medical.training.pt.learning_rate" in nested_params

        artifacts = _get(f"{url}/api/2.0/mlflow/artifacts/list?run_id={parent_id}&path=reporting/medical")
        names = {Path(f["path"]).name for f in artifacts.get("files", [])}
        assert "data_report.json" in names and "funnel_plot.png" in names, names

        if shutil.which("chromium"):
            png = tmp_path / "mlflow-run.png"
            flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync"]
            subprocess.run(
                ["chromium", *flags, f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1600,1000",
                 "--virtual-time-budget=20000", f"--screenshot={png}",
                 f"{url}/#/experiments/{exp_id}/runs/{parent_id}"],
                check=True, timeout=180, capture_output=True,
            )
            assert png.stat().st_size > 20_000, "MLflow run page rendered (nearly) empty"
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
    assert seconds < 300, f"the tracked kedro run took {seconds:.0f} s"

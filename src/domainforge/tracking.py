"""Experiment tracking: every `kedro run` is an MLflow run (a project hook, settings.HOOKS).

Why a project hook on `mlflow` itself and not kedro-mlflow: kedro-mlflow 2.0.3 installs next to
Kedro 1.7.0, but (1) its hook fails the session when the tracking store is unreachable or
misconfigured, while tracking here must only warn and let the run go on, (2) it would still need
this hook for what it does not do (nested runs per training stage that the Trainer's MLflow
callback logs into, the data-funnel and evaluation metrics out of our report datasets), and (3)
it pulls the full `mlflow`, whose `pyarrow<26` cap conflicts with the project's pyarrow pin; the
client (`mlflow-skinny`, pinned in pyproject.toml) is all a run needs.

What a run logs:
- parent run (one per `kedro run`): the flattened `params:` inputs of the pipeline (keys and
  values cut to MLflow's limits), records/tokens per curation stage from each `<domain>.data_report`
  as metrics, the numeric evaluation results of the training reports and summary, the benchmark
  accuracies of `<domain>.benchmark_report` (`benchmark_metrics`), and at the end the JSON/PNG
  reports written under data/08_reporting/ as artifacts;
- one nested run per training node: the stage's parameters and, through transformers'
  MLflowCallback (training_runtime.report_to: [mlflow]), its loss curve. The callback logs into
  the active run, which the hook starts (nested) before the node, so it neither starts nor ends
  runs itself. A stage reused from the finished-run cache trains nothing: its loss history is
  then logged from its training report.

Store: MLFLOW_TRACKING_URI, else sqlite under the project (data/09_tracking/mlflow.db, artifacts
in data/09_tracking/artifacts; data/** is git-ignored). Experiment: MLFLOW_EXPERIMENT_NAME, else
"domainforge". Set DOMAINFORGE_TRACKING=0 to switch the hook off.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import time
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)

TRAINING_NODES = {
    "continued_pretraining": "pt",
    "supervised_finetuning": "sft",
    "reward_modelling": "rm",
    "direct_preference_optimization": "dpo",
}
DEFAULT_EXPERIMENT = "domainforge"
TRACKING_DIR = Path("data/09_tracking")
REPORTING_DIR = Path("data/08_reporting")
# MLflow's limits (mlflow.utils.validation), used when that module moves.
MAX_KEY, MAX_VALUE, PARAMS_PER_BATCH, METRICS_PER_BATCH = 250, 6000, 100, 1000


def _safe(method):
    """Tracking never fails a run: an error is a warning and tracking stops for this run."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if not self._on:
            return None
        try:
            return method(self, *args, **kwargs)
        except Exception as error:  # noqa: BLE001 - any tracking failure must not stop the run
            logger.warning("MLflow tracking disabled for this run (%s: %s)", type(error).__name__, error)
            self._on = False
            self._close("FAILED")
            return None

    return wrapper


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys; lists of scalars stay one value."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _key(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_\-. :/]", "_", name)[:MAX_KEY]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def numeric_metrics(value: Any, prefix: str) -> dict[str, float]:
    return {_key(k): n for k, v in flatten(value, prefix).items() if (n := _number(v)) is not None}


def funnel_metrics(report: dict, domain: str) -> dict[str, float]:
    """Records and tokens left after each curation stage, and the record totals."""
    out = {}
    for row in report.get("funnel", []):
        for field in ("records", "tokens"):
            if _number(row.get(field)) is not None:
                out[_key(f"{domain}.funnel.{row['stage']}.{field}")] = float(row[field])
    out.update(numeric_metrics(report.get("records", {}), f"{domain}.records"))
    return out


def benchmark_metrics(report: dict, domain: str) -> dict[str, float]:
    """From a benchmark report, per benchmark and stage (`<domain>.benchmark.<name>.<stage>.*`):
    accuracy with its 95% CI bounds and acc_norm, and for every stage but base the paired
    difference against the base model (`vs_base.difference`, its CI bounds, McNemar p); and the
    held-out general perplexity per stage (`<domain>.benchmark.heldout_general.<stage>.perplexity`)."""
    out: dict[str, float] = {}
    for name, benchmark in report.get("benchmarks", {}).items():
        for stage, row in benchmark.get("by_stage", {}).items():
            paired = row.get("vs_base") or {}
            values = {
                "accuracy": row.get("accuracy"),
                "accuracy_ci95_low": (row.get("ci95") or [None, None])[0],
                "accuracy_ci95_high": (row.get("ci95") or [None, None])[1],
                "acc_norm": row.get("acc_norm"),
                "vs_base.difference": paired.get("difference"),
                "vs_base.ci95_low": (paired.get("ci95") or [None, None])[0],
                "vs_base.ci95_high": (paired.get("ci95") or [None, None])[1],
                "vs_base.mcnemar_p": paired.get("mcnemar_p"),
            }
            for field, value in values.items():
                if (number := _number(value)) is not None:
                    out[_key(f"{domain}.benchmark.{name}.{stage}.{field}")] = number
    heldout = report.get("heldout_general_perplexity", {}).get("by_stage", {})
    for stage, row in heldout.items():
        if (number := _number(row.get("perplexity"))) is not None:
            out[_key(f"{domain}.benchmark.heldout_general.{stage}.perplexity")] = number
    return out


def default_tracking_uri(project_path: Path) -> str:
    return f"sqlite:///{(project_path / TRACKING_DIR / 'mlflow.db').resolve()}"


class MlflowTrackingHook:
    def __init__(self):
        self._on = os.environ.get("DOMAINFORGE_TRACKING", "1") not in ("0", "false", "False")
        self._mlflow = None
        self._project = Path.cwd()
        self._parent = None
        self._nested: dict[str, Any] = {}  # node name -> nested run
        self._stage_runs: dict[str, str] = {}  # "<domain>.<stage>" -> nested run id
        self._started = 0.0

    # --- session ----------------------------------------------------------------------------
    @hook_impl
    def after_context_created(self, context) -> None:
        self._on = os.environ.get("DOMAINFORGE_TRACKING", "1") not in ("0", "false", "False")
        self._project = Path(context.project_path)
        self._nested, self._stage_runs, self._parent = {}, {}, None

    @hook_impl
    def before_pipeline_run(self, run_params: dict, pipeline, catalog) -> None:
        self._start(run_params, pipeline, catalog)

    @_safe
    def _start(self, run_params, pipeline, catalog) -> None:
        # Offline by default like the rest of the project: no usage telemetry unless asked for.
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        import mlflow

        self._mlflow = mlflow
        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            uri = default_tracking_uri(self._project)
            (self._project / TRACKING_DIR).mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(uri)
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME", DEFAULT_EXPERIMENT)
        if mlflow.get_experiment_by_name(name) is None:
            artifacts = None
            if uri.startswith("sqlite:") or uri.startswith("file:") or "://" not in uri:
                artifacts = (self._project / TRACKING_DIR / "artifacts").resolve().as_uri()
            mlflow.create_experiment(name, artifact_location=artifacts)
        mlflow.set_experiment(name)
        if mlflow.active_run() is not None:  # a caller's run: the kedro run nests under it
            self._parent = mlflow.start_run(run_name=self._run_name(run_params), nested=True)
        else:
            self._parent = mlflow.start_run(run_name=self._run_name(run_params))
        self._started = time.time()
        tags = {
            "kedro.session_id": run_params.get("session_id"),
            "kedro.pipelines": ",".join(run_params.get("pipeline_names") or [])
            or str(run_params.get("pipeline_name") or "__default__"),
            "kedro.env": run_params.get("env"),
            "kedro.tags": ",".join(run_params.get("tags") or []),
        }
        mlflow.set_tags({k: str(v)[:MAX_VALUE] for k, v in tags.items() if v})
        params = {}
        for name in sorted(pipeline.inputs()):
            if name.startswith("params:"):
                params.update(flatten(catalog.load(name), name[len("params:"):]))
        self._log_params(params)

    def _run_name(self, run_params: dict) -> str:
        names = run_params.get("pipeline_names") or [run_params.get("pipeline_name") or "__default__"]
        return "kedro run " + ",".join(str(n) for n in names)

    def _log_params(self, params: dict) -> None:
        items = [(_key(k), str(v)[:MAX_VALUE]) for k, v in params.items()]
        for i in range(0, len(items), PARAMS_PER_BATCH):
            self._mlflow.log_params(dict(items[i : i + PARAMS_PER_BATCH]))

    def _log_metrics(self, metrics: dict[str, float], run_id: str | None = None) -> None:
        items = list(metrics.items())
        client = self._mlflow.MlflowClient()
        run_id = run_id or self._parent.info.run_id
        now = int(time.time() * 1000)
        for i in range(0, len(items), METRICS_PER_BATCH):
            batch = [self._mlflow.entities.Metric(k, v, now, 0) for k, v in items[i : i + METRICS_PER_BATCH]]
            client.log_batch(run_id, metrics=batch)

    # --- nodes --------------------------------------------------------------------------------
    @hook_impl
    def before_node_run(self, node, inputs: dict) -> None:
        self._before_node(node, inputs)

    @_safe
    def _before_node(self, node, inputs: dict) -> None:
        short = node.name.rsplit(".", 1)[-1]
        if short not in TRAINING_NODES or self._parent is None:
            return
        domain = (node.namespace or "").split(".", 1)[0]  # medical.training.pt -> medical
        run = self._mlflow.start_run(run_name=node.name, nested=True)
        self._nested[node.name] = run
        self._stage_runs[f"{domain}.{TRAINING_NODES[short]}"] = run.info.run_id
        self._mlflow.set_tags({"kedro.node": node.name, "stage": TRAINING_NODES[short], "domain": domain})
        params = {}
        for name, value in inputs.items():
            if name.startswith("params:"):
                params.update(flatten(value, name[len("params:"):]))
        self._log_params(params)

    @hook_impl
    def after_node_run(self, node) -> None:
        self._end_nested(node.name, "FINISHED")

    @hook_impl
    def on_node_error(self, error, node) -> None:
        self._end_nested(node.name, "FAILED")

    @_safe
    def _end_nested(self, node_name: str, status: str) -> None:
        run = self._nested.pop(node_name, None)
        if run is None:
            return
        flush = getattr(self._mlflow, "flush_async_logging", None)
        if flush:
            flush()
        active = self._mlflow.active_run()
        if active is not None and active.info.run_id == run.info.run_id:
            self._mlflow.end_run(status)
        else:  # the callback ended it already (or another run is active): set the status directly
            self._mlflow.MlflowClient().set_terminated(run.info.run_id, status)

    # --- datasets: reports as metrics ---------------------------------------------------------
    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        self._report_metrics(dataset_name, data)

    @_safe
    def _report_metrics(self, dataset_name: str, data: Any) -> None:
        if self._parent is None or not isinstance(data, dict):
            return
        domain, _, name = dataset_name.rpartition(".")
        if name == "data_report":
            self._log_metrics(funnel_metrics(data, domain))
        elif name == "benchmark_report":
            self._log_metrics(benchmark_metrics(data, domain))
        elif name == "training_summary":
            self._log_metrics(numeric_metrics(data, f"{domain}.training"))
        elif name.startswith("training_report_"):
            stage = name[len("training_report_"):]
            self._log_metrics(numeric_metrics(data.get("evaluation", {}), f"{domain}.{stage}.eval"))
            self._loss_from_report(f"{domain}.{stage}", data)

    def _loss_from_report(self, stage_key: str, report: dict) -> None:
        """A stage reused from the finished-run cache: its nested run gets the recorded loss."""
        run_id = self._stage_runs.get(stage_key)
        if run_id is None:
            return
        client = self._mlflow.MlflowClient()
        if client.get_metric_history(run_id, "loss"):
            return
        now = int(time.time() * 1000)
        metrics = [
            self._mlflow.entities.Metric("loss", float(h["loss"]), now, int(h["step"]))
            for h in report.get("history", [])
            if "step" in h and _number(h.get("loss")) is not None
        ]
        for i in range(0, len(metrics), METRICS_PER_BATCH):
            client.log_batch(run_id, metrics=metrics[i : i + METRICS_PER_BATCH])
        if metrics:
            client.set_tag(run_id, "loss_source", "training report (stage reused from cache)")

    # --- end ----------------------------------------------------------------------------------
    @hook_impl
    def after_pipeline_run(self) -> None:
        self._finish()

    @hook_impl
    def on_pipeline_error(self, error) -> None:
        self._close("FAILED")

    @_safe
    def _finish(self) -> None:
        if self._parent is None:
            return
        reporting = self._project / REPORTING_DIR
        if reporting.is_dir():
            for path in sorted(reporting.rglob("*")):
                if path.suffix in (".json", ".png") and path.stat().st_mtime >= self._started - 1:
                    relative = path.parent.relative_to(reporting)
                    self._mlflow.log_artifact(str(path), str(Path("reporting") / relative))
        self._close("FINISHED")

    def _close(self, status: str) -> None:
        """End the nested runs and the parent run; never raises."""
        if self._mlflow is None:
            return
        try:
            for name in list(self._nested):
                run = self._nested.pop(name)
                self._mlflow.MlflowClient().set_terminated(run.info.run_id, "FAILED")
            while self._parent is not None and self._mlflow.active_run() is not None:
                active = self._mlflow.active_run().info.run_id
                self._mlflow.end_run(status)
                if active == self._parent.info.run_id:
                    break
        except Exception as error:  # noqa: BLE001
            logger.warning("MLflow: could not end the run (%s)", error)
        finally:
            self._parent = None

"""training_runtime.report_to: validated names, "mlflow" only inside a tracked run; the progress bar."""
import pytest

from domainforge.training.runtime import REPORT_TO, Runtime, progress_bar, trainer_kwargs, validate_report_to
from domainforge.training.stage_settings import StageSettings


def test_report_to_accepts_the_known_integrations():
    assert validate_report_to(["mlflow", "tensorboard"]) == ["mlflow", "tensorboard"]
    assert validate_report_to("mlflow") == ["mlflow"]
    assert validate_report_to(["none"]) == [] and validate_report_to([]) == []
    assert set(REPORT_TO) == {"mlflow", "tensorboard", "none"}


@pytest.mark.parametrize("bad", [["wandb"], ["mlflow", "comet"], "all"])
def test_unknown_report_to_names_the_value_and_the_allowed_ones(bad):
    with pytest.raises(ValueError) as error:
        Runtime.from_params({"report_to": bad})
    message = str(error.value)
    unknown = next(v for v in ([bad] if isinstance(bad, str) else bad) if v not in REPORT_TO)
    assert repr(unknown) in message and all(name in message for name in REPORT_TO)


def test_none_cannot_be_combined():
    with pytest.raises(ValueError, match="none"):
        validate_report_to(["none", "mlflow"])


def test_mlflow_reports_only_inside_an_active_run(tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    schedule = StageSettings(max_steps=2, learning_rate=1e-3)
    runtime = Runtime(deepspeed={}, report_to=["mlflow", "tensorboard"])
    assert trainer_kwargs(schedule, runtime, str(tmp_path), 1, 1)["report_to"] == ["tensorboard"]
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("report-to")
    with mlflow.start_run():
        assert trainer_kwargs(schedule, runtime, str(tmp_path), 1, 1)["report_to"] == ["mlflow", "tensorboard"]
    assert trainer_kwargs(schedule, Runtime(deepspeed={}), str(tmp_path), 1, 1)["report_to"] == []


def test_progress_bar_follows_the_terminal_and_ci(monkeypatch):
    class Tty:
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stderr", Tty())
    monkeypatch.delenv("CI", raising=False)
    assert progress_bar()
    monkeypatch.setenv("CI", "true")
    assert not progress_bar()
    monkeypatch.delenv("CI")
    monkeypatch.setattr("sys.stderr", object.__new__(type("Pipe", (), {"isatty": lambda self: False})))
    assert not progress_bar()
    assert trainer_kwargs(StageSettings(max_steps=1, learning_rate=1e-3), Runtime(deepspeed={}), "o", 1, 1)["disable_tqdm"]

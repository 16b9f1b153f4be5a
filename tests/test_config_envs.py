"""The project's config environments resolve to what they promise, loaded as `kedro run` does."""
from pathlib import Path

from kedro.config import OmegaConfigLoader
from kedro.framework.project import configure_project, settings

REPO = Path(__file__).resolve().parents[1]


def parameters(env: str) -> dict:
    configure_project("domainforge")
    return OmegaConfigLoader(str(REPO / "conf"), **{**settings.CONFIG_LOADER_ARGS, "default_run_env": env})[
        "parameters"
    ]


def test_shared_env_trains_longer_than_the_shipped_sample():
    base, shared = parameters("local")["medical"]["training"], parameters("shared")["medical"]["training"]
    for stage in ("pt", "sft", "rm", "dpo"):
        assert shared[stage]["max_steps"] > base[stage]["max_steps"], stage
    # Keys the shared env does not override keep base's values.
    assert shared["pt"]["learning_rate"] == base["pt"]["learning_rate"]
    assert shared["eval"] == base["eval"]


def test_gpu_env_changes_only_the_machine_settings():
    base, gpu = parameters("local"), parameters("gpu")
    assert gpu["training_runtime"]["precision"] == "bf16"
    assert gpu["medical"] == base["medical"]

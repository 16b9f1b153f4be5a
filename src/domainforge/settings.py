"""Kedro project settings."""
from kedro.config import OmegaConfigLoader

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Deep-merge parameters from an extra env (e.g. `--env shared`) over base.
    "merge_strategy": {"parameters": "soft"},
}

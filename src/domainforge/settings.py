"""Kedro project settings."""
from kedro.config import OmegaConfigLoader

from domainforge.project_config import RecordConfigLoader

# The pipeline registry reads the domains through the session's config loader (project_config.py).
HOOKS = (RecordConfigLoader(), __import__("domainforge.tracking").tracking.MlflowTrackingHook())  # MLflow: tracking.py

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Deep-merge parameters from an extra env (e.g. `--env shared`) over base.
    "merge_strategy": {"parameters": "soft"},
}

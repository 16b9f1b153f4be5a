"""Kedro project settings."""
from kedro.config import OmegaConfigLoader

from domainforge.curation.engine import CurationEngineHook
from domainforge.node_timing import NodeTimingHook
from domainforge.project_config import RecordConfigLoader, merge

# The pipeline registry reads the domains through the session's config loader (project_config.py).
# MLflow: tracking.py. CurationEngineHook shuts down a local Ray cluster the curation engine started.
# NodeTimingHook saves wall/CPU seconds per node to the `node_timings` dataset.
HOOKS = (
    RecordConfigLoader(),
    __import__("domainforge.tracking").tracking.MlflowTrackingHook(),
    CurationEngineHook(),
    NodeTimingHook(),
)

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Deep-merge parameters from an extra env (e.g. `--env shared`) over base.
    "merge_strategy": {"parameters": "soft"},
    # `${merge:${training},${.training_overrides}}`: shared settings with a domain's own few keys.
    "custom_resolvers": {"merge": merge},
}

"""The project's configuration as the running Kedro session sees it, for `register_pipelines`.

Kedro calls `register_pipelines()` without arguments, and `kedro run --env X` does not set
KEDRO_ENV; but every session creates its context (and fires `after_context_created`) before it
reads the pipelines. The hook records that context's config loader, so domains are read from the
session's env, `conf/local` and runtime params. Outside a session (`kedro registry list`, a
direct call) a loader is built the way the session would build one: project root from the
working directory, env from KEDRO_ENV, the loader settings from settings.py (with the `merge`
resolver below).
"""
from __future__ import annotations

import os
from pathlib import Path

from kedro.config import AbstractConfigLoader
from kedro.framework.hooks import hook_impl
from kedro.utils import find_kedro_project
from omegaconf import DictConfig, OmegaConf

_SOURCE_CHECKOUT = Path(__file__).resolve().parents[2]
_latest: dict = {}  # "project": path, "loader": the config loader of the latest context created


class RecordConfigLoader:
    @hook_impl
    def after_context_created(self, context) -> None:
        _latest.update(project=Path(context.project_path).resolve(), loader=context.config_loader)


def config_loader() -> AbstractConfigLoader:
    """The latest session's config loader if it belongs to the project in the working directory
    (or there is none there), else one built as a session would build it."""
    from domainforge import settings

    found = find_kedro_project(Path.cwd())
    root = Path(found).resolve() if found else _latest.get("project", _SOURCE_CHECKOUT)
    if _latest.get("project") == root:
        return _latest["loader"]
    return settings.CONFIG_LOADER_CLASS(
        conf_source=str(root / getattr(settings, "CONF_SOURCE", "conf")),
        env=os.environ.get("KEDRO_ENV"),
        **settings.CONFIG_LOADER_ARGS,
    )


def merge(*configs: DictConfig) -> DictConfig:
    """The `${merge:${a},${b}}` resolver: `a` with `b` deep-merged over it (a list replaces a list),
    for a domain whose settings differ from the shared ones in a few keys
    (`legal.training: ${merge:${training},${.training_overrides}}`)."""
    return OmegaConf.merge(*configs)

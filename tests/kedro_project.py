"""Run the project's pipelines through a real KedroSession on a throwaway copy of the project
(conf/ and data/01_raw/), so tests never write into the working tree's data/."""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

REPO = Path(__file__).resolve().parents[1]


def copy_project(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "pyproject.toml", target)
    (target / "src").mkdir(exist_ok=True)  # the package itself is installed; Kedro wants the folder
    shutil.copytree(REPO / "conf", target / "conf", ignore=shutil.ignore_patterns("local"))
    (target / "conf" / "local").mkdir(exist_ok=True)
    shutil.copytree(REPO / "data" / "01_raw", target / "data" / "01_raw")
    # `--env shared` reads ../shared/data relative to the project root.
    shared = REPO.parent / "shared"
    if shared.is_dir() and not (target.parent / "shared").exists():
        (target.parent / "shared").symlink_to(shared)
    return target


@contextmanager
def chdir(path: Path):
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def run_pipelines(project: Path, pipeline_names: list[str], env: str | None = None, params: dict | None = None, **run_kwargs):
    """Run pipelines in `project` (`params`: as `kedro run --params`); returns the project's
    catalog for reading outputs."""
    with chdir(project):
        bootstrap_project(project)
        with KedroSession.create(project_path=project, env=env, runtime_params=params) as session:
            session.run(pipeline_names=pipeline_names, **run_kwargs)
        with KedroSession.create(project_path=project, env=env) as session:
            return session.load_context().catalog

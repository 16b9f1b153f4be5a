"""Domains are read through Kedro's config loader: a domain defined only in another env (given
to the session or in KEDRO_ENV) or in conf/local is registered, on a throwaway project copy."""
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro_project import chdir, copy_project

DOMAIN = "dental:\n  ingest:\n    rules: []\n"


@pytest.fixture
def project(tmp_path):
    project = copy_project(tmp_path / "project")
    (project / "conf" / "dental_env").mkdir()
    (project / "conf" / "dental_env" / "parameters_dental.yml").write_text(DOMAIN, encoding="utf-8")
    with chdir(project):
        yield project


def test_a_domain_in_the_session_env_is_registered(project):
    from kedro.framework.project import pipelines

    bootstrap_project(project)
    with KedroSession.create(project_path=project, env="dental_env") as session:
        session.load_context()  # what session.run does before it reads the pipelines
        assert {"dental", "dental_data", "dental_rag", "medical", "legal"} <= set(pipelines)
    bootstrap_project(project)
    with KedroSession.create(project_path=project) as session:
        session.load_context()
        assert "dental" not in pipelines and "medical" in pipelines


def test_kedro_env_and_conf_local_domains_are_found_without_a_session(project, monkeypatch):
    from domainforge.pipeline_registry import discover_domains

    assert discover_domains() == ["legal", "medical"]
    monkeypatch.setenv("KEDRO_ENV", "dental_env")
    assert discover_domains() == ["dental", "legal", "medical"]
    monkeypatch.delenv("KEDRO_ENV")
    (project / "conf" / "local" / "parameters_dental.yml").write_text(DOMAIN, encoding="utf-8")
    assert discover_domains() == ["dental", "legal", "medical"]

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


def test_nodes_are_grouped_by_stage_and_datasets_keep_the_domain_only():
    """The modular-pipeline groups kedro-viz draws, and the names `--from-nodes`/`--namespaces` take;
    the groups name nodes only, so the catalog's `<domain>.<dataset>` names are untouched."""
    from domainforge.pipeline_registry import domain_pipelines

    pipelines = domain_pipelines("medical")
    stages = {f"medical.training.{stage}" for stage in ("pt", "sft", "rm", "dpo")}
    groups = {"medical.curation", *stages, "medical.model_cards", "medical.rag", "medical.eval"}
    assert {n.namespace for n in pipelines["medical"].nodes} == {None, *groups}  # None: prepare_base_model
    assert {n.namespace for n in pipelines["medical_data"].nodes} == {"medical.curation"}
    assert {n.namespace for n in pipelines["medical_sft"].nodes} == {"medical.training.sft", "medical.model_cards"}
    assert {n.namespace for n in pipelines["medical_rag"].nodes} == {"medical.rag"}
    assert {n.namespace for n in pipelines["medical_eval"].nodes} == {"medical.eval"}

    medical = pipelines["medical"]
    datasets = {d for d in medical.datasets() if not d.startswith("params:")}
    assert not {d for d in datasets if d.startswith(tuple(f"{g}." for g in groups))}
    assert {"medical.documents_curated", "medical.sft_model", "medical.rag_index", "base_model"} <= datasets
    # Names the README uses for reruns resolve to the nodes they mean.
    rerun = medical.from_nodes("medical.curation.near_dedup")
    assert "medical.curation.scrub_documents" in {n.name for n in rerun.nodes}
    assert "medical.curation.ingest_documents" not in {n.name for n in rerun.nodes}
    assert {n.name for n in medical.from_nodes("medical.rag.load_rag_embedder").nodes} >= {
        "medical.rag.embed_rag_chunks", "medical.rag.build_rag_index"}
    assert {n.namespace for n in medical.only_nodes_with_namespaces(["medical.training"]).nodes} == stages


def test_building_the_registry_imports_no_training_library():
    """Every `kedro run` builds the registry, a curation-only run too: torch, transformers, peft,
    trl, deepspeed and lm-eval (~3 s of imports) load when a training or eval node runs."""
    import subprocess
    import sys

    heavy = ("torch", "transformers", "peft", "trl", "deepspeed", "lm_eval")
    code = f"import sys, domainforge.pipeline_registry; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

"""End to end through Kedro: the namespaced `rag` pipeline builds the index from curated tables in
a throwaway project that uses the real conf files, then `domainforge ask` answers with a tiny
model saved as the catalog's `medical.dpo_model`."""
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.pipeline import pipeline
from kedro.runner import SequentialRunner
from planted import PLANTED_QUESTIONS

from domainforge.cli import cli
from domainforge.pipelines.rag import create_pipeline

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory, small_corpus, tiny_model_dir) -> Path:
    root = tmp_path_factory.mktemp("project")
    (root / "pyproject.toml").write_text(
        '[tool.kedro]\npackage_name = "domainforge"\nproject_name = "rag test"\n'
        'kedro_init_version = "1.7.0"\nsource_dir = "src"\n'
    )
    (root / "src").mkdir()
    (root / ".telemetry").write_text("consent: false\n")
    base = root / "conf" / "base"
    base.mkdir(parents=True)
    for name in ("catalog.yml", "globals.yml", "catalog_rag.yml", "catalog_training.yml", "parameters_rag.yml",
                 "parameters_curation_runtime.yml"):
        shutil.copy(REPO / "conf" / "base" / name, base / name)
    (base / "parameters_medical.yml").write_text("medical:\n  rag: ${rag}\n")
    (root / "conf" / "local").mkdir()
    strict = root / "conf" / "strict"
    strict.mkdir()
    (strict / "parameters.yml").write_text("medical:\n  rag:\n    answer:\n      min_similarity: 0.9999\n")

    texts, ids = small_corpus
    documents = pd.DataFrame({"id": ids, "source": "test", "corpus": "domain", "text": texts, "lang": "zh"})
    general = pd.DataFrame([{"id": "novel#1", "source": "novel", "corpus": "general", "text": "青蒿琥酯片剂饭后吃。", "lang": "zh"}])
    chats = pd.DataFrame(
        [
            {"id": "chat#1", "source": "sft", "corpus": "domain", "messages": [
                {"role": "user", "content": "发烧吃什么药？"},
                {"role": "assistant", "content": "体温超过38.5度可以口服布洛芬退烧。"},
            ]},
            {"id": "chat#2", "source": "sft", "corpus": "domain", "messages": [
                {"role": "user", "content": "你好"}, {"role": "assistant", "content": "  "},
            ]},
        ]
    )
    bootstrap_project(root)
    with KedroSession.create(project_path=root) as session:
        catalog = session.load_context().catalog
        catalog.save("medical.documents_curated", pd.concat([documents, general], ignore_index=True))
        catalog.save("medical.chats_curated", chats)
        catalog.save("medical.dpo_model", tiny_model_dir)  # stands in for the trained chat model
        rag = pipeline(create_pipeline(), namespace="medical", parameters={"params:curation_runtime"})
        SequentialRunner().run(rag, catalog)
    return root


def test_pipeline_indexes_domain_documents_and_answers(project):
    chunks = pd.read_parquet(project / "data/05_model_input/medical/rag_chunks.parquet")
    assert "chat#1/1" in set(chunks["source_id"]) and "novel#1" not in set(chunks["source_id"])
    drops = pd.read_parquet(project / "data/08_reporting/medical/drops/rag.parquet")
    assert drops.to_dict("records") == [{"id": "chat#2/1", "source": "sft", "status": "dropped:rag:empty_text"}]
    config = json.loads((project / "data/06_models/medical/rag_index/config.json").read_text())
    adapter = config["query_adapter"]  # one indexed answer is far too few pairs to learn from
    assert adapter["pairs"] == 1 and adapter["pairs_without_indexed_answer"] == 1
    assert adapter["adapter"] is None and "min_pairs" in adapter["reason"]
    tuning = json.loads((project / "data/06_models/medical/rag_embedder/report.json").read_text())
    assert not tuning["tuned"] and tuning["pairs"] == 2 and "min_pairs" in tuning["reason"]
    assert config["embedder"]["weights"] is None and not (project / "data/06_models/medical/rag_index/embedder_weights.npz").exists()
    threshold = config["answer_threshold"]  # two in-domain questions: the fallback threshold applies
    assert threshold["questions"] == 2 and threshold["min_similarity"] is None


def test_ask_answers_with_cited_references(project):
    result = CliRunner().invoke(cli, ["ask", PLANTED_QUESTIONS["planted#zh"], "--project-path", str(project), "--k", "3"])
    assert result.exit_code == 0, result.output
    assert "References:" in result.output
    assert "[1] planted#zh" in result.output
    assert "(* = cited in the answer)" in result.output


def test_ask_without_generation_lists_references(project):
    result = CliRunner().invoke(
        cli, ["ask", PLANTED_QUESTIONS["planted#en"], "--project-path", str(project), "--no-generate", "--mode", "bm25"]
    )
    assert result.exit_code == 0, result.output
    assert " [1] planted#en" in [line[:15] for line in result.output.splitlines()]


def test_ask_declines_when_nothing_is_relevant(project):
    result = CliRunner().invoke(cli, ["ask", "今天天气怎么样？", "--project-path", str(project), "--env", "strict"])
    assert result.exit_code == 0, result.output
    assert "no retrieved reference reached the similarity threshold 0.9999" in result.output
    assert "References:" not in result.output


def test_ask_explains_missing_parameters(project, tmp_path):
    result = CliRunner().invoke(cli, ["ask", "x", "--project-path", str(project), "--domain", "legal"])
    assert result.exit_code != 0 and "wire `rag: ${rag}` into parameters_legal.yml" in result.output

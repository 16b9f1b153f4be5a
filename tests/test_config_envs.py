"""The project's config environments resolve to what they promise, loaded as `kedro run` does."""
from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader
from kedro.framework.project import configure_project, settings

from domainforge.curation.decontaminate import decontamination_settings
from domainforge.curation.dedup.minhash import dedup_settings
from domainforge.curation.engine import CurationRuntime
from domainforge.curation.ingest.read import ingest_settings
from domainforge.curation.mix import mix_settings
from domainforge.curation.normalise import normalise_settings
from domainforge.curation.privacy.scrub import privacy_settings
from domainforge.curation.quality.classifier import classifier_settings
from domainforge.curation.quality.language import language_settings
from domainforge.curation.quality.rules import quality_settings
from domainforge.curation.split import SplitSettings
from domainforge.evaluation.settings import BenchmarkSpec, BenchmarksSettings, evaluation_settings
from domainforge.retrieval.settings import rag_settings
from domainforge.training.base_model import base_model_settings
from domainforge.training.runtime import Runtime
from domainforge.training.stage_settings import SETTINGS, checks_settings, eval_settings, stage_settings
from domainforge.typed_settings import SettingsError, from_params

REPO = Path(__file__).resolve().parents[1]
DOMAINS = ("medical", "legal")
CURATION = {  # each curation stage's parameters -> its settings
    "ingest": ingest_settings,
    "normalise": normalise_settings,
    "language": language_settings,
    "quality": quality_settings,
    "quality_classifier": classifier_settings,
    "dedup": dedup_settings,
    "decontamination": decontamination_settings,
    "privacy": privacy_settings,
    "mix": mix_settings,
    "split": lambda params: from_params(SplitSettings, params, "split"),
}


def parameters(env: str, runtime_params: dict | None = None) -> dict:
    configure_project("domainforge")
    return OmegaConfigLoader(
        str(REPO / "conf"),
        **{**settings.CONFIG_LOADER_ARGS, "default_run_env": env},
        runtime_params=runtime_params,
    )["parameters"]


@pytest.mark.parametrize("env", ["local", "shared", "gpu", "ray"])
def test_every_env_builds_every_settings_group(env):
    """What every node does with its parameters: a key no settings class knows fails here."""
    params = parameters(env)
    Runtime.from_params(params["training_runtime"])
    CurationRuntime.from_params(params["curation_runtime"])
    base_model_settings(params["base_model"])
    for name, suite in params["benchmark_suites"].items():
        for i, spec in enumerate(suite):
            from_params(BenchmarkSpec, spec, f"benchmark_suites.{name}[{i}]")
    for domain in DOMAINS:
        training = params[domain]["training"]
        for stage in SETTINGS:
            stage_settings(stage, training[stage])
        eval_settings(training["eval"]), checks_settings(training["checks"])
        rag_settings(params[domain]["rag"])
        evaluation_settings(params[domain]["evaluation"])
        for key, build in CURATION.items():
            build(params[domain][key])
        assert from_params(BenchmarksSettings, params[domain]["benchmarks"], "benchmarks").suite in params["benchmark_suites"]


def test_a_params_override_reaches_the_settings_and_a_misspelt_one_fails():
    """`kedro run --params "medical.training.sft.max_steps=20"` (the CLI splits the dotted key)."""
    sft = parameters("local", {"medical": {"training": {"sft": {"max_steps": 20}}}})["medical"]["training"]["sft"]
    assert stage_settings("sft", sft).max_steps == 20 and stage_settings("sft", sft).lora.dropout == 0.05
    typo = parameters("local", {"medical": {"training": {"sft": {"max_step": 20}}}})["medical"]["training"]["sft"]
    with pytest.raises(SettingsError, match="unknown setting 'max_step'; did you mean 'max_steps'"):
        stage_settings("sft", typo)


def test_shared_env_trains_longer_than_the_shipped_sample():
    base, shared = parameters("local")["medical"]["training"], parameters("shared")["medical"]["training"]
    for stage in ("pt", "sft", "rm", "dpo"):
        assert shared[stage]["max_steps"] > base[stage]["max_steps"], stage
    # Keys the shared env does not override keep base's values.
    assert shared["pt"]["learning_rate"] == base["pt"]["learning_rate"]
    assert shared["eval"] == {**base["eval"], "preference_max_length": 1536}


def test_gpu_env_changes_only_the_machine_settings_and_scores_the_full_public_sets():
    base, gpu = parameters("local"), parameters("gpu")
    assert gpu["training_runtime"]["precision"] == "bf16"
    evaluation_keys = ("benchmarks", "evaluation")
    assert {k: v for k, v in gpu["medical"].items() if k not in evaluation_keys} == {
        k: v for k, v in base["medical"].items() if k not in evaluation_keys
    }
    assert gpu["medical"]["benchmarks"] == {"suite": "medical_public", "limits": {}}  # every question
    assert gpu["medical"]["evaluation"] == {**base["medical"]["evaluation"], "batch_size": 64, "dtype": "bfloat16"}


def test_shared_env_scores_every_public_benchmark_within_a_limit():
    base, shared = parameters("local"), parameters("shared")
    assert base["medical"]["benchmarks"] == {"suite": "medical_sample", "limits": {}}
    benchmarks = shared["medical"]["benchmarks"]
    suite = {spec["name"]: spec["role"] for spec in shared["benchmark_suites"][benchmarks["suite"]]}
    assert set(benchmarks["limits"]) == set(suite) and all(n >= 50 for n in benchmarks["limits"].values())
    assert [name for name, role in suite.items() if role == "general"] == ["mmlu_general", "cmmlu_general"]
    assert shared["medical"]["evaluation"] == base["medical"]["evaluation"]


def test_ray_env_and_params_switch_only_the_curation_engine():
    base, ray = parameters("local"), parameters("ray")
    assert CurationRuntime.from_params(base["curation_runtime"]).engine == "local"
    assert CurationRuntime.from_params(ray["curation_runtime"]).engine == "ray"
    assert {k: v for k, v in ray.items() if k != "curation_runtime"} == {k: v for k, v in base.items() if k != "curation_runtime"}
    # `kedro run --params "curation_runtime.engine=ray"`: the CLI splits the dotted key into this.
    configure_project("domainforge")
    loader = OmegaConfigLoader(
        str(REPO / "conf"), **settings.CONFIG_LOADER_ARGS, runtime_params={"curation_runtime": {"engine": "ray"}}
    )
    assert loader["parameters"]["curation_runtime"] == {**base["curation_runtime"], "engine": "ray"}


def test_legal_evaluates_on_legal_prompts_and_shares_the_rest_of_the_recipe():
    """conf/base/parameters_legal.yml merges its own eval prompts over the shared training recipe
    (`${merge:...}`): the rest stays the shared one, in every env and under `--params`."""
    configure_project("domainforge")
    runtime = OmegaConfigLoader(
        str(REPO / "conf"), **settings.CONFIG_LOADER_ARGS,
        runtime_params={"legal": {"training": {"sft": {"max_steps": 20}}}},
    )["parameters"]
    for params in (parameters("local"), parameters("shared"), parameters("gpu"), runtime):
        shared, legal, medical = params["training"], params["legal"]["training"], params["medical"]["training"]
        prompts = legal["eval"]["prompts"]
        assert len(prompts) == 3 and not set(prompts) & set(medical["eval"]["prompts"])
        assert all(any(term in p for term in ("劳动合同", "押金", "试用期")) for p in prompts), prompts
        assert medical["eval"]["prompts"] == shared["eval"]["prompts"]  # medical keeps the shared ones
        assert {k: v for k, v in legal["eval"].items() if k != "prompts"} == {
            k: v for k, v in shared["eval"].items() if k != "prompts"
        }
        for stage in ("pt", "rm", "dpo", "checks"):
            assert legal[stage] == shared[stage], stage
    assert runtime["legal"]["training"]["sft"] == {**parameters("local")["training"]["sft"], "max_steps": 20}

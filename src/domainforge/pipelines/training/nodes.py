"""Kedro nodes of the training stages: thin wrappers that turn parameters into library calls.

Training nodes return a `ModelDir` inside the engine's run directory (training_runtime.work_dir,
where checkpoints and the finished-run cache live); the catalog's HFModelDataset mirrors it.
The training and evaluation modules (torch, transformers, peft: ~3 s) are imported inside the
nodes, not when the pipeline registry is built: a curation-only run never needs them.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from domainforge.training import report
from domainforge.training.artifacts import ModelDir
from domainforge.training.base_model import prepare_base_model as _prepare_base_model
from domainforge.training.runtime import Runtime
from domainforge.training.stage_settings import stage_settings


def prepare_base_model(base_model: dict, runtime: dict) -> ModelDir:
    return _prepare_base_model(base_model, Runtime.from_params(runtime).work_dir)


def training_node(stage: str) -> Callable[..., ModelDir]:
    """A node running the training stage `domainforge.training.stages.<stage>`: (input model, its
    table, stage params, machine settings, DeepSpeed configs) -> the trained model directory."""

    def run_stage(
        model: ModelDir, records: pd.DataFrame, params: dict, runtime: dict, deepspeed_configs
    ) -> ModelDir:
        from domainforge.training import stages

        train = getattr(stages, stage)
        return train(model, records, params=params, runtime=Runtime.from_params(runtime, deepspeed_configs)).model

    run_stage.__name__ = stage
    return run_stage


continued_pretraining = training_node("continued_pretraining")
supervised_finetuning = training_node("supervised_finetuning")
reward_modelling = training_node("reward_modelling")
direct_preference_optimization = training_node("direct_preference_optimization")


def language_model_report(stage: str) -> Callable[..., dict]:
    """A node reporting perplexity per corpus, held-out chat loss and samples of one stage's model."""

    def evaluate_language_model(
        model: ModelDir, documents: pd.DataFrame, chats: pd.DataFrame, params: dict
    ) -> dict:
        from domainforge.training import evaluate

        return report.stage_report(stage, model, evaluate.evaluate_language_model(model, documents, chats, params))

    evaluate_language_model.__name__ = f"evaluate_{stage}_model"
    return evaluate_language_model


def reward_model_report(model: ModelDir, preferences: pd.DataFrame, params: dict) -> dict:
    from domainforge.training import evaluate

    return report.stage_report("rm", model, evaluate.evaluate_reward_model(model, preferences, params))


def dpo_report(
    model: ModelDir,
    reference: ModelDir,
    documents: pd.DataFrame,
    chats: pd.DataFrame,
    preferences: pd.DataFrame,
    eval_params: dict,
    dpo_params: dict,
) -> dict:
    from domainforge.training import evaluate

    evaluation = evaluate.evaluate_language_model(model, documents, chats, eval_params)
    evaluation["preference"] = evaluate.evaluate_dpo(
        model, reference, preferences, eval_params, beta=stage_settings("dpo", dpo_params).beta
    )
    return report.stage_report("dpo", model, evaluation)

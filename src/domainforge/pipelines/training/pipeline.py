"""Training pipelines: a shared base-model node, then per-domain stages pt -> sft -> rm -> dpo.

The stage pipelines are domain-agnostic; `domain_pipelines("medical")` namespaces them into
`medical_pt`, `medical_sft`, `medical_rm`, `medical_dpo` while keeping the shared inputs
(`base_model`, `deepspeed_configs`) and the machine parameters (`training_runtime`) global.
Each stage trains, evaluates its model on the held-out splits, and plots its loss curve.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline, node, pipeline

from domainforge.pipelines.training import nodes
from domainforge.training.report import loss_curve

STAGES = ("pt", "sft", "rm", "dpo")
SHARED_INPUTS = {"base_model", "deepspeed_configs"}
SHARED_PARAMETERS = {"params:training_runtime"}
_TRAIN = ["params:training_runtime", "deepspeed_configs"]
_LM_EVAL = ["pretrain_eval", "sft_eval", "params:training.eval"]


def create_base_model_pipeline(**kwargs) -> Pipeline:
    """Un-namespaced: one base model for every domain (GGUF converted once, or a local HF dir)."""
    return pipeline(
        [
            node(
                nodes.prepare_base_model,
                ["params:base_model", "params:training_runtime"],
                "base_model",
                name="prepare_base_model",
                tags=["training", "base_model"],
            )
        ]
    )


def _plot(stage: str) -> Pipeline:
    return pipeline(
        [node(loss_curve, f"training_report_{stage}", f"loss_curve_{stage}", name=f"plot_{stage}_loss")]
    )


def _pt() -> Pipeline:
    return pipeline(
        [
            node(
                nodes.language_model_report("base"),
                ["base_model", *_LM_EVAL],
                "training_report_base",
                name="evaluate_base_model",
            ),
            node(
                nodes.continued_pretraining,
                ["base_model", "pretrain_train", "params:training.pt", *_TRAIN],
                "pt_model",
                name="continued_pretraining",
            ),
            node(
                nodes.language_model_report("pt"),
                ["pt_model", *_LM_EVAL],
                "training_report_pt",
                name="evaluate_pt_model",
            ),
        ]
    ) + _plot("pt")


def _sft() -> Pipeline:
    return pipeline(
        [
            node(
                nodes.supervised_finetuning,
                ["pt_model", "sft_train", "params:training.sft", *_TRAIN],
                "sft_model",
                name="supervised_finetuning",
            ),
            node(
                nodes.language_model_report("sft"),
                ["sft_model", *_LM_EVAL],
                "training_report_sft",
                name="evaluate_sft_model",
            ),
        ]
    ) + _plot("sft")


def _rm() -> Pipeline:
    return pipeline(
        [
            node(
                nodes.reward_modelling,
                ["sft_model", "preference_train", "params:training.rm", *_TRAIN],
                "reward_model",
                name="reward_modelling",
            ),
            node(
                nodes.reward_model_report,
                ["reward_model", "preference_eval", "params:training.eval"],
                "training_report_rm",
                name="evaluate_reward_model",
            ),
        ]
    ) + _plot("rm")


def _dpo() -> Pipeline:
    return pipeline(
        [
            node(
                nodes.direct_preference_optimization,
                ["sft_model", "preference_train", "params:training.dpo", *_TRAIN],
                "dpo_model",
                name="direct_preference_optimization",
            ),
            node(
                nodes.dpo_report,
                [
                    "dpo_model",
                    "sft_model",
                    *_LM_EVAL[:2],
                    "preference_eval",
                    "params:training.eval",
                    "params:training.dpo",
                ],
                "training_report_dpo",
                name="evaluate_dpo_model",
            ),
            node(
                nodes.summarize_training,
                [f"training_report_{s}" for s in ("base", *STAGES)] + ["params:training.checks"],
                ["training_summary", "perplexity_by_stage"],
                name="summarize_training",
            ),
        ]
    ) + _plot("dpo")


_BUILDERS = {"pt": _pt, "sft": _sft, "rm": _rm, "dpo": _dpo}


def create_pipeline(stage: str | None = None, **kwargs) -> Pipeline:
    """One stage's un-namespaced pipeline, or all four."""
    stages = [stage] if stage else STAGES
    return sum((pipeline(_BUILDERS[s](), tags=["training", s]) for s in stages), Pipeline([]))


def domain_pipelines(domain: str) -> dict[str, Pipeline]:
    """{f"{domain}_{stage}": namespaced stage pipeline} for the registry."""
    return {
        f"{domain}_{stage}": pipeline(
            create_pipeline(stage),
            namespace=domain,
            inputs=SHARED_INPUTS & set(create_pipeline(stage).inputs()),
            parameters=SHARED_PARAMETERS,
        )
        for stage in STAGES
    }

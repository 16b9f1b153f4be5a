"""Training pipelines: a shared base-model node, then per-domain stages pt -> sft -> rm -> dpo.

The stage pipelines are domain-agnostic; `domain_pipelines("medical")` namespaces them into
`medical_pt`, `medical_sft`, `medical_rm`, `medical_dpo` (nodes `medical.training.<stage>.*`,
the model cards `medical.model_cards.*`) while keeping the shared inputs (`base_model`,
`deepspeed_configs`) and the machine parameters (`training_runtime`) global.
Each stage trains, evaluates its model on the held-out splits, plots its loss curve and writes
its model card; DPO's model is also exported to GGUF (nodes tagged `export`).
"""

from __future__ import annotations

from kedro.pipeline import Pipeline, node, pipeline

from domainforge.export import nodes as export
from domainforge.pipelines.grouping import grouped
from domainforge.pipelines.training import nodes
from domainforge.training.report import loss_curve

STAGES = ("pt", "sft", "rm", "dpo")
SHARED_INPUTS = {"base_model", "deepspeed_configs"}
SHARED_PARAMETERS = {"params:training_runtime", "params:base_model", "params:gguf_export"}
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


def _card(stage: str, model: str) -> Pipeline:
    return pipeline(
        [
            node(
                export.model_card(stage),
                [
                    f"training_report_{stage}",
                    "training_report_base",
                    "data_report",
                    f"params:training.{stage}",
                    "params:model_card",
                    "params:base_model",
                ],
                f"{model}_card",
                name=f"write_{stage}_model_card",
                tags=["export"],
            )
        ]
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
                export.export_gguf_files,
                ["dpo_model", "params:model_card", "params:gguf_export", "params:training_runtime"],
                "gguf_model",
                name="export_gguf",
                tags=["export"],
            ),
        ]
    ) + _plot("dpo")


_BUILDERS = {"pt": _pt, "sft": _sft, "rm": _rm, "dpo": _dpo}
_MODELS = {"pt": "pt_model", "sft": "sft_model", "rm": "reward_model", "dpo": "dpo_model"}


def _stage(stage: str, group: bool = False) -> Pipeline:
    """One stage: training, its evaluation and loss plot, and its model card. `group`: node names
    `training.<stage>.*`, the card's `model_cards.*`. The cards read the reports (layer reporting),
    so a group that also outputs the model would run reporting -> models in kedro-viz's layer
    order, a cycle that removes the layers from the graph."""
    work, card = _BUILDERS[stage](), _card(stage, _MODELS[stage])
    if group:
        work, card = grouped(work, f"training.{stage}"), grouped(card, "model_cards")
    return pipeline(work + card, tags=["training", stage])


def create_pipeline(stage: str | None = None, **kwargs) -> Pipeline:
    """One stage's un-namespaced pipeline, or all four."""
    stages = [stage] if stage else STAGES
    return sum((_stage(s) for s in stages), Pipeline([]))


def domain_pipelines(domain: str) -> dict[str, Pipeline]:
    """{f"{domain}_{stage}": namespaced stage pipeline} for the registry; node names are grouped
    per stage (`medical.training.sft.supervised_finetuning`, `medical.model_cards.write_sft_model_card`)."""
    out = {}
    for stage in STAGES:
        stage_pipeline = _stage(stage, group=True)
        out[f"{domain}_{stage}"] = pipeline(
            stage_pipeline,
            namespace=domain,
            inputs=SHARED_INPUTS & set(stage_pipeline.inputs()),
            parameters=SHARED_PARAMETERS & set(stage_pipeline.inputs()),
        )
    return out

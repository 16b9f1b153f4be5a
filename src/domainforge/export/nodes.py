"""Kedro nodes of the export: model cards for every trained model folder, GGUF files of the final model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from domainforge.export.gguf import export_gguf
from domainforge.export.model_card import render_model_card
from domainforge.training.artifacts import ModelDir, to_plain
from domainforge.training.base_model import base_model_settings
from domainforge.training.runtime import Runtime
from domainforge.training.stage_settings import stage_settings


def model_card(stage: str) -> Callable[..., str]:
    """A node writing `stage`'s model card from its report, the base model's report, the data
    report and its recipe."""

    def write_model_card(
        report: dict, base_report: dict, data_report: dict, recipe: dict, card: dict, base_model: dict
    ) -> str:
        # The recipe as trained: every setting, the defaults the parameters left out included.
        settings = to_plain(asdict(stage_settings(stage, recipe)))
        base = asdict(base_model_settings(base_model))
        return render_model_card(stage, report, base_report, data_report, settings, card, base)

    write_model_card.__name__ = f"write_{stage}_model_card"
    return write_model_card


def export_gguf_files(model: ModelDir, card: dict, params: dict, runtime: dict) -> Path:
    """The final model as GGUF files (`params.outtypes`), named like its model card."""
    work_dir = Runtime.from_params(runtime).work_dir
    return export_gguf(model, params["outtypes"], work_dir, model_name=f"domainforge-{card['domain']}")

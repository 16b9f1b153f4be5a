"""The embedder-tuning node's output (domainforge.retrieval.tuning.embedder_tuning.TunedEmbedder): a folder
with report.json and, when the tuning was kept, weights.npz (the trained tensors by name)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from kedro.io import AbstractDataset
from kedro_datasets._typing import JSONPreview

from domainforge.atomic_dir import readable, replacing
from domainforge.retrieval.embedders.tuned_weights import load_weights, save_weights
from domainforge.retrieval.tuning.embedder_tuning import TunedEmbedder


class TunedEmbedderDataset(AbstractDataset[TunedEmbedder, TunedEmbedder]):
    def __init__(self, filepath: str, metadata: dict | None = None):
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> TunedEmbedder:
        folder = readable(self._filepath)
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        weights = None
        if report.get("tuned"):
            weights = load_weights(folder / "weights.npz")
        return TunedEmbedder(weights, report)

    def save(self, data: TunedEmbedder) -> None:
        # Written beside the old folder and swapped in: a crash never leaves a mixed state or none.
        with replacing(self._filepath) as staging:
            if data.weights is not None:
                save_weights(staging / "weights.npz", data.weights)
            report = {**data.report, "tuned": data.weights is not None}
            (staging / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")

    def _exists(self) -> bool:
        return (readable(self._filepath) / "report.json").is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}

    def preview(self) -> JSONPreview:
        """The tuning report (kept or not and why, pairs, validation Recall@5 before and after,
        history, settings) and the saved tensors' file: size and tensor count (no weights loaded)."""
        folder = readable(self._filepath)
        report_file = folder / "report.json"
        if not report_file.is_file():
            raise FileNotFoundError(f"{folder} has no report.json: run the embedder-tuning node first")
        report = json.loads(report_file.read_text(encoding="utf-8"))
        weights = folder / "weights.npz"
        saved = None
        if weights.is_file():
            with np.load(weights) as archive:  # lazy: lists the tensors, reads none
                saved = {"file": weights.name, "mib": round(weights.stat().st_size / 2**20, 3),
                         "tensors": len(archive.files)}
        return JSONPreview(json.dumps({"path": str(folder), "weights": saved, **report}, ensure_ascii=False))

"""The embedder-tuning node's output (domainforge.rag.embedder_tuning.TunedEmbedder): a folder
with report.json and, when the tuning was kept, weights.npz (the trained tensors by name)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

from domainforge.rag.embedder_tuning import TunedEmbedder, load_weights, save_weights


class TunedEmbedderDataset(AbstractDataset[TunedEmbedder, TunedEmbedder]):
    def __init__(self, filepath: str, metadata: dict | None = None):
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> TunedEmbedder:
        report = json.loads((self._filepath / "report.json").read_text(encoding="utf-8"))
        weights = None
        if report.get("tuned"):
            weights = load_weights(self._filepath / "weights.npz")
        return TunedEmbedder(weights, report)

    def save(self, data: TunedEmbedder) -> None:
        # Written beside the old folder and swapped in, so a failed save leaves no mixed state.
        staging = self._filepath.with_name(self._filepath.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        if data.weights is not None:
            save_weights(staging / "weights.npz", data.weights)
        report = {**data.report, "tuned": data.weights is not None}
        (staging / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
        shutil.rmtree(self._filepath, ignore_errors=True)
        staging.rename(self._filepath)

    def _exists(self) -> bool:
        return (self._filepath / "report.json").is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}

"""The embedder-tuning node's output (domainforge.rag.embedder_tuning.TunedEmbedder): a folder
with report.json and, when the tuning was kept, weights.npz (the trained tensors by name)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

from domainforge.atomic_dir import readable, replacing
from domainforge.rag.embedder_tuning import TunedEmbedder, load_weights, save_weights


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

"""A fastText model as a catalog artifact: the `.bin` file fastText itself writes and reads."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fasttext
from kedro.io import AbstractDataset, DatasetError
from kedro_datasets._typing import JSONPreview


class FastTextModelDataset(AbstractDataset[Any, Any]):
    """Saves a trained fastText model with `save_model` and loads it with `fasttext.load_model`.

    Local files only: fastText reads and writes paths itself, not file objects.
    """

    def __init__(self, filepath: str, metadata: dict | None = None):
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> Any:
        if not self._filepath.is_file():
            raise DatasetError(f"no fastText model at {self._filepath}: run the node that trains it first")
        return fasttext.load_model(str(self._filepath))

    def save(self, model: Any) -> None:
        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        model.save_model(str(self._filepath))

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}

    def preview(self) -> JSONPreview:
        """Labels, vocabulary, dimension and the training arguments stored in the model file."""
        model = self.load()
        labels, counts = model.get_labels(include_freq=True)
        arguments = model.f.getArgs()
        return JSONPreview(
            json.dumps(
                {
                    "filepath": str(self._filepath),
                    "size_mib": round(self._filepath.stat().st_size / 2**20, 3),
                    "labels": dict(zip(labels, map(int, counts), strict=True)),
                    "words": len(model.words),
                    "dimension": model.get_dimension(),
                    "arguments": {
                        name: getattr(arguments, name)
                        for name in ("epoch", "lr", "wordNgrams", "minn", "maxn", "minCount", "bucket")
                    },
                    "loss": str(arguments.loss).split(".")[-1],
                    "quantized": model.is_quantized(),
                },
                ensure_ascii=False,
            )
        )

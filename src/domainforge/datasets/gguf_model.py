"""GGUF exports of a model as a catalog artifact: a folder of `model-<outtype>.gguf` files.

load() returns {file name: path}; save() takes the export's directory and mirrors it here with
hard links where the filesystem allows (as HFModelDataset does for model folders).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError
from kedro_datasets._typing import TablePreview

from domainforge.atomic_dir import readable
from domainforge.training.artifacts import link_tree


class GGUFDataset(AbstractDataset[str | os.PathLike, dict[str, Path]]):
    def __init__(self, filepath: str, metadata: dict | None = None):
        self._filepath = Path(filepath)
        self.metadata = metadata

    def _files(self) -> dict[str, Path]:
        return {p.name: p for p in sorted(readable(self._filepath).glob("*.gguf"))}

    def load(self) -> dict[str, Path]:
        files = self._files()
        if not files:
            raise DatasetError(f"no .gguf files in {self._filepath}: run the export_gguf node first")
        return files

    def save(self, data: str | os.PathLike) -> None:
        source = Path(data)
        if not any(source.glob("*.gguf")):
            raise DatasetError(f"GGUFDataset({self._filepath}) saves a folder of .gguf files, got {source}")
        link_tree(source, self._filepath)

    def _exists(self) -> bool:
        return bool(self._files())

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}

    def preview(self) -> TablePreview:
        """One row per file: size, architecture, quantisation, tensors and context, read from the
        GGUF header by llama.cpp's `gguf` reader."""
        from gguf import GGUFReader, LlamaFileType

        columns = ["file", "size_mib", "name", "architecture", "file_type", "tensors", "context_length"]
        rows = []
        for name, path in self.load().items():
            reader = GGUFReader(path)

            def field(key, reader=reader):
                found = reader.get_field(key)
                return found.contents() if found is not None else None

            architecture = field("general.architecture")
            file_type = field("general.file_type")
            rows.append(
                [
                    name,
                    round(path.stat().st_size / 2**20, 2),
                    field("general.name"),
                    architecture,
                    LlamaFileType(file_type).name if file_type is not None else None,
                    len(reader.tensors),
                    field(f"{architecture}.context_length"),
                ]
            )
        return TablePreview({"index": list(range(len(rows))), "columns": columns, "data": rows})

"""The file of a fine-tuned embedder's tensors (tuning.embedder_tuning writes them, TorchE5Embedder
puts them over the base model): an .npz by parameter name."""
from __future__ import annotations

import numpy as np


def save_weights(path, weights: dict[str, np.ndarray]) -> None:
    """Tuned tensors by parameter name as an .npz at exactly `path`."""
    with open(path, "wb") as fh:  # a file object: np.savez would append ".npz" to a name
        np.savez(fh, **weights)


def load_weights(path) -> dict[str, np.ndarray]:
    with np.load(path) as saved:
        return {name: saved[name] for name in saved.files}

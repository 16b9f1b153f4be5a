"""FAISS inner-product index over L2-normalised vectors (inner product = cosine), chosen by size:
exact `IndexFlatIP` up to `exact_max` vectors, HNSW (default) or IVF beyond."""
from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from domainforge.retrieval.settings import IndexSettings


def build_index(vectors: np.ndarray, settings: IndexSettings | None = None) -> faiss.Index:
    settings = settings or IndexSettings()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    kind = settings.resolved_kind(n)
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = settings.hnsw_ef_construction
    else:
        nlist = settings.ivf_nlist or max(1, int(4 * np.sqrt(n)))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        # Direct map: hybrid search reads back the vectors of BM25-only candidates.
        index.make_direct_map()
    index.add(vectors)
    configure_search(index, settings)
    return index


def configure_search(index: faiss.Index, settings: IndexSettings) -> None:
    """Search-time knobs (not all of them survive a save/load round trip)."""
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = settings.hnsw_ef_search
    elif isinstance(index, faiss.IndexIVF):
        index.nprobe = settings.ivf_nprobe


def save_index(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load_index(path: Path, kind: str, settings: IndexSettings, mmap: bool = True) -> faiss.Index:
    """Memory-mapped when asked: flat storage (also HNSW's) is mapped zero-copy (IO_FLAG_MMAP_IFC),
    IVF inverted lists through IO_FLAG_MMAP (the two flags cannot be combined); pages are read
    from disk as searches touch them."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"FAISS index {path} not found")
    flags = 0
    if mmap:
        flags = faiss.IO_FLAG_MMAP if kind == "ivf" else faiss.IO_FLAG_MMAP_IFC
    index = faiss.read_index(str(path), flags)
    configure_search(index, settings)
    return index


def vectors_of(index: faiss.Index, ids: np.ndarray) -> np.ndarray:
    """The stored vectors for row ids (flat, HNSW and IVF-with-direct-map indexes)."""
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) == 0:
        return np.empty((0, index.d), dtype=np.float32)
    return index.reconstruct_batch(ids)

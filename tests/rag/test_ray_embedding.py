"""Chunk embedding as Ray Data tasks (`curation_runtime.engine: ray`) gives the vectors the
in-process embedding gives, on a real two-node cluster on loopback."""
import numpy as np
import pytest
from ray_cluster import local_ray_cluster

from domainforge.curation.engine import CurationRuntime
from domainforge.retrieval.build import embed_passages
from domainforge.retrieval.embedders import load_embedder
from domainforge.retrieval.settings import rag_settings

pytestmark = pytest.mark.slow


def test_ray_tasks_embed_chunks_as_this_process_does(small_corpus):
    texts, _ = small_corpus
    embedder = load_embedder(rag_settings(None).embedder)  # the shipped default embedder
    expected = embed_passages(embedder, texts, block=8)
    with local_ray_cluster(nodes=2, cpus_per_node=1):
        got = embed_passages(embedder, texts, block=8, runtime=CurationRuntime(engine="ray", address=None, workers=2, shard_rows=8))
    assert got.shape == expected.shape and len(texts) > 16  # several blocks, on both nodes
    np.testing.assert_allclose(got, expected, atol=1e-5)

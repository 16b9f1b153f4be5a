"""Exact and MinHash near-duplicate removal.

    from domainforge.curation.dedup import near_duplicate_clusters
"""
from domainforge.curation.dedup.minhash import NearDuplicateIndex, near_duplicate_clusters

__all__ = ["NearDuplicateIndex", "near_duplicate_clusters"]

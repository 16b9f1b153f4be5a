"""The retrieval index of a domain build: curated, PII-scrubbed domain documents and domain
Q&A answers -> chunks -> FAISS + BM25 retriever (`rag_index`), which `domainforge ask` loads; the
embedder is first fine-tuned on the domain chats' question -> answer pairs (`rag_embedder`).

Domain-agnostic: the registry instantiates it under the domain's namespace, so
`documents_curated` becomes `medical.documents_curated` and `params:rag` `params:medical.rag`.
"""
from kedro.pipeline import Pipeline, node, pipeline

from domainforge.rag import corpus


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                corpus.collect_passages,
                ["documents_curated", "chats_curated", "params:rag"],
                ["rag_passages", "drops_rag"],
                name="collect_rag_passages",
            ),
            node(corpus.chunk_passages, ["rag_passages", "params:rag"], "rag_chunks", name="chunk_rag_passages"),
            node(corpus.tune_embedder, ["chats_curated", "params:rag"], "rag_embedder", name="tune_rag_embedder"),
            node(
                corpus.build_retriever,
                ["rag_chunks", "chats_curated", "rag_embedder", "params:rag"],
                "rag_index",
                name="build_rag_index",
            ),
        ],
        tags=["rag"],
    )

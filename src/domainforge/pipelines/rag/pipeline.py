"""The retrieval index of a domain build: curated, PII-scrubbed domain documents and domain Q&A
answers -> chunks -> vectors -> FAISS + BM25, searched by the retriever that `rag_index` saves and
`domainforge ask` loads. The embedder is first fine-tuned on the domain chats' question -> answer
pairs (`rag_embedder`); a query adapter is learned from the same pairs, and the answer threshold
is calibrated on the pairs the embedder did not train on (`rag_embedder_held_out`).

Domain-agnostic: the registry instantiates it under the domain's namespace, so
`documents_curated` becomes `medical.documents_curated` and `params:rag` `params:medical.rag`.
"""
from kedro.pipeline import Pipeline, node, pipeline

from domainforge.pipelines.rag import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                nodes.collect_passages,
                ["documents_curated", "chats_curated", "params:rag"],
                ["rag_passages", "drops_rag"],
                name="collect_rag_passages",
            ),
            node(nodes.chunk_passages, ["rag_passages", "params:rag"], "rag_chunks", name="chunk_rag_passages"),
            node(nodes.question_answer_pairs, ["chats_curated", "params:rag"], "rag_qa_pairs", name="pair_rag_questions"),
            node(
                nodes.tune_embedder,
                ["rag_qa_pairs", "params:rag"],
                ["rag_embedder", "rag_embedder_held_out"],
                name="tune_rag_embedder",
            ),
            node(nodes.load_embedder, ["rag_embedder", "params:rag"], "rag_embedder_model", name="load_rag_embedder"),
            node(
                nodes.embed_chunks, ["rag_chunks", "rag_embedder_model", "params:curation_runtime"], "rag_chunk_vectors",
                name="embed_rag_chunks",
            ),
            node(
                nodes.index_chunks,
                ["rag_chunks", "rag_chunk_vectors", "params:rag"],
                ["rag_vector_index", "rag_lexical_index"],
                name="index_rag_chunks",
            ),
            node(
                nodes.fit_query_adapter,
                ["rag_qa_pairs", "rag_chunks", "rag_chunk_vectors", "rag_embedder_model", "params:rag"],
                "rag_query_adapter",
                name="fit_rag_query_adapter",
            ),
            node(
                nodes.assemble_retriever,
                ["rag_chunks", "rag_vector_index", "rag_lexical_index", "rag_query_adapter", "rag_embedder_model", "params:rag"],
                "rag_retriever",
                name="assemble_rag_retriever",
            ),
            node(
                nodes.calibrate_answer_threshold,
                ["rag_retriever", "rag_embedder_held_out", "params:rag"],
                "rag_answer_threshold",
                name="calibrate_rag_answer_threshold",
            ),
            node(nodes.with_answer_threshold, ["rag_retriever", "rag_answer_threshold"], "rag_index", name="build_rag_index"),
        ],
        tags=["rag"],
    )

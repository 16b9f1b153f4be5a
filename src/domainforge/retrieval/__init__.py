"""Retrieval-augmented answering over a domain corpus, usable without Kedro.

    from domainforge.retrieval import Retriever, index_texts
    retriever = index_texts(texts, ids)     # chunk, embed (multilingual-e5-small), FAISS + BM25
    retriever.save("index/"); retriever = Retriever.load("index/")
    for hit in retriever.search("发烧怎么办", k=5):
        print(hit.source_id, hit.score, hit.text)

Serving lives here, the embedders in `embedders/`, the trainings on question -> answer pairs in
`tuning/`. Names are imported on first use, so `import domainforge.cli` (which Kedro does for
every command) does not load FAISS, BM25 and pandas.
"""
from domainforge.lazy_exports import lazy_getattr

_EXPORTS = {
    "Retriever": "domainforge.retrieval.retriever",
    "Hit": "domainforge.retrieval.retriever",
    "index_texts": "domainforge.retrieval.build",
    "build_retriever": "domainforge.retrieval.build",
    "RetrievalSettings": "domainforge.retrieval.settings",
    "Chunk": "domainforge.retrieval.chunking",
    "chunk_text": "domainforge.retrieval.chunking",
    "chunk_texts": "domainforge.retrieval.chunking",
    "Answer": "domainforge.retrieval.answer",
    "AnswerGenerator": "domainforge.retrieval.answer",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)

"""Retrieval-augmented answering over a domain corpus, usable without Kedro.

    from domainforge.rag import Retriever
    retriever = Retriever.from_texts(texts, ids)     # chunk, embed (multilingual-e5-small), FAISS + BM25
    retriever.save("index/"); retriever = Retriever.load("index/")
    for hit in retriever.search("发烧怎么办", k=5):
        print(hit.source_id, hit.score, hit.text)

Names are imported on first use, so `import domainforge.cli` (which Kedro does for every
command) does not load FAISS, BM25 and pandas.
"""
from importlib import import_module

_EXPORTS = {
    "Retriever": "domainforge.rag.retriever",
    "Hit": "domainforge.rag.retriever",
    "RetrievalSettings": "domainforge.rag.settings",
    "Chunk": "domainforge.rag.chunking",
    "chunk_text": "domainforge.rag.chunking",
    "chunk_texts": "domainforge.rag.chunking",
    "Answer": "domainforge.rag.answer",
    "AnswerGenerator": "domainforge.rag.answer",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'domainforge.rag' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)

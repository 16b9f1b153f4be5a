"""Fixtures for the serving tests: a tiny random Llama (untied output layer) with a tiny byte-level BPE tokenizer (trained
here in a second; ChatML template, as tests/training/conftest.py builds it), a small saved
retrieval index with two planted answers (as tests/rag/conftest.py plants them), and real uvicorn
servers on 127.0.0.1 in a thread, each on a free port taken by binding port 0."""
from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from planted import PLANTED, PLANTED_QUESTIONS
from tiny_training import train_chat_tokenizer

DISTRACTORS = {
    "fever#1": "发热时应多喝水，注意休息，体温超过38.5度可以服用退烧药。",
    "bp#1": "高血压患者应低盐饮食，每天食盐不超过五克，并坚持适量运动。",
    "anemia#1": "Anemia is a condition in which the blood lacks enough healthy red blood cells.",
    "glaucoma#1": "Glaucoma damages the optic nerve and can lead to loss of vision if untreated.",
}


def make_tokenizer():
    texts = [*PLANTED.values(), *PLANTED_QUESTIONS.values(), *DISTRACTORS.values(), "user assistant system 参考资料 问题 References Question"]
    return train_chat_tokenizer(texts, 400)


def save_tiny_chat_model(path: Path, tokenizer, seed: int = 2) -> Path:
    """As tests/tiny_llama.py, but with an output layer of its own: with tied random embeddings
    greedy decoding only repeats the prompt's last token, and the tests need varied text."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
        tie_word_embeddings=False, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return save_tiny_chat_model(tmp_path_factory.mktemp("serving_model") / "tiny-chat", make_tokenizer())


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory) -> Path:
    from domainforge.retrieval import index_texts

    texts = {**DISTRACTORS, **PLANTED}
    folder = tmp_path_factory.mktemp("serving_index") / "rag_index"
    index_texts(list(texts.values()), list(texts)).save(folder)
    return folder


@contextmanager
def running(app, timeout: float = 30.0):
    """A real uvicorn server for `app` on 127.0.0.1 (free port) in a thread; yields the /v1 URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()


@pytest.fixture(scope="module")
def engine(tiny_model_dir):
    from domainforge.serving import ChatEngine

    return ChatEngine.load(tiny_model_dir, device="cpu", default_max_tokens=16)


@pytest.fixture(scope="module")
def rag_engine(engine, index_dir):
    """The same loaded model, grounded in the index (a threshold the planted answers clear)."""
    from domainforge.retrieval import Retriever
    from domainforge.serving import ChatEngine

    return ChatEngine(
        engine.model, engine.tokenizer, retriever=Retriever.load(index_dir), name=engine.name, k=3,
        min_similarity=0.8, default_max_tokens=16,
    )


@pytest.fixture(scope="module")
def base_url(engine):
    from domainforge.serving import create_app

    with running(create_app(engine)) as url:
        yield url


@pytest.fixture(scope="module")
def rag_url(rag_engine):
    from domainforge.serving import create_app

    with running(create_app(rag_engine)) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url):
    import openai

    with openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def rag_client(rag_url):
    import openai

    with openai.OpenAI(base_url=rag_url, api_key="unused", max_retries=0, timeout=60) as c:
        yield c

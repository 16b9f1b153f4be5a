"""Fine-tuning the e5 embedder on real Chinese question -> answer pairs, and serving the result:
saved beside the index, loaded back, and through the pipeline's nodes and catalog dataset."""
import numpy as np
import pandas as pd
import pytest

from domainforge.datasets.tuned_embedder import TunedEmbedderDataset
from domainforge.rag import Retriever, corpus
from domainforge.rag.e5_torch import apply_weights, embed, load_e5
from domainforge.rag.embedder_tuning import TunedEmbedder, TuningSettings, split_pairs, tune_embedder
from domainforge.rag.embedders import TorchE5Embedder

SMALL = {"min_pairs": 10, "batch_size": 16, "max_tokens": 48, "validation_fraction": 0.2, "threads": 2}
BIAS = "encoder.layer.11.output.LayerNorm.bias"


@pytest.fixture(scope="module")
def pairs(shared_data):
    frame = pd.read_csv(
        shared_data / "chinese_medical_dialogue/internal_medicine_sample_gb18030.csv", encoding="gb18030", nrows=64
    ).dropna(subset=["ask", "answer"])
    return [str(q) for q in frame["ask"]], [str(a) for a in frame["answer"]], [f"d#{i}" for i in frame.index]


@pytest.fixture(scope="module")
def shifted():
    """A stand-in for tuned weights: one real tensor of the model, changed."""
    _, bert = load_e5()
    return {BIAS: bert.state_dict()[BIAS].numpy() + 0.5}


def test_training_lowers_the_loss_and_reports_every_pair(pairs):
    questions, answers, ids = pairs
    model = load_e5()
    weights, report = tune_embedder(lambda: model, questions, answers, ids, TuningSettings(**SMALL, epochs=2, learning_rate=1e-4))
    assert report["training_pairs"] + report["validation_pairs"] == len(questions)
    first, second = report["history"]
    assert second["loss"] < first["loss"]
    assert report["tuned"] == (weights is not None) == (report["validation_recall@5_tuned"] > report["validation_recall@5_untuned"])
    assert report["trained_values"] < 30_000_000  # the 96M-value word embeddings stay frozen
    if weights is not None:
        assert "embeddings.word_embeddings.weight" not in weights
        assert np.abs(weights[BIAS] - load_e5()[1].state_dict()[BIAS].numpy()).max() > 0


def test_a_tuning_that_does_not_help_leaves_the_model_untouched(pairs):
    questions, answers, ids = pairs
    model = load_e5()
    before = embed(questions[:4], True, model)
    weights, report = tune_embedder(lambda: model, questions, answers, ids, TuningSettings(**SMALL, learning_rate=0.0))
    assert weights is None and not report["tuned"] and "no epoch beat" in report["reason"]
    assert np.array_equal(embed(questions[:4], True, model), before)


def test_too_few_pairs_or_disabled_skip_without_loading_anything():
    def no_model():
        pytest.fail("a skipped tuning loaded the model")

    weights, report = tune_embedder(no_model, ["q"] * 5, ["a"] * 5, [f"a{i}" for i in range(5)], TuningSettings())
    assert weights is None and "min_pairs" in report["reason"]
    weights, report = tune_embedder(no_model, ["q"] * 5, ["a"] * 5, list("abcde"), TuningSettings(enabled=False))
    assert weights is None and report["reason"] == "disabled"


def test_validation_split_keeps_each_answer_on_one_side():
    ids = [f"a{i % 30}" for i in range(100)]
    train, val = split_pairs(ids, TuningSettings(validation_fraction=0.2))
    assert sorted(train + val) == list(range(100))
    assert not {ids[i] for i in train} & {ids[i] for i in val}
    assert split_pairs(ids, TuningSettings(validation_fraction=0.2)) == (train, val)


def test_wrong_weights_are_refused():
    _, bert = load_e5()
    with pytest.raises(ValueError, match="does not fit"):
        apply_weights(bert, {BIAS: np.zeros(3, np.float32)})
    with pytest.raises(ValueError, match="no such parameter"):
        apply_weights(bert, {"encoder.layer.99.bias": np.zeros(3, np.float32)})


def test_tuned_embedder_is_saved_with_the_index_and_loaded_back(tmp_path, small_corpus, shifted):
    texts, ids = small_corpus
    tuned = TorchE5Embedder(tuned_weights=shifted)
    untuned = TorchE5Embedder()
    question = "青蒿琥酯片剂饭前还是饭后吃？"
    assert np.dot(tuned.embed_queries([question])[0], untuned.embed_queries([question])[0]) < 0.9999
    retriever = Retriever.from_texts(texts, ids, embedder=tuned)
    retriever.save(tmp_path / "index")
    moved = tmp_path / "moved"
    (tmp_path / "index").rename(moved)  # the weights file is found relative to the folder
    loaded = Retriever.load(moved)
    assert loaded.embedder.spec["weights"] == str(moved / "embedder_weights.npz")
    assert np.allclose(loaded.embedder.embed_queries([question]), tuned.embed_queries([question]), atol=1e-6)
    assert [h.chunk_id for h in loaded.search(question, 5)] == [h.chunk_id for h in retriever.search(question, 5)]
    # re-saved with an untuned embedder, the old weights must not linger
    plain = Retriever.load(moved, mmap=False, embedder=untuned)  # not memory-mapped: it overwrites its own files
    plain.save(moved)
    assert not (moved / "embedder_weights.npz").exists()
    assert Retriever.load(moved).embedder.spec["weights"] is None


def test_tuning_node_and_dataset_round_trip(tmp_path, pairs, shifted):
    questions, answers, _ = pairs
    chats = pd.DataFrame(
        [
            {"id": f"c{i}", "corpus": "domain", "messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
            for i, (q, a) in enumerate(zip(questions, answers))
        ]
    )
    params = {"sources": {"corpus": "domain"}, "embedder": {"kind": "e5_torch", "path": None}, "embedder_tuning": {"min_pairs": 10_000}}
    skipped = corpus.tune_embedder(chats, params)
    assert skipped.weights is None and skipped.report["pairs"] == len(questions)
    st = corpus.tune_embedder(chats, {**params, "embedder": {"kind": "sentence_transformers"}, "embedder_tuning": {"min_pairs": 1}})
    assert "not fine-tunable" in st.report["reason"]

    dataset = TunedEmbedderDataset(str(tmp_path / "rag_embedder"))
    dataset.save(TunedEmbedder(shifted, {"pairs": 3}))
    loaded = dataset.load()
    assert loaded.report["tuned"] and np.array_equal(loaded.weights[BIAS], shifted[BIAS])
    dataset.save(skipped)
    assert dataset.load().weights is None and not (tmp_path / "rag_embedder" / "weights.npz").exists()

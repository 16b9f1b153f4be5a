"""Fine-tuning the e5 embedder on real Chinese question -> answer pairs, and serving the result:
saved beside the index, loaded back, and through the pipeline's nodes and catalog dataset."""
import numpy as np
import pandas as pd
import pytest
import yaml

from domainforge.datasets.rag_index import RagIndexDataset
from domainforge.datasets.tuned_embedder import TunedEmbedderDataset
from domainforge.pipelines.rag import nodes
from domainforge.retrieval import Retriever, index_texts
from domainforge.retrieval.embedders import TorchE5Embedder
from domainforge.retrieval.embedders.e5_torch import apply_weights, embed, load_e5
from domainforge.retrieval.tuning.embedder_tuning import TunedEmbedder, TuningSettings, split_pairs, tune_embedder

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
    retriever = index_texts(texts, ids, embedder=tuned)
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


def _chats(questions, answers) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"id": f"c{i}", "source": "sft", "corpus": "domain",
             "messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
            for i, (q, a) in enumerate(zip(questions, answers))
        ]
    )


def test_tuning_node_and_dataset_round_trip(tmp_path, pairs, shifted):
    questions, answers, _ = pairs
    params = {"sources": {"corpus": "domain"}, "embedder": {"kind": "e5_torch", "path": None}, "embedder_tuning": {"min_pairs": 10_000}}
    qa = nodes.question_answer_pairs(_chats(questions, answers), params)
    assert qa["question"].tolist() == questions and qa["answer_id"].tolist() == [f"c{i}/1" for i in range(len(questions))]
    skipped, held_out = nodes.tune_embedder(qa, params)
    assert skipped.weights is None and skipped.report["pairs"] == len(questions)
    assert held_out.equals(qa)  # the untuned model trained on none of them
    st, _ = nodes.tune_embedder(qa, {**params, "embedder": {"kind": "sentence_transformers"}, "embedder_tuning": {"min_pairs": 1}})
    assert "not fine-tunable" in st.report["reason"]

    dataset = TunedEmbedderDataset(str(tmp_path / "rag_embedder"))
    dataset.save(TunedEmbedder(shifted, {"pairs": 3}))
    loaded = dataset.load()
    assert loaded.report["tuned"] and np.array_equal(loaded.weights[BIAS], shifted[BIAS])
    dataset.save(skipped)
    assert dataset.load().weights is None and not (tmp_path / "rag_embedder" / "weights.npz").exists()


def test_the_index_nodes_serve_the_tuned_embedder_and_calibrate_on_its_held_out_pairs(tmp_path, pairs, shifted):
    """The nodes after the tuning, on a kept tuning (stood in for by `shifted`): chunks are
    embedded with the tuned model, saved beside the index, and only the held-out questions set
    the answer threshold."""
    questions, answers, _ = pairs
    with open("conf/base/parameters_rag.yml", encoding="utf-8") as fh:
        params = yaml.safe_load(fh)["rag"]  # the rest from RagSettings' defaults, as in the pipeline
    params = {**params, "answer": {"calibration": {"min_questions": 3}}}
    chats = _chats(questions, answers)
    qa = nodes.question_answer_pairs(chats, params)
    held_out = qa.iloc[:7]
    passages, _ = nodes.collect_passages(pd.DataFrame(columns=["id", "source", "corpus", "text"]), chats, params)
    chunks = nodes.chunk_passages(passages, params)
    embedder = nodes.load_embedder(TunedEmbedder(shifted, {"pairs": len(qa)}), params)
    assert embedder.tuned_weights is shifted
    vectors = nodes.embed_chunks(chunks, embedder, {"engine": "local", "address": None, "workers": 1, "shard_rows": 5000})
    assert vectors["chunk_id"].tolist() == chunks["chunk_id"].tolist()
    faiss_index, lexical = nodes.index_chunks(chunks, vectors, params)
    adapter = nodes.fit_query_adapter(qa, chunks, vectors, embedder, params)
    assert adapter.matrix is None and adapter.report["pairs"] == len(qa)  # under min_pairs
    retriever = nodes.assemble_retriever(chunks, faiss_index, lexical, adapter, embedder, params)
    threshold = nodes.calibrate_answer_threshold(retriever, held_out, params)
    assert threshold["questions"] == len(held_out) and threshold["min_similarity"] is not None
    dataset = RagIndexDataset(str(tmp_path / "rag_index"))
    dataset.save(nodes.with_answer_threshold(retriever, threshold))
    loaded = dataset.load()
    assert (tmp_path / "rag_index" / "embedder_weights.npz").is_file() and loaded.calibration == threshold
    question = held_out["question"].iloc[0]
    assert [h.chunk_id for h in loaded.search(question, 5)] == [h.chunk_id for h in retriever.search(question, 5)]
    with pytest.raises(ValueError, match="do not match"):
        nodes.index_chunks(chunks, vectors.iloc[::-1].reset_index(drop=True), params)

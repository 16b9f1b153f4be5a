"""kedro-viz previews of the custom datasets: each returns the type its annotation names
(kedro-viz picks the renderer from it) with the content its panel shows."""

from __future__ import annotations

import inspect
import json

import pytest
from tiny_training import make_tokenizer

from domainforge.datasets import RawFilesDataset, TokenizerDataset
from domainforge.datasets.fasttext_model import FastTextModelDataset


def _preview_type(dataset) -> str:
    """What kedro-viz reads: the name of preview()'s return annotation."""
    annotation = inspect.signature(dataset.preview).return_annotation
    return getattr(annotation, "__name__", str(annotation))


def test_raw_files_preview_lists_files_with_size_encoding_and_first_line(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "notes.txt").write_text("高血压患者应低盐饮食。\n第二行", encoding="utf-8")
    (tmp_path / "sub" / "table.csv").write_bytes("问题,回答\n发烧怎么办,多喝水\n".encode("gb18030"))
    (tmp_path / ".hidden").write_text("never listed", encoding="utf-8")
    dataset = RawFilesDataset(str(tmp_path))
    assert _preview_type(dataset) == "TablePreview"
    preview = dataset.preview()
    assert preview["columns"] == ["file", "bytes", "encoding", "first_line"]
    rows = {row[0]: row for row in preview["data"]}
    assert set(rows) == {"notes.txt", "sub/table.csv"}
    assert rows["notes.txt"][1] == (tmp_path / "notes.txt").stat().st_size
    assert rows["notes.txt"][2:] == ["utf_8", "高血压患者应低盐饮食。"]
    assert rows["sub/table.csv"][2] == "gb18030" and rows["sub/table.csv"][3] == "问题,回答"
    assert len(dataset.preview(nrows=1)["data"]) == 1
    json.dumps(preview)  # what kedro-viz sends


def test_tokenizer_preview_shows_vocabulary_special_tokens_and_a_sample(tmp_path):
    make_tokenizer().save_pretrained(tmp_path)
    dataset = TokenizerDataset(path=str(tmp_path))
    assert _preview_type(dataset) == "JSONPreview"
    preview = json.loads(dataset.preview(sample="发热怎么办？"))
    assert preview["source"] == {"path": str(tmp_path)}
    assert preview["vocab_size"] == len(make_tokenizer())
    assert preview["special_tokens"]["eos_token"] == "<|im_end|>"
    assert preview["chat_template"] is True
    assert preview["sample"]["tokens"] == len(preview["sample"]["pieces"]) > 0


def test_fasttext_preview_shows_labels_vocabulary_and_training_arguments(tmp_path):
    import fasttext

    train = tmp_path / "train.txt"
    lines = ["__label__domain 患者 血压 升高", "__label__general 江湖 英雄 刀光"] * 20 + ["__label__domain 发热 补液"]
    train.write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = fasttext.train_supervised(str(train), dim=8, epoch=3, wordNgrams=2, minCount=1, thread=1, seed=0)
    dataset = FastTextModelDataset(str(tmp_path / "model.bin"))
    dataset.save(model)
    assert _preview_type(dataset) == "JSONPreview"
    preview = json.loads(dataset.preview())
    assert preview["labels"] == {"__label__domain": 21, "__label__general": 20}
    assert preview["dimension"] == 8 and preview["words"] == len(model.words)
    assert preview["arguments"]["epoch"] == 3 and preview["arguments"]["wordNgrams"] == 2
    assert preview["loss"] == "softmax" and preview["quantized"] is False


def test_model_previews_name_their_types():
    from domainforge.datasets.gguf_model import GGUFDataset
    from domainforge.datasets.hf_model import HFModelCardDataset, HFModelDataset

    assert _preview_type(HFModelDataset("m")) == "JSONPreview"
    assert _preview_type(HFModelCardDataset("m")) == "HTMLPreview"
    assert _preview_type(GGUFDataset("m")) == "TablePreview"


def test_missing_raw_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        RawFilesDataset(str(tmp_path / "absent")).preview()


def test_rag_index_preview_shows_counts_embedder_index_sizes_and_first_chunks(tmp_path):
    """An index as the rag pipeline saves it (query adapter report, calibrated threshold), previewed
    from its files."""
    from domainforge.datasets.rag_index import ADAPTER_SUMMARY, RagIndexDataset
    from domainforge.retrieval import index_texts, vector_index
    from domainforge.retrieval.answer_threshold import calibrate_min_similarity
    from domainforge.retrieval.tuning.query_adapter import AdapterSettings, fit_on_chunks

    texts = ["高血压患者应低盐饮食，每日食盐不超过5克。", "糖尿病患者应定期监测空腹血糖。",
             "Children with a fever above 38.5 C for three days should see a doctor.",
             "Wash hands with soap for twenty seconds to prevent infection."]
    ids = ["htn", "dm", "fever", "hands"]
    questions = ["高血压吃什么？", "血糖多久测一次？", "My child has a fever, what now?", "How long to wash hands?"]
    retriever = index_texts(texts, ids)
    vectors = vector_index.vectors_of(retriever.index, range(len(retriever.chunks)))
    adapter = fit_on_chunks(retriever.embedder, retriever.chunks["source_id"].tolist(), vectors, questions, ids,
                            AdapterSettings(min_pairs=2, max_epochs=2, validation_fraction=0.5))
    calibration = calibrate_min_similarity(retriever, questions, min_questions=2)
    retriever = retriever.replace(query_adapter=adapter.matrix, query_adapter_report=adapter.report,
                                  calibration=calibration)
    dataset = RagIndexDataset(str(tmp_path / "rag_index"))
    dataset.save(retriever)

    assert _preview_type(dataset) == "JSONPreview"
    preview = json.loads(dataset.preview(nrows=2, chars=8))
    assert preview["chunks"] == len(retriever.chunks) == 4 and preview["sources"] == 4
    assert preview["embedder"]["kind"] == retriever.embedder.spec["kind"] and preview["dim"] == retriever.index.d
    assert preview["faiss"]["kind"] == "flat" and preview["faiss"]["mib"] > 0
    assert preview["bm25"]["documents"] == 4 and preview["bm25"]["vocabulary"] == len(retriever.lexical.doc_freq)
    assert preview["retrieval"]["mode"] == retriever.settings.mode
    assert preview["query_adapter"]["pairs"] == 4 and set(preview["query_adapter"]) <= set(ADAPTER_SUMMARY)
    assert "history" in adapter.report  # trained, and the preview leaves the long parts out
    assert preview["answer_threshold"] == calibration and calibration["min_similarity"] is not None
    assert {"config.json", "chunks.parquet", "vectors.faiss", "bm25"} <= set(preview["files_mib"])
    assert preview["first_chunks"] == [
        {"chunk_id": c, "source_id": s, "text": t[:8]}
        for c, s, t in retriever.chunks[["chunk_id", "source_id", "text"]].head(2).itertuples(index=False)
    ]
    with pytest.raises(FileNotFoundError, match="not a saved retriever"):
        RagIndexDataset(str(tmp_path / "absent")).preview()


def test_tuned_embedder_preview_shows_the_report_and_the_saved_tensors(tmp_path):
    import numpy as np

    from domainforge.datasets.tuned_embedder import TunedEmbedderDataset
    from domainforge.retrieval.tuning.embedder_tuning import TunedEmbedder, TuningSettings, tune_embedder

    def never_loaded():
        raise AssertionError("a skipped tuning loads no model")

    weights, skipped = tune_embedder(never_loaded, ["问"] * 3, ["答"] * 3, ["a", "b", "c"], TuningSettings())
    dataset = TunedEmbedderDataset(str(tmp_path / "rag_embedder"))
    dataset.save(TunedEmbedder(weights, skipped))
    assert _preview_type(dataset) == "JSONPreview"
    preview = json.loads(dataset.preview())
    assert preview["tuned"] is False and preview["weights"] is None
    assert preview["reason"] == "3 pairs < min_pairs 1000" and preview["pairs"] == 3

    tensors = {"encoder.layer.11.output.LayerNorm.bias": np.zeros(384, np.float32),
               "encoder.layer.11.output.dense.weight": np.zeros((384, 1536), np.float32)}
    dataset.save(TunedEmbedder(tensors, {"pairs": 3, "validation_recall@5_tuned": 0.5, "best_epoch": 1}))
    preview = json.loads(dataset.preview())
    assert preview["tuned"] is True and preview["best_epoch"] == 1
    assert preview["weights"]["tensors"] == 2 and preview["weights"]["mib"] == pytest.approx(2.25, abs=0.01)
    with pytest.raises(FileNotFoundError, match="no report.json"):
        TunedEmbedderDataset(str(tmp_path / "absent")).preview()

"""fastText quality classifier: trains on a small real set, filters only the configured corpora,
round-trips through its Kedro dataset."""
import csv
import json.decoder
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.io import DatasetError

from domainforge.curation.quality.classifier import (
    _cached_jieba_words,
    classifier_settings,
    filter_by_classifier,
    keep_probability,
    nonprose_examples,
    tokenise_documents,
    tokens,
    train_quality_classifier,
    training_examples,
)
from domainforge.datasets import RawFilesDataset
from domainforge.datasets.fasttext_model import FastTextModelDataset

# conf/base's settings, with the defaults it leaves out (ClassifierSettings).
PARAMS = asdict(classifier_settings(
    yaml.safe_load((Path(__file__).parents[2] / "conf/base/parameters_quality_classifier.yml").read_text())["quality_classifier"]
))
NONPROSE = RawFilesDataset(str(Path(__file__).parents[2] / "data/01_raw/nonprose")).load()


def table(texts, corpus, lang, source):
    return pd.DataFrame(
        {
            "id": [f"{source}#{i}" for i in range(len(texts))],
            "source": source,
            "corpus": corpus,
            "text": texts,
            "lang": lang,
        }
    )


@pytest.fixture(scope="module")
def small_set(shared_data) -> pd.DataFrame:
    pretrain = shared_data / "medicalgpt/pretrain"
    textbook = [line for line in (pretrain / "fever.txt").read_text(encoding="utf-8").splitlines() if len(line) > 60][:80]
    with open(shared_data / "chinese_medical_dialogue/internal_medicine_sample_gb18030.csv", encoding="gb18030") as f:
        dialogue = ["\n".join((r["ask"], r["answer"])) for _, r in zip(range(80), csv.DictReader(f))]
    novel = [line for line in (pretrain / "tianlongbabu.txt").read_text(encoding="utf-8").splitlines() if len(line) > 60]
    history = (pretrain / "en_article_first400.txt").read_text(encoding="utf-8").split("\n\n")
    return pd.concat(
        [
            table(textbook, "domain", "zh", "textbook"),
            table(dialogue, "domain", "zh", "dialogue"),
            table(novel[:150], "general", "zh", "novel"),
            table([p for p in history if len(p) > 200], "general", "en", "history"),
        ],
        ignore_index=True,
    )


@pytest.fixture(scope="module")
def trained(small_set):
    return train_quality_classifier(small_set, NONPROSE, PARAMS)


def test_held_out_accuracy_on_a_small_real_set(trained):
    _, metrics = trained
    held_out = metrics["held_out"]
    assert held_out is not None and held_out["examples"] >= 50
    assert held_out["accuracy"] >= 0.9
    assert held_out["keep_recall"] >= 0.9  # real medical text is not what it throws away
    assert metrics["examples"]["synthetic_junk"] == round(PARAMS["synthetic_negatives_per_positive"] * 160)


def test_shipped_non_prose_files_are_negatives_in_overlapping_windows(trained):
    _, metrics = trained
    examples = nonprose_examples(NONPROSE, PARAMS["nonprose"])
    assert metrics["examples"]["nonprose"] == len(examples) > len(NONPROSE)
    window, stride = PARAMS["nonprose"]["window_lines"], PARAMS["nonprose"]["stride_lines"]
    assert all(1 <= len(example.split("\n")) <= window for example in examples)
    css = [line for line in NONPROSE["clinic.css"].decode().splitlines() if line.strip()]
    assert nonprose_examples({"clinic.css": NONPROSE["clinic.css"]}, PARAMS["nonprose"]) == [
        "\n".join(css[i : i + window]) for i in range(0, len(css) - window + 1, stride)
    ]


def test_unseen_real_code_scores_low_and_an_unreadable_file_is_named(trained):
    """Windows of a real module the classifier never saw (the standard library's json decoder)."""
    model, _ = trained
    source = {"decoder.py": Path(json.decoder.__file__).read_bytes()}
    code = nonprose_examples(source, PARAMS["nonprose"])
    assert np.median(keep_probability(model, [tokens(text, PARAMS) for text in code])) < PARAMS["threshold"]
    with pytest.raises(ValueError, match="bad.bin is not UTF-8"):
        nonprose_examples({"bad.bin": b"\xff\xfe\x00\x9c"}, PARAMS["nonprose"])


def test_filter_judges_only_the_configured_corpora(trained, small_set):
    model, _ = trained
    junk = table(["首页 | 疾病百科 | 找医生 | 澳门博彩 真人荷官 六合彩 注册送彩金 ★★★★★"] * 2, "domain", "zh", "junk")
    documents = pd.concat([small_set, junk], ignore_index=True)
    kept, drops = filter_by_classifier(documents, model, PARAMS)
    assert sorted(kept["id"].tolist() + drops["id"].tolist()) == sorted(documents["id"])
    assert set(junk["id"]) <= set(drops["id"])
    assert (drops["status"] == "dropped:classifier:below_threshold").all()
    assert (kept["corpus"] == "general").sum() == (small_set["corpus"] == "general").sum()  # general never judged
    assert kept["quality_score"].between(0, 1).all()
    general = kept[kept["corpus"] == "general"]["quality_score"].mean()
    domain = kept[kept["corpus"] == "domain"]["quality_score"].mean()
    assert domain > 0.8 > 0.2 > general


def test_filter_output_does_not_depend_on_the_token_cache_bound(small_set, shared_data):
    """The filter tokenises again the documents the training just did, plus unseen ones; with
    the cache bound (3 chunks) far below the distinct chunks, entries are evicted all the time,
    and kept ids, scores and drops must still be those of no cache and of the default bound.
    (The old memo, emptied when full and then filled with the new texts only, raised KeyError
    for the documents the training node had left in it.)"""
    pretrain = shared_data / "medicalgpt/pretrain"
    textbook = [line for line in (pretrain / "fever.txt").read_text(encoding="utf-8").splitlines() if len(line) > 60]
    novel = [line for line in (pretrain / "tianlongbabu.txt").read_text(encoding="utf-8").splitlines() if len(line) > 60]
    junk = ["首页 | 疾病百科 | 找医生 | 澳门博彩 真人荷官 六合彩 注册送彩金 ★★★★★", "点击这里 免费领取 加微信 返现 包邮 秒杀"]
    documents = pd.concat(
        [
            small_set,
            table(textbook[80:120], "domain", "zh", "unseen_textbook"),
            table(novel[150:190], "general", "zh", "unseen_novel"),
            table(junk, "domain", "zh", "junk"),
        ],
        ignore_index=True,
    )
    outputs = {}
    for bound in (0, 3, PARAMS["token_cache_chunks"]):
        params = {**PARAMS, "token_cache_chunks": bound}
        model, _ = train_quality_classifier(small_set, NONPROSE, params)
        outputs[bound] = filter_by_classifier(documents, model, params)
    small = _cached_jieba_words(3).cache_info()
    assert small.currsize == 3 and small.misses > 1000  # the bound was crossed over and over
    assert PARAMS["token_cache_chunks"] > small.misses  # the default holds every chunk of this set
    kept, drops = outputs[0]
    assert len(drops) >= len(junk) and set(kept["id"]) | set(drops["id"]) == set(documents["id"])
    for bound in (3, PARAMS["token_cache_chunks"]):
        pd.testing.assert_frame_equal(outputs[bound][0], kept)  # ids, text, quality_score
        pd.testing.assert_frame_equal(outputs[bound][1], drops)


def test_tokens_from_the_tokenise_node_give_the_same_model_and_filter(small_set, trained):
    model, metrics = trained
    document_tokens = tokenise_documents(small_set, PARAMS)
    again, again_metrics = train_quality_classifier(small_set, NONPROSE, PARAMS, document_tokens)
    assert again_metrics == metrics
    for with_tokens, without in zip(
        filter_by_classifier(small_set, again, PARAMS, document_tokens), filter_by_classifier(small_set, model, PARAMS)
    ):
        pd.testing.assert_frame_equal(with_tokens, without)
    with pytest.raises(ValueError, match="token lines for"):
        filter_by_classifier(small_set, model, PARAMS, document_tokens[:-1])


def test_token_cache_bound_is_a_whole_number():
    assert tokens("乙型肝炎", {**PARAMS, "token_cache_chunks": 0}) == tokens("乙型肝炎", PARAMS)
    with pytest.raises(ValueError, match="token_cache_chunks"):
        tokens("乙型肝炎", {**PARAMS, "token_cache_chunks": -1})


def test_training_is_seeded(trained, small_set):
    model, _ = trained
    again, _ = train_quality_classifier(small_set, NONPROSE, PARAMS)
    texts = [tokens(t, PARAMS) for t in small_set["text"][:40]]
    assert np.array_equal(keep_probability(model, texts), keep_probability(again, texts))


def test_tiny_training_set_trains_but_says_it_was_not_evaluated():
    documents = pd.concat(
        [
            table(["急性病毒性肝炎患者应卧床休息，给予清淡饮食。", "高血压患者应低盐饮食，规律服药。"], "domain", "zh", "d"),
            table(["段誉走进大厅，只见众人正在饮酒。", "那少女微微一笑，转身便走。"], "general", "zh", "g"),
        ],
        ignore_index=True,
    )
    model, metrics = train_quality_classifier(documents, NONPROSE, PARAMS)
    assert metrics["held_out"] is None and "not evaluated" in metrics["held_out_skipped"]
    assert len(keep_probability(model, [tokens("发热", PARAMS)])) == 1


def test_missing_class_is_a_clear_error():
    documents = table(["急性病毒性肝炎患者应卧床休息。"], "domain", "zh", "d")
    with pytest.raises(ValueError, match="both classes"):
        train_quality_classifier(documents, {}, {**PARAMS, "synthetic_negatives_per_positive": 0})


def test_chinese_is_segmented_before_fasttext():
    assert tokens("乙型肝炎病毒感染", PARAMS).count(" ") >= 1
    assert tokens("乙型肝炎 HBV", {**PARAMS, "segmenter": "chars"}) == "乙 型 肝 炎 hbv"


def test_chunked_jieba_segmentation_equals_whole_text_segmentation():
    import rjieba

    text = "患者 3.5mg/kg，每日两次。\n\nFever-related  e.g. COVID-19 (SARS-CoV-2) 乙型肝炎HBV阳性\t100%  "
    whole = " ".join(word for word in rjieba.cut(text.lower()) if word.strip())
    assert tokens(text, PARAMS) == whole


def test_model_round_trips_through_the_catalog_dataset(trained, tmp_path, small_set):
    model, _ = trained
    dataset = FastTextModelDataset(filepath=str(tmp_path / "models" / "quality_classifier.bin"))
    assert not dataset.exists()
    dataset.save(model)
    loaded = dataset.load()
    texts = [tokens(t, PARAMS) for t in small_set["text"][:20]]
    assert np.allclose(keep_probability(model, texts), keep_probability(loaded, texts))
    with pytest.raises(DatasetError, match="no fastText model"):
        FastTextModelDataset(filepath=str(tmp_path / "absent.bin")).load()


def test_training_documents_are_a_bounded_sample_chosen_by_id_not_by_order():
    documents = pd.concat(
        [table([f"第{i}段：高血压患者应低盐饮食。" for i in range(30)], "domain", "zh", "d"),
         table([f"第{i}回：段誉走进大厅。" for i in range(30)], "general", "zh", "g")],
        ignore_index=True,
    )
    params = {**PARAMS, "max_documents_per_class": 7, "synthetic_negatives_per_positive": 0}
    examples = training_examples(documents, params)
    assert examples["label"].value_counts().to_dict() == {"__label__keep": 7, "__label__drop": 7}
    shuffled = documents.sample(frac=1, random_state=1).reset_index(drop=True)
    assert set(training_examples(shuffled, params)["text"]) == set(examples["text"])
    assert len(training_examples(documents, {**params, "max_documents_per_class": None})) == 60


def test_the_sample_read_from_a_sharded_table_is_the_one_chosen_from_the_whole_table(tmp_path):
    """training_sample streams the parts and keeps only the best-ranked candidates, yet picks the
    documents (and keeps the order) that sampling the whole table in memory picks."""
    from domainforge.curation.quality.classifier import TOKENS_COLUMN, _sample, _selected, training_sample
    from domainforge.curation.shards import write_frame

    documents = pd.concat(
        [table([f"第{i}段：高血压患者应低盐饮食。" for i in range(90)], "domain", "zh", "d"),
         table([f"Chapter {i}: the hall was quiet." for i in range(70)], "general", "en", "g")],
        ignore_index=True,
    ).sample(frac=1, random_state=3).reset_index(drop=True)
    documents["id"] = [f"doc#{i}" for i in range(len(documents))]
    documents["status"] = ["dropped:quality:x" if i % 11 == 0 else "" for i in range(len(documents))]
    documents[TOKENS_COLUMN] = documents["text"].str.lower()
    params = {**PARAMS, "max_documents_per_class": 13}
    sample = training_sample(write_frame(documents, tmp_path / "docs", rows_per_part=9), params)
    live = documents[documents["status"] == ""]
    positive = _selected(live, params["positive"])
    expected = pd.concat([
        _sample(live[positive], 13, params["seed"]),
        _sample(live[_selected(live, params["negative"]) & ~positive], 13, params["seed"]),
    ]).sort_index()
    assert list(sample["id"]) == list(expected["id"]) and len(sample) == 26
    assert list(sample[TOKENS_COLUMN]) == list(expected[TOKENS_COLUMN])


def test_chinese_sentence_pattern_finds_what_the_plain_one_does():
    """Its lookbehind only keeps long lines without a terminator linear (speed: not timed here)."""
    import random
    import re

    from domainforge.curation.quality.synthetic_junk import _ZH_SENTENCE_RE

    plain = re.compile(r"[^。！？\n]{6,}[。！？]")  # the pattern without the lookbehind
    rng = random.Random(0)
    for _ in range(2000):
        text = "".join(rng.choice("发热咳嗽。！？\n ab，") for _ in range(rng.randint(0, 60)))
        assert _ZH_SENTENCE_RE.findall(text) == plain.findall(text), text
    assert _ZH_SENTENCE_RE.findall("发热咳嗽 fever " * 2000 + "。") == [("发热咳嗽 fever " * 2000).strip("\n") + "。"]


def test_junk_vocabulary_is_every_word_occurrence_of_the_texts_in_order():
    # _Vocabulary reads each text's words in one batch; what it must equal is the plain
    # definition over the joined texts (no word crosses a text's end).
    import re

    from domainforge.curation.quality.synthetic_junk import _HAN_RUN_RE, _Vocabulary

    texts = ["Fever and COUGH are common; fever_x\nAB abc", "", "Übermäßig DOSES naïve kelvin\u212a", "the end"]
    expected = [w.lower() for w in re.findall(r"[A-Za-z]{3,}", "\n".join(texts))]
    assert _Vocabulary("en", texts).words == expected
    zh = ["患者发热三天，伴咳嗽。", "", "头痛a头痛b发", "高血压病人应低盐饮食"]
    assert _Vocabulary("zh", zh).words == [run[:4] for run in _HAN_RUN_RE.findall("\n".join(zh))]

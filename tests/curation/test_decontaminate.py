"""Decontamination: a training record sharing a 13-unit n-gram (words in English, characters in
Chinese) with a benchmark question or option is dropped with the benchmark's name."""
import json
from pathlib import Path

import pandas as pd
import yaml

from domainforge.curation.decontaminate import build_index, decontaminate, decontamination_report, unit_ngrams

CONF = Path(__file__).parents[2] / "conf/base"
EN_Q = "Which of the following drugs is the first choice for treating an acute attack of gout in an elderly patient?"
ZH_Q = "患者男性六十五岁突发右侧第一跖趾关节红肿热痛首选的治疗药物是"
SUITE = [
    {"name": "bench_en", "files": ["en.jsonl"], "format": "mcq_jsonl", "role": "domain"},
    {"name": "bench_zh", "files": ["zh.jsonl"], "format": "mcq_jsonl", "role": "domain"},
]


def _files() -> dict[str, bytes]:
    def line(question):
        return json.dumps({"question": question, "options": {"A": "秋水仙碱", "B": "别嘌醇"}, "answer": "A"}, ensure_ascii=False)

    return {"en.jsonl": (line(EN_Q) + "\n" + line("Short one?")).encode(), "zh.jsonl": line(ZH_Q).encode()}


def _index():
    evaluation = yaml.safe_load((CONF / "parameters_eval.yml").read_text())["evaluation"]
    return build_index(_files(), {"suite": "s", "limits": {}}, {"s": SUITE}, evaluation, {"ngram": 13})


def test_units_are_words_in_latin_script_and_characters_in_cjk():
    assert len(unit_ngrams(["one two three four five six seven eight nine ten eleven twelve thirteen"], 13)[0]) == 1
    assert len(unit_ngrams(["one two three four five six seven eight nine ten eleven twelve"], 13)[0]) == 0
    assert len(unit_ngrams(["一二三四五六七八九十百千万"], 13)[0]) == 1
    # Case, punctuation and spacing do not count.
    a, _ = unit_ngrams([EN_Q], 13)
    b, _ = unit_ngrams([EN_Q.upper().replace(" ", "  ,").replace("?", "!")], 13)
    assert len(a) and set(a) == set(b)


def test_records_overlapping_a_question_are_dropped_with_the_benchmark_name():
    index = _index()
    assert index.report["bench_en"]["questions"] == 2 and index.report["bench_en"]["texts_too_short"] >= 1
    twelve_words = " ".join(EN_Q.split()[:12])
    documents = pd.DataFrame({
        "id": ["d1", "d2", "d3", "d4"], "source": "s", "corpus": "domain",
        "text": [f"Exam prep. {EN_Q.lower()} Answer: colchicine.", f"病例：{ZH_Q[:14]}。", twelve_words, "Short one?"],
    })
    kept, drops = decontaminate(documents, index, {"ngram": 13})
    assert dict(zip(drops["id"], drops["status"])) == {"d1": "dropped:decontam:bench_en", "d2": "dropped:decontam:bench_zh"}
    assert kept["id"].tolist() == ["d3", "d4"]  # 12 shared words are not an overlap; short questions cannot be matched

    chats = pd.DataFrame({"id": ["c1", "c2"], "source": "s", "corpus": "domain", "messages": [
        [{"role": "user", "content": ZH_Q}, {"role": "assistant", "content": "秋水仙碱"}],
        [{"role": "user", "content": "痛风怎么办"}, {"role": "assistant", "content": "多喝水"}],
    ]})
    kept_chats, chat_drops = decontaminate(chats, index, {"ngram": 13})
    assert kept_chats["id"].tolist() == ["c2"] and chat_drops["status"].tolist() == ["dropped:decontam:bench_zh"]

    report = decontamination_report(index, drops_decontam_documents=drops, drops_decontam_chats=chat_drops)
    assert report["dropped"] == {"documents": {"bench_en": 1, "bench_zh": 1}, "chats": {"bench_zh": 1}}

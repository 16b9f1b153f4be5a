"""Ingest on the real public corpora in ../shared/data: encodings and layouts parsed intact."""
import csv
import re

from domainforge.curation.ingest.read import ingest_chats, ingest_documents, ingest_preferences
from domainforge.datasets import RawFilesDataset

CSV_RULES = {"rules": [{"match": "*.csv", "columns": ["title", "ask", "answer"], "prompt_fields": ["ask"], "response_field": "answer"}]}


def test_gb18030_dialogue_csv_rows_and_chinese_intact(shared_data):
    path = shared_data / "chinese_medical_dialogue" / "internal_medicine_sample_gb18030.csv"
    with open(path, encoding="gb18030", newline="") as handle:
        expected_rows = sum(1 for _ in csv.reader(handle)) - 1
    raw = RawFilesDataset(str(path)).load()
    docs, quarantine = ingest_documents(raw, {}, CSV_RULES)
    assert len(docs) + len(quarantine) == expected_rows
    assert len(quarantine) == 0
    first = docs.iloc[0]
    assert first["text"].startswith("高血压患者能吃党参吗？\n我有高血压")
    assert first["id"] == f"pretrain_domain/{path.name}#L2"
    chats, _ = ingest_chats(raw, {}, CSV_RULES)
    assert chats["messages"][0][1]["content"].startswith("高血压病人可以口服党参的。")


def test_medquad_xml_question_answer_pairs(shared_data):
    folder = shared_data / "medquad" / "1_CancerGov_QA"
    raw = RawFilesDataset(str(folder), ["*.xml"]).load()
    docs, quarantine = ingest_documents(raw, {}, {})
    pairs = sum(len(re.findall(rb"<QAPair[ >]", data)) for data in raw.values())
    assert len(docs) + len(quarantine) == pairs
    assert docs["text"].str.contains("\n").all()
    assert docs["text"].str.contains("leukemia", case=False).any()
    assert not docs["text"].str.contains("&amp;|&apos;").any()


def test_sharegpt_sft_and_preferences(shared_data):
    raw = RawFilesDataset(str(shared_data / "medicalgpt" / "sft"), ["medical_sft_800.jsonl"]).load()
    chats, quarantine = ingest_chats(raw, {}, {})
    assert len(chats) == 800 and quarantine.empty
    assert {m["role"] for c in chats["messages"] for m in c} <= {"system", "user", "assistant"}
    assert chats["messages"][0][0]["content"].startswith("治疗阳痿吃什么药呢？")

    prefs, quarantine = ingest_preferences(RawFilesDataset(str(shared_data / "medicalgpt" / "reward")).load(), {})
    assert len(prefs) == 400 and quarantine.empty
    assert prefs["chosen"][0][0]["role"] == "assistant"

import codecs
import json

import pytest

from domainforge.curation.ingest.encoding import UnreadableFileError, decode_file, detect_encoding
from domainforge.curation.ingest.read import ingest_chats, ingest_documents, ingest_preferences

ZH = "患者，男，45岁。主诉：头痛三天，血压150/95mmHg。"


@pytest.mark.parametrize(
    "encoding,expected",
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"), ("gb18030", "gb18030")],
)
def test_detects_encodings(encoding, expected):
    text = "\n".join([ZH, "高血压患者应低盐饮食，每日食盐不超过5克。", "规律服用降压药物，定期复查。"] * 20)
    data = text.encode(encoding)
    assert detect_encoding(data, "x.txt") == expected
    assert decode_file(data, "x.txt").lines[0] == ZH


def test_binary_file_is_a_clear_error_naming_the_file():
    with pytest.raises(UnreadableFileError, match="blob.txt"):
        decode_file(bytes(range(256)) * 64, "blob.txt")


def test_text_lines_and_paragraphs_get_stable_ids():
    raw = {"book.txt": f"{ZH}\n\n第二段。\n".encode()}
    docs, quarantine = ingest_documents(raw, {}, {"rules": [{"match": "*.txt", "split": "line"}]})
    assert list(docs["id"]) == ["pretrain_domain/book.txt#L1", "pretrain_domain/book.txt#L3"]
    assert set(docs["corpus"]) == {"domain"} and quarantine.empty

    wrapped = {"en.txt": b"First line\nsame paragraph.\n\nSecond paragraph.\n"}
    docs, _ = ingest_documents({}, wrapped, {"rules": [{"match": "*.txt", "split": "blank_line"}]})
    assert list(docs["text"]) == ["First line\nsame paragraph.", "Second paragraph."]
    assert list(docs["id"]) == ["pretrain_general/en.txt#L1", "pretrain_general/en.txt#L4"]
    assert set(docs["corpus"]) == {"general"}


def test_undecodable_line_is_quarantined_with_its_line_others_kept():
    lines = [f"第{i}段正文内容。".encode() for i in range(200)]
    lines[57] = b"bad \xff\xfe bytes"
    docs, quarantine = ingest_documents({"a.txt": b"\n".join(lines)}, {}, {})
    assert len(docs) == 199
    assert quarantine.to_dict("records") == [
        {"id": "pretrain_domain/a.txt#L58", "source": "pretrain_domain/a.txt", "status": "quarantined:undecodable_bytes", "detail": "line 58"}
    ]


def test_jsonl_bad_json_missing_field_and_empty_text_are_quarantined():
    lines = [json.dumps({"text": ZH}), '{"text": "trunc', json.dumps({"body": "x"}), json.dumps({"text": "  "})]
    docs, quarantine = ingest_documents({"d.jsonl": "\n".join(lines).encode()}, {}, {})
    assert list(docs["text"]) == [ZH]
    assert dict(zip(quarantine["id"], quarantine["status"])) == {
        "pretrain_domain/d.jsonl#L2": "quarantined:bad_json",
        "pretrain_domain/d.jsonl#L3": "quarantined:missing_field:text",
        "pretrain_domain/d.jsonl#L4": "quarantined:empty_text",
    }
    assert "line 2" in quarantine["detail"].iloc[0]


def test_gb18030_csv_as_documents_and_chats_with_malformed_row():
    csv_text = "department,ask,answer\n内科,头痛怎么办？,注意休息。\n内科,only two fields\n儿科,\"发烧,咳嗽\",多喝水。\n"
    raw = {"qa.csv": csv_text.encode("gb18030")}
    rules = {"rules": [{"match": "*.csv", "columns": ["ask", "answer"], "prompt_fields": ["ask"], "response_field": "answer"}]}
    docs, quarantine = ingest_documents(raw, {}, rules)
    assert list(docs["text"]) == ["头痛怎么办？\n注意休息。", "发烧,咳嗽\n多喝水。"]
    assert list(quarantine["status"]) == ["quarantined:malformed_row"] and quarantine["id"][0].endswith("#L3")
    chats, _ = ingest_chats(raw, {}, rules)
    assert chats["messages"][1] == [{"role": "user", "content": "发烧,咳嗽"}, {"role": "assistant", "content": "多喝水。"}]


def test_csv_missing_column_is_a_file_error():
    with pytest.raises(ValueError, match="qa.csv.*lacks columns"):
        ingest_documents({"qa.csv": b"a,b\n1,2\n"}, {}, {"rules": [{"match": "*.csv", "columns": ["ask"]}]})


def test_chat_layouts_map_to_one_schema():
    lines = [
        {"conversations": [{"from": "human", "value": "Q1"}, {"from": "gpt", "value": "A1"}]},
        {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "A2"}]},
        {"instruction": "Explain", "input": "HbA1c", "output": "A3"},
        {"messages": [{"role": "wizard", "content": "?"}]},
        {"question": "no layout"},
    ]
    raw = {"c.jsonl": "\n".join(json.dumps(x) for x in lines).encode()}
    chats, quarantine = ingest_chats({}, raw, {})
    assert chats["messages"][0] == [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"}]
    assert chats["messages"][1][0] == {"role": "system", "content": "S"}
    assert chats["messages"][2] == [{"role": "user", "content": "Explain\nHbA1c"}, {"role": "assistant", "content": "A3"}]
    assert list(quarantine["status"]) == ["quarantined:unknown_role:wizard", "quarantined:unknown_chat_layout"]


def test_preferences_from_prompt_or_conversations():
    lines = [
        {"conversations": [{"from": "human", "value": "Q"}], "chosen": "good", "rejected": "bad"},
        {"prompt": "Q2", "chosen": [{"role": "user", "content": "Q2"}, {"role": "assistant", "content": "g"}], "rejected": "b"},
        {"prompt": "Q3", "chosen": "g"},
    ]
    prefs, quarantine = ingest_preferences({"p.jsonl": "\n".join(json.dumps(x) for x in lines).encode()}, {})
    assert prefs["prompt"][0] == [{"role": "user", "content": "Q"}]
    assert prefs["chosen"][1] == [{"role": "assistant", "content": "g"}]
    assert list(quarantine["status"]) == ["quarantined:missing_field:rejected"]


def test_medquad_xml_pairs_and_bad_xml():
    xml = (
        '<?xml version="1.0"?><Document><Focus>Flu</Focus><QAPairs>'
        '<QAPair pid="1"><Question>What is flu?</Question><Answer>A virus &amp; more.</Answer></QAPair>'
        '<QAPair pid="2"><Question>How to treat?</Question><Answer></Answer></QAPair>'
        "</QAPairs></Document>"
    )
    raw = {"a.xml": xml.encode(), "b.xml": b"<Document><QAPair>"}
    docs, quarantine = ingest_documents(raw, {}, {})
    assert list(docs["text"]) == ["What is flu?\nA virus & more."]
    assert dict(zip(quarantine["id"], quarantine["status"])) == {
        "pretrain_domain/a.xml#QA2": "quarantined:missing_field:answer",
        "pretrain_domain/b.xml#L1": "quarantined:bad_xml",
    }


def test_utf16_bom_file():
    data = codecs.BOM_UTF16_LE + "第一行\n第二行".encode("utf-16-le")
    docs, _ = ingest_documents({"u.txt": data}, {}, {})
    assert list(docs["text"]) == ["第一行", "第二行"]


def test_csv_row_with_an_empty_named_column_is_quarantined():
    raw = {"qa.csv": "ask,answer\n头痛怎么办？,\n发烧？,多喝水。\n".encode()}
    docs, quarantine = ingest_documents(raw, {}, {"rules": [{"match": "*.csv", "columns": ["ask", "answer"]}]})
    assert list(docs["text"]) == ["发烧？\n多喝水。"]
    assert list(quarantine["status"]) == ["quarantined:empty_field:answer"]


def test_unreadable_file_is_quarantined_whole_when_asked_and_fails_by_default():
    files = {"good.txt": "第一段。\n第二段。".encode(), "blob.txt": bytes(range(256)) * 64}
    with pytest.raises(UnreadableFileError, match="blob.txt"):
        ingest_documents(files, {}, {"rules": []})
    docs, quarantined = ingest_documents(files, {}, {"rules": [], "on_unreadable_file": "quarantine"})
    assert len(docs) == 2
    assert quarantined["id"].tolist() == ["pretrain_domain/blob.txt#file"]
    assert quarantined["status"].iloc[0].startswith("quarantined:unreadable_file:binary content")
    with pytest.raises(ValueError, match="on_unreadable_file"):
        ingest_documents(files, {}, {"rules": [], "on_unreadable_file": "skip"})

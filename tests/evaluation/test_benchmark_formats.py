"""Format adapters on the real shared benchmarks: counts and answer letters against counts taken
here independently from the raw files (pandas / json), a few records spot-checked, and bad
records rejected with file and line."""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd
import pytest

from domainforge.evaluation import (
    McqFormatError,
    load_benchmark,
    load_cmmlu_csv,
    load_medmcqa_jsonl,
    load_medqa_jsonl,
    load_mmlu_csv,
    load_pubmedqa_json,
    read_mcq_jsonl,
    write_mcq_jsonl,
)


@pytest.fixture(scope="module")
def bench(shared_data):
    return shared_data / "benchmarks"


def jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_mmlu_csv(bench):
    path = bench / "mmlu/test/anatomy_test.csv"
    raw = pd.read_csv(path, header=None, keep_default_na=False, dtype=str)
    records = load_mmlu_csv(path)
    assert len(records) == len(raw) == 135
    assert [r["answer"] for r in records] == raw[5].str.strip().tolist()
    first = records[0]
    assert first["question"].startswith("A lesion causing compression of the facial nerve at the stylomastoid foramen")
    assert first["options"] == {
        "A": "paralysis of the facial muscles.",
        "B": "paralysis of the facial muscles and loss of taste.",
        "C": "paralysis of the facial muscles, loss of taste and lacrimation.",
        "D": "paralysis of the facial muscles, loss of taste, lacrimation and decreased salivation.",
    }
    assert first["answer"] == "A" and first["subject"] == "anatomy" and first["id"] == "test/anatomy_test.csv#L1"
    assert records[1]["question"] == 'A "dished face" profile is often associated with'


def test_cmmlu_csv(bench):
    path = bench / "cmmlu/test/clinical_knowledge.csv"
    raw = pd.read_csv(path, index_col=0, keep_default_na=False, dtype=str)
    records = load_cmmlu_csv(path)
    assert len(records) == len(raw)
    assert [r["answer"] for r in records] == raw["Answer"].tolist()
    for i in (0, len(raw) // 2, len(raw) - 1):
        assert records[i]["question"] == raw["Question"].iloc[i].strip()
        assert list(records[i]["options"].values()) == [raw[c].iloc[i].strip() for c in "ABCD"]
    anatomy = load_cmmlu_csv(bench / "cmmlu/test/anatomy.csv")[0]
    assert anatomy == {
        "id": "test/anatomy.csv#L2",
        "subject": "anatomy",
        "question": "女性生殖腺是",
        "options": {"A": "卵巢", "B": "前庭大腺", "C": "前庭球", "D": "乳腺"},
        "answer": "A",
    }


@pytest.mark.parametrize("folder", ["mainland_4_options", "us_4_options"])
def test_medqa_jsonl(bench, folder):
    path = bench / "medqa" / folder / "test.jsonl"
    raw = jsonl(path)
    records = load_medqa_jsonl(path)
    assert len(records) == len(raw) == {"mainland_4_options": 3426, "us_4_options": 1273}[folder]
    assert [r["answer"] for r in records] == [d["answer_idx"] for d in raw]
    for record, d in zip(records[:50], raw[:50]):
        assert record["options"][record["answer"]] == d["answer"].strip()
    if folder == "mainland_4_options":
        assert records[0]["options"] == {"A": "2小时", "B": "4小时内", "C": "12小时内", "D": "24小时内"}
        assert records[0]["answer"] == "D" and records[0]["subject"] == "卫生法规"


def test_medmcqa_jsonl(bench):
    path = bench / "medmcqa/dev.jsonl"
    raw = jsonl(path)
    records = load_medmcqa_jsonl(path)
    assert len(records) == len(raw) == 4183
    assert Counter(r["answer"] for r in records) == Counter("ABCD"[d["cop"] - 1] for d in raw)
    first = records[0]
    assert first["question"] == "Which of the following is not true for myelinated nerve fibers:"
    assert first["answer"] == "A"  # cop 1, 1-based
    assert first["options"]["A"] == "Impulse through myelinated fibers is slower than non-myelinated fibers"
    assert first["subject"] == "Physiology"


def test_pubmedqa_json(bench):
    truth = json.loads((bench / "pubmedqa/test_ground_truth.json").read_text())
    records = load_pubmedqa_json(bench / "pubmedqa/ori_pqal.json", ids_path=bench / "pubmedqa/test_ground_truth.json")
    assert len(records) == len(truth) == 500
    letter = {"yes": "A", "no": "B", "maybe": "C"}
    assert [r["answer"] for r in records] == [letter[v] for v in truth.values()]
    assert all(r["options"] == {"A": "yes", "B": "no", "C": "maybe"} for r in records)
    raw = json.loads((bench / "pubmedqa/ori_pqal.json").read_text())
    pmid = next(iter(truth))
    assert records[0]["id"] == f"pubmedqa/ori_pqal.json#{pmid}"
    assert records[0]["question"] == "Abstract: " + "\n".join(raw[pmid]["CONTEXTS"]) + "\nQuestion: " + raw[pmid]["QUESTION"]
    bare = load_pubmedqa_json(bench / "pubmedqa/ori_pqal.json", with_context=False)
    assert len(bare) == len(raw) == 1000 and bare[0]["question"] == next(iter(raw.values()))["QUESTION"]


def test_load_benchmark_sizes(bench):
    sizes = {
        ("mmlu", "test"): 14042,
        ("cmmlu", "test"): 11582,
        ("cmmlu", "dev"): 67 * 5,
        ("medqa_mainland", "dev"): 3425,
        ("medqa_us", "dev"): 1272,
        ("pubmedqa", "all"): 1000,
    }
    for (name, split), size in sizes.items():
        assert len(load_benchmark(bench, name, split=split)) == size, name
    medical = load_benchmark(bench, "mmlu", subjects=["anatomy", "college_medicine"])
    assert len(medical) == 135 + 173
    with pytest.raises(ValueError, match="splits"):
        load_benchmark(bench, "medmcqa", split="test")
    with pytest.raises(FileNotFoundError):
        load_benchmark(bench, "cmmlu", subjects=["no_such_subject"])


def test_round_trip_through_the_common_jsonl(bench, tmp_path):
    records = load_cmmlu_csv(bench / "cmmlu/dev/anatomy.csv")
    assert read_mcq_jsonl(write_mcq_jsonl(records, tmp_path / "a.jsonl")) == records


# --- bad records: an error naming file and line, never a silent skip --------------------------


def error_for(loader, path, **kwargs) -> str:
    with pytest.raises(McqFormatError) as caught:
        loader(path, **kwargs)
    return str(caught.value)


def test_mmlu_bad_rows_name_the_line(tmp_path):
    path = tmp_path / "x_test.csv"
    path.write_text('q1,a,b,c,d,A\n"multi\nline q",a,b,c,d,B\nq3,a,b,c,d,E\n', encoding="utf-8")
    assert error_for(load_mmlu_csv, path) == f"{path}:4: answer 'E' is not one of the options ABCD"
    path.write_text("q1,a,b,c,d,A\nq2,a,b,c,A\n", encoding="utf-8")
    assert f"{path}:2: 5 fields" in error_for(load_mmlu_csv, path)
    path.write_text("q1,a, ,c,d,A\n", encoding="utf-8")
    assert f"{path}:1: option B is empty" in error_for(load_mmlu_csv, path)
    path.write_bytes(b"q1,a,b,c,d,A\n" + "q2,\u75c5,b,c,d,A\n".encode("gb18030"))
    assert f"{path}:2: not UTF-8" in error_for(load_mmlu_csv, path)


def test_cmmlu_bad_header_and_rows(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("Question,A,B,C,D,Answer\n0,q,a,b,c,d,A\n", encoding="utf-8")
    assert f"{path}:1: header" in error_for(load_cmmlu_csv, path)
    path.write_text(",Question,A,B,C,D,Answer\n0,q,a,b,c,d,A\n1,,a,b,c,d,A\n", encoding="utf-8")
    assert error_for(load_cmmlu_csv, path) == f"{path}:3: empty question"
    path.write_text(",Question,A,B,Answer\n0,q,a,b,B\n", encoding="utf-8")  # 2 options are fine
    assert load_cmmlu_csv(path)[0]["options"] == {"A": "a", "B": "b"}


def test_medqa_and_medmcqa_bad_records(tmp_path):
    path = tmp_path / "m.jsonl"
    good = {"question": "q", "options": {"A": "x", "B": "y"}, "answer_idx": "B", "answer": "y"}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "answer": "x"}) + "\n", encoding="utf-8")
    assert f"{path}:2: answer text 'x' is not option B" in error_for(load_medqa_jsonl, path)
    path.write_text(json.dumps(good) + "\n\n{not json\n", encoding="utf-8")
    assert f"{path}:3: bad JSON" in error_for(load_medqa_jsonl, path)
    path.write_text(json.dumps({**good, "options": {"A": "x", "C": "y"}}) + "\n", encoding="utf-8")
    assert f"{path}:1: option letters" in error_for(load_medqa_jsonl, path)
    mc = {"question": "q", "opa": "a", "opb": "b", "opc": "c", "opd": "d", "cop": 0}
    path.write_text(json.dumps({**mc, "cop": 4}) + "\n" + json.dumps(mc) + "\n", encoding="utf-8")
    assert f"{path}:2: cop 0 is not an option number" in error_for(load_medmcqa_jsonl, path)
    path.write_text(json.dumps({**mc, "cop": 1, "opc": None}) + "\n", encoding="utf-8")
    assert f"{path}:1: option C is empty" in error_for(load_medmcqa_jsonl, path)


def test_pubmedqa_bad_records(tmp_path):
    path = tmp_path / "p.json"
    data = {"1": {"QUESTION": "q?", "CONTEXTS": ["c"], "final_decision": "yes"},
            "2": {"QUESTION": "q2?", "CONTEXTS": ["c"], "final_decision": "perhaps"}}
    path.write_text(json.dumps(data, indent=4), encoding="utf-8")
    assert f"{path}:9 (PubMed id 2): final_decision 'perhaps'" in error_for(load_pubmedqa_json, path)
    ids = tmp_path / "ids.json"
    ids.write_text(json.dumps({"1": "no"}), encoding="utf-8")
    assert "disagrees" in error_for(load_pubmedqa_json, path, ids_path=ids)


def test_common_jsonl_validation(tmp_path):
    path = tmp_path / "c.jsonl"
    ok = {"question": "q", "options": {"A": "x", "B": "y", "C": "z", "D": "w", "E": "v"}, "answer": "E"}
    path.write_text(json.dumps(ok) + "\n" + json.dumps({**ok, "options": {"A": "x"}, "answer": "A"}) + "\n")
    assert error_for(read_mcq_jsonl, path) == f"{path}:2: 1 option(s); at least 2 are needed"
    path.write_text(json.dumps({"question": "q", "options": {"B": "x", "A": "y"}, "answer": "A"}) + "\n")
    assert "not consecutive from A" in error_for(read_mcq_jsonl, path)
    path.write_text(json.dumps({"question": "q", "answer": "A"}) + "\n")
    assert "missing field(s) ['options']" in error_for(read_mcq_jsonl, path)
    path.write_text("")
    assert "no records" in error_for(read_mcq_jsonl, path)

"""Benchmark suites from parameters: the public medical suite of conf/base selects the published
counts from the real shared files; limits, exclusions, few-shot and bad specs behave."""

import pytest
import yaml
from tiny_training import REPO

CONF = yaml.safe_load((REPO / "conf/base/parameters_eval.yml").read_text(encoding="utf-8"))
PUBLIC = CONF["benchmark_suites"]["medical_public"]


@pytest.fixture(scope="module")
def files(shared_data):
    root = shared_data / "benchmarks"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.suffix in (".csv", ".json", ".jsonl")}


def test_public_suite_selects_every_published_question(files):
    from domainforge.evaluation.suite import select_questions

    selected = select_questions(files, PUBLIC)
    counts = {name: len(b["questions"]) for name, b in selected.items()}
    assert counts == {
        "cmmlu_medical": 1815,
        "medqa_mcmle": 3426,
        "mmlu_medical": 1089,  # the README's medical subjects
        "medmcqa": 4183,
        "pubmedqa": 500,  # the test ids
        "mmlu_general": 14042 - 1089,
        "cmmlu_general": 11582 - 1815,
    }
    assert {name: b["role"] for name, b in selected.items() if b["role"] == "general"} == {
        "mmlu_general": "general",
        "cmmlu_general": "general",
    }
    assert not set(selected["cmmlu_general"]["files"]) & set(selected["cmmlu_medical"]["files"])
    assert len(selected["mmlu_general"]["files"]) == 51 and len(selected["cmmlu_general"]["files"]) == 58
    assert selected["medqa_mcmle"]["questions"][0]["id"] == "mainland_4_options/test.jsonl#L1"


def test_limits_take_questions_round_robin_across_subjects(files):
    from domainforge.evaluation.suite import select_questions

    selected = select_questions(files, PUBLIC, {"mmlu_general": 102, "pubmedqa": 7})
    general = selected["mmlu_general"]
    assert len(general["questions"]) == 102 and general["available"] == 14042 - 1089 and general["limit"] == 102
    subjects = [q["subject"] for q in general["questions"]]
    assert len(set(subjects)) == 51 and all(subjects.count(s) == 2 for s in set(subjects))
    assert subjects[:2] == ["abstract_algebra", "astronomy"]
    assert len(selected["pubmedqa"]["questions"]) == 7 and len(selected["medmcqa"]["questions"]) == 4183


def test_few_shot_records_come_from_the_dev_files(files):
    from domainforge.evaluation.suite import select_questions

    spec = {"name": "ck", "files": ["cmmlu/test/clinical_knowledge.csv"], "format": "cmmlu_csv", "role": "domain",
            "shots": 3, "fewshot": ["cmmlu/dev/clinical_knowledge.csv"]}
    benchmark = select_questions(files, [spec])["ck"]
    assert benchmark["shots"] == 3
    assert [r["id"] for r in benchmark["fewshot"]] == [f"dev/clinical_knowledge.csv#L{n}" for n in (2, 3, 4)]


@pytest.mark.parametrize(
    "change, error",
    [
        ({"format": "xlsx"}, "format 'xlsx'"),
        ({"role": "forgetting"}, r"benchmark_suites\[0\]\.role must be one of 'domain', 'general', got 'forgetting'"),
        ({"files": ["cmmlu/test/no_such_subject.csv"]}, "no file matches"),
        ({"shots": 2}, "needs `fewshot`"),
        ({"limit": 0}, "limit must be >= 1"),
        ({"limt": 10}, r"benchmark_suites\[0\]: unknown setting 'limt'; did you mean 'limit'"),
        ({"shots": "2"}, r"benchmark_suites\[0\]\.shots must be an integer"),
    ],
)
def test_bad_specs_are_errors(files, change, error):
    from domainforge.evaluation.suite import select_questions

    spec = {"name": "ck", "files": ["cmmlu/test/clinical_knowledge.csv"], "format": "cmmlu_csv", "role": "domain", **change}
    with pytest.raises((ValueError, FileNotFoundError), match=error):
        select_questions(files, [spec])


def test_limits_must_name_benchmarks_of_the_suite(files):
    from domainforge.evaluation.suite import select_questions

    with pytest.raises(ValueError, match="mmlu_typo"):
        select_questions(files, PUBLIC, {"mmlu_typo": 10})

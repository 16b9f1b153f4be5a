"""Content-type rules: real non-prose files installed on the machine (by the project's own
dependencies) are dropped by the rule for their kind; real medical text with numbers, dosage
schedules and lab values is kept."""
import base64
import csv
import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from domainforge.curation.normalise import normalise_text
from domainforge.curation.quality.content_type import CONTENT_TYPES, check_content, features
from domainforge.curation.quality.rules import check_text
from domainforge.curation.report import content_type_drops

REPO = Path(__file__).parents[2]
PARAMS = yaml.safe_load((REPO / "conf/base/parameters_quality.yml").read_text())["quality"]


def package_dir(name: str) -> Path:
    return Path(importlib.util.find_spec(name).origin).parent


def lines(path: Path, start: int, stop: int) -> str:
    return "\n".join(path.read_text(encoding="utf-8").splitlines()[start:stop])


# (name, text loader, language, content type(s)): files of installed packages, none written here.
REAL_NON_PROSE = [
    ("python stdlib json.decoder", lambda: lines(package_dir("json") / "decoder.py", 0, 80), "en", "code"),
    ("python textwrap body", lambda: lines(Path(importlib.util.find_spec("textwrap").origin), 100, 180), "en", "code"),
    ("faker zh_CN address tables", lambda: lines(package_dir("faker") / "providers/address/zh_CN/__init__.py", 0, 60), "zh", "code"),
    ("faker zh_CN person tables", lambda: lines(package_dir("faker") / "providers/person/zh_CN/__init__.py", 0, 60), "zh", "code"),
    ("jieba word-frequency dictionary", lambda: lines(package_dir("jieba") / "dict.txt", 1000, 1060), "zh", "word_list"),
    ("jieba IDF table", lambda: lines(package_dir("jieba") / "analyse/idf.txt", 1000, 1060), "zh", "table"),
    ("matplotlib Stocks.csv", lambda: lines(package_dir("matplotlib") / "mpl-data/sample_data/Stocks.csv", 0, 40), "en", "table"),
    ("kedro-viz stylesheet", lambda: sorted((package_dir("kedro_viz") / "html/assets").glob("*.css"))[0].read_text()[:3000], "en", "markup"),
    ("base64 of a matplotlib icon", lambda: base64.encodebytes((package_dir("matplotlib") / "mpl-data/images/back.png").read_bytes()).decode()[:3000], "en", "encoded"),
    # A page with inline script: its code lines or its tags may fail first.
    ("kedro-viz index.html", lambda: (package_dir("kedro_viz") / "html/index.html").read_text()[:3000], "en", "markup|code"),
    # No Chinese HTML ships with the dependencies: the project's own non-prose sample stands in.
    ("patient portal HTML (zh)", lambda: (REPO / "data/01_raw/nonprose/patient_portal.html").read_text(), "zh", "markup"),
]


@pytest.mark.parametrize("name, load, lang, kind", REAL_NON_PROSE, ids=[case[0] for case in REAL_NON_PROSE])
def test_real_non_prose_is_dropped_by_its_content_rule(name, load, lang, kind):
    _, rule = check_text(normalise_text(load()), lang, PARAMS)
    assert rule in CONTENT_TYPES, f"{name}: {rule}"
    assert CONTENT_TYPES[rule] in kind.split("|"), f"{name}: caught by {rule}"


# Written here, in the shape of real clinical notes: values, units, reference ranges, codes.
CLINICAL_WITH_NUMBERS = [
    "血常规：WBC 12.3×10^9/L，N 85%，Hb 120 g/L，PLT 210×10^9/L；CRP 48 mg/L，提示细菌感染。\n"
    "胸片示右下肺斑片影。\n予头孢曲松2 g静滴，每日1次。\n三天后复查血常规：WBC 8.1×10^9/L。",
    "Laboratory results on admission:\nWBC 12.3 x10^9/L (4.0-10.0)\nHemoglobin 10.2 g/dL (12.0-16.0).\n"
    "Platelets 210 x10^9/L.\nSodium 131 mmol/L, potassium 4.8 mmol/L.\n"
    "The patient was started on ceftriaxone 2 g IV daily and fluids.",
    "Dosage schedule for amoxicillin in children:\n- under 1 year: 62.5 mg three times a day;\n"
    "- 1 to 4 years: 125 mg three times a day;\n- 5 to 11 years: 250 mg three times a day;\n"
    "- 12 years and over: 500 mg three times a day.\nTake the doses 8 hours apart, with or without food.",
    "The discharge summary lists ICD-10 codes E11.9 (type 2 diabetes without complications), I10 "
    "(essential hypertension) and N18.3 (chronic kidney disease, stage 3). HbA1c was 7.8% and eGFR "
    "52 mL/min/1.73 m2; metformin was reduced to 500 mg twice daily.",
]


def _real_medical_with_numbers(shared_data) -> list[str]:
    """Real medical documents full of numbers (dosage lists, lab values, reference ranges), as
    the pipeline reads them: dialogue rows as title / question / answer lines, textbook lines."""
    with open(shared_data / "chinese_medical_dialogue/internal_medicine_sample_gb18030.csv", encoding="gb18030") as f:
        dialogue = ["\n".join((row["title"], row["ask"], row["answer"])) for row in csv.DictReader(f)]
    textbook = (shared_data / "medicalgpt/pretrain/fever.txt").read_text(encoding="utf-8").splitlines()
    numbered = re.compile(r"\d+(?:\.\d+)?\s*(?:mg|g/L|mmol|×10|ml|%)")
    return [text for text in dialogue + textbook if len(numbered.findall(text)) >= 3]


def test_clinical_text_with_numbers_and_tables_is_kept(shared_data):
    real = _real_medical_with_numbers(shared_data)
    assert len(real) >= 40
    for text in CLINICAL_WITH_NUMBERS + real:
        assert check_content(normalise_text(text), PARAMS["content"]) is None, text[:120]


# The shipped samples' planted junk lines (data/01_raw/README.md) that are no prose: menus and spam.
PLANTED_NON_PROSE = {("textbook_zh.txt", 3), ("textbook_zh.txt", 54), ("statutes_zh.txt", 7)}


def test_only_planted_junk_of_the_shipped_samples_fails_a_content_rule():
    """Records as the pipeline reads them: a paragraph of `*wrapped*.txt`, else a line."""
    failed = set()
    for path in sorted((REPO / "data/01_raw").glob("*/pretrain_*/*.txt")):
        text = path.read_text(encoding="utf-8")
        records = text.split("\n\n") if "wrapped" in path.name else text.split("\n")
        for number, record in enumerate(records, start=1):
            if record.strip() and check_content(normalise_text(record), PARAMS["content"]):
                failed.add((path.name, number))
    assert failed == PLANTED_NON_PROSE


def test_docstring_prose_does_not_rescue_code():
    code = lines(package_dir("json") / "decoder.py", 0, 80)
    stats = features(normalise_text(code), PARAMS["content"])
    assert 0 < stats["code_line_frac"] < 1  # prose lines are counted as prose ...
    assert stats["code_line_frac"] > PARAMS["content"]["max_code_line_frac"]  # ... and the code still fails


def test_short_texts_are_not_judged_by_line_or_character_shares():
    assert check_content("x = 1", PARAMS["content"]) is None
    assert check_content("血压<140/90 mmHg", PARAMS["content"]) is None


def test_data_report_counts_content_type_drops():
    statuses = {
        "dropped:quality:code_lines": 2,
        "dropped:quality:code_symbols": 1,
        "dropped:quality:word_list": 1,
        "dropped:quality:zh_han_ratio": 1,
        "kept": 1,
    }
    assert content_type_drops(statuses) == {
        "code": {"documents": 3, "by_rule": {"code_lines": 2, "code_symbols": 1}},
        "word_list": {"documents": 1, "by_rule": {"word_list": 1}},
    }

"""Heuristic quality rules, per rule and language, with the shipped thresholds; real text must pass."""
import csv
import json
import random
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
import yaml

from domainforge.curation.quality.rules import check_text, filter_quality
from domainforge.curation.quality.rules_en import check_english
from domainforge.curation.quality.synthetic_junk import KINDS, make_junk
from domainforge.curation.quality.text_features import RepeatedNgrams

REPO = Path(__file__).parents[2]
PARAMS = yaml.safe_load((REPO / "conf/base/parameters_quality.yml").read_text())["quality"]

ZH_JUNK = {
    "zh_min_chars": "吉",
    "zh_han_ratio": "HBV DNA ALT AST GGT TBIL 血",
    "zh_symbol_ratio": "高血压患者★★要注意★低盐饮食★★",
    "zh_digit_ratio": "血压120，心率95，血糖11.2，体温38.5，年龄67岁",
    "zh_spaced_han_ratio": "首页 新闻 疾病 症状 医生 医院 药品 资讯",
    "zh_flagged_words": "澳门博彩，真人荷官，六合彩，时时彩，百家乐，老虎机。",
    "zh_punct_density": "高血压糖尿病冠心病脑卒中慢性肾病痛风高血脂脂肪肝甲亢甲减哮喘慢阻肺胃炎胃溃疡肝硬化",
    "zh_line_end_punct": "高血压患者日常治疗方法\n糖尿病患者饮食控制要点\n冠心病的早期症状有哪些",
    "zh_short_lines": "首页\n新闻\n疾病百科\n找医生。\n健康问答。\n药品大全。",
    "zh_dup_line_frac": "高血压患者要注意低盐饮食。\n高血压患者要注意低盐饮食。\n高血压患者要注意低盐饮食。\n多运动。",
    "zh_top_2_gram": "高血压高血压高血压高血压高血压高血压，高血压高血压高血压高血压高血压高血压，高血压高血压高血压。",
    "zh_duplicated_5_gram": "急性病毒性肝炎患者应卧床休息并给予清淡饮食，急性病毒性肝炎患者应卧床休息并给予清淡饮食。",
    "zh_empty_after_line_filter": "版权所有 © 2024 健康网\n京ICP备12345678号\n联系我们 | 关于我们",
}
EN_JUNK = {
    "gopher_short_doc": "Fever and cough.",
    "gopher_max_avg_word_length": "Pneumonoultramicroscopicsilicovolcanoconiosis hepaticocholangiogastrostomy "
    "electroencephalographically immunohistochemically psychoneuroimmunological.",
    "gopher_too_many_hashes": "#health #fever #flu #cold #cough and the doctor is with you.",
    "gopher_below_alpha_threshold": "The dose 1000 2000 3000 4000 5000 6000 was given to patients daily.",
    "gopher_dup_line_frac": "The patient should rest.\nThe patient should rest.\nThe patient should rest.\nDrink water often, every day.",
    "c4_lorem_ipsum": "Lorem ipsum dolor sit amet, consectetur adipiscing elit, and the rest of it.",
    "c4_curly_bracket": "The function returns {value} to the caller and the page renders it.",
    "c4_badwords": "Best casino! Free spins! Online poker! Casino bonus and poker with friends!",
    "c4_no_terminal_punct": "Home, About us, Health topics, Find a doctor, Contact us today",
    "c4_no_lines_left": "This website uses cookies to improve your experience.\nPrivacy Policy | Terms of Use",
    "fineweb_short_line_ratio": "Fever and bad chills\nCough with thick phlegm\nA sore throat and pain\nA very bad headache\nMuscle aches too.",
}


def frame(texts, langs) -> pd.DataFrame:
    return pd.DataFrame(
        {"id": [f"d#{i}" for i in range(len(texts))], "source": "d", "corpus": "domain", "text": texts, "lang": langs}
    )


@pytest.mark.parametrize("rule, text", ZH_JUNK.items())
def test_each_chinese_rule_catches_its_junk(rule, text):
    assert check_text(text, "zh", PARAMS)[1] == rule


@pytest.mark.parametrize("rule, text", EN_JUNK.items())
def test_each_english_rule_catches_its_junk(rule, text):
    assert check_text(text, "en", PARAMS)[1] == rule


def test_real_chinese_medical_text_is_kept(shared_data):
    lines = (shared_data / "medicalgpt/pretrain/fever.txt").read_text(encoding="utf-8").splitlines()
    # paragraphs, a section heading "（二）毒力" and a short one-line definition
    textbook = [lines[n - 1] for n in (2, 3, 28, 29, 30, 31, 100, 400)]
    with open(shared_data / "chinese_medical_dialogue/internal_medicine_sample_gb18030.csv", encoding="gb18030") as f:
        rows = [row for _, row in zip(range(300), csv.DictReader(f))]
    dialogue = ["\n".join((r["title"], r["ask"], r["answer"])) for r in rows]
    for text in textbook + dialogue[:3]:
        kept, failed = check_text(text, "zh", PARAMS)
        assert failed is None, (failed, text[:60])
        assert kept == text.strip()  # nothing to strip from clean text
    # A few real rows are sloppy (no line ends a sentence); the target is < 2% dropped.
    dropped = [text for text in dialogue if check_text(text, "zh", PARAMS)[1]]
    assert len(dropped) / len(dialogue) < 0.02, dropped


def test_real_english_medical_text_is_kept_including_short_answers(shared_data):
    docs = []
    for path in sorted((shared_data / "medquad/3_GHR_QA").glob("*.xml"))[:15]:
        for pair in ET.parse(path).getroot().iter("QAPair"):
            docs.append(f"{pair.findtext('Question').strip()}\n{pair.findtext('Answer').strip()}")
    short = [d for d in docs if len(d.split()) < 40]
    assert short, "the sample should hold short answers such as prevalence statements"
    for text in docs:
        assert check_text(text, "en", PARAMS)[1] is None, text[:80]


def test_hard_wrapped_english_is_reflowed_and_kept(shared_data):
    paragraphs = (shared_data / "medicalgpt/pretrain/en_article_first400.txt").read_text(encoding="utf-8").split("\n\n")
    wrapped = next(p.strip() for p in paragraphs if p.count("\n") >= 5)
    kept, failed = check_text(wrapped, "en", PARAMS)
    assert failed is None and "\n" not in kept


def test_no_english_rule_is_applied_to_chinese(shared_data):
    paragraph = (shared_data / "medicalgpt/pretrain/fever.txt").read_text(encoding="utf-8").splitlines()[2]
    assert check_english(paragraph, PARAMS["en"])[1] is not None  # English rules would drop it...
    kept, drops = filter_quality(frame([paragraph, ZH_JUNK["zh_symbol_ratio"]], ["zh", "zh"]), PARAMS)
    assert len(kept) == 1  # ...the Chinese ones keep it
    assert drops["status"].str.startswith("dropped:quality:zh_").all()


def test_line_rules_shorten_text_and_emptied_documents_are_dropped_with_a_reason():
    text = "Hepatitis B spreads through blood and body fluids, and vaccination prevents it.\nThis site uses cookies."
    kept, drops = filter_quality(frame([text, EN_JUNK["c4_no_lines_left"]], ["en", "en"]), PARAMS)
    assert kept.loc[0, "text"] == text.split("\n")[0]
    assert drops["status"].tolist() == ["dropped:quality:c4_no_lines_left"]


def test_every_document_is_accounted_for_and_unruled_languages_are_dropped():
    texts = list(ZH_JUNK.values()) + list(EN_JUNK.values()) + ["Le patient a de la fièvre."]
    langs = ["zh"] * len(ZH_JUNK) + ["en"] * len(EN_JUNK) + ["fr"]
    kept, drops = filter_quality(frame(texts, langs), PARAMS)
    assert kept.empty and len(drops) == len(texts)
    assert drops["status"].iloc[-1] == "dropped:quality:no_rules_for_fr"


def test_missing_language_column_is_a_clear_error():
    with pytest.raises(ValueError, match="detect_language"):
        filter_quality(pd.DataFrame({"id": ["a"], "source": ["s"], "corpus": ["domain"], "text": ["x"]}), PARAMS)


def test_shipped_thresholds_are_the_derived_ones():
    derived = json.loads((REPO / "benchmarks/results/quality_thresholds.json").read_text(encoding="utf-8"))
    for lang in ("zh", "en", "content"):
        for key, value in derived[lang]["parameters"].items():
            assert PARAMS[lang][key] == value, f"quality.{lang}.{key}: rerun derive_quality_thresholds.py"


def _datatrove_find_all_duplicate(words, n):
    """datatrove's reference implementation (gopher_repetition_filter.find_all_duplicate)."""
    unique, repeated, idx = set(), 0, 0
    while idx < len(words) - n + 1:
        gram = "".join(words[idx : idx + n])
        if gram in unique:
            repeated += len(gram)
            idx += n
        else:
            unique.add(gram)
            idx += 1
    return repeated


def test_repetition_statistics_match_datatrove():
    rng = random.Random(0)
    for _ in range(300):
        words = [rng.choice(["fever", "of", "the", "liver", "cells"]) for _ in range(rng.randint(0, 40))]
        chars = "".join(rng.choice("发热咳嗽") for _ in range(rng.randint(0, 40)))
        n = rng.randint(2, 6)
        assert RepeatedNgrams(words).duplicated_chars(n) == _datatrove_find_all_duplicate(words, n)
        assert RepeatedNgrams(chars).duplicated_chars(n) == _datatrove_find_all_duplicate(list(chars), n)
    assert RepeatedNgrams(["a", "b", "a", "b", "a", "b"]).top_chars(2) == 3 * 3  # "a b" three times
    assert RepeatedNgrams("abcdef").top_chars(2, joiner="") == 0  # nothing repeats


def test_planted_junk_is_seeded_and_caught(shared_data):
    seeds = (shared_data / "medicalgpt/pretrain/fever.txt").read_text(encoding="utf-8").splitlines()[:200]
    junk = make_junk(2 * len(KINDS), "zh", 3, seeds) + make_junk(2 * len(KINDS), "en", 3, ["Fever is common in children."])
    assert junk[: 2 * len(KINDS)] == make_junk(2 * len(KINDS), "zh", 3, seeds)
    assert {j["kind"] for j in junk} == set(KINDS)
    caught = [check_text(j["text"], j["lang"], PARAMS)[1] is not None for j in junk]
    assert sum(caught) / len(caught) >= 0.95


def test_flagged_words_are_counted_in_any_case_and_in_non_ascii_spellings():
    from domainforge.curation.quality.rules_en import features

    text = "Buy CIALIS and Viagra here. Cheap cıalis too. Specialists disagree with this advice."
    assert features(text, PARAMS["en"])["flagged_word_frac"] == pytest.approx(3 / len(text.split()))
    assert features(text.replace("ı", "i"), PARAMS["en"])["flagged_word_frac"] == pytest.approx(3 / len(text.split()))
    assert features("Specialists see patients daily.", PARAMS["en"])["flagged_word_frac"] == 0

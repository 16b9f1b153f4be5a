"""Language ID: seeded langdetect behind the Chinese script rule and the English function-word rule."""
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import pytest
import yaml
from langdetect import DetectorFactory

from domainforge.curation.quality.language import detect_language, identify, language_settings

# conf/base's settings, with the defaults it leaves out (LanguageSettings).
PARAMS = asdict(language_settings(
    yaml.safe_load((Path(__file__).parents[2] / "conf/base/parameters_language.yml").read_text())["language"]
))


def docs(*texts: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"id": [f"t#{i}" for i in range(len(texts))], "source": "t", "corpus": "domain", "text": list(texts)}
    )


def fever_lines(shared_data, *numbers: int) -> list[str]:
    lines = (shared_data / "medicalgpt/pretrain/fever.txt").read_text(encoding="utf-8").splitlines()
    return [lines[n - 1].strip() for n in numbers]


def test_real_chinese_paragraphs_are_zh_although_langdetect_says_ko(shared_data):
    # Line 4 of the textbook is one langdetect (alone) labels Korean.
    texts = fever_lines(shared_data, 1, 2, 4, 30)
    kept, drops = detect_language(docs(*texts), PARAMS)
    assert drops.empty
    assert (kept["lang"] == "zh").all() and (kept["lang_score"] >= PARAMS["cjk_token_share_for_zh"]).all()


def test_mixed_chinese_english_medical_text_is_zh_not_unknown():
    text = "HBV携带者应定期检查ALT和HBV DNA，必要时使用entecavir或tenofovir抗病毒治疗。"
    assert identify(text, PARAMS)[:1] == ("zh",)
    kept, drops = detect_language(docs(text), PARAMS)
    assert drops.empty and kept.loc[0, "lang"] == "zh"


def test_english_by_function_words_and_by_langdetect():
    long_text = (
        "Hepatitis B is an infection of the liver caused by the hepatitis B virus. It can be acute or chronic, "
        "and people with chronic infection should be monitored by a doctor for liver damage and cancer."
    )
    short_text = "Fever usually resolves within three days."  # too short for the function-word rule
    lang, score, confident = identify(long_text, PARAMS)
    assert (lang, confident) == ("en", True) and score >= PARAMS["en_function_word_share"]
    assert identify(short_text, PARAMS)[0] == "en"


def test_other_languages_and_undetectable_text_are_dropped_with_reasons():
    frame = docs(
        "Le patient présente une fièvre élevée depuis trois jours et se plaint de maux de tête violents.",
        "Der Patient hat seit drei Tagen hohes Fieber und klagt über starke Kopfschmerzen und Übelkeit.",
        "患者は三日前から高熱があり、頭痛を訴えています。",
        "108",
    )
    kept, drops = detect_language(frame, PARAMS)
    assert kept.empty
    assert drops["status"].tolist() == [
        "dropped:language:fr",
        "dropped:language:de",
        "dropped:language:ja",
        "dropped:language:unknown",
    ]


def test_low_confidence_applies_to_langdetect_not_to_the_script_rule():
    params = {**PARAMS, "min_confidence": 1.01}  # no langdetect probability can reach it
    frame = docs("Fever usually resolves within three days.", "传染病学是一门研究各种传染病的学科。")
    kept, drops = detect_language(frame, params)
    assert drops["status"].tolist() == ["dropped:language:low_confidence"]
    assert kept["lang"].tolist() == ["zh"]


def test_seeded_and_independent_of_the_global_langdetect_state():
    texts = ["Fever usually resolves within three days.", "Ok", "Mal de tête et fièvre.", "Rash, fever, cough"]
    params = {**PARAMS, "en_function_word_share": None}  # every text through langdetect
    first = [identify(t, params) for t in texts]
    DetectorFactory.seed = 12345  # the global factory must not matter
    assert [identify(t, params) for t in texts] == first


def test_every_document_is_kept_or_dropped_exactly_once(shared_data):
    frame = docs(*fever_lines(shared_data, *range(170, 200)))
    kept, drops = detect_language(frame, PARAMS)
    assert sorted(kept["id"].tolist() + drops["id"].tolist()) == sorted(frame["id"])
    assert {"lang", "lang_score"} <= set(kept.columns)


@pytest.mark.parametrize("text", ["", "   ", "—— 。。。"])
def test_text_without_letters_is_unknown(text):
    assert identify(text, PARAMS) == ("unknown", 0.0, False)


LATIN_ONLY_CASES = [
    "The fever and the cough " * 6,
    "The dose is 2 × 5 mg, and the ratio is 10 ÷ 2 for the children " * 3,  # × ÷: in the class, not letters
    "The patient with a fever was given the α-blocker and the β-agonist for the night " * 3,  # Greek letters
    "The trial with × and the Greek α that balance each other out for the count " * 3,
    "The café and the naïve résumé of the doctor with the patients " * 3,  # Latin-1 letters
    "The value of x² is larger than the value of the x for all of them " * 3,  # ² counts as a letter to LETTER_RE
    "The 患者 and the doctor with the patients of the clinic " * 3,
    "the_underscored word and the hyphen-ated one with the others " * 3,
]


@pytest.mark.parametrize("text", LATIN_ONLY_CASES)
def test_latin_only_rule_matches_the_plain_letter_count(text):
    # The rule reads "the Latin words' characters are all the text's letters"; it is computed
    # without listing every letter, so it is checked here against the plain count.
    from domainforge.curation.quality.language import english_function_word_share
    from domainforge.curation.quality.text_features import LATIN_WORD_RE, LETTER_RE

    words = LATIN_WORD_RE.findall(text)
    latin_only = sum(map(len, words)) == len(LETTER_RE.findall(text))
    assert (english_function_word_share(text, 5) is not None) == latin_only

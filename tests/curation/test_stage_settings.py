"""Every curation stage reads its parameters into its settings class: a misspelt key, at any
depth, is an error naming it and the nearest known key (it used to run with the default); a key
left out takes the default."""
import pandas as pd
import pytest

from domainforge.curation.chat_format import validate_chats
from domainforge.curation.decontaminate import decontaminate, decontamination_settings
from domainforge.curation.dedup.minhash import DedupSettings, dedup_settings, exact_dedup, near_dedup
from domainforge.curation.ingest.read import file_rule, ingest_documents
from domainforge.curation.mix import MixSettings, mix_sft
from domainforge.curation.normalise import normalise_documents
from domainforge.curation.privacy.scrub import scrub_documents
from domainforge.curation.quality.classifier import ClassifierSettings, classifier_settings, training_examples
from domainforge.curation.quality.language import LanguageSettings, detect_language
from domainforge.curation.quality.rules import filter_quality
from domainforge.curation.split import split_records
from domainforge.typed_settings import SettingsError

DOCUMENTS = pd.DataFrame({"id": ["a"], "source": ["s"], "corpus": ["domain"], "text": ["发热 &amp; 咳嗽"], "lang": ["zh"]})
CHATS = pd.DataFrame({"id": ["c"], "source": ["s"], "corpus": ["domain"], "messages": [[
    {"role": "user", "content": "发热？"}, {"role": "assistant", "content": "多喝水。"}]]})


@pytest.mark.parametrize(
    ("run", "message"),
    [
        (lambda: normalise_documents(DOCUMENTS, {"unescape_htm": False}), r"^normalise: unknown setting 'unescape_htm'; did you mean 'unescape_html'"),
        (lambda: validate_chats(CHATS, {"unescape_htm": False}), r"^normalise: unknown setting 'unescape_htm'"),
        (lambda: detect_language(DOCUMENTS, {"alowed": ["zh"]}), r"^language: unknown setting 'alowed'; did you mean 'allowed'"),
        (lambda: filter_quality(DOCUMENTS, {}), r"^quality: missing settings 'content', 'en', 'zh'"),
        (lambda: exact_dedup(DOCUMENTS, {"exact": {"casefolds": False}}), r"^dedup\.exact: unknown setting 'casefolds'; did you mean 'casefold'"),
        (lambda: near_dedup(DOCUMENTS, {"near": {"num_perms": 64}}), r"^dedup\.near: unknown setting 'num_perms'; did you mean 'num_perm'"),
        (lambda: decontamination_settings({"ngrams": 8}), r"^decontamination: unknown setting 'ngrams'; did you mean 'ngram'"),
        (lambda: decontaminate(DOCUMENTS, None, {"ngrams": 8}), r"^decontamination: unknown setting 'ngrams'"),
        (lambda: scrub_documents(DOCUMENTS, {"type": ["email"]}), r"^privacy: unknown setting 'type'; did you mean 'types'"),
        (lambda: scrub_documents(DOCUMENTS, {"placeholder": "blur"}), r"^privacy\.placeholder must be one of 'tag', 'surrogate'"),
        (lambda: mix_sft(CHATS, None, {"count_by": "character"}), r"^mix\.count_by must be one of 'tokens', 'characters', got 'character'; did you mean 'characters'"),
        (lambda: split_records(DOCUMENTS, {"eval_fracton": 0.5}), r"^split: unknown setting 'eval_fracton'; did you mean 'eval_fraction'"),
        (lambda: classifier_settings({"fasttext": {"epochs": 3}}), r"^quality_classifier\.fasttext: unknown setting 'epochs'; did you mean 'epoch'"),
        (lambda: classifier_settings({"positive": {"corpora": ["domain"]}}), r"^quality_classifier\.positive: unknown setting 'corpora'; did you mean 'corpus'"),
        (lambda: ingest_documents({}, {}, {"rules": [{"match": "*.txt", "splits": "line"}]}), r"^ingest\.rules\[0\]: unknown setting 'splits'; did you mean 'split'"),
        (lambda: ingest_documents({}, {}, {"rules": [{"split": "line"}]}), r"^ingest\.rules\[0\]: missing setting 'match'"),
    ],
)
def test_a_misspelt_stage_key_is_an_error_naming_it(run, message):
    with pytest.raises(SettingsError, match=message):
        run()


def test_left_out_keys_take_the_defaults():
    kept, _ = normalise_documents(DOCUMENTS, {})
    assert kept["text"].tolist() == ["发热 & 咳嗽"]
    assert LanguageSettings().allowed == ("zh", "en") and MixSettings().seed == 42
    assert dedup_settings({"near": {"num_perm": 64, "bands": 8, "rows": 8}}).exact == DedupSettings().exact
    settings = classifier_settings({"fasttext": {"epoch": 3}})
    assert settings.positive.corpus == ("domain",) and settings.negative.corpus == ("general",)
    assert "repeated_lines" not in settings.synthetic_kinds and settings == ClassifierSettings(fasttext={"epoch": 3})
    examples = training_examples(
        pd.DataFrame({"id": ["d", "g"], "source": "s", "corpus": ["domain", "general"], "text": ["发热。", "江湖。"], "lang": "zh"}),
        {"synthetic_negatives_per_positive": 0},
    )
    assert examples["label"].tolist() == ["__label__keep", "__label__drop"]
    rule = file_rule("notes/a.txt", {"rules": [{"match": "*.txt", "split": "blank_line"}]})
    assert (rule.format, rule.split, rule.joiner) == ("text", "blank_line", "\n")
    assert file_rule("b.csv", {}).format == "csv"

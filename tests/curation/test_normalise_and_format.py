import pandas as pd

from domainforge.curation.chat_format import chat_problem, validate_chats, validate_preferences
from domainforge.curation.normalise import normalise_documents, normalise_text


def test_chinese_punctuation_and_fullwidth_survive():
    text = "患者（男，45岁）：血压150/95mmHg！是否需要服药？「遵医嘱」；每日2次。"
    assert normalise_text(text) == text


def test_repairs_html_entities_mojibake_controls_and_whitespace():
    assert normalise_text("Heart &amp; lungs&nbsp;&lt;ok&gt;") == "Heart & lungs <ok>"
    assert normalise_text("cafÃ©") == "café"
    assert normalise_text("a\x00b\x07c\u200b d") == "abc d"
    assert normalise_text("  line  one \t\n\n\n\n\u3000\u3000第二段  ") == "line one\n\n第二段"


def test_documents_emptied_by_normalisation_are_dropped_with_reason():
    docs = pd.DataFrame({"id": ["a", "b"], "source": ["s", "s"], "corpus": ["domain"] * 2, "text": ["ok", "\u200b \x00"]})
    kept, drops = normalise_documents(docs, {})
    assert list(kept["id"]) == ["a"]
    assert drops.to_dict("records") == [{"id": "b", "source": "s", "status": "dropped:normalise:empty_after_normalisation"}]


def _msg(role, content):
    return {"role": role, "content": content}


def test_chat_validation_rules():
    assert chat_problem([_msg("user", "q"), _msg("assistant", "a")]) is None
    assert chat_problem([_msg("system", "s"), _msg("user", "q"), _msg("assistant", "a"), _msg("user", "q2"), _msg("assistant", "a2")]) is None
    assert chat_problem([_msg("assistant", "a")]) == "roles_not_alternating"
    assert chat_problem([_msg("user", "q"), _msg("assistant", "")]) == "empty_assistant_turn"
    assert chat_problem([_msg("user", "q")]) == "no_final_assistant_turn"
    assert chat_problem([_msg("user", "q"), _msg("system", "s"), _msg("assistant", "a")]) == "system_not_first"
    assert chat_problem([]) == "no_turns"


def test_validate_chats_normalises_and_accounts_for_every_chat():
    chats = pd.DataFrame(
        {
            "id": ["1", "2"],
            "source": ["s", "s"],
            "corpus": ["domain", "domain"],
            "messages": [[_msg("user", " 头痛&amp;发热 "), _msg("assistant", "休息")], [_msg("user", "q"), _msg("assistant", " \u200b")]],
        }
    )
    kept, drops = validate_chats(chats, {})
    assert kept["messages"][0][0]["content"] == "头痛&发热"
    assert list(drops["status"]) == ["dropped:format:empty_assistant_turn"]


def test_validate_preferences():
    prefs = pd.DataFrame(
        {
            "id": ["1", "2"],
            "source": ["s", "s"],
            "prompt": [[_msg("user", "q")], [_msg("user", "q")]],
            "chosen": [[_msg("assistant", "good")], [_msg("assistant", "same")]],
            "rejected": [[_msg("assistant", "bad")], [_msg("assistant", "same")]],
        }
    )
    kept, drops = validate_preferences(prefs, {})
    assert list(kept["id"]) == ["1"]
    assert list(drops["status"]) == ["dropped:format:chosen_equals_rejected"]


def test_ftfy_leaves_plain_ascii_unchanged_so_skipping_it_is_exact():
    # normalise_text skips ftfy for printable ASCII with tabs and newlines; this is what makes
    # that exact (ftfy's fixes need other characters), checked on random and awkward texts.
    import random

    import ftfy

    from domainforge.curation.normalise import _FTFY, _PLAIN_ASCII

    rng = random.Random(0)
    alphabet = [chr(c) for c in range(0x20, 0x7F)] + ["\t", "\n", "\n\n", "&amp;", "&lt;br&gt;", "--", "...", "''", "``"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400))) for _ in range(3000)]
    texts += ["He said \"it's fine\" -- really...\n\tTab & <b>bold</b> &#39; a+b=c; 100%", " " * 50, "\n" * 9]
    for text in texts:
        assert _PLAIN_ASCII.fullmatch(text)
        assert ftfy.fix_text(text, _FTFY) == text, repr(text)
    # What ftfy does change stays outside the skipped class.
    for changed in ["a\r\nb", "bell\x07", "\x1b[31mred\x1b[0m", "curly \u201cquote\u201d", "mojibake caf\u00c3\u00a9"]:
        assert not _PLAIN_ASCII.fullmatch(changed) and ftfy.fix_text(changed, _FTFY) != changed

import pytest

from domainforge.retrieval.chunking import chunk_text, chunk_texts, split_text


def _covered(text, chunks):
    covered = [False] * len(text)
    for c in chunks:
        assert text[c.start : c.end] == c.text
        for i in range(c.start, c.end):
            covered[i] = True
    return all(covered[i] or text[i].isspace() for i in range(len(text)))


@pytest.mark.parametrize("max_chars,overlap", [(80, 0), (120, 30), (400, 60)])
def test_chinese_textbook(shared_data, max_chars, overlap):
    text = "\n".join((shared_data / "medicalgpt/pretrain/fever.txt").read_text(encoding="utf-8").splitlines()[:60])
    chunks = chunk_text(text, "fever.txt", max_chars, overlap)
    assert chunks and all(1 <= len(c.text) <= max_chars for c in chunks)
    assert _covered(text, chunks)
    assert {c.source_id for c in chunks} == {"fever.txt"}


def test_chinese_cuts_at_sentence_ends_before_clauses():
    sentence = "发热是机体对致病因子的一种全身性反应，常见于感染性疾病。"  # 28 chars, one clause mark
    text = sentence * 5
    chunks = chunk_text(text, "s", max_chars=60)
    assert all(c.text.endswith("。") for c in chunks)  # whole sentences, never split at the comma
    assert "".join(c.text for c in chunks) == text  # no overlap requested: an exact partition


def test_overlap_repeats_trailing_sentences():
    text = "".join(f"第{i}句话讲的是一件事情。" for i in range(20))
    chunks = chunk_text(text, "s", max_chars=50, overlap_chars=15)
    assert len(chunks) > 2
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end  # the next chunk starts inside the previous one
        assert b.start > a.start  # ... but always advances


def test_hard_wrapped_english(shared_data):
    text = (shared_data / "medicalgpt/pretrain/en_article_first400.txt").read_text(encoding="utf-8")[:20000]
    chunks = chunk_text(text, "en", max_chars=300, overlap_chars=50)
    assert all(1 <= len(c.text) <= 300 for c in chunks)
    assert _covered(text, chunks)
    # Wrapped lines are not paragraph ends: most chunks end at a sentence or paragraph end.
    ends = sum(c.text.rstrip("\"'”)=").endswith((".", "!", "?", ":", ";")) for c in chunks)
    assert ends / len(chunks) > 0.6


def test_text_without_any_boundary_is_cut_at_the_limit():
    text = "a" * 250
    assert split_text(text, max_chars=100) == [(0, 100), (100, 200), (200, 250)]


def test_sources_kept_and_blank_texts_give_no_chunks():
    chunks = chunk_texts(["第一段。\n\n第二段。", "   \n", "Third text."], ["a", "b", "c"], max_chars=5)
    assert [(c.source_id, c.text) for c in chunks] == [("a", "第一段。"), ("a", "第二段。"), ("c", "Third"), ("c", "text.")]


@pytest.mark.parametrize("max_chars,overlap", [(0, 0), (10, 10), (10, -1)])
def test_bad_sizes_are_rejected(max_chars, overlap):
    with pytest.raises(ValueError):
        split_text("text", max_chars, overlap)


def test_texts_and_ids_must_align():
    with pytest.raises(ValueError, match="2 texts but 1 source ids"):
        chunk_texts(["a", "b"], ["x"])

import math

import pytest
from tiny_llama import steer

from domainforge.retrieval.answer import (
    AnswerGenerator,
    build_messages,
    cited_numbers,
    format_answer,
    min_similarity_for,
    relevant_references,
)
from domainforge.retrieval.retriever import Hit

HITS = [
    Hit("发热时应多喝水。", "fever#1", 0.03, 0.93, "fever#1@0"),
    Hit("高血压患者可以吃党参。", "dialogue#0", 0.02, 0.86, "dialogue#0@0"),
    Hit("Glaucoma damages the optic nerve.", "medquad#7", 5.1, math.nan, "medquad#7@0"),
]


def test_prompt_numbers_the_references_and_asks_for_citations():
    system, user = build_messages("发烧怎么办？", HITS[:2])
    assert "[编号]" in system["content"] and system["role"] == "system"
    assert "[1] (fever#1) 发热时应多喝水。" in user["content"]
    assert "[2] (dialogue#0) 高血压患者可以吃党参。" in user["content"]
    assert user["content"].endswith("问题：发烧怎么办？")


def test_without_references_the_model_is_told_to_decline():
    _, user = build_messages("What is glaucoma?", [])
    assert "No relevant references were found" in user["content"]
    assert "I cannot answer this question from the references." in user["content"]


def test_threshold_keeps_relevant_and_bm25_hits():
    kept = relevant_references(HITS, min_similarity=0.9)
    assert [h.source_id for h in kept] == ["fever#1", "medquad#7"]


def test_citation_numbers_are_parsed_and_bounded():
    assert cited_numbers("多喝水[1]，注意休息[2, 3]；见[1，2]与[9]。", 3) == [1, 2, 3]
    assert cited_numbers("no citations", 3) == []


def test_generator_answers_with_a_tiny_model(tiny_model_dir):
    generator = AnswerGenerator.from_artifact(str(tiny_model_dir), max_new_tokens=8)
    steer(generator.model, generator.tokenizer.convert_tokens_to_ids("Ġwater"))
    answer = generator.answer("发烧怎么办？", HITS, min_similarity=0.9)
    assert [h.source_id for h in answer.references] == ["fever#1", "medquad#7"]
    # Exactly the 8 generated tokens, decoded: no echo of the prompt, no special tokens.
    assert answer.answerable and answer.text == " ".join(["water"] * 8) and answer.cited == []
    printed = format_answer(answer, HITS, 0.9)
    assert printed.splitlines()[0] == answer.text
    assert "[1] fever#1" in printed and "[2] medquad#7" in printed and "dialogue#0" not in printed

    refused = generator.answer("发烧怎么办？", HITS[1:2], min_similarity=0.9)
    assert not refused.answerable and refused.references == []
    assert "no retrieved reference reached the similarity threshold 0.9" in format_answer(refused, HITS[1:2], 0.9)


def test_references_only_output_marks_those_below_the_threshold():
    lines = format_answer(None, HITS, 0.9).splitlines()
    assert lines[0] == "References:"
    assert [line[:4] for line in lines[1:4]] == [" [1]", "-[2]", " [3]"]


def test_references_that_overflow_the_context_are_dropped(tiny_model_dir):
    generator = AnswerGenerator.from_pretrained(tiny_model_dir, max_new_tokens=8)
    question = "发烧怎么办？"
    long_hits = [Hit("发热" * 40, f"doc#{i}", 1.0, 0.95, f"doc#{i}@0") for i in range(4)]
    two = generator.tokenizer.apply_chat_template(build_messages(question, long_hits[:2]), tokenize=False, add_generation_prompt=True)
    generator.model.config.max_position_embeddings = len(generator.tokenizer(two)["input_ids"]) + 8
    answer = generator.answer(question, long_hits, min_similarity=0.5)
    assert [h.source_id for h in answer.references] == ["doc#0", "doc#1"]


def test_threshold_setting_is_a_number_or_the_index_calibration():
    assert min_similarity_for(0.9, 0.7, 0.8) == 0.9
    assert min_similarity_for("auto", 0.7, 0.8) == 0.7
    assert min_similarity_for("auto", None, 0.8) == 0.8
    with pytest.raises(ValueError, match="number or 'auto'"):
        min_similarity_for("high", 0.7, 0.8)

"""Answers grounded in retrieved references: the prompt numbers the references, the model is asked
to cite them as [n], and when no reference clears the similarity threshold it is told to say it
cannot answer from the references."""
from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domainforge.retrieval.retriever import Hit
from domainforge.retrieval.settings import AnswerSettings
from domainforge.retrieval.text import has_chinese

log = logging.getLogger(__name__)

PROMPTS = {
    "zh": {
        "system": (
            "你是严谨的专业助手。只根据用户给出的编号参考资料回答问题，在用到某条资料的句子后用[编号]标注出处，"
            "例如[1]。参考资料里没有的内容不要编造；如果参考资料不足以回答，就说明无法根据参考资料回答。"
        ),
        "references": "参考资料：\n{references}\n\n问题：{question}",
        "no_references": "没有检索到与问题相关的参考资料。请直接回答：{cannot_answer}\n\n问题：{question}",
        "cannot_answer": "无法根据参考资料回答这个问题。",
    },
    "en": {
        "system": (
            "You are a careful expert assistant. Answer only from the numbered references the user "
            "gives, and cite the reference a sentence relies on as [n], e.g. [1]. Do not add facts "
            "that are not in the references; if they are not enough, say that you cannot answer "
            "from the references."
        ),
        "references": "References:\n{references}\n\nQuestion: {question}",
        "no_references": "No relevant references were found. Reply exactly: {cannot_answer}\n\nQuestion: {question}",
        "cannot_answer": "I cannot answer this question from the references.",
    },
}
_CITATION = re.compile(r"\[(\d+(?:\s*[,，、]\s*\d+)*)\]")


@dataclass
class Answer:
    question: str
    text: str
    references: list[Hit]  # reference [n] is references[n - 1]
    cited: list[int] = field(default_factory=list)  # valid reference numbers the text cites

    @property
    def answerable(self) -> bool:
        return bool(self.references)


def language_of(question: str) -> str:
    return "zh" if has_chinese(question) else "en"


def min_similarity_for(setting: float | str, calibrated: float | None, fallback: float) -> float:
    """The answer threshold: a number as configured, or with `auto` the index's calibrated one
    (answer_threshold.calibrate_min_similarity), `fallback` when the index has none."""
    if setting == "auto":
        return calibrated if calibrated is not None else fallback
    if isinstance(setting, bool) or not isinstance(setting, (int, float)):
        raise ValueError(f"rag.answer.min_similarity must be a number or 'auto', got {setting!r}")
    return float(setting)


def relevant_references(hits: list[Hit], min_similarity: float) -> list[Hit]:
    """Hits whose question similarity clears the threshold (BM25-only hits carry no similarity
    and are kept: BM25 already required a shared word)."""
    return [h for h in hits if math.isnan(h.similarity) or h.similarity >= min_similarity]


def build_messages(
    question: str, references: list[Hit], max_reference_chars: int = AnswerSettings.max_reference_chars
) -> list[dict]:
    prompts = PROMPTS[language_of(question)]
    if references:
        numbered = "\n".join(
            f"[{n}] ({h.source_id}) {h.text[:max_reference_chars]}" for n, h in enumerate(references, 1)
        )
        user = prompts["references"].format(references=numbered, question=question)
    else:
        user = prompts["no_references"].format(cannot_answer=prompts["cannot_answer"], question=question)
    return [{"role": "system", "content": prompts["system"]}, {"role": "user", "content": user}]


def cited_numbers(text: str, n_references: int) -> list[int]:
    found = {int(n) for group in _CITATION.findall(text) for n in re.split(r"\s*[,，、]\s*", group)}
    return sorted(n for n in found if 1 <= n <= n_references)


class AnswerGenerator:
    """Wraps a causal LM and its tokenizer; greedy decoding so that answers are reproducible."""

    def __init__(
        self,
        model,
        tokenizer,
        max_new_tokens: int = AnswerSettings.max_new_tokens,
        max_reference_chars: int = AnswerSettings.max_reference_chars,
        repetition_penalty: float = AnswerSettings.repetition_penalty,
    ):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        self.max_reference_chars = max_reference_chars
        self.repetition_penalty = repetition_penalty

    @classmethod
    def from_pretrained(cls, path: str | Path, **kwargs) -> AnswerGenerator:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        folder = Path(path)
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(f"{folder} is not a Hugging Face model directory (no config.json)")
        return cls(AutoModelForCausalLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder), **kwargs)

    @classmethod
    def from_artifact(cls, artifact: Any, **kwargs) -> AnswerGenerator:
        """From what a catalog model dataset loads: a model directory (path or os.PathLike), a
        (model, tokenizer) pair, a dict with `model` and `tokenizer`, or an object with those
        attributes (e.g. a transformers pipeline)."""
        if isinstance(artifact, (str, os.PathLike)):
            return cls.from_pretrained(os.fspath(artifact), **kwargs)
        if isinstance(artifact, tuple) and len(artifact) == 2:
            return cls(*artifact, **kwargs)
        if isinstance(artifact, dict) and {"model", "tokenizer"} <= artifact.keys():
            return cls(artifact["model"], artifact["tokenizer"], **kwargs)
        if hasattr(artifact, "model") and hasattr(artifact, "tokenizer"):
            return cls(artifact.model, artifact.tokenizer, **kwargs)
        raise TypeError(f"cannot make an answer generator from {type(artifact).__name__}")

    def _prompt_ids(self, messages: list[dict]):
        if self.tokenizer.chat_template:
            text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            return self.tokenizer(text, return_tensors="pt", add_special_tokens=False)
        text = "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant: "
        return self.tokenizer(text, return_tensors="pt")

    def _fitting_prompt(self, question: str, references: list[Hit]):
        """Drop the lowest-ranked references until prompt + answer fit the model's context."""
        limit = getattr(self.model.config, "max_position_embeddings", None)
        while True:
            inputs = self._prompt_ids(build_messages(question, references, self.max_reference_chars))
            if limit is None or inputs["input_ids"].shape[1] + self.max_new_tokens <= limit or not references:
                return inputs, references
            log.info("prompt too long for a %d-token context: dropping reference [%d]", limit, len(references))
            references = references[:-1]

    def answer(self, question: str, hits: list[Hit], min_similarity: float) -> Answer:
        import torch

        inputs, references = self._fitting_prompt(question, relevant_references(hits, min_similarity))
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        with torch.no_grad():
            output = self.model.generate(
                **inputs,
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                repetition_penalty=self.repetition_penalty,
                pad_token_id=pad,
            )
        text = self.tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True).strip()
        return Answer(question, text, references, cited_numbers(text, len(references)))


def format_answer(answer: Answer | None, hits: list[Hit], min_similarity: float, snippet_chars: int = 160) -> str:
    """The CLI's output: the answer (if generated), then the numbered references it was given
    (without an answer: every hit, `-` marking those below the similarity threshold)."""
    lines = []
    references = answer.references if answer else hits
    if answer is not None:
        lines += [answer.text or "(empty answer)", ""]
        if not answer.answerable:
            lines.append(f"(no retrieved reference reached the similarity threshold {min_similarity})")
            return "\n".join(lines)
    lines.append("References:")
    for n, hit in enumerate(references, 1):
        if answer is not None:
            mark = "*" if n in answer.cited else " "
        else:
            mark = " " if relevant_references([hit], min_similarity) else "-"
        snippet = " ".join(hit.text.split())
        snippet = snippet if len(snippet) <= snippet_chars else snippet[:snippet_chars] + "…"
        lines.append(f"{mark}[{n}] {hit.source_id} (score {hit.score:.3f}, similarity {hit.similarity:.3f}) {snippet}")
    lines.append("(* = cited in the answer)" if answer is not None else f"(- = similarity below {min_similarity}: not given to the model)")
    return "\n".join(lines)

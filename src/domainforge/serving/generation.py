"""One loaded chat model (and optionally a retrieval index) behind the server and the chat loop.

`ChatEngine.prepare` turns OpenAI-style messages into the prompt (the tokenizer's chat template),
checks it against the model's context and, with an index, grounds the last user question the way
`domainforge ask` does: retrieve, keep the references above the answer threshold
(`relevant_references`), number them in the prompt (`build_messages`), drop the lowest-ranked
ones until prompt + answer fit, and afterwards read the cited [n] (`cited_numbers`) and append the
reference list (`format_answer`). `complete` generates in one go, `stream` yields text as it is
decoded (transformers' TextIteratorStreamer). Generation is serialised by a lock: one model, one
request at a time.
"""
from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domainforge.retrieval.answer import (
    Answer,
    build_messages,
    cited_numbers,
    format_answer,
    min_similarity_for,
    relevant_references,
)
from domainforge.retrieval.retriever import Hit
from domainforge.retrieval.settings import AnswerSettings

log = logging.getLogger(__name__)


class RequestError(Exception):
    """A request the engine cannot serve: an HTTP 4xx in OpenAI's error shape."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None, status: int = 400):
        super().__init__(message)
        self.message, self.param, self.code, self.status = message, param, code, status


@dataclass
class GenerationSettings:
    max_tokens: int | None = None  # None: the engine's default, cut to what the context leaves
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    repetition_penalty: float | None = None  # None: the engine's default


@dataclass
class Grounding:
    question: str
    hits: list[Hit]
    min_similarity: float
    references: list[Hit]  # given to the model; reference [n] is references[n - 1]


@dataclass
class Prepared:
    inputs: dict
    prompt_tokens: int
    max_new_tokens: int
    settings: GenerationSettings
    grounding: Grounding | None = None


@dataclass
class Completion:
    text: str  # the model's answer (cut at a stop string)
    finish_reason: str  # "stop" or "length"
    prompt_tokens: int
    completion_tokens: int
    grounding: Grounding | None = None
    cited: list[int] = field(default_factory=list)

    @property
    def content(self) -> str:
        """The message text: the answer, then (grounded) the numbered references it was given."""
        return self.text + self.tail

    @property
    def tail(self) -> str:
        """What follows the answer in the message text (empty without an index)."""
        if self.grounding is None:
            return ""
        g = self.grounding
        full = format_answer(Answer(g.question, self.text, g.references, self.cited), g.hits, g.min_similarity)
        return full[len(self.text) :] if self.text else full

    def references(self) -> list[dict] | None:
        """The structured reference list (None without an index)."""
        if self.grounding is None:
            return None
        return [
            {
                "number": n,
                "id": hit.chunk_id,
                "source": hit.source_id,
                "text": hit.text,
                "score": _finite(hit.score),
                "similarity": _finite(hit.similarity),
                "cited": n in self.cited,
            }
            for n, hit in enumerate(self.grounding.references, 1)
        ]


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


class StopFilter:
    """Cuts text at the first stop string, also when it arrives in pieces: text that may be the
    start of a stop string is held back until it is known not to be."""

    def __init__(self, stops: list[str]):
        self.stops = [s for s in stops if s]
        self.pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        if self.stopped:
            return ""
        self.pending += text
        found = [i for i in (self.pending.find(s) for s in self.stops) if i >= 0]
        if found:
            out, self.pending, self.stopped = self.pending[: min(found)], "", True
            return out
        hold = max(
            (k for s in self.stops for k in range(min(len(s) - 1, len(self.pending)), 0, -1) if self.pending.endswith(s[:k])),
            default=0,
        )
        cut = len(self.pending) - hold
        out, self.pending = self.pending[:cut], self.pending[cut:]
        return out

    def flush(self) -> str:
        out, self.pending = ("" if self.stopped else self.pending), ""
        return out


def cut_at_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    f = StopFilter(stops)
    out = f.feed(text) + f.flush()
    return out, f.stopped


class ChatEngine:
    def __init__(
        self,
        model,
        tokenizer,
        *,
        retriever=None,
        name: str = "model",
        # Defaults: rag.answer's (retrieval/settings.py AnswerSettings).
        k: int = AnswerSettings.k,
        min_similarity: float | str = AnswerSettings.min_similarity,
        fallback_min_similarity: float = AnswerSettings.fallback_min_similarity,
        max_reference_chars: int = AnswerSettings.max_reference_chars,
        default_max_tokens: int = AnswerSettings.max_new_tokens,
        repetition_penalty: float = AnswerSettings.repetition_penalty,
    ):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.retriever = retriever
        self.name = name
        self.k = k
        self.max_reference_chars = max_reference_chars
        self.default_max_tokens = default_max_tokens
        self.repetition_penalty = repetition_penalty
        self.min_similarity = (
            min_similarity_for(min_similarity, retriever.min_similarity, fallback_min_similarity)
            if retriever is not None
            else None
        )
        self.lock = threading.Lock()
        eos = getattr(model.generation_config, "eos_token_id", None)
        eos = eos if eos is not None else tokenizer.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        index_dir: str | Path | None = None,
        *,
        device: str = "auto",
        dtype: str = "auto",
        name: str | None = None,
        **kwargs,
    ) -> ChatEngine:
        """The model and tokenizer of a Hugging Face directory (loaded once), and the retriever
        saved at `index_dir`. device auto = cuda when available; dtype auto = bfloat16 on cuda,
        float32 on cpu."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        folder = Path(model_dir)
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(f"{folder} is not a Hugging Face model directory (no config.json)")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if dtype == "auto":
            dtype = "bfloat16" if device.startswith("cuda") else "float32"
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=getattr(torch, dtype)).to(device)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        retriever = None
        if index_dir is not None:
            from domainforge.retrieval.retriever import Retriever

            retriever = Retriever.load(index_dir)
        return cls(model, tokenizer, retriever=retriever, name=name or folder.resolve().name, **kwargs)

    @property
    def context_length(self) -> int | None:
        return getattr(self.model.config, "max_position_embeddings", None)

    # ---- prompts ---------------------------------------------------------------------------
    def _prompt_ids(self, messages: list[dict]) -> dict:
        if self.tokenizer.chat_template:
            text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            return self.tokenizer(text, return_tensors="pt", add_special_tokens=False)
        text = "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant: "
        return self.tokenizer(text, return_tensors="pt")

    def _grounded(self, messages: list[dict], question: str, references: list[Hit]) -> list[dict]:
        """build_messages' system prompt (plus the client's system messages), the earlier turns,
        then the question with its numbered references."""
        system, user = build_messages(question, references, self.max_reference_chars)
        extra = [m["content"] for m in messages if m["role"] == "system"]
        system = {"role": "system", "content": "\n\n".join([system["content"], *extra])}
        history = [m for m in messages[:-1] if m["role"] != "system"]
        return [system, *history, user]

    def prepare(self, messages: list[dict], settings: GenerationSettings) -> Prepared:
        """messages: [{role: system|user|assistant, content: str}], the last from the user."""
        with self.lock:
            grounding = None
            if self.retriever is None:
                inputs = self._prompt_ids(messages)
                max_new = self._fit(inputs["input_ids"].shape[1], settings.max_tokens, final=True)
            else:
                question = messages[-1]["content"]
                # a conversation too long even without references fails before any retrieval
                bare = self._prompt_ids(self._grounded(messages, question, []))
                self._fit(bare["input_ids"].shape[1], settings.max_tokens, final=True)
                hits = self.retriever.search(question, self.k)
                references = relevant_references(hits, self.min_similarity)
                while True:
                    inputs = self._prompt_ids(self._grounded(messages, question, references))
                    max_new = self._fit(inputs["input_ids"].shape[1], settings.max_tokens, final=not references)
                    if max_new is not None:
                        break
                    log.info("prompt too long for the context: dropping reference [%d]", len(references))
                    references = references[:-1]
                grounding = Grounding(question, hits, self.min_similarity, references)
        inputs = {key: value.to(self.model.device) for key, value in inputs.items()}
        return Prepared(inputs, int(inputs["input_ids"].shape[1]), max_new, settings, grounding)

    def _fit(self, prompt_tokens: int, requested: int | None, final: bool) -> int | None:
        """Tokens the answer may have; None (or with `final` a RequestError) when it does not fit."""
        limit = self.context_length
        if limit is None:
            return requested or self.default_max_tokens
        if requested is None:
            if prompt_tokens < limit:
                return min(self.default_max_tokens, limit - prompt_tokens)
        elif prompt_tokens + requested <= limit:
            return requested
        if not final:
            return None
        asked = f"{prompt_tokens} in the messages" + (f", {requested} in the completion" if requested else "")
        raise RequestError(
            f"This model's maximum context length is {limit} tokens. However, you requested "
            f"{prompt_tokens + (requested or 1)} tokens ({asked}). Please reduce the length of the messages or completion.",
            param="messages",
            code="context_length_exceeded",
        )

    # ---- generation ------------------------------------------------------------------------
    def _generate_kwargs(self, prepared: Prepared) -> dict:
        s = prepared.settings
        kwargs: dict[str, Any] = {
            **prepared.inputs,
            "max_new_tokens": prepared.max_new_tokens,
            "pad_token_id": self.pad_id,
            "repetition_penalty": s.repetition_penalty if s.repetition_penalty is not None else self.repetition_penalty,
        }
        if s.temperature > 0:
            kwargs.update(do_sample=True, temperature=s.temperature, top_p=s.top_p, top_k=0)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if s.stop:
            kwargs.update(stop_strings=s.stop, tokenizer=self.tokenizer)
        return kwargs

    def _run(self, kwargs: dict, seed: int | None):
        import torch

        with self.lock, torch.no_grad():
            if kwargs.get("do_sample") and seed is not None:
                torch.manual_seed(seed)
            return self.model.generate(**kwargs)

    def _finish(self, prepared: Prepared, output, text: str, stopped: bool) -> Completion:
        new = output[0, prepared.prompt_tokens :].tolist()
        if stopped or (new and new[-1] in self.eos_ids) or len(new) < prepared.max_new_tokens:
            reason = "stop"
        else:
            reason = "length"
        grounding = prepared.grounding
        cited = cited_numbers(text, len(grounding.references)) if grounding else []
        return Completion(text, reason, prepared.prompt_tokens, len(new), grounding, cited)

    def complete(self, prepared: Prepared) -> Completion:
        output = self._run(self._generate_kwargs(prepared), prepared.settings.seed)
        text = self.tokenizer.decode(output[0, prepared.prompt_tokens :], skip_special_tokens=True)
        text, stopped = cut_at_stop(text, prepared.settings.stop)
        return self._finish(prepared, output, text, stopped)

    def stream(self, prepared: Prepared, cancel: threading.Event | None = None) -> Iterator[str | Completion]:
        """Yields pieces of the answer as they are decoded, then the Completion."""
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        cancel = cancel or threading.Event()

        class Cancelled(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                import torch

                return torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool, device=input_ids.device)

        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = {**self._generate_kwargs(prepared), "streamer": streamer, "stopping_criteria": StoppingCriteriaList([Cancelled()])}
        result: dict = {}

        def work():
            try:
                result["output"] = self._run(kwargs, prepared.settings.seed)
            except BaseException as error:  # handed to the consumer below
                result["error"] = error
                streamer.end()

        thread = threading.Thread(target=work, name="generate", daemon=True)
        thread.start()
        stops = StopFilter(prepared.settings.stop)
        pieces = []
        try:
            for piece in streamer:
                out = stops.feed(piece)
                if out:
                    pieces.append(out)
                    yield out
                if stops.stopped:
                    cancel.set()  # the stop string is in: no need to generate on
            thread.join()
            if "error" in result:
                raise result["error"]
            rest = stops.flush()
            if rest:
                pieces.append(rest)
                yield rest
            yield self._finish(prepared, result["output"], "".join(pieces), stops.stopped)
        finally:
            cancel.set()  # a client that went away stops the generation

"""The OpenAI-compatible server through the real `openai` client against a real uvicorn server on
127.0.0.1, with a tiny random Llama (greedy decoding makes its text reproducible)."""
from __future__ import annotations

import json
import math
import urllib.error
import urllib.request

import openai
import pytest
from planted import PLANTED_QUESTIONS

from domainforge.retrieval.answer import cited_numbers

HELLO = [{"role": "system", "content": "You are a doctor."}, {"role": "user", "content": "发烧怎么办？"}]


def streamed(client, **kwargs):
    chunks = list(client.chat.completions.create(stream=True, **kwargs))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks


def raw(url: str, body: bytes | None, method: str = "POST") -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def assert_openai_error(body: dict):
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_models_lists_the_served_model(client, engine):
    models = client.models.list()
    assert [m.id for m in models.data] == [engine.name] == ["tiny-chat"]
    assert client.models.retrieve("tiny-chat").owned_by == "domainforge"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


def test_answer_honours_max_tokens_and_reports_usage(client):
    response = client.chat.completions.create(model="tiny-chat", messages=HELLO, max_tokens=12, temperature=0)
    choice = response.choices[0]
    assert response.object == "chat.completion" and response.model == "tiny-chat"
    assert choice.message.role == "assistant" and isinstance(choice.message.content, str)
    assert choice.finish_reason in ("stop", "length")
    assert 1 <= response.usage.completion_tokens <= 12 and response.usage.prompt_tokens > 10
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens
    assert getattr(choice, "references", None) is None  # no index: no references


def test_stream_concatenates_to_the_greedy_answer(client):
    whole = client.chat.completions.create(model="tiny-chat", messages=HELLO, max_tokens=24, temperature=0)
    text, chunks = streamed(client, model="tiny-chat", messages=HELLO, max_tokens=24, temperature=0, stream_options={"include_usage": True})
    assert len(whole.choices[0].message.content) > 5
    assert text == whole.choices[0].message.content
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    finishing = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishing == [whole.choices[0].finish_reason]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_stream_ends_with_done(base_url):
    body = json.dumps({"messages": HELLO, "max_tokens": 4, "stream": True}).encode()
    request = urllib.request.Request(f"{base_url}/chat/completions", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        events = [line for line in response.read().decode().split("\n\n") if line]
    assert events[-1] == "data: [DONE]" and all(e.startswith("data: ") for e in events)
    assert json.loads(events[0][6:])["choices"][0]["delta"]["role"] == "assistant"


def test_stop_string_cuts_the_answer(client):
    full = client.chat.completions.create(model="tiny-chat", messages=HELLO, max_tokens=24).choices[0].message.content
    start = next(i for i in range(3, len(full) - 2) if full[i : i + 2].strip() == full[i : i + 2])
    stop = full[start : start + 2]
    expected = full[: full.find(stop)]
    cut = client.chat.completions.create(model="tiny-chat", messages=HELLO, max_tokens=24, stop=[stop, "never-seen"])
    assert cut.choices[0].message.content == expected and cut.choices[0].finish_reason == "stop"
    text, _ = streamed(client, model="tiny-chat", messages=HELLO, max_tokens=24, stop=stop)
    assert text == expected


def test_sampling_is_reproducible_with_a_seed(client):
    kwargs = dict(model="tiny-chat", messages=HELLO, max_tokens=16, temperature=1.5, top_p=0.9, seed=7)
    first = client.chat.completions.create(**kwargs).choices[0].message.content
    assert client.chat.completions.create(**kwargs).choices[0].message.content == first


def test_grounded_answer_cites_numbered_references(rag_client):
    response = rag_client.chat.completions.create(
        model="tiny-chat", messages=[{"role": "user", "content": PLANTED_QUESTIONS["planted#zh"]}], max_tokens=16
    )
    choice = response.choices[0]
    references = choice.references  # extra field, kept by the client's models
    assert references and references[0]["source"] == "planted#zh" and references[0]["number"] == 1
    assert [r["number"] for r in references] == list(range(1, len(references) + 1))
    assert all(r["similarity"] >= 0.8 and r["id"].startswith(r["source"]) for r in references)
    content = choice.message.content
    answer, block = content.split("\nReferences:\n")
    for r in references:
        mark = "*" if r["cited"] else " "
        assert f"{mark}[{r['number']}] {r['source']} " in block
    assert [r["number"] for r in references if r["cited"]] == cited_numbers(answer, len(references))

    text, chunks = streamed(rag_client, model="tiny-chat", messages=[{"role": "user", "content": PLANTED_QUESTIONS["planted#zh"]}], max_tokens=16)
    assert text == content
    assert chunks[-1].choices[0].references == references


def test_references_in_the_prompt_are_dropped_to_fit_the_context(rag_engine):
    question = [{"role": "user", "content": PLANTED_QUESTIONS["planted#zh"]}]
    full = rag_engine.prepare(question, rag_engine_settings(16))
    assert len(full.grounding.references) >= 2
    # an answer one token too long for the prompt with every reference: the last one goes
    tight = rag_engine.prepare(question, rag_engine_settings(rag_engine.context_length - full.prompt_tokens + 1))
    assert tight.grounding.references == full.grounding.references[:-1]


def rag_engine_settings(max_tokens):
    from domainforge.serving import GenerationSettings

    return GenerationSettings(max_tokens=max_tokens)


def test_without_relevant_references_the_model_is_told_to_decline(rag_engine):
    from domainforge.serving import ChatEngine

    strict = ChatEngine(rag_engine.model, rag_engine.tokenizer, retriever=rag_engine.retriever, min_similarity=0.9999, default_max_tokens=4)
    prepared = strict.prepare([{"role": "user", "content": "今天天气怎么样？"}], rag_engine_settings(4))
    assert prepared.grounding.references == [] and prepared.grounding.hits
    completion = strict.complete(prepared)
    assert completion.references() == []
    assert "no retrieved reference reached the similarity threshold 0.9999" in completion.content


def test_cited_references_are_marked(rag_engine):
    from domainforge.serving.generation import Completion

    prepared = rag_engine.prepare([{"role": "user", "content": PLANTED_QUESTIONS["planted#zh"]}], rag_engine_settings(4))
    text = "饭后服用[1]。"
    c = Completion(text, "stop", 10, 4, prepared.grounding, cited_numbers(text, len(prepared.grounding.references)))
    assert c.content.startswith(text + "\n\nReferences:\n*[1] planted#zh ")
    assert [r["cited"] for r in c.references()] == [True] + [False] * (len(prepared.grounding.references) - 1)
    assert not any(isinstance(r["similarity"], float) and math.isnan(r["similarity"]) for r in c.references())


LONG = "fever " * 3000


@pytest.mark.parametrize(
    "kwargs, error, param, code",
    [
        ({"messages": []}, openai.BadRequestError, "messages", "invalid_value"),
        ({"messages": [{"role": "bogus", "content": "hi"}]}, openai.BadRequestError, "messages[0].role", "invalid_value"),
        ({"messages": [{"role": "tool", "content": "hi", "tool_call_id": "x"}]}, openai.BadRequestError, "messages[0].role", "invalid_value"),
        ({"messages": [{"role": "user", "content": "   "}]}, openai.BadRequestError, "messages[0].content", "invalid_value"),
        ({"messages": [{"role": "user"}]}, openai.BadRequestError, "messages[0].content", "invalid_value"),
        ({"messages": [{"role": "user", "content": 5}]}, openai.BadRequestError, "messages[0].content", "invalid_value"),
        ({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}, openai.BadRequestError, "messages[1].role", "invalid_value"),
        ({"messages": [{"role": "user", "content": LONG}]}, openai.BadRequestError, "messages", "context_length_exceeded"),
        ({"messages": HELLO, "max_tokens": 2048}, openai.BadRequestError, "messages", "context_length_exceeded"),
        ({"messages": HELLO, "model": "gpt-4o"}, openai.NotFoundError, "model", "model_not_found"),
        ({"messages": HELLO, "temperature": 5}, openai.BadRequestError, "temperature", "invalid_value"),
        ({"messages": HELLO, "max_tokens": 0}, openai.BadRequestError, "max_tokens", "invalid_value"),
        ({"messages": HELLO, "n": 2}, openai.BadRequestError, "n", "invalid_value"),
        ({"messages": HELLO, "stop": ["a", "b", "c", "d", "e"]}, openai.BadRequestError, "stop", "invalid_value"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_bad_requests_get_openai_errors(client, kwargs, error, param, code, stream):
    kwargs = {"model": "tiny-chat", **kwargs}
    with pytest.raises(error) as caught:
        if stream:
            list(client.chat.completions.create(stream=True, **kwargs))
        else:
            client.chat.completions.create(**kwargs)
    assert caught.value.status_code == (404 if error is openai.NotFoundError else 400)
    assert caught.value.param == param and caught.value.code == code and caught.value.type == "invalid_request_error"
    assert_openai_error(caught.value.response.json())


def test_grounded_bad_request_is_checked_before_retrieval(rag_client, rag_engine, monkeypatch):
    monkeypatch.setattr(rag_engine.retriever, "search", lambda *a, **k: pytest.fail("retrieved for a hopeless prompt"))
    with pytest.raises(openai.BadRequestError) as caught:
        rag_client.chat.completions.create(model="tiny-chat", messages=[{"role": "user", "content": LONG}])
    assert caught.value.code == "context_length_exceeded"


@pytest.mark.parametrize(
    "body, status, param, code",
    [
        (b'{"messages": [{"role": "user", "content": "hi"}', 400, None, "invalid_json"),
        (b"not json at all", 400, None, "invalid_json"),
        (b'{"model": "tiny-chat"}', 400, "messages", "missing_required_parameter"),
        (b"[1, 2]", 400, None, "invalid_body"),
        (None, 400, None, "missing_body"),
    ],
)
def test_malformed_bodies_get_openai_errors(base_url, body, status, param, code):
    got_status, got = raw(f"{base_url}/chat/completions", body)
    assert got_status == status, got
    assert_openai_error(got)
    assert got["error"]["param"] == param and got["error"]["code"] == code


def test_unknown_urls_and_methods_get_openai_errors(base_url):
    status, body = raw(f"{base_url}/completions", b"{}")
    assert status == 404 and body["error"]["code"] == "unknown_url"
    status, body = raw(f"{base_url}/chat/completions", None, method="GET")
    assert status == 405 and body["error"]["code"] == "method_not_allowed"

"""The OpenAI-compatible HTTP API over one ChatEngine.

    GET  /v1/models                  the served model
    GET  /v1/models/{id}
    POST /v1/chat/completions        non-streaming, or `stream: true` as server-sent events
                                     (`chat.completion.chunk` objects, then `data: [DONE]`)

With a retrieval index the assistant message ends with the numbered references it was given
(`*` marking those the answer cites) and each choice carries them as
`references: [{number, id, source, text, score, similarity, cited}]` (on the last chunk when
streaming). Every error is a JSON body in OpenAI's shape `{"error": {message, type, param, code}}`:
bad requests are 400, an unknown model 404, only a fault of the server itself is a 500.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domainforge.serving.generation import ChatEngine, Completion, GenerationSettings, RequestError
from domainforge.serving.schemas import ChatCompletionRequest, error_body

log = logging.getLogger(__name__)
MAX_STOP_STRINGS = 4


def _error(status: int, message: str, param: str | None = None, code: str | None = None) -> JSONResponse:
    kind = "server_error" if status >= 500 else ("not_found_error" if status == 404 and code is None else "invalid_request_error")
    return JSONResponse(error_body(message, kind, param, code), status_code=status)


def _param(loc: tuple) -> str | None:
    """('body', 'messages', 0, 'role') -> 'messages[0].role'."""
    parts = [p for p in loc if p != "body"]
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif p in ("str", "list[TextPart]") or "[" in str(p):  # pydantic's union-branch labels
            continue
        else:
            out += f".{p}" if out else str(p)
    return out or None


def _validation_error(exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    for e in errors:
        if e.get("type") == "json_invalid":
            return _error(
                400,
                "We could not parse the JSON body of your request. The API expects a JSON payload "
                f"({e.get('ctx', {}).get('error', 'invalid JSON')}).",
                code="invalid_json",
            )
    first = errors[0] if errors else {"loc": (), "msg": "invalid request", "type": "invalid"}
    param = _param(tuple(first.get("loc", ())))
    if first.get("type") == "missing":
        if param is None:
            return _error(400, "The request has no JSON body.", code="missing_body")
        return _error(400, f"Missing required parameter: '{param}'.", param, "missing_required_parameter")
    if param is None:
        return _error(400, f"Invalid request body: {first.get('msg')}.", code="invalid_body")
    got = first.get("input")
    shown = f" {json.dumps(got, ensure_ascii=False, default=str)[:80]}" if got is not None and not isinstance(got, (dict, list)) else ""
    return _error(400, f"Invalid value{shown} for '{param}': {first.get('msg')}.", param, "invalid_value")


def _settings(body: ChatCompletionRequest, engine: ChatEngine) -> tuple[list[dict], GenerationSettings]:
    """The checks pydantic's types cannot express; messages as plain dicts."""
    if body.model is not None and body.model != engine.name:
        raise RequestError(f"The model '{body.model}' does not exist (this server serves '{engine.name}').", "model", "model_not_found", 404)
    if body.n not in (None, 1):
        raise RequestError("Only n=1 is supported.", "n", "invalid_value")
    messages = []
    for i, message in enumerate(body.messages):
        text = message.text()
        if not text.strip():
            raise RequestError(f"messages[{i}].content must not be empty.", f"messages[{i}].content", "invalid_value")
        messages.append({"role": "system" if message.role == "developer" else message.role, "content": text})
    if messages[-1]["role"] != "user":
        raise RequestError(
            f"The last message must have role 'user', not '{messages[-1]['role']}'.", f"messages[{len(messages) - 1}].role", "invalid_value"
        )
    stop = body.stop_list()
    if len(stop) > MAX_STOP_STRINGS or any(not s for s in stop):
        raise RequestError(f"'stop' takes up to {MAX_STOP_STRINGS} non-empty strings.", "stop", "invalid_value")
    if body.max_tokens is not None and body.max_completion_tokens is not None and body.max_tokens != body.max_completion_tokens:
        raise RequestError("Give max_tokens or max_completion_tokens, not two different values.", "max_tokens", "invalid_value")
    settings = GenerationSettings(
        max_tokens=body.max_completion_tokens or body.max_tokens,
        temperature=body.temperature or 0.0,
        top_p=body.top_p if body.top_p is not None else 1.0,
        stop=stop,
        seed=body.seed,
        repetition_penalty=body.repetition_penalty,
    )
    return messages, settings


def _usage(c: Completion) -> dict:
    return {"prompt_tokens": c.prompt_tokens, "completion_tokens": c.completion_tokens, "total_tokens": c.prompt_tokens + c.completion_tokens}


def create_app(engine: ChatEngine) -> FastAPI:
    app = FastAPI(title="DomainForge", description="OpenAI-compatible chat API over a DomainForge model", version="1")
    app.state.engine = engine
    created = int(time.time())

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError):
        return _validation_error(exc)

    @app.exception_handler(RequestError)
    async def on_request_error(request: Request, exc: RequestError):
        return _error(exc.status, exc.message, exc.param, exc.code)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404:
            return _error(404, f"Unknown URL {request.method} {request.url.path}.", code="unknown_url")
        if exc.status_code == 405:
            return _error(405, f"Method {request.method} is not allowed on {request.url.path}.", code="method_not_allowed")
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def on_anything(request: Request, exc: Exception):
        log.exception("request %s %s failed", request.method, request.url.path)
        return _error(500, f"The server failed on this request ({type(exc).__name__}).", code="server_error")

    def model_card() -> dict:
        return {"id": engine.name, "object": "model", "created": created, "owned_by": "domainforge"}

    @app.get("/v1/models")
    def list_models():
        return {"object": "list", "data": [model_card()]}

    @app.get("/v1/models/{model_id}")
    def get_model(model_id: str):
        if model_id != engine.name:
            raise RequestError(f"The model '{model_id}' does not exist.", "model", "model_not_found", 404)
        return model_card()

    @app.post("/v1/chat/completions")
    def chat_completions(body: ChatCompletionRequest):
        messages, settings = _settings(body, engine)
        prepared = engine.prepare(messages, settings)
        request_id = f"chatcmpl-{uuid.uuid4().hex}"
        now = int(time.time())
        if not body.stream:
            c = engine.complete(prepared)
            choice = {"index": 0, "message": {"role": "assistant", "content": c.content}, "logprobs": None, "finish_reason": c.finish_reason}
            if c.references() is not None:
                choice["references"] = c.references()
            return {"id": request_id, "object": "chat.completion", "created": now, "model": engine.name, "choices": [choice], "usage": _usage(c)}
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(
            _events(engine, prepared, request_id, now, include_usage),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return app


def _events(engine: ChatEngine, prepared, request_id: str, created: int, include_usage: bool):
    """Server-sent events in OpenAI's chunk format (a sync generator: starlette runs it in a
    worker thread, so the event loop stays free while the model generates)."""

    def event(choices: list, **extra) -> str:
        chunk = {"id": request_id, "object": "chat.completion.chunk", "created": created, "model": engine.name, "choices": choices, **extra}
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    def delta(content: str | None = None, **fields) -> dict:
        d = {"content": content} if content is not None else {}
        return {"index": 0, "delta": {**fields, **d}, "logprobs": None, "finish_reason": None}

    cancel = threading.Event()
    try:
        yield event([delta("", role="assistant")])
        completion = None
        for item in engine.stream(prepared, cancel):
            if isinstance(item, Completion):
                completion = item
            elif item:
                yield event([delta(item)])
        if completion.tail:
            yield event([delta(completion.tail)])
        last = {"index": 0, "delta": {}, "logprobs": None, "finish_reason": completion.finish_reason}
        if completion.references() is not None:
            last["references"] = completion.references()
        yield event([last])
        if include_usage:
            yield event([], usage=_usage(completion))
    except Exception as exc:  # headers are sent: report in the stream
        log.exception("streamed generation failed")
        yield f"data: {json.dumps(error_body(f'generation failed ({type(exc).__name__})', 'server_error'))}\n\n"
    finally:
        cancel.set()
    yield "data: [DONE]\n\n"


def serve(engine: ChatEngine, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    import uvicorn

    uvicorn.run(create_app(engine), host=host, port=port, log_level=log_level)

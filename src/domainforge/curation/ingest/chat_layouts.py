"""Map the common chat and preference layouts onto one schema: a list of {role, content}.

ShareGPT `conversations: [{from, value}]`, OpenAI `messages: [{role, content}]`,
Alpaca `instruction / input / output` (+ optional `system`, `history: [[q, a], ...]`).
"""
from __future__ import annotations

from collections.abc import Mapping

_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bot": "assistant",
    "model": "assistant",
    "system": "system",
}


class ChatLayoutError(ValueError):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason


def _turns(items, role_key: str, content_key: str) -> list[dict]:
    if not isinstance(items, list) or not items:
        raise ChatLayoutError("empty_conversation")
    messages = []
    for turn in items:
        if not isinstance(turn, Mapping) or role_key not in turn or content_key not in turn:
            raise ChatLayoutError(f"missing_field:{role_key}/{content_key}")
        role = _ROLES.get(str(turn[role_key]).strip().lower())
        if role is None:
            raise ChatLayoutError(f"unknown_role:{turn[role_key]}")
        if not isinstance(turn[content_key], str):
            raise ChatLayoutError("not_text", f"{content_key} must be a string")
        messages.append({"role": role, "content": turn[content_key]})
    return messages


def _alpaca(obj: Mapping) -> list[dict]:
    messages = [{"role": "system", "content": obj["system"]}] if obj.get("system") else []
    for pair in obj.get("history") or []:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ChatLayoutError("bad_history", "history items must be [question, answer] pairs")
        messages += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
    prompt = "\n".join(p for p in (obj.get("instruction", ""), obj.get("input", "")) if p)
    messages.append({"role": "user", "content": prompt})
    if "output" in obj:
        messages.append({"role": "assistant", "content": obj["output"]})
    return messages


def to_messages(obj: Mapping) -> list[dict]:
    """The conversation in `obj`, whichever supported layout it uses."""
    if "conversations" in obj:
        return _turns(obj["conversations"], "from", "value")
    if "messages" in obj:
        return _turns(obj["messages"], "role", "content")
    if "instruction" in obj:
        return _alpaca(obj)
    raise ChatLayoutError("unknown_chat_layout", f"keys {sorted(obj)[:6]}")


def _response(value, field: str) -> list[dict]:
    """A chosen/rejected answer as a one-message assistant list."""
    if isinstance(value, str):
        return [{"role": "assistant", "content": value}]
    if isinstance(value, list):
        answers = [m for m in _turns(value, "role", "content") if m["role"] == "assistant"]
        if answers:
            return answers[-1:]
    raise ChatLayoutError(f"missing_field:{field}")


def preference_from_record(obj: Mapping) -> dict:
    """{prompt, chosen, rejected} from a preference record (prompt as text, messages or ShareGPT)."""
    for field in ("chosen", "rejected"):
        if field not in obj:
            raise ChatLayoutError(f"missing_field:{field}")
    if "prompt" in obj:
        prompt = obj["prompt"]
        prompt = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else _turns(prompt, "role", "content")
    elif "question" in obj:
        prompt = [{"role": "user", "content": obj["question"]}]
    else:
        prompt = to_messages(obj)
    return {"prompt": prompt, "chosen": _response(obj["chosen"], "chosen"), "rejected": _response(obj["rejected"], "rejected")}

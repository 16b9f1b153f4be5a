"""Validate chats and preference pairs against the canonical schema, normalising their text.

A valid chat: optional leading system message, then user/assistant turns alternating, starting
with user and ending with a non-empty assistant turn.
"""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from .normalise import normalise_text
from .records import drop_rows


def _normalised(messages, params: Mapping) -> list[dict]:
    return [{"role": m["role"], "content": normalise_text(m["content"], params)} for m in list(messages)]


def chat_problem(messages: list[dict], *, needs_answer: bool = True) -> str | None:
    """Why `messages` is not a valid chat, or None."""
    turns = messages[1:] if messages and messages[0]["role"] == "system" else messages
    if not turns:
        return "no_turns"
    if any(m["role"] == "system" for m in turns):
        return "system_not_first"
    for index, message in enumerate(turns):
        expected = "user" if index % 2 == 0 else "assistant"
        if message["role"] != expected:
            return "roles_not_alternating"
        if not message["content"]:
            return f"empty_{message['role']}_turn"
    if needs_answer and turns[-1]["role"] != "assistant":
        return "no_final_assistant_turn"
    if not needs_answer and turns[-1]["role"] != "user":
        return "prompt_not_ending_with_user"
    return None


def validate_chats(chats: pd.DataFrame, params: Mapping) -> tuple[pd.DataFrame, pd.DataFrame]:
    out = chats.copy()
    out["messages"] = [_normalised(m, params) for m in out["messages"]]
    problems = pd.Series([chat_problem(m) for m in out["messages"]], index=out.index)
    return drop_rows(out, problems.notna(), "dropped:format:" + problems.fillna(""))


def _preference_problem(row) -> str | None:
    problem = chat_problem(row["prompt"], needs_answer=False)
    if problem:
        return f"prompt_{problem}"
    chosen, rejected = row["chosen"][0]["content"], row["rejected"][0]["content"]
    if not chosen or not rejected:
        return "empty_response"
    if chosen == rejected:
        return "chosen_equals_rejected"
    return None


def validate_preferences(preferences: pd.DataFrame, params: Mapping) -> tuple[pd.DataFrame, pd.DataFrame]:
    out = preferences.copy()
    for column in ("prompt", "chosen", "rejected"):
        out[column] = [_normalised(m, params) for m in out[column]]
    problems = pd.Series([_preference_problem(row) for _, row in out.iterrows()], index=out.index, dtype=object)
    return drop_rows(out, problems.notna(), "dropped:format:" + problems.fillna(""))

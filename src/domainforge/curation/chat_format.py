"""Validate chats and preference pairs against the canonical schema, normalising their text.

A valid chat: optional leading system message, then user/assistant turns alternating, starting
with user and ending with a non-empty assistant turn.
"""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from domainforge.curation.engine import IN_PROCESS
from domainforge.curation.normalise import NormaliseSettings, normalise_settings, normalise_text
from domainforge.curation.stage import DROP, Stage, run_stage


def _normalised(messages, params: NormaliseSettings) -> list[dict]:
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


def judge_format(batch: pd.DataFrame, params: Mapping, kind: str) -> pd.DataFrame:
    """Normalises every message's text; drops a chat (`kind` "chats") or a preference pair
    ("preferences") that breaks the schema, with the problem as reason. params: `normalise`."""
    params = normalise_settings(params)
    out = batch.copy()
    if kind == "chats":
        out["messages"] = [_normalised(m, params) for m in out["messages"]]
        problems = [chat_problem(m) for m in out["messages"]]
    else:
        for column in ("prompt", "chosen", "rejected"):
            out[column] = [_normalised(m, params) for m in out[column]]
        problems = [_preference_problem(row) for _, row in out.iterrows()]
    out[DROP] = [problem or "" for problem in problems]
    return out


STAGE = Stage("format", ("drops_chat_format", "drops_preference_format"), judge=judge_format)


def validate_chats(chats: pd.DataFrame, params: Mapping | NormaliseSettings, runtime=IN_PROCESS):
    return run_stage(STAGE, chats, normalise_settings(params), runtime, "chats")


def validate_preferences(preferences: pd.DataFrame, params: Mapping | NormaliseSettings, runtime=IN_PROCESS):
    return run_stage(STAGE, preferences, normalise_settings(params), runtime, "preferences")

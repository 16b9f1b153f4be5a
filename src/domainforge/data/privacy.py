"""PASS-THROUGH placeholder (issue 4 replaces it): PII scrubbing."""
import pandas as pd


def scrub_text(text: str, **kwargs) -> str:
    return text


def scrub_documents(documents: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, dict]:
    return documents, {"counts": {}}


def scrub_chats(chats: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, dict]:
    return chats, {"counts": {}}


def scrub_preferences(preferences: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, dict]:
    return preferences, {"counts": {}}

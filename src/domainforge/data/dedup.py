"""PASS-THROUGH placeholder (issue 3 replaces it): exact and MinHash near dedup."""
import pandas as pd

from .records import drops_table


def exact_dedup(documents: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    return documents, drops_table()


def near_dedup(documents: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    return documents, drops_table(), {"clusters": 0}


def near_duplicate_clusters(texts: list[str], **params) -> list[list[int]]:
    return []

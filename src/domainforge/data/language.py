"""PASS-THROUGH placeholder (issue 3 replaces it): language identification."""
import pandas as pd

from .records import drops_table


def detect_language(documents: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    out = documents.copy()
    out["lang"] = "unknown"
    out["lang_score"] = 0.0
    return out, drops_table()

"""PASS-THROUGH placeholder (issue 3 replaces it): heuristic quality filters."""
import pandas as pd

from .records import drops_table


def filter_quality(documents: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    return documents, drops_table()

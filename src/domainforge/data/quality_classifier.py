"""PASS-THROUGH placeholder (issue 3 replaces it): fastText quality classifier."""
import pandas as pd

from .records import drops_table


def train_quality_classifier(documents: pd.DataFrame, params: dict):
    return {"placeholder": True}, {"placeholder": True}


def filter_by_classifier(documents: pd.DataFrame, model, params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    return documents, drops_table()

"""Custom Kedro datasets (referenced from conf/ as `domainforge.datasets.<Class>`)."""
from .raw_files import RawFilesDataset
from .tokenizer import TokenizerDataset

__all__ = ["RawFilesDataset", "TokenizerDataset"]

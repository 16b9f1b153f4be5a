"""Custom Kedro datasets (referenced from conf/ as `domainforge.datasets.<Class>`)."""
from .duplicates import DuplicatesDataset
from .raw_files import RawFile, RawFilesDataset
from .sharded_table import ShardedTableDataset
from .tokenizer import TokenizerDataset

__all__ = ["DuplicatesDataset", "RawFile", "RawFilesDataset", "ShardedTableDataset", "TokenizerDataset"]

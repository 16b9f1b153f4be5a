"""The real shared corpora as the pipeline's own document table, read in place (never copied).

Documents come from the pipeline's ingest and normalise nodes with the `--env shared` reading
rules (conf/shared/): fever.txt and tianlongbabu.txt one line per document, the English
article by blank lines, one CSV row per document (title, question, answer), one MedQuAD
question/answer pair per document. `split` is a stable half of the ids ("dev" or "test"), so
thresholds derived on one half can be measured on the other.
"""
from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

import pandas as pd
import yaml

from domainforge.curation.ingest.read import ingest_documents
from domainforge.curation.normalise import normalise_documents
from domainforge.datasets import RawFilesDataset

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DOMAINFORGE_SHARED_DATA", REPO.parent / "shared" / "data"))
ENGLISH_SOURCES = ("medquad/", "en_article")


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _raw(catalog: dict, role: str) -> dict[str, bytes]:
    return RawFilesDataset(str(SHARED_DATA), catalog[f"medical.raw_{role}"]["patterns"]).load()


def _split(doc_id: str) -> str:
    return "dev" if zlib.crc32(doc_id.encode()) % 2 == 0 else "test"


def load_documents() -> pd.DataFrame:
    """All real documents after ingest + normalise: id, source, corpus, text, lang_expected, split."""
    if not SHARED_DATA.is_dir():
        raise FileNotFoundError(f"real corpora not found at {SHARED_DATA} (set DOMAINFORGE_SHARED_DATA)")
    catalog = _yaml(REPO / "conf" / "shared" / "catalog.yml")
    ingest = _yaml(REPO / "conf" / "shared" / "parameters.yml")["medical"]["ingest"]
    normalise = _yaml(REPO / "conf" / "base" / "parameters_data.yml")["normalise"]
    docs, _ = ingest_documents(_raw(catalog, "pretrain_domain"), _raw(catalog, "pretrain_general"), ingest)
    docs, _ = normalise_documents(docs, normalise)
    docs["lang_expected"] = ["en" if any(s in source for s in ENGLISH_SOURCES) else "zh" for source in docs["source"]]
    docs["split"] = [_split(doc_id) for doc_id in docs["id"]]
    return docs


def load_sft_answers() -> pd.DataFrame:
    """Doctor answers of the medical SFT set as stand-alone documents: a stress test of short text."""
    path = SHARED_DATA / "medicalgpt" / "sft" / "medical_sft_800.jsonl"
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for turn in json.loads(line)["conversations"]:
            if turn["from"] == "gpt" and turn["value"].strip():
                rows.append({"id": f"{path.name}#L{number}", "source": path.name, "corpus": "domain", "text": turn["value"].strip()})
    return pd.DataFrame(rows)


def nonprose_files() -> dict[str, bytes]:
    """The shipped non-prose files the pipeline's quality classifier trains on as negatives
    (`<domain>.raw_nonprose`)."""
    return RawFilesDataset(str(REPO / "data" / "01_raw" / "nonprose")).load()


def source_group(source: str) -> str:
    """A short name for a source, collapsing MedQuAD's thousands of files into one."""
    return "medquad" if "medquad/" in source else source.rsplit("/", 1)[-1]

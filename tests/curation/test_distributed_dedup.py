"""Distributed exact + near dedup on a real two-node Ray cluster decide exactly as the in-memory nodes."""
import os
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from faker import Faker
from planted import PLANTED, PLANTED_QUESTIONS
from ray_cluster import local_ray_cluster

from domainforge.curation.dedup.distributed import exact_dedup_dataset, near_dedup_dataset
from domainforge.curation.dedup.minhash import exact_dedup, near_dedup, near_duplicate_clusters

pytestmark = pytest.mark.slow  # a real Ray cluster

NEAR = {"char_ngram": 5, "word_ngram": 5, "num_perm": 112, "bands": 14, "rows": 8, "seed": 1}
PARAMS = {"exact": {"casefold": True, "ignore_whitespace": True, "ignore_punctuation": True}, "near": NEAR}
SHARED_DATA = Path(os.environ.get("DOMAINFORGE_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))


@pytest.fixture(scope="module")
def cluster():
    import ray.data

    with local_ray_cluster(nodes=2, cpus_per_node=1) as started:
        ray.data.DataContext.get_current().enable_progress_bars = False
        yield started


def as_dataset(docs: pd.DataFrame, blocks: int = 4, seed: int = 0):
    """The documents in `blocks` blocks, rows shuffled: only `position` carries the input order."""
    import ray.data

    shuffled = docs.sample(frac=1, random_state=seed)
    return ray.data.from_arrow([pa.Table.from_pandas(shuffled.iloc[i::blocks], preserve_index=False) for i in range(blocks)])


def edit_words(text: str, count: int, seed: int) -> str:
    rng = random.Random(seed)
    words = text.split()
    for i in rng.sample(range(len(words)), count):
        words[i] = "edited"
    return " ".join(words)


def edit_chars(text: str, count: int, seed: int) -> str:
    rng = random.Random(seed)
    chars = list(text)
    for i in rng.sample(range(len(chars)), count):
        chars[i] = "改"
    return "".join(chars)


@pytest.fixture(scope="module")
def planted_corpus() -> pd.DataFrame:
    """Faker paragraphs (en, zh) and the planted answers, with exact copies (case, spacing,
    punctuation), near copies (a few words or characters edited; one chain) and texts without
    a word character."""
    en = [Faker("en_US", seed=seed).paragraph(nb_sentences=10) for seed in range(8)]
    zh = [Faker("zh_CN", seed=seed).paragraph(nb_sentences=12) for seed in range(6)]
    texts = en + zh + list(PLANTED.values()) + list(PLANTED_QUESTIONS.values())
    texts += [
        en[0].upper(),  # exact
        "  ".join(en[1].split()),  # exact: spacing
        PLANTED["planted#en"].replace(",", ";").replace(".", "!"),  # exact: punctuation
        zh[0].replace("。", "，"),  # exact
        edit_words(en[2], 1, 1),  # near
        edit_words(en[2], 2, 2),  # near, same cluster
        edit_words(en[3], 1, 3),
        edit_chars(zh[1], 2, 4),
        zh[1] + "此段完。",  # near and longer
        edit_chars(zh[2], 1, 5),
        edit_chars(edit_chars(zh[2], 1, 5), 1, 6),  # chain
        en[4] + " " + en[4][:40],
        "",
        "!!! ？？",
        en[2],  # exact copy of an original that has near copies
    ]
    rng = np.random.default_rng(7)
    quality = rng.choice([0.2, 0.5, 0.9], size=len(texts)).astype(float)
    quality[3] = np.nan
    return pd.DataFrame(
        {
            "id": [f"doc#{i}" for i in range(len(texts))],
            "source": "planted",
            "corpus": "domain",
            "text": texts,
            "quality_score": quality,
            "position": np.arange(len(texts), dtype=np.int64),
        }
    )


def in_memory_statuses(docs: pd.DataFrame):
    after_exact, exact_drops = exact_dedup(docs, PARAMS)
    _, near_drops, report = near_dedup(after_exact, PARAMS)
    statuses = dict.fromkeys(docs["id"], "")
    statuses.update(zip(exact_drops["id"], exact_drops["status"]))
    statuses.update(zip(near_drops["id"], near_drops["status"]))
    return statuses, exact_drops, near_drops, report


def test_cluster_has_two_worker_nodes_on_loopback(cluster):
    import ray

    alive = [node for node in ray.nodes() if node["Alive"]]
    assert len(alive) == 3 and {node["NodeManagerAddress"] for node in alive} == {"127.0.0.1"}
    assert ray.cluster_resources()["CPU"] == 2


def test_exact_then_near_dedup_decide_like_the_in_memory_nodes(cluster, planted_corpus):
    expected, exact_drops, near_drops, expected_report = in_memory_statuses(planted_corpus)
    assert len(exact_drops) >= 5 and len(near_drops) >= 5  # the corpus exercises both

    exact = exact_dedup_dataset(as_dataset(planted_corpus), PARAMS, partitions=3)
    out, report = near_dedup_dataset(exact, PARAMS, partitions=3)
    got = out.to_pandas()

    assert sorted(got["position"]) == list(range(len(planted_corpus)))
    assert list(got.columns) == list(planted_corpus.columns) + ["status"]
    assert dict(zip(got["id"], got["status"])) == expected
    assert report == expected_report
    row = got.set_index("id").loc["doc#0"]
    assert row["text"] == planted_corpus["text"][0] and row["quality_score"] == planted_corpus["quality_score"][0]


def test_exact_dedup_alone_and_independent_of_block_layout(cluster, planted_corpus):
    _, exact_drops = exact_dedup(planted_corpus, PARAMS)
    expected = dict.fromkeys(planted_corpus["id"], "")
    expected.update(zip(exact_drops["id"], exact_drops["status"]))
    for blocks, seed in [(1, 0), (5, 3)]:
        got = exact_dedup_dataset(as_dataset(planted_corpus, blocks, seed), PARAMS, partitions=2).to_pandas()
        assert dict(zip(got["id"], got["status"])) == expected


def test_position_column_is_required(cluster, planted_corpus):
    with pytest.raises(ValueError, match="position"):
        exact_dedup_dataset(as_dataset(planted_corpus.drop(columns="position")), PARAMS)


def shared_documents() -> pd.DataFrame:
    """The Chinese medical dialogues (many near duplicates) and the pretraining texts, as ingest reads them."""
    from domainforge.curation.ingest.read import ingest_documents
    from domainforge.datasets import RawFilesDataset

    csv_rules = {"rules": [{"match": "*.csv", "columns": ["title", "ask", "answer"], "prompt_fields": ["ask"], "response_field": "answer"}]}
    dialogue = RawFilesDataset(str(SHARED_DATA / "chinese_medical_dialogue"), ["*.csv"]).load()
    pretrain = RawFilesDataset(str(SHARED_DATA / "medicalgpt" / "pretrain")).load()
    docs, quarantine = ingest_documents({**dialogue, **pretrain}, {}, csv_rules)
    assert quarantine.empty
    return docs.assign(position=np.arange(len(docs), dtype=np.int64))


@pytest.mark.integration
def test_same_clusters_as_in_memory_on_the_shared_corpora(cluster):
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real corpora not found at {SHARED_DATA} (set DOMAINFORGE_SHARED_DATA)")
    docs = shared_documents()
    expected_clusters = near_duplicate_clusters(docs["text"], **NEAR)
    _, near_drops, expected_report = near_dedup(docs, PARAMS)
    assert len(docs) > 10_000 and len(expected_clusters) > 300

    out, report = near_dedup_dataset(as_dataset(docs, blocks=6), PARAMS, partitions=4)
    got = out.to_pandas().sort_values("position")
    # A cluster is a kept representative and everything dropped as its near duplicate.
    representative = got["status"].str.removeprefix("dropped:dedup:near_duplicate_of:").where(got["status"] != "", got["id"])
    position_of = dict(zip(docs["id"], docs["position"]))
    clusters = sorted(
        sorted(position_of[i] for i in members)
        for members in got.groupby(representative)["id"].agg(list)
        if len(members) > 1
    )
    assert clusters == sorted(expected_clusters)
    assert dict(zip(got["id"], got["status"])) == {**dict.fromkeys(docs["id"], ""), **dict(zip(near_drops["id"], near_drops["status"]))}
    assert report == expected_report

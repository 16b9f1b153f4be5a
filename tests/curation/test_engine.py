"""Every engine gives exactly the in-process result, in order: forked local workers and Ray Data
on a real two-node cluster on loopback, for each record-level stage."""
import logging.config
import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import yaml
from ray_cluster import local_ray_cluster

from domainforge.curation import engine
from domainforge.curation.chat_format import validate_chats
from domainforge.curation.engine import IN_PROCESS, CurationRuntime, map_batches
from domainforge.curation.ingest.read import ingest_chats
from domainforge.curation.normalise import normalise_documents
from domainforge.curation.privacy.scrub import scrub_chats, scrub_documents
from domainforge.curation.quality.classifier import tokenise
from domainforge.curation.quality.language import detect_language
from domainforge.curation.quality.rules import filter_quality
from domainforge.curation.quality.synthetic_junk import KINDS, make_junk

REPO = Path(__file__).parents[2]
CONF = REPO / "conf/base"
SAMPLE = REPO / "data/01_raw/medical"
LOCAL_2 = CurationRuntime(engine="local", address=None, workers=2, shard_rows=7)
RAY_2 = CurationRuntime(engine="ray", address=None, workers=2, shard_rows=7)


def params(stage: str, file: str | None = None) -> dict:
    return yaml.safe_load((CONF / f"parameters_{file or stage}.yml").read_text())[stage]


def _lengths(offset: int, batch: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"length": batch["text"].str.len() + offset})


@pytest.fixture
def small_pools(monkeypatch):
    """Use a pool even for the few documents a unit test can afford."""
    monkeypatch.setattr(engine, "MIN_RECORDS_PER_WORKER", 5)


@pytest.fixture(scope="module")
def chats() -> pd.DataFrame:
    sft = SAMPLE / "sft_domain"
    files = {path.name: path.read_bytes() for path in sorted(sft.glob("*.jsonl"))}
    chats, quarantined = ingest_chats(files, {}, {"rules": []})
    return chats


@pytest.fixture(scope="module")
def documents() -> pd.DataFrame:
    """Chinese and English prose, PII-bearing lines, planted junk of every kind, empty text."""
    zh = [line for line in (SAMPLE / "pretrain_domain/textbook_zh.txt").read_text().splitlines() if line.strip()]
    en = (SAMPLE / "pretrain_domain/articles_en_wrapped.txt").read_text().split("\n\n")
    pii = ["患者王某某，电话13812345678，住北京市朝阳区建国路88号。", "Contact Dr. Adam Booth at adam.booth@example.com."]
    junk = [j["text"] for j in make_junk(len(KINDS), "zh", 0, zh) + make_junk(len(KINDS), "en", 0, en)]
    texts = zh + en + pii + junk + ["12345 67890", "", " &amp; \u00a0"]
    return pd.DataFrame({"id": [f"doc#{i}" for i in range(len(texts))], "source": "s", "corpus": "domain", "text": texts})


def _stage_outputs(documents: pd.DataFrame, chats: pd.DataFrame, runtime: CurationRuntime) -> list:
    normalised, normalise_drops = normalise_documents(documents, params("normalise", "data"), runtime)
    labelled, language_drops = detect_language(normalised, params("language"), runtime)
    kept, quality_drops = filter_quality(labelled, params("quality"), runtime)
    scrubbed, report = scrub_documents(kept, params("privacy"), runtime)
    chats, chat_drops = validate_chats(chats, params("normalise", "data"), runtime)
    scrubbed_chats, chat_report = scrub_chats(chats, params("privacy"), runtime)
    token_lines = tokenise(documents["text"].tolist(), {**params("quality_classifier"), "segmenter": "jieba"}, runtime)
    return [normalise_drops, language_drops, quality_drops, scrubbed, report, chat_drops, scrubbed_chats, chat_report, token_lines]


def _assert_same(outputs, expected):
    for got, want in zip(outputs, expected, strict=True):
        if isinstance(want, pd.DataFrame):
            pd.testing.assert_frame_equal(got, want)
        else:
            assert got == want


def test_map_batches_keeps_order_on_the_local_engine(small_pools):
    frame = pd.DataFrame({"text": [f"text {i}" * (i % 7) for i in range(101)]})
    expected = _lengths(3, frame)
    pd.testing.assert_frame_equal(map_batches(_lengths, frame, IN_PROCESS, 3), expected)
    pd.testing.assert_frame_equal(map_batches(_lengths, frame, LOCAL_2, 3), expected)
    pd.testing.assert_frame_equal(map_batches(_lengths, frame.iloc[:3], LOCAL_2, 3), expected.iloc[:3])


def test_runtime_settings_are_checked():
    good = {"engine": "local", "address": None, "workers": 2, "shard_rows": 10}
    assert CurationRuntime.from_params(good).workers == 2
    with pytest.raises(ValueError, match="engine"):
        CurationRuntime.from_params({**good, "engine": "spark"})
    with pytest.raises(ValueError, match="workers"):
        CurationRuntime.from_params({**good, "workers": 0})
    with pytest.raises(ValueError, match=r"curation_runtime: unknown setting 'wrokers'; did you mean 'workers'"):
        CurationRuntime.from_params({**good, "wrokers": 2})
    # Keys left out take the defaults (they used to be required).
    assert CurationRuntime.from_params({"engine": "ray"}) == CurationRuntime("ray", None, 2, 5000)
    assert CurationRuntime.from_params({}) == CurationRuntime()


def test_forked_workers_match_the_in_process_run(small_pools, documents, chats):
    expected = _stage_outputs(documents, chats, IN_PROCESS)
    assert len(expected[2]) >= len(KINDS)  # the junk goes, and the test sees it go
    assert expected[4]["records_with_pii"] >= 2
    _assert_same(_stage_outputs(documents, chats, LOCAL_2), expected)


@pytest.mark.slow
def test_ray_on_a_two_node_cluster_matches_the_in_process_run(documents, chats):
    expected = _stage_outputs(documents, chats, IN_PROCESS)
    with local_ray_cluster(nodes=2, cpus_per_node=1) as cluster:
        import ray

        assert len([n for n in ray.nodes() if n["Alive"]]) == 3
        _assert_same(_stage_outputs(documents, chats, RAY_2), expected)
        assert cluster.address


def _kill_a_busy_ray_worker(killed: list, stop: threading.Event, task: str = "_ray_task") -> None:
    """SIGKILL the first Ray worker process seen running `task` (its process title)."""
    while not stop.is_set() and not killed:
        for entry in Path("/proc").iterdir():
            try:
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if entry.name.isdigit() and title.startswith("ray::") and task in title:
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
                return
        time.sleep(0.05)


@pytest.mark.slow
def test_a_ray_worker_killed_mid_stage_loses_and_duplicates_nothing(documents):
    many = pd.concat([documents] * 15, ignore_index=True)
    many["id"] = [f"doc#{i}" for i in range(len(many))]
    expected = scrub_documents(many, params("privacy"), IN_PROCESS)
    runtime = CurationRuntime(engine="ray", address=None, workers=2, shard_rows=25)
    with local_ray_cluster(nodes=2, cpus_per_node=1):
        killed, stop = [], threading.Event()
        killer = threading.Thread(target=_kill_a_busy_ray_worker, args=(killed, stop))
        killer.start()
        try:
            scrubbed, report = scrub_documents(many, params("privacy"), runtime)
        finally:
            stop.set()
            killer.join()
    assert killed, "no Ray worker was caught running a batch"
    pd.testing.assert_frame_equal(scrubbed, expected[0])  # every record once, in order
    assert report == expected[1]


@pytest.mark.slow
def test_the_ray_engine_starts_a_loopback_cluster_and_the_hook_stops_it(documents, chats):
    import ray

    expected = normalise_documents(documents, params("normalise", "data"), IN_PROCESS)
    got = normalise_documents(documents, params("normalise", "data"), RAY_2)  # address null: a local cluster
    try:
        assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
        _assert_same(got, expected)
    finally:
        engine.CurationEngineHook().after_pipeline_run()
    assert not ray.is_initialized()


@pytest.mark.slow
def test_later_ray_clusters_in_one_process_run_after_logging_is_reconfigured(documents):
    """Every Kedro session reconfigures logging, which closes Ray Data's log file; a later cluster
    in the same process (a second `kedro run` in a notebook, the next test) must not reopen the
    first cluster's deleted session folder."""
    expected = normalise_documents(documents, params("normalise", "data"), IN_PROCESS)
    one_worker = CurationRuntime(engine="ray", address=None, workers=1, shard_rows=7)
    for _ in range(3):
        with local_ray_cluster(nodes=1, cpus_per_node=1):
            _assert_same(normalise_documents(documents, params("normalise", "data"), one_worker), expected)
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})


@pytest.mark.slow
def test_a_ray_worker_killed_mid_plan_loses_and_duplicates_nothing(documents, tmp_path):
    """A sharded table written by Ray tasks, one worker SIGKILLed while it runs a task: Ray
    retries it, the task rewrites its own files, and the table is the in-process one."""
    from domainforge.curation.plan import Judge, Map, execute, source_of
    from domainforge.curation.privacy.scrub import STAGE as PRIVACY
    from domainforge.curation.privacy.scrub import counts_step
    from domainforge.curation.shards import write_frame

    many = pd.concat([documents] * 20, ignore_index=True)  # parts of ~1 s of scrubbing each
    many["id"] = [f"doc#{i}" for i in range(len(many))]
    table = write_frame(many.assign(status=""), tmp_path / "in", rows_per_part=400)
    steps = (
        Judge(PRIVACY, params("privacy"), ("documents",)),
        Map("privacy_counts", counts_step, (params("privacy"),)),
    )
    runtime = CurationRuntime(engine="ray", address=None, workers=2, shard_rows=400)
    expected = execute(source_of(table, replace(runtime, engine="local", workers=1)).then(*steps), tmp_path / "expected")
    with local_ray_cluster(nodes=2, cpus_per_node=1):
        killed, stop = [], threading.Event()
        killer = threading.Thread(target=_kill_a_busy_ray_worker, args=(killed, stop, "_ray_run_task"))
        killer.start()
        try:
            got = execute(source_of(table, runtime).then(*steps), tmp_path / "got")
        finally:
            stop.set()
            killer.join()
    assert killed, "no Ray worker was caught running a task"
    assert len(got.parts) == len(expected.parts) > 2
    for part in expected.parts:
        assert (got.root / part["name"]).read_bytes() == (expected.root / part["name"]).read_bytes()
    assert list(got.to_pandas(live=False)["id"]) == list(many["id"])

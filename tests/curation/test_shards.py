"""Sharded tables and plans: the same bytes on any number of workers, restart without redoing
finished tasks (after an error and after a SIGKILL), every record accounted for, and raw files
split by byte range with the ids a whole-file read gives."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from domainforge.curation.engine import CurationRuntime
from domainforge.curation.ingest import raw_shards, read
from domainforge.curation.normalise import STAGE as NORMALISE
from domainforge.curation.plan import Judge, Map, Plan, execute, source_of
from domainforge.curation.quality.language import STAGE as LANGUAGE
from domainforge.curation.quality.rules import STAGE as QUALITY
from domainforge.curation.shards import Shards, write_frame
from domainforge.datasets import RawFile

REPO = Path(__file__).parents[2]
SAMPLE = REPO / "data/01_raw/medical"
LOCAL_1 = CurationRuntime(engine="local", address=None, workers=1, shard_rows=25)
LOCAL_2 = CurationRuntime(engine="local", address=None, workers=2, shard_rows=25)


def params(name: str, file: str | None = None) -> dict:
    return yaml.safe_load((REPO / f"conf/base/parameters_{file or name}.yml").read_text())[name]


@pytest.fixture(scope="module")
def documents() -> pd.DataFrame:
    zh = [line for line in (SAMPLE / "pretrain_domain/textbook_zh.txt").read_text().splitlines() if line.strip()]
    en = (SAMPLE / "pretrain_general/general_en_wrapped.txt").read_text().split("\n\n")
    texts = zh + en + ["", "&amp; 12345", "ok"]
    return pd.DataFrame({
        "id": [f"doc#{i}" for i in range(len(texts))], "source": "s",
        "corpus": ["domain" if i % 2 else "general" for i in range(len(texts))], "text": texts, "status": "",
    })


def _curation_plan(table: Shards, runtime: CurationRuntime) -> Plan:
    return source_of(table, runtime).then(
        Judge(NORMALISE, params("normalise", "data")), Judge(LANGUAGE, params("language")), Judge(QUALITY, params("quality"))
    )


def _parts(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.glob("part-*.parquet"))}


def test_a_plan_gives_the_same_bytes_on_any_number_of_workers_and_keeps_every_record(tmp_path, documents):
    table = write_frame(documents, tmp_path / "in", rows_per_part=25)
    assert len(table.parts) == -(-len(documents) // 25)
    one = execute(_curation_plan(table, LOCAL_1), tmp_path / "one")
    two = execute(_curation_plan(table, LOCAL_2), tmp_path / "two")
    assert _parts(one.root) == _parts(two.root)
    assert _without_seconds(one.stats) == _without_seconds(two.stats)
    everything = one.to_pandas(live=False)
    assert list(everything["id"]) == list(documents["id"])  # no record lost, none added, in order
    dropped = everything[everything["status"] != ""]
    assert dropped["status"].str.match(r"dropped:(normalise|language|quality):").all() and len(dropped) >= 3
    # The same decisions as the stages run whole in memory.
    from domainforge.curation.normalise import normalise_documents
    from domainforge.curation.quality.language import detect_language
    from domainforge.curation.quality.rules import filter_quality

    kept, _ = normalise_documents(documents.drop(columns=["status"]), params("normalise", "data"))
    kept, _ = detect_language(kept, params("language"))
    kept, _ = filter_quality(kept, params("quality"))
    assert list(one.to_pandas()["id"]) == list(kept["id"])
    assert one.stats["stages"]["language"]["in"] == len(documents) - len(dropped[dropped["status"].str.contains("normalise")])


def _without_seconds(stats: dict) -> dict:
    return {key: value for key, value in stats.items() if key != "step_seconds"}


def test_a_finished_plan_is_not_run_again(tmp_path, documents):
    table = write_frame(documents, tmp_path / "in", rows_per_part=50)
    first = execute(_curation_plan(table, LOCAL_1), tmp_path / "out")
    stamps = {p.name: p.stat().st_mtime_ns for p in first.root.glob("part-*")}
    again = execute(_curation_plan(table, LOCAL_1), tmp_path / "out")
    assert {p.name: p.stat().st_mtime_ns for p in again.root.glob("part-*")} == stamps
    other = execute(source_of(table, LOCAL_1).then(Judge(NORMALISE, {"unescape_html": False})), tmp_path / "out")
    assert other.fingerprint != first.fingerprint  # other parameters: computed anew


def _logged_step(frame, task, log_path, fail_flag):
    """Records each task it runs; fails on task 2 while the flag file exists (a crash)."""
    with open(log_path, "a") as handle:
        handle.write(f"{task}\n")
    if task == 2 and Path(fail_flag).exists():
        raise RuntimeError("planted crash")
    time.sleep(float(os.environ.get("SLOW_STEP", "0")))
    return frame, {}


def test_an_interrupted_plan_reruns_only_the_unfinished_tasks(tmp_path, documents):
    table = write_frame(documents, tmp_path / "in", rows_per_part=20)
    log, flag = tmp_path / "log", tmp_path / "fail"
    flag.touch()
    plan = source_of(table, LOCAL_1).then(Map("logged", _logged_step, (str(log), str(flag))))
    with pytest.raises(RuntimeError, match="planted crash"):
        execute(plan, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # no half table
    assert log.read_text().split() == ["0", "1", "2"]
    flag.unlink()
    done = execute(plan, tmp_path / "out")
    assert log.read_text().split() == ["0", "1", "2", *map(str, range(2, len(table.parts)))]
    assert list(done.to_pandas(live=False)["id"]) == list(documents["id"])


_KILLED_RUN = """
import importlib, sys
sys.path[:0] = {path!r}
from domainforge.curation.plan import execute
execute(importlib.import_module({module!r})._killable_plan({root!r}), {root!r} + "/out")
"""


def _killable_plan(root: str) -> Plan:
    table = Shards(Path(root) / "in")
    return source_of(table, LOCAL_1).then(Map("logged", _logged_step, (f"{root}/log", f"{root}/no-flag")))


def test_a_killed_run_restarts_without_redoing_finished_tasks(tmp_path, documents):
    """SIGKILL mid-run (no cleanup runs), then the same plan again: the tasks that had written
    their marker are kept as they are, the rest run, and the table equals an uninterrupted one."""
    write_frame(documents, tmp_path / "in", rows_per_part=10)
    # The same module name as here, so the plan (its steps' names) has the same fingerprint.
    script = _KILLED_RUN.format(path=sys.path, module=_logged_step.__module__, root=str(tmp_path))
    child = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "SLOW_STEP": "0.3"})
    staging = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        found = list(tmp_path.glob("out.staging-*"))
        if found and len(list(found[0].glob("task-*.json"))) >= 3:
            staging = found[0]
            break
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert staging is not None, "the run ended before it could be killed"
    finished = {p.name: p.stat().st_ino for p in staging.glob("part-*.parquet") if (staging / f"task-{p.name[5:10]}.json").exists()}
    ran_before = len(Path(tmp_path / "log").read_text().split())
    table = execute(_killable_plan(str(tmp_path)), tmp_path / "out")
    rerun = Path(tmp_path / "log").read_text().split()[ran_before:]
    assert len(rerun) == len(table.parts) - len(finished)  # only the unfinished tasks ran again
    assert {name: (table.root / name).stat().st_ino for name in finished} == finished  # kept, not rewritten
    assert list(table.to_pandas(live=False)["id"]) == list(documents["id"])


def _drop_a_row(frame, task):
    return frame.iloc[1:], {}


def test_a_step_that_loses_a_record_is_an_error(tmp_path, documents):
    table = write_frame(documents, tmp_path / "in", rows_per_part=50)
    with pytest.raises(RuntimeError, match="changed the rows"):
        execute(source_of(table, LOCAL_1).then(Map("lossy", _drop_a_row)), tmp_path / "out")


# --- raw files by byte range ------------------------------------------------------------------


def _whole_and_split(path: Path, role: str, rule_params: dict, shard_bytes: int):
    whole, whole_q = read.read_piece(role, path.name, path.read_bytes(), rule_params, read.document_fields)
    source = raw_shards.RawSource(raw_shards.plan_tasks({role: {path.name: RawFile.of(path)}}, rule_params, shard_bytes), rule_params)
    frames = [source.read(task) for task in range(source.tasks())]
    return pd.DataFrame(whole), pd.DataFrame(whole_q), pd.concat(frames, ignore_index=True), source.tasks()


@pytest.mark.parametrize("split", ["line", "blank_line"])
def test_a_large_text_file_split_by_range_gives_the_whole_file_records(tmp_path, split):
    text = (SAMPLE / "pretrain_general/general_en_wrapped.txt").read_text() + "\r\n\r\nlast paragraph\r\nwith CRLF\r\n"
    path = tmp_path / "big.txt"
    path.write_bytes((text * 3).encode("utf-8") + b"\n\xff\xfe broken bytes line\n\nafter\n")
    rules = {"rules": [{"match": "*.txt", "split": split}]}
    whole, whole_q, split_rows, tasks = _whole_and_split(path, "pretrain_general", rules, shard_bytes=2000)
    assert tasks > 5
    live = split_rows[split_rows["status"] == ""]
    assert list(live["id"]) == list(whole["id"]) and list(live["text"]) == list(whole["text"])
    bad = split_rows[split_rows["status"] != ""]
    assert list(bad["id"]) == list(whole_q["id"]) and (bad["status"] == "quarantined:undecodable_bytes").all()


def test_a_large_gb18030_jsonl_file_splits_on_lines_with_the_file_encoding(tmp_path):
    lines = [f'{{"text": "第{i}条：患者发热三天，体温三十九度，伴咳嗽。"}}' for i in range(300)] + ["{bad json", '{"text": "最后一条"}']
    path = tmp_path / "corpus.jsonl"
    path.write_bytes("\n".join(lines).encode("gb18030"))
    whole, whole_q, split_rows, tasks = _whole_and_split(path, "pretrain_domain", {"rules": []}, shard_bytes=4096)
    assert tasks > 3
    live = split_rows[split_rows["status"] == ""]
    assert list(live["id"]) == list(whole["id"]) and list(live["text"]) == list(whole["text"])
    assert list(split_rows.loc[split_rows["status"] != "", "id"]) == list(whole_q["id"]) == ["pretrain_domain/corpus.jsonl#L301"]


def test_small_files_share_a_task_and_csv_is_never_split(tmp_path):
    files = {}
    for name, body in [("a.txt", "one\ntwo\n"), ("b.txt", "three\n"), ("c.csv", "text\n" + "x,\n" * 0 + "\n".join(["row"] * 500))]:
        (tmp_path / name).write_text(body)
        files[name] = RawFile.of(tmp_path / name)
    tasks = raw_shards.plan_tasks({"pretrain_domain": files}, {"rules": []}, shard_bytes=100)
    assert [[(p.path, p.end) for p in task] for task in tasks] == [[("a.txt", None), ("b.txt", None)], [("c.csv", None)]]


# --- dedup over parts ---------------------------------------------------------------------------


def test_sharded_dedup_decides_as_the_in_memory_dedup(tmp_path, documents):
    """Copies across parts (and of records already dropped): the same duplicates, the same keep
    rule, whichever part each copy sits in."""
    from domainforge.curation.dedup import minhash, sharded
    from domainforge.curation.dedup.keys import keys_step
    from domainforge.datasets import DuplicatesDataset

    docs = documents[documents["text"].str.len() > 20].reset_index(drop=True)
    copies = docs.iloc[[3, 10, 40]].assign(text=lambda d: d["text"].str.upper() + "  ")  # exact copies
    near = docs.iloc[[5, 30]].assign(text=lambda d: d["text"] + " 附加一句话。")  # near copies
    table = pd.concat([docs, copies, near], ignore_index=True)
    table["id"] = [f"doc#{i}" for i in range(len(table))]
    table["quality_score"] = [round((i * 7 % 10) / 10, 1) for i in range(len(table))]
    table.loc[len(table) - 1, "status"] = "dropped:quality:too_short"  # not in play: never a duplicate
    dedup = params("dedup")
    with pytest.raises(ValueError, match="no dedup keys"):
        sharded.exact_duplicates(write_frame(table, tmp_path / "no_keys", rows_per_part=17), dedup, LOCAL_1)
    # The keys are computed with the rest of each part, as the pipeline's dedup_keys node does.
    sharded_table = execute(
        source_of(write_frame(table, tmp_path / "docs", rows_per_part=17), LOCAL_1).then(Map("dedup_keys", keys_step, (dedup,))),
        tmp_path / "keyed",
    )
    exact_found = sharded.exact_duplicates(sharded_table, dedup, LOCAL_1)
    DuplicatesDataset(str(tmp_path / "exact")).save(exact_found)
    exact = DuplicatesDataset(str(tmp_path / "exact")).load()
    near_found, report = sharded.near_duplicates(sharded_table, exact, dedup, LOCAL_1)
    DuplicatesDataset(str(tmp_path / "near")).save(near_found)
    applied = execute(
        source_of(sharded_table, LOCAL_1).then(Map("dedup", sharded.apply_duplicates, (exact, DuplicatesDataset(str(tmp_path / "near")).load()))),
        tmp_path / "deduped",
    ).to_pandas(live=False)

    live = table[table["status"] == ""].drop(columns=["status"])
    kept, exact_drops = minhash.exact_dedup(live, dedup)
    kept, near_drops, expected_report = minhash.near_dedup(kept, dedup)
    expected = dict(zip(exact_drops["id"], exact_drops["status"])) | dict(zip(near_drops["id"], near_drops["status"]))
    got = applied[applied["status"].str.startswith("dropped:dedup:")]
    assert dict(zip(got["id"], got["status"])) == expected and len(expected) >= 5
    assert report == expected_report

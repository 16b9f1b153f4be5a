"""Curation smoke run above 2^17 documents: the real `medical_data` Kedro pipeline, end to end.

Builds N pretraining documents (default 150,000, above the 131,072 at which the quality
classifier's old token memo lost entries and the run died with a KeyError) from the real
sentences of the shared corpora, as the pipeline ingests and normalises them (real_corpora.py):
2/3 domain text (fever.txt, the GB18030 dialogue CSV, MedQuAD) and 1/3 general text
(tianlongbabu.txt, the English article). Each document is 3-10 sentences of one source drawn by
a seeded RNG, redrawn until every document is distinct; a few exact copies (case and spacing
changed) and near copies (a sentence left out) are planted for the dedup stages to find.

The documents are written as JSONL ({"text": ...}; data/ is git-ignored) and run through
`kedro run --pipelines medical_data` in-process via a KedroSession, on a throwaway copy of the
project's conf/ whose extra env `scale` points `medical.raw_pretrain_domain` and
`medical.raw_pretrain_general` at the generated folders (the SFT and preference roles read the
shipped sample in data/01_raw/medical). Every output lands in that copy, never in data/ of the
working tree.

Recorded: documents, wall seconds of the run and docs/s, the CPU seconds of the whole process tree
(and so the cores it kept busy on average), seconds per node, peak memory sampled
every second from /proc (the driver's RSS, each Ray worker's RSS, and the whole process tree's
PSS, which counts Ray's shared object store once),
the ledger's status counts and its invariant (inputs = kept + dropped + quarantined, each
input id once), and the machine. A watchdog stops the run if this process and its workers
together hold more than --max-rss-gb (PSS).

    python benchmarks/curation_scale.py                  # writes benchmarks/results/curation_scale.json
    python benchmarks/curation_scale.py --documents 20000 --out /tmp/scale.json
    python benchmarks/curation_scale.py --engine ray --documents 1000000 --merge   # rerun one size
    # the same size with 1 Ray worker, and on the local engine (each file its own engine and workers)
    python benchmarks/curation_scale.py --engine ray --workers 1 --documents 1000000 --merge --out benchmarks/results/curation_scale_1_worker.json
    python benchmarks/curation_scale.py --engine local --documents 1000000 --out benchmarks/results/curation_scale_local.json

With `--merge` the sizes measured now replace theirs in the existing result file (the replaced
runs move to `superseded_runs`) and the other sizes' runs are kept; every run carries its own
`git_commit` and `date`.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import chdir
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from harness import git_commit, write_result  # noqa: E402
from real_corpora import REPO, load_documents, source_group  # noqa: E402

OUT = REPO / "benchmarks" / "results" / "curation_scale.json"
WORKDIR = REPO / "data" / "09_benchmarks" / "curation_scale"
ENV = "scale"
SEED = 0
# Share of documents per (corpus, pool); pools are sentence lists of the real corpora.
MIX = {
    ("domain", "textbook_zh"): 0.2,
    ("domain", "dialogue_zh"): 0.25,
    ("domain", "medquad_en"): 2 / 3 - 0.45,
    ("general", "novel_zh"): 0.23,
    ("general", "article_en"): 1 / 3 - 0.23,
}
PLANTED_SHARE = 0.002  # of N, each of exact and near copies
_HAN = re.compile(r"[\u4e00-\u9fff]")
_SENTENCE = {"zh": re.compile(r"(?<=[。！？；])"), "en": re.compile(r"(?<=[.!?])\s+")}


def sentence_pools() -> dict[str, list[str]]:
    docs = load_documents()
    group = docs["source"].map(source_group)
    pools = {
        "textbook_zh": docs.loc[group == "fever.txt", "text"],
        "dialogue_zh": docs.loc[group.str.endswith(".csv"), "text"],
        "medquad_en": docs.loc[group == "medquad", "text"],
        "novel_zh": docs.loc[group == "tianlongbabu.txt", "text"],
        "article_en": docs.loc[group == "en_article_first400.txt", "text"],
    }
    out = {}
    for name, texts in pools.items():
        lang = name.rsplit("_", 1)[1]
        sentences = {s.strip() for text in texts for line in text.splitlines() for s in _SENTENCE[lang].split(line)}
        out[name] = sorted(s for s in sentences if len(s) >= (8 if lang == "zh" else 30))
        if not out[name]:
            raise RuntimeError(f"no sentences for pool {name}: are the shared corpora complete?")
    return out


def build_documents(n: int, pools: dict[str, list[str]]) -> tuple[dict[str, list[str]], dict]:
    """{corpus: texts} with n documents in all, distinct but for the planted copies."""
    rng = random.Random(SEED)
    planted = round(PLANTED_SHARE * n)
    keys = list(MIX)
    counts = [round(MIX[k] * (n - 2 * planted)) for k in keys]
    counts[0] += n - 2 * planted - sum(counts)
    seen, docs = set(), {"domain": [], "general": []}
    for (corpus, pool), count in zip(keys, counts):
        sentences, joiner = pools[pool], "" if pool.endswith("_zh") else " "
        made = 0
        while made < count:
            text = joiner.join(rng.sample(sentences, rng.randint(3, min(10, len(sentences)))))
            if text not in seen:
                seen.add(text)
                docs[corpus].append(text)
                made += 1
    for corpus in docs:  # copies land among the other documents, not in one block
        rng.shuffle(docs[corpus])
    def sentences_of(text: str) -> list[str]:
        return [part for part in _SENTENCE["zh" if _HAN.search(text) else "en"].split(text) if part]

    everything = [(corpus, i) for corpus in docs for i in range(len(docs[corpus]))]
    long = [(corpus, i) for corpus, i in everything if len(sentences_of(docs[corpus][i])) >= 8]
    copies = [(" ".join(docs[c][i].upper().split()) + " ", c) for c, i in rng.sample(everything, planted)]
    for corpus, i in rng.sample(long, planted):  # 7 of >= 8 sentences: Jaccard well above 0.72
        parts = sentences_of(docs[corpus][i])
        del parts[rng.randrange(len(parts))]
        copies.append((("" if _HAN.search(docs[corpus][i]) else " ").join(parts), corpus))
    for copy, corpus in copies:
        docs[corpus].insert(rng.randrange(len(docs[corpus]) + 1), copy)
    # Exact copies differ in case and spacing only (exact dedup ignores both); near copies leave
    # one sentence out of a document of 8 or more.
    return docs, {"exact_copies": planted, "near_copies": planted}


def write_raw(docs: dict[str, list[str]], raw: Path, shard: int = 25_000) -> None:
    shutil.rmtree(raw, ignore_errors=True)
    for corpus, texts in docs.items():
        folder = raw / f"pretrain_{corpus}"
        folder.mkdir(parents=True)
        for start in range(0, len(texts), shard):
            with open(folder / f"scale_{corpus}_{start // shard:03d}.jsonl", "w", encoding="utf-8") as out:
                for text in texts[start : start + shard]:
                    out.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")


def make_project(workdir: Path, raw: Path, runtime: dict) -> Path:
    """A throwaway project: pyproject.toml, conf/ (without local), the shipped raw sample, and env
    `scale`'s catalog (the generated pretraining folders) and curation_runtime (engine, workers)."""
    project = workdir / "project"
    shutil.rmtree(project, ignore_errors=True)
    (project / "src").mkdir(parents=True)  # the package itself is installed; Kedro wants the folder
    shutil.copy(REPO / "pyproject.toml", project)
    shutil.copytree(REPO / "conf", project / "conf", ignore=shutil.ignore_patterns("local"))
    (project / "conf" / "local").mkdir()
    shutil.copytree(REPO / "data" / "01_raw", project / "data" / "01_raw")  # the other roles: the shipped sample
    catalog = {
        f"medical.raw_pretrain_{corpus}": {
            "type": "domainforge.datasets.RawFilesDataset", "path": str(raw / f"pretrain_{corpus}"), "lazy": True,
        }
        for corpus in ("domain", "general")
    }
    (project / "conf" / ENV).mkdir()
    (project / "conf" / ENV / "catalog.yml").write_text(yaml.safe_dump(catalog, sort_keys=False))
    (project / "conf" / ENV / "parameters.yml").write_text(yaml.safe_dump({"curation_runtime": runtime}))
    return project


def _processes() -> dict[int, tuple[int, int, str, int]]:
    """pid -> (parent pid, resident bytes, command line, CPU clock ticks used so far) of every
    process, from /proc (Linux)."""
    page, out = os.sysconf("SC_PAGE_SIZE"), {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (name) "
            command = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            out[int(entry)] = (int(fields[1]), int(fields[21]) * page, command, int(fields[11]) + int(fields[12]))
        except (OSError, ValueError, IndexError):
            continue
    return out


def _pss(pid: int) -> int:
    """Proportional set size (shared pages split among the processes that map them, so Ray's
    object store and shared libraries are counted once over the tree, as RSS sums do not)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _descends(pid: int, ancestor: int, processes: dict) -> bool:
    while pid > 1:
        pid = processes.get(pid, (0, 0, "", 0))[0]
        if pid == ancestor:
            return True
    return False


def watchdog(limit_bytes: int, peak: dict) -> None:
    """Samples every second: this process (the driver), all its descendants together (forked
    workers; with the Ray engine the local cluster's GCS, raylet, object store and workers), and
    each Ray worker ("ray::..." processes) on its own. Stops the run above `limit_bytes` (PSS).
    Also keeps each process's CPU ticks (the driver's counted from the watchdog's start), so that
    `tree_cpu_seconds()` is the CPU the whole tree used, processes that have exited included."""
    me = os.getpid()
    cpu = peak.setdefault("cpu_ticks", {})
    driver_before = _processes()[me][3]
    while True:
        processes = _processes()
        tree = {pid: info for pid, info in processes.items() if pid != me and _descends(pid, me, processes)}
        driver = processes.get(me, (0, 0, "", 0))[1]
        rss = driver + sum(info[1] for info in tree.values())
        pss = sum(_pss(pid) for pid in (me, *tree))
        peak["tree_rss_bytes"] = max(peak.get("tree_rss_bytes", 0), rss)
        peak["tree_pss_bytes"] = max(peak.get("tree_pss_bytes", 0), pss)
        peak["driver_rss_bytes"] = max(peak.get("driver_rss_bytes", 0), driver)
        peak["largest_descendant_rss_bytes"] = max([peak.get("largest_descendant_rss_bytes", 0), *(i[1] for i in tree.values())])
        workers = peak.setdefault("ray_worker_rss_bytes", {})
        for pid, (_, size, command, _) in tree.items():
            if command.startswith("ray::"):
                workers[pid] = max(workers.get(pid, 0), size)
        cpu[me] = processes.get(me, (0, 0, "", driver_before))[3] - driver_before
        for pid, info in tree.items():
            cpu[pid] = max(cpu.get(pid, 0), info[3])
        if pss > limit_bytes:
            print(f"watchdog: {pss / 2**30:.1f} GiB (PSS) > {limit_bytes / 2**30:.1f} GiB, stopping", flush=True)
            os._exit(3)
        time.sleep(1)


def tree_cpu_seconds(peak: dict) -> float:
    """CPU seconds of the driver and its descendants since the watchdog started (as of its last
    one-second sample)."""
    return sum(peak.get("cpu_ticks", {}).values()) / os.sysconf("SC_CLK_TCK")


def run_pipeline(project: Path, peak: dict) -> tuple[float, float, dict, dict]:
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    with chdir(project):  # the catalog's relative paths are the project's
        bootstrap_project(project)
        with KedroSession.create(project_path=project, env=ENV) as session:
            start = time.perf_counter()
            cpu_before = tree_cpu_seconds(peak)
            session.run(pipeline_names=["medical_data"])
            seconds = time.perf_counter() - start
            time.sleep(1.5)  # one more watchdog sample: the last CPU ticks of the processes that ended
            cpu_seconds = tree_cpu_seconds(peak) - cpu_before
        with KedroSession.create(project_path=project, env=ENV) as session:
            catalog = session.load_context().catalog
            node_seconds = {n: t["wall_seconds"] for n, t in catalog.load("node_timings")["nodes"].items()}
            tables = {
                name: catalog.load(f"medical.{name}")
                for name in ("ledger", "documents_raw", "chats_raw", "preferences_raw", "quarantine_chats", "quarantine_preferences")
            }
            summary = ledger_summary(tables)
    return seconds, cpu_seconds, node_seconds, {"documents": len(tables["documents_raw"]), "ledger": summary}


def ledger_summary(tables: dict) -> dict:
    """Streams the sharded ledger: status counts, and the invariant (every ingested document and
    every chat/preference input once, as kept, dropped or quarantined)."""
    counts: Counter = Counter()
    document_statuses: Counter = Counter()
    rows = 0
    for frame in tables["ledger"].frames(["id", "source", "status"]):
        rows += len(frame)
        if frame["id"].duplicated().any():
            raise AssertionError("an id twice in one ledger part")
        counts.update(frame["status"].map(lambda s: s.split(":", 1)[0]).value_counts().to_dict())
        docs = frame[frame["source"].str.startswith("pretrain_")]
        document_statuses.update(re.sub(r"_of:.*$", "_of:…", s) for s in docs["status"])  # dedup names the kept id
    records = set().union(*(set(tables[name]["id"]) for name in ("chats_raw", "preferences_raw", "quarantine_chats", "quarantine_preferences")))
    inputs = len(tables["documents_raw"]) + len(records)
    return {
        "inputs": inputs,
        "kept": counts["kept"],
        "dropped": counts["dropped"],
        "quarantined": counts["quarantined"],
        "invariant_holds": inputs == rows == counts["kept"] + counts["dropped"] + counts["quarantined"],
        "document_statuses": dict(sorted(document_statuses.items())),
    }


def one_run(n: int, engine: str, workers: int, workdir: Path, max_rss_gb: float, keep: bool) -> dict:
    start = time.perf_counter()
    docs, planted = build_documents(n, sentence_pools())
    raw = workdir / "raw"
    write_raw(docs, raw)
    runtime = {"engine": engine, "workers": workers}
    project = make_project(workdir, raw, runtime)
    built = time.perf_counter() - start
    print(f"built {sum(map(len, docs.values()))} documents in {built:.1f}s -> {raw}", flush=True)

    peak: dict = {}
    threading.Thread(target=watchdog, args=(int(max_rss_gb * 2**30), peak), daemon=True).start()
    load_before = os.getloadavg()
    seconds, cpu_seconds, node_seconds, tables = run_pipeline(project, peak)
    documents = tables["documents"]
    workers_peak = sorted(peak.get("ray_worker_rss_bytes", {}).values(), reverse=True)
    result = {
        "documents": documents,
        "documents_built": {corpus: len(texts) for corpus, texts in docs.items()},
        "planted": planted,
        "build_seconds": round(built, 1),
        "curation_runtime": runtime,
        "wall_seconds": round(seconds, 1),
        "docs_per_s": round(documents / seconds, 1),
        # CPU seconds of the whole process tree during the run, and that over the wall seconds:
        # how many of the machine's cores the run kept busy on average (up to 1 s of sampling error).
        "cpu_seconds": round(cpu_seconds, 1),
        "mean_cores_busy": round(cpu_seconds / seconds, 2),
        "node_seconds": dict(sorted(node_seconds.items(), key=lambda kv: -kv[1])),
        "peak_rss_mib": {
            "driver": round(peak.get("driver_rss_bytes", 0) / 2**20),
            "process_tree_pss": round(peak.get("tree_pss_bytes", 0) / 2**20),  # the total that counts
            "process_tree_rss_sum": round(peak.get("tree_rss_bytes", 0) / 2**20),  # shared pages counted per process
            "largest_descendant": round(peak.get("largest_descendant_rss_bytes", 0) / 2**20),
            "ray_workers": [round(b / 2**20) for b in workers_peak[:8]],
        },
        "ledger": tables["ledger"],
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
    }
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, nargs="+", default=[150_000], help="corpus sizes, one fresh process each")
    parser.add_argument("--workdir", type=Path, default=WORKDIR, help="generated corpus and project copy (git-ignored)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--max-rss-gb", type=float, default=12.0, help="stop if the run holds more than this")
    parser.add_argument("--keep", action="store_true", help="keep the generated corpus and project copy")
    parser.add_argument("--engine", choices=["local", "ray"], default="local", help="curation_runtime.engine")
    parser.add_argument("--workers", type=int, default=2, help="curation_runtime.workers")
    parser.add_argument("--merge", action="store_true", help="keep the result file's runs of other sizes")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a single size, this process
    args = parser.parse_args()
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
    args.workdir, args.out = args.workdir.resolve(), args.out.resolve()
    if args.one:
        result = one_run(args.documents[0], args.engine, args.workers, args.workdir, args.max_rss_gb, args.keep)
        args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        return
    runs, superseded = [], []
    for n in args.documents:  # a fresh process per size: its peaks are its own
        part = args.workdir.with_name(f"{args.workdir.name}-{n}.json")
        command = [sys.executable, __file__, "--one", "--documents", str(n), "--engine", args.engine,
                   "--workers", str(args.workers), "--workdir", str(args.workdir), "--out", str(part),
                   "--max-rss-gb", str(args.max_rss_gb)] + (["--keep"] if args.keep else [])
        subprocess.run(command, check=True)
        runs.append({**json.loads(part.read_text()), "git_commit": git_commit(),
                     "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        part.unlink()
        print(json.dumps({k: runs[-1][k] for k in ("documents", "wall_seconds", "docs_per_s", "peak_rss_mib")}), flush=True)
    if args.merge and args.out.exists():
        earlier = json.loads(args.out.read_text())
        if (earlier["engine"], earlier["workers"]) != (args.engine, args.workers):
            raise SystemExit(f"--merge: {args.out} holds engine {earlier['engine']}, {earlier['workers']} workers")
        measured = {run["documents"] for run in runs}
        stamped = [{"git_commit": earlier.get("git_commit"), "date": earlier.get("date"), **run} for run in earlier["runs"]]
        superseded = earlier.get("superseded_runs", []) + [run for run in stamped if run["documents"] in measured]
        runs = sorted([run for run in stamped if run["documents"] not in measured] + runs, key=lambda run: run["documents"])
    result = {
        "pipeline": "medical_data",
        "engine": args.engine,
        "workers": args.workers,
        "runs": runs,
    }
    if args.merge and superseded:
        result["superseded_runs"] = superseded  # the sizes rerun now, as measured before
    write_result(args.out, result)  # adds machine, date and git_commit
    print(f"-> {args.out}; ledger invariant holds: {[r['ledger']['invariant_holds'] for r in runs]}")


if __name__ == "__main__":
    main()

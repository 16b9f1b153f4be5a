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

Recorded: documents, wall seconds of the run and docs/s, seconds per node, peak RSS of this
process and of its largest worker process (getrusage RUSAGE_SELF / RUSAGE_CHILDREN maxrss),
the ledger's status counts and its invariant (inputs = kept + dropped + quarantined, each
input id once), and the machine. A watchdog stops the run if this process and its workers
together hold more than --max-rss-gb.

    python benchmarks/curation_scale.py                  # writes benchmarks/results/curation_scale.json
    python benchmarks/curation_scale.py --documents 20000 --out /tmp/scale.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import sys
import threading
import time
from collections import Counter
from contextlib import chdir
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from real_corpora import REPO, load_documents, source_group  # noqa: E402
from training_main_job import NodeTimer  # noqa: E402

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


def make_project(workdir: Path, raw: Path) -> Path:
    """A throwaway project: pyproject.toml, conf/ (without local) and env `scale`'s catalog."""
    project = workdir / "project"
    shutil.rmtree(project, ignore_errors=True)
    (project / "src").mkdir(parents=True)  # the package itself is installed; Kedro wants the folder
    shutil.copy(REPO / "pyproject.toml", project)
    shutil.copytree(REPO / "conf", project / "conf", ignore=shutil.ignore_patterns("local"))
    (project / "conf" / "local").mkdir()
    sample = REPO / "data" / "01_raw" / "medical"
    roles = {"pretrain_domain": raw, "pretrain_general": raw, "sft_domain": sample, "sft_general": sample, "preference": sample}
    catalog = {
        f"medical.raw_{role}": {"type": "domainforge.datasets.RawFilesDataset", "path": str(root / role)}
        for role, root in roles.items()
    }
    (project / "conf" / ENV).mkdir()
    (project / "conf" / ENV / "catalog.yml").write_text(yaml.safe_dump(catalog, sort_keys=False))
    return project


def _tree_rss_bytes() -> int:
    """Resident memory of this process and its child processes, from /proc (Linux)."""
    page, me, total = os.sysconf("SC_PAGE_SIZE"), os.getpid(), 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (name) "
            if int(entry) == me or int(fields[1]) == me:  # fields[1] is the parent pid
                total += int(fields[21]) * page  # rss in pages
        except (OSError, ValueError, IndexError):
            continue
    return total


def watchdog(limit_bytes: int, peak: dict) -> None:
    while True:
        rss = _tree_rss_bytes()
        peak["tree_rss_bytes"] = max(peak.get("tree_rss_bytes", 0), rss)
        if rss > limit_bytes:
            print(f"watchdog: {rss / 2**30:.1f} GiB resident > {limit_bytes / 2**30:.1f} GiB, stopping", flush=True)
            os._exit(3)
        time.sleep(1)


def run_pipeline(project: Path) -> tuple[float, dict, dict]:
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    timer = NodeTimer()
    with chdir(project):  # the catalog's relative paths are the project's
        bootstrap_project(project)
        with KedroSession.create(project_path=project, env=ENV) as session:
            session._hook_manager.register(timer)  # no public way to add a hook to one session
            start = time.perf_counter()
            session.run(pipeline_names=["medical_data"])
            seconds = time.perf_counter() - start
        with KedroSession.create(project_path=project, env=ENV) as session:
            catalog = session.load_context().catalog
            tables = {
                name: catalog.load(f"medical.{name}")
                for name in ("ledger", "documents_raw", "chats_raw", "preferences_raw",
                             "quarantine_documents", "quarantine_chats", "quarantine_preferences")
            }
    return seconds, timer.seconds, tables


def ledger_summary(tables: dict) -> dict:
    ledger = tables["ledger"]
    input_ids = set().union(*(set(tables[name]["id"]) for name in tables if name != "ledger"))
    status = ledger["status"]
    kept = int((status == "kept").sum())
    dropped = int(status.str.startswith("dropped:").sum())
    quarantined = int(status.str.startswith("quarantined:").sum())
    documents = ledger[ledger["source"].str.startswith("pretrain_")]
    by_reason = Counter(re.sub(r"_of:.*$", "_of:…", s) for s in documents["status"])  # dedup names the kept id
    return {
        "inputs": len(input_ids),
        "kept": kept,
        "dropped": dropped,
        "quarantined": quarantined,
        "invariant_holds": len(input_ids) == kept + dropped + quarantined == len(ledger)
        and not ledger["id"].duplicated().any() and set(ledger["id"]) == input_ids,
        "document_statuses": dict(sorted(by_reason.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=150_000, help="pretraining documents to build (default 150,000)")
    parser.add_argument("--workdir", type=Path, default=WORKDIR, help="generated corpus and project copy (git-ignored)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--max-rss-gb", type=float, default=12.0, help="stop if the run holds more than this")
    parser.add_argument("--keep", action="store_true", help="keep the generated corpus and project copy")
    args = parser.parse_args()
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
    args.workdir, args.out = args.workdir.resolve(), args.out.resolve()

    start = time.perf_counter()
    docs, planted = build_documents(args.documents, sentence_pools())
    raw = args.workdir / "raw"
    write_raw(docs, raw)
    project = make_project(args.workdir, raw)
    built = time.perf_counter() - start
    print(f"built {sum(map(len, docs.values()))} documents in {built:.1f}s -> {raw}", flush=True)

    peak = {}
    threading.Thread(target=watchdog, args=(int(args.max_rss_gb * 2**30), peak), daemon=True).start()
    load_before = os.getloadavg()
    seconds, node_seconds, tables = run_pipeline(project)
    documents = len(tables["documents_raw"]) + len(tables["quarantine_documents"])
    result = {
        "documents": documents,
        "documents_built": {corpus: len(texts) for corpus, texts in docs.items()},
        "planted": planted,
        "build_seconds": round(built, 1),
        "pipeline": "medical_data",
        "wall_seconds": round(seconds, 1),
        "docs_per_s": round(documents / seconds, 1),
        "node_seconds_sum": round(sum(node_seconds.values()), 1),  # the rest: catalog saves and loads, set-up
        "node_seconds": dict(sorted(node_seconds.items(), key=lambda kv: -kv[1])),
        "peak_rss_mib": {
            "self": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),  # KiB on Linux
            # A forked worker starts out sharing this process's pages, and they count in its RSS.
            "largest_child": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
            "process_tree_sampled_1s": round(peak.get("tree_rss_bytes", 0) / 2**20),
        },
        "ledger": ledger_summary(tables),
        "machine": {
            "cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        },
    }
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: result[k] for k in ("documents", "wall_seconds", "docs_per_s", "peak_rss_mib")}))
    print(f"ledger invariant holds: {result['ledger']['invariant_holds']} -> {args.out}")


if __name__ == "__main__":
    main()

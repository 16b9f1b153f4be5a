"""Near-dedup benchmark: domainforge (datasketch) vs datatrove's 4-stage MinHash pipeline.

Builds a near-duplicate set from the real shared corpora — Chinese: fever.txt paragraphs and the
medical-dialogue answers (GB18030); English: MedQuAD answers and en_article paragraphs — as
originals plus one copy per edit rate (0/2/5/10/20%: character edits for Chinese, word edits for
English). Ground truth is the exact Jaccard similarity of the same shingles (character 5-grams of
the word characters of Chinese text, word 5-grams of casefolded English words) against the
threshold of the LSH banding. Both systems run on the identical JSONL shards, each in its own
subprocess, with the same n-gram size, hash count and bands; wall time and peak memory (RSS of the
subprocess and all its children, sampled every 10 ms) are measured the same way for both.

    python benchmarks/dedup_vs_datatrove.py                       # full run, writes results JSON
    python benchmarks/dedup_vs_datatrove.py --max-originals 500   # quick check

datatrove runs under `--datatrove-python` (default: this interpreter), in its own venv: datatrove
0.10.1 hashes str shingles, which xxhash >= 4 rejects (its `processing` extra pins xxhash<4), and
the project venv has xxhash 4.1.0 through `datasets`. Its default "zh" word tokenizer needs spaCy;
when that interpreter has spaCy, the benchmark also measures that tokenizer's recall on Chinese.

    python3.11 -m venv /tmp/dt-venv
    /tmp/dt-venv/bin/pip install datatrove==0.10.1 xxhash==3.8.2 regex==2026.11.15 orjson==3.13.0
        tokenizers==0.23.3 psutil==7.2.2 spacy==3.8.18 jieba==0.42.1      # (one command)
    python benchmarks/dedup_vs_datatrove.py --datatrove-python /tmp/dt-venv/bin/python
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from itertools import combinations
from pathlib import Path

from harness import machine, write_result

T_START = time.perf_counter()  # worker timing starts before any heavy import

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DOMAINFORGE_SHARED_DATA", REPO.parent / "shared" / "data"))
RATES = [0.0, 0.02, 0.05, 0.10, 0.20]
NGRAM, NUM_BUCKETS, HASHES_PER_BUCKET, SEED = 5, 14, 8, 1
THRESHOLD = round((1 / NUM_BUCKETS) ** (1 / HASHES_PER_BUCKET), 2)  # 0.72: where the LSH S-curve turns
MIN_UNITS = 30  # originals need >= 30 characters (zh) / words (en) so that 2% is at least one edit
CJK_MIN_RATIO = 0.3


# ---------------------------------------------------------------------------------------------
# The near-duplicate set


def load_originals(max_per_language: int | None) -> dict[str, list[str]]:
    fever = (SHARED / "medicalgpt/pretrain/fever.txt").read_text(encoding="utf-8").splitlines()
    with (SHARED / "chinese_medical_dialogue/internal_medicine_sample_gb18030.csv").open(
        encoding="gb18030", newline=""
    ) as handle:
        answers = [row["answer"] for row in csv.DictReader(handle)]
    medquad = [
        answer.text
        for path in sorted(SHARED.glob("medquad/*/*.xml"))
        for answer in ET.parse(path).iter("Answer")
        if answer.text
    ]
    article = (SHARED / "medicalgpt/pretrain/en_article_first400.txt").read_text(encoding="utf-8")
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", article)]

    def distinct(texts, units):
        seen, out = set(), []
        for text in texts:
            text = text.strip()
            if len(units(text)) >= MIN_UNITS and text not in seen:
                seen.add(text)
                out.append(text)
        return out[:max_per_language] if max_per_language else out

    return {
        "zh": distinct(fever + answers, zh_units),
        "en": distinct(paragraphs + medquad, en_units),
    }


def zh_units(text: str) -> list[str]:
    return [c for c in text.casefold() if c.isalnum()]


def en_units(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.casefold())


def edit_units(units: list[str], rate: float, rng: random.Random, pool) -> list[str]:
    """Substitute, insert or delete round(rate x len(units)) units, new units drawn from `pool`."""
    units = list(units)
    for _ in range(round(rate * len(units))):
        i, op = rng.randrange(len(units)), rng.randrange(3)
        if op == 0:
            units[i] = rng.choice(pool)
        elif op == 1:
            units.insert(i, rng.choice(pool))
        elif len(units) > 1:
            del units[i]
    return units


def edit_zh(text: str, rate: float, rng: random.Random, pool: str) -> str:
    """Characters edited at `rate`."""
    return "".join(edit_units(list(text), rate, rng, pool))


def edit_en(text: str, rate: float, rng: random.Random, vocabulary: list[str]) -> str:
    """Words edited at `rate`."""
    return " ".join(edit_units(text.split(), rate, rng, vocabulary))


def build_documents(originals: dict[str, list[str]]) -> list[dict]:
    rng = random.Random(SEED)
    pool = "".join(sorted({c for t in originals["zh"] for c in t if "\u4e00" <= c <= "\u9fff"}))
    vocabulary = sorted({w for t in originals["en"] for w in t.split()})
    docs = []
    for language, texts in originals.items():
        for family, text in enumerate(texts):
            base = {"language": language, "family": f"{language}{family}"}
            docs.append({**base, "id": f"{language}{family}:orig", "rate": None, "text": text})
            for rate in RATES:
                edited = (
                    edit_zh(text, rate, rng, pool) if language == "zh" else edit_en(text, rate, rng, vocabulary)
                )
                docs.append({**base, "id": f"{language}{family}:{rate:.2f}", "rate": rate, "text": edited})
    rng.shuffle(docs)
    return docs


def write_shards(docs: list[dict], folder: Path, shards: int = 2, repeat_text: int = 1) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    handles = [(folder / f"{i:05d}.jsonl").open("w", encoding="utf-8") for i in range(shards)]
    for i, doc in enumerate(docs):
        text = "\n".join([doc["text"]] * repeat_text)
        handles[i % shards].write(json.dumps({"id": doc["id"], "text": text}, ensure_ascii=False) + "\n")
    for handle in handles:
        handle.close()


# ---------------------------------------------------------------------------------------------
# Ground truth and scoring


class Jaccard:
    """Exact Jaccard of the shingle sets (n-grams hashed to 64 bits; collisions are negligible)."""

    def __init__(self, docs: list[dict]):
        import numpy as np

        self.np = np
        self.sets = {}
        for doc in docs:
            units = zh_units(doc["text"]) if doc["language"] == "zh" else en_units(doc["text"])
            grams = {hash(tuple(units[i : i + NGRAM])) for i in range(max(1, len(units) - NGRAM + 1))}
            self.sets[doc["id"]] = np.sort(np.fromiter(grams, dtype=np.int64, count=len(grams)))

    def __call__(self, a: str, b: str) -> float:
        x, y = self.sets[a], self.sets[b]
        inter = len(self.np.intersect1d(x, y, assume_unique=True))
        return inter / (len(x) + len(y) - inter)


def score(clusters: list[list[str]], docs: list[dict], jaccard: Jaccard, sample: int = 50_000) -> dict:
    """Pair-level precision and recall of the clusters against the exact-Jaccard ground truth.

    Per edit rate: the pairs (original, its copy at that rate). Overall recall: every pair inside
    a family (an original and its five copies). Overall precision: a uniform sample of all pairs
    the clusters imply (transitive union-find clusters can imply millions of pairs).
    """
    cluster_of = {doc_id: i for i, members in enumerate(clusters) for doc_id in members}

    def together(a: str, b: str) -> bool:
        return a in cluster_of and cluster_of.get(a) == cluster_of.get(b)

    per_rate = {}
    for rate in RATES:
        pairs = [(d["family"] + ":orig", d["id"]) for d in docs if d["rate"] == rate]
        true = [jaccard(*p) >= THRESHOLD for p in pairs]
        found = [together(*p) for p in pairs]
        hits = sum(t and f for t, f in zip(true, found))
        per_rate[f"{rate:.2f}"] = {
            "pairs": len(pairs),
            "true_pairs": sum(true),
            "found_pairs": sum(found),
            "precision": round(hits / sum(found), 4) if any(found) else None,
            "recall": round(hits / sum(true), 4) if any(true) else None,
        }

    families: dict[str, list[str]] = {}
    for doc in docs:
        families.setdefault(doc["family"], []).append(doc["id"])
    family_true = [p for ids in families.values() for p in combinations(ids, 2) if jaccard(*p) >= THRESHOLD]
    family_hits = sum(together(*p) for p in family_true)

    rng = random.Random(SEED)
    weights = [len(m) * (len(m) - 1) // 2 for m in clusters]
    sampled = []
    for members in rng.choices(clusters, weights=weights, k=sample) if clusters else []:
        sampled.append(tuple(rng.sample(members, 2)))
    correct = sum(jaccard(*p) >= THRESHOLD for p in sampled)
    related = sum(a.split(":")[0] == b.split(":")[0] or jaccard(a, b) >= THRESHOLD for a, b in sampled)
    return {
        "per_edit_rate": per_rate,
        "overall": {
            "clusters": len(clusters),
            "documents_in_clusters": len(cluster_of),
            "largest_cluster": max(map(len, clusters), default=0),
            "implied_pairs": sum(weights),
            "precision_sampled": round(correct / len(sampled), 4) if sampled else None,
            "related_share_sampled": round(related / len(sampled), 4) if sampled else None,
            "sampled_pairs": len(sampled),
            "family_true_pairs": len(family_true),
            "family_recall": round(family_hits / len(family_true), 4) if family_true else None,
        },
    }


# ---------------------------------------------------------------------------------------------
# Running each system in its own measured subprocess


def measured(command: list[str], log: Path) -> dict:
    """Run `command`; peak RSS summed over the process and all its children, sampled every 10 ms."""
    import psutil

    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        root = psutil.Process(process.pid)
        peak_tree = peak_single = 0
        while process.poll() is None:
            try:
                rss = [p.memory_info().rss for p in [root, *root.children(recursive=True)]]
            except psutil.Error:
                rss = []
            if rss:
                peak_tree, peak_single = max(peak_tree, sum(rss)), max(peak_single, max(rss))
            time.sleep(0.01)
    if process.returncode:
        raise RuntimeError(f"{command[:4]} failed ({process.returncode}); see {log}:\n{log.read_text()[-3000:]}")
    return {"peak_rss_mib": round(peak_tree / 2**20, 1), "peak_rss_largest_process_mib": round(peak_single / 2**20, 1)}


def run_system(kind: str, python: str, shards: Path, result: Path, log: Path, extra: list[str] = ()) -> dict:
    command = [python, str(Path(__file__).resolve()), "--worker", kind, str(shards), str(result), *extra]
    memory = measured(command, log)
    outcome = json.loads(result.read_text())
    outcome.update(memory)
    outcome["docs_per_s"] = round(outcome["documents"] / outcome["seconds"], 1)
    return outcome


def packages(*names: str) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def best_run(runs: list[dict]) -> dict:
    best = dict(max(runs, key=lambda run: run["docs_per_s"]))
    best["runs_docs_per_s"] = [run["docs_per_s"] for run in runs]
    best["peak_rss_mib"] = max(run["peak_rss_mib"] for run in runs)
    best["peak_rss_largest_process_mib"] = max(run["peak_rss_largest_process_mib"] for run in runs)
    return best


def worker_ours(shards: Path, result: Path) -> None:
    from domainforge.curation.dedup.minhash import NearDuplicateIndex

    index = NearDuplicateIndex(
        char_ngram=NGRAM, word_ngram=NGRAM, num_perm=NUM_BUCKETS * HASHES_PER_BUCKET,
        bands=NUM_BUCKETS, rows=HASHES_PER_BUCKET, seed=SEED, cjk_min_ratio=CJK_MIN_RATIO,
    )
    ids, lengths = [], []

    def texts():  # streamed: only signatures stay in memory
        for shard in sorted(shards.glob("*.jsonl")):
            with shard.open(encoding="utf-8") as handle:
                for line in handle:
                    record = json.loads(line)
                    ids.append(record["id"])
                    lengths.append(len(record["text"]))
                    yield record["text"]

    index.add(texts())
    clusters = index.clusters()
    removed = sum(len(m) - 1 for m in clusters)  # representative: longest, then first (no quality score)
    keep = [max(m, key=lambda i: (lengths[i], -i)) for m in clusters]
    seconds = time.perf_counter() - T_START
    result.write_text(json.dumps({
        "documents": index.documents, "seconds": round(seconds, 3), "packages": packages("datasketch", "numpy"),
        "removed": removed,
        "kept_representatives": len(keep), "clusters": [[ids[i] for i in m] for m in clusters],
    }))


def worker_datatrove(shards: Path, result: Path, tokenizer: str) -> None:
    import struct

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.utils.word_tokenizers import WordTokenizer

    class ScriptTokenizer(WordTokenizer):
        """Characters for CJK text (no spaces between words), whitespace words for the rest.

        datatrove applies it after its own simplify_text (lowercase, punctuation -> space)."""

        def word_tokenize(self, text: str) -> list[str]:
            cjk = sum("\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf" for c in text)
            words = sum(c.isalnum() for c in text)
            if cjk and cjk >= CJK_MIN_RATIO * words:
                return [c for c in text if not c.isspace()]
            return text.split()

        def sent_tokenize(self, text: str) -> list[str]:
            return [text]

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return [(0, len(text))]

    work = result.with_suffix(".work")  # fresh per run: datatrove skips tasks it finds completed
    config = MinhashConfig(n_grams=NGRAM, num_buckets=NUM_BUCKETS, hashes_per_bucket=HASHES_PER_BUCKET, seed=SEED)
    language = ScriptTokenizer() if tokenizer == "script" else tokenizer
    stages = [
        ([JsonlReader(str(shards)), MinhashDedupSignature(str(work / "sigs"), config=config, language=language)], 2),
        ([MinhashDedupBuckets(str(work / "sigs"), str(work / "buckets"), config=config)], NUM_BUCKETS),
        ([MinhashDedupCluster(str(work / "buckets"), str(work / "remove"), config=config, save_cluster_id=True)], 1),
        ([JsonlReader(str(shards)), MinhashDedupFilter(str(work / "remove"))], 2),
    ]
    for i, (pipeline, tasks) in enumerate(stages, 1):
        LocalPipelineExecutor(pipeline, tasks=tasks, workers=min(2, tasks), logging_dir=str(work / f"logs{i}")).run()
    seconds = time.perf_counter() - T_START

    # Map each rank's (document index -> cluster id) back to ids: rank r read shard r.
    members: dict[int, list[str]] = {}
    documents = 0
    for rank, shard in enumerate(sorted(shards.glob("*.jsonl"))):
        ids = [json.loads(line)["id"] for line in shard.open(encoding="utf-8")]
        documents += len(ids)
        path = work / "remove" / f"{rank:06d}.clusters"
        data = path.read_bytes() if path.exists() else b""
        for doc, cluster in struct.iter_unpack("<2I", data):
            members.setdefault(cluster, []).append(ids[doc])
    result.write_text(json.dumps({
        "documents": documents, "seconds": round(seconds, 3), "packages": packages("datatrove", "xxhash", "spacy"),
        "clusters": [m for m in members.values() if len(m) > 1],
    }))


# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-originals", type=int, default=None, help="per language (default: all)")
    parser.add_argument("--datatrove-python", default=sys.executable)
    parser.add_argument("--zh-demo-originals", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=2, help="runs per system; the fastest counts")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/dedup_vs_datatrove.json")
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "SHARDS", "RESULT"))
    parser.add_argument("--tokenizer", default="script")
    args = parser.parse_args()
    if args.worker:
        kind, shards, result = args.worker
        if kind == "ours":
            worker_ours(Path(shards), Path(result))
        else:
            worker_datatrove(Path(shards), Path(result), args.tokenizer)
        return

    load_at_start = os.getloadavg()[0]
    originals = load_originals(args.max_originals)
    docs = build_documents(originals)
    print(f"{len(originals['zh'])} zh + {len(originals['en'])} en originals -> {len(docs)} documents", flush=True)
    jaccard = Jaccard(docs)
    with tempfile.TemporaryDirectory(prefix="dedup-bench-") as tmp:
        tmp = Path(tmp)
        write_shards(docs, tmp / "shards")
        # Alternate the systems and keep each one's fastest run: the machine is shared, so the best
        # of a few runs is the least disturbed one. Peak memory is the highest seen in any run.
        runs = {"ours": [], "datatrove": []}
        for i in range(args.repeats):
            for kind, python in (("ours", sys.executable), ("datatrove", args.datatrove_python)):
                outcome = run_system(kind, python, tmp / "shards", tmp / f"{kind}{i}.json", tmp / f"{kind}{i}.log")
                runs[kind].append(outcome)
                print(f"{kind}: {outcome['docs_per_s']} docs/s, {outcome['peak_rss_mib']} MiB", flush=True)
        ours, theirs = best_run(runs["ours"]), best_run(runs["datatrove"])
        report = {
            "what": "near-duplicate detection on originals + edited copies of the real shared corpora",
            "machine": machine(
                load_average_at_start=round(load_at_start, 2),
                note="both systems ran one after the other on the same shared machine; other work on it "
                "shows in the load average",
            ),
            "dataset": {
                "originals": {lang: len(texts) for lang, texts in originals.items()},
                "documents": len(docs),
                "edit_rates": RATES,
                "edits": "zh: character substitute/insert/delete; en: word substitute/insert/delete",
                "characters": sum(len(d["text"]) for d in docs),
            },
            "settings": {
                "shingles": f"zh: character {NGRAM}-grams of word characters; en: word {NGRAM}-grams",
                "num_perm": NUM_BUCKETS * HASHES_PER_BUCKET, "bands": NUM_BUCKETS, "rows": HASHES_PER_BUCKET,
                "ground_truth": f"exact Jaccard of the shingle sets >= {THRESHOLD}",
                "datatrove_tokenizer": "script-aware: characters for CJK text, whitespace words otherwise "
                "(after datatrove's own simplify_text)",
                "datatrove_executor": "LocalPipelineExecutor, 4 stages, 2 workers (stage 2: 14 tasks, stage 3: 1)",
                "ours": "one process, NearDuplicateIndex streaming the same JSONL shards",
                "timing": "systems alternate; each system's fastest of `repeats` runs counts (runs_docs_per_s "
                "lists all); wall time from the worker script's start (before its imports) to the final "
                "keep/drop decision",
                "memory": "peak RSS summed over the subprocess and its children, sampled every 10 ms",
                "metrics": "per edit rate: pairs (original, copy); true = Jaccard >= threshold, found = same "
                "cluster. family_recall: all true pairs inside families. precision_sampled: share of a uniform "
                "sample of the pairs the clusters imply with Jaccard >= threshold; related_share_sampled: share "
                "that are copies of one original or true near duplicates",
            },
            "ours": {k: v for k, v in ours.items() if k != "clusters"} | score(ours["clusters"], docs, jaccard),
            "datatrove": {k: v for k, v in theirs.items() if k != "clusters"}
            | score(theirs["clusters"], docs, jaccard),
        }
        report["throughput_ratio"] = round(ours["docs_per_s"] / theirs["docs_per_s"], 2)
        report["peak_memory_ratio"] = round(ours["peak_rss_mib"] / theirs["peak_rss_mib"], 2)
        report["memory_scaling"] = memory_scaling(docs, tmp)
        report["datatrove_zh_default_tokenizer"] = zh_tokenizer_demo(docs, jaccard, args, tmp)
    write_result(args.out, report)
    print(json.dumps({k: report[k] for k in ("throughput_ratio", "peak_memory_ratio")}), f"-> {args.out}")


def memory_scaling(docs: list[dict], tmp: Path) -> dict:
    """Our peak RSS at 1/4, 1/2 and all documents, and at all documents with 4x longer texts."""
    runs = []
    for fraction, repeat in [(0.25, 1), (0.5, 1), (1.0, 1), (1.0, 4)]:
        subset = docs[: int(len(docs) * fraction)]
        folder = tmp / f"scale_{fraction}_{repeat}"
        write_shards(subset, folder, repeat_text=repeat)
        outcome = run_system("ours", sys.executable, folder, folder / "result.json", folder / "log")
        runs.append({"documents": len(subset), "text_repeat": repeat, "peak_rss_mib": outcome["peak_rss_mib"],
                     "docs_per_s": outcome["docs_per_s"]})
        print(f"scaling: {runs[-1]}", flush=True)
    small, large = runs[0], runs[2]
    slope = (large["peak_rss_mib"] - small["peak_rss_mib"]) / (large["documents"] - small["documents"])
    return {
        "runs": runs,
        "mib_per_million_documents": round(slope * 1e6, 0),
        "long_text_extra_mib": round(runs[3]["peak_rss_mib"] - runs[2]["peak_rss_mib"], 1),
        "note": "slope of peak RSS between 1/4 and all documents; the 4x-longer-text run shows that "
        "memory follows the number of signatures, not the amount of text",
    }


def zh_tokenizer_demo(docs: list[dict], jaccard: Jaccard, args, tmp: Path) -> dict:
    """datatrove on the Chinese subset with its default language="zh" tokenizer vs characters."""
    check = subprocess.run([args.datatrove_python, "-c", "import spacy, jieba"], capture_output=True)
    if check.returncode:
        return {"skipped": "the datatrove interpreter has no spaCy/jieba, which language='zh' needs"}
    families = sorted({d["family"] for d in docs if d["language"] == "zh"})[: args.zh_demo_originals]
    keep = set(families)
    subset = [d for d in docs if d["family"] in keep]
    write_shards(subset, tmp / "zh_shards")
    out = {"documents": len(subset)}
    for tokenizer in ("zh", "script"):
        outcome = run_system("datatrove", args.datatrove_python, tmp / "zh_shards", tmp / f"zh_{tokenizer}.json",
                             tmp / f"zh_{tokenizer}.log", ["--tokenizer", tokenizer])
        scored = score(outcome["clusters"], subset, jaccard)
        out[f"language={tokenizer!r}" if tokenizer == "zh" else "character tokenizer"] = {
            "recall_per_edit_rate": {r: s["recall"] for r, s in scored["per_edit_rate"].items()},
            "docs_per_s": outcome["docs_per_s"],
        }
    out["why"] = ("datatrove's 'zh' tokenizer (spaCy + jieba config) returns whole punctuation-delimited "
                  "clauses as words, so a 5-gram spans a paragraph and one edited character breaks it")
    return out


if __name__ == "__main__":
    main()

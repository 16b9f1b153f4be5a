"""Exact + near dedup: in-memory (minhash.py) vs Ray Data (dedup/distributed.py) with 1 and 2 workers.

Two corpora: the real shared documents as the pipeline ingests and normalises them
(real_corpora.load_documents) and N documents recombined from their real sentences with planted
exact and near copies (curation_scale.build_documents; default 50,000). Both are written as
parquet shards to a temporary folder (never committed) with their `position` column. Every
configuration runs in its own subprocess on the same shards: `memory` reads them into pandas and
runs exact_dedup + near_dedup; `rayN` starts a loopback cluster of N one-CPU worker nodes
(tests/ray_cluster.py), reads the shards with `ray.data.read_parquet` and runs
near_dedup_dataset(exact_dedup_dataset(...)), the workers writing (id, status) back as parquet.

Recorded per corpus and configuration: dedup seconds (cluster start excluded, reported apart),
the driver's peak RSS (VmHWM of that subprocess: for Ray the driver alone, not the Ray
processes it started), the clusters and drops, and whether every document's status (hence every
cluster and every representative) is identical to the in-memory run.

    nice -n 10 python benchmarks/dedup_ray.py                    # writes benchmarks/results/dedup_ray.json
                                                                 # (11 min on 2 cores shared at load ~7)
    python benchmarks/dedup_ray.py --documents 5000 --out /tmp/dedup_ray.json
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from harness import machine, write_result

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "results" / "dedup_ray.json"
SHARDS = 8
CONFIGS = ["memory", "ray1", "ray2"]


def dedup_params() -> dict:
    return yaml.safe_load((REPO / "conf" / "base" / "parameters_dedup.yml").read_text())["dedup"]


def write_shards(docs: pd.DataFrame, folder: Path) -> None:
    folder.mkdir(parents=True)
    docs = docs[["id", "source", "corpus", "text"]].assign(position=np.arange(len(docs), dtype=np.int64))
    for i, part in enumerate(np.array_split(np.arange(len(docs)), SHARDS)):
        docs.iloc[part].to_parquet(folder / f"part-{i:05d}.parquet", index=False)


def build_corpora(n: int, root: Path, shared_limit: int | None) -> dict[str, int]:
    sys.path.insert(0, str(HERE))
    from curation_scale import build_documents, sentence_pools
    from real_corpora import load_documents

    shared = load_documents().iloc[:shared_limit]
    write_shards(shared, root / "shared")
    texts, _ = build_documents(n, sentence_pools())
    rows = [(corpus, text) for corpus in texts for text in texts[corpus]]
    generated = pd.DataFrame(rows, columns=["corpus", "text"])
    generated = generated.assign(id=[f"generated#{i}" for i in range(len(generated))], source="generated")
    write_shards(generated, root / "generated")
    return {"shared": len(shared), "generated": len(generated)}


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike getrusage's maxrss it does not inherit the
    parent's peak across fork + exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def run_one(config: str, shards: Path, result: Path) -> None:
    """In a subprocess of its own: one configuration on one corpus."""
    params = dedup_params()
    info: dict = {}
    if config == "memory":
        from domainforge.curation.dedup.minhash import exact_dedup, near_dedup

        docs = pd.read_parquet(shards)
        start = time.perf_counter()
        after_exact, exact_drops = exact_dedup(docs, params)
        _, near_drops, report = near_dedup(after_exact, params)
        info["seconds"] = time.perf_counter() - start
        status = dict.fromkeys(docs["id"], "")
        status.update(zip(exact_drops["id"], exact_drops["status"]))
        status.update(zip(near_drops["id"], near_drops["status"]))
        pd.DataFrame({"id": list(status), "status": list(status.values())}).to_parquet(result / "status.parquet")
    else:
        sys.path.insert(0, str(REPO / "tests"))
        import ray.data
        from ray_cluster import local_ray_cluster

        from domainforge.curation.dedup.distributed import exact_dedup_dataset, near_dedup_dataset

        start = time.perf_counter()
        with local_ray_cluster(nodes=int(config.removeprefix("ray")), cpus_per_node=1, object_store_mb=400):
            ray.data.DataContext.get_current().enable_progress_bars = False
            info["cluster_start_seconds"] = time.perf_counter() - start
            start = time.perf_counter()
            ds = ray.data.read_parquet(str(shards))
            out, report = near_dedup_dataset(exact_dedup_dataset(ds, params), params)
            out.select_columns(["id", "status"]).write_parquet(str(result / "status"))
            info["seconds"] = time.perf_counter() - start
    info["driver_peak_rss_mb"] = peak_rss_mb()
    info["report"] = {k: report[k] for k in ("documents_in", "documents_kept", "near_duplicates_dropped", "clusters")}
    (result / "info.json").write_text(json.dumps(info))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=50_000, help="generated corpus size")
    parser.add_argument("--shared-limit", type=int, default=None, help="first N shared documents only (quick checks)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--run", nargs=3, metavar=("CONFIG", "SHARDS", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run_one(args.run[0], Path(args.run[1]), Path(args.run[2]))
        return

    results: dict = {"corpora": {}}
    with tempfile.TemporaryDirectory(prefix="dedup-ray-") as tmp:
        root = Path(tmp)
        sizes = build_corpora(args.documents, root, args.shared_limit)
        for corpus, documents in sizes.items():
            runs = {}
            for config in CONFIGS:
                result = root / f"{corpus}-{config}"
                result.mkdir()
                command = [sys.executable, __file__, "--run", config, str(root / corpus), str(result)]
                subprocess.run(command, check=True, cwd=REPO)
                info = json.loads((result / "info.json").read_text())
                status = pd.read_parquet(result / ("status.parquet" if config == "memory" else "status"))
                info["statuses"] = dict(zip(status["id"], status["status"]))
                runs[config] = info
                print(corpus, config, {k: v for k, v in info.items() if k != "statuses"}, flush=True)
            reference = runs["memory"]["statuses"]
            for info in runs.values():
                info["identical_to_memory"] = info.pop("statuses") == reference
                info["seconds"] = round(info["seconds"], 2)
                info["driver_peak_rss_mb"] = round(info["driver_peak_rss_mb"], 1)
                if "cluster_start_seconds" in info:
                    info["cluster_start_seconds"] = round(info["cluster_start_seconds"], 2)
            results["corpora"][corpus] = {"documents": documents, "runs": runs}
    results["machine"] = machine(
        load_average_1m_at_end=round(os.getloadavg()[0], 2),  # the 2 cores are shared with other jobs
        ray=__import__("ray").__version__,
    )
    write_result(args.out, results)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

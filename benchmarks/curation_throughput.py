"""Throughput of the whole document curation chain on the real shared corpora.

Calls the library functions of domainforge.data directly, in pipeline order, with the medical
domain's parameters from conf/base: ingest -> normalise -> language -> quality -> [fastText
classifier] -> exact dedup -> near dedup -> privacy. Input: every pretraining-style file of
../shared/data (fever.txt, the GB18030 dialogue CSV and all MedQuAD XML as domain text;
tianlongbabu.txt and the hard-wrapped English article as general text), read into memory first so
that disk speed does not count; decoding and parsing do. Each stage runs exactly as its Kedro node
does, with the node's parameters, `workers` (worker processes) included. Per stage the script also
records CPU seconds (this process plus its finished worker processes): on a busy machine wall time
says little, CPU time still says what the stage costs.

    python benchmarks/curation_throughput.py              # writes benchmarks/results/curation_throughput.json
    python benchmarks/curation_throughput.py --no-classifier
    python benchmarks/curation_throughput.py --repeats 3  # the run with the median time is reported

A stage whose module still calls itself a placeholder is flagged in the results.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
CHAIN_PARAMETERS = ("ingest", "normalise", "language", "quality", "quality_classifier", "dedup", "privacy")
SHARED = Path(os.environ.get("DOMAINFORGE_SHARED_DATA", REPO.parent / "shared" / "data"))


def raw_files() -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The raw role folders as ingest receives them: {relative path: bytes}. Names follow the
    medical ingest rules (`dialogue*.csv` rows are documents, `*wrapped*.txt` splits on blank lines)."""
    pretrain = SHARED / "medicalgpt/pretrain"
    domain = {
        "textbook_fever.txt": (pretrain / "fever.txt").read_bytes(),
        "dialogue_internal_medicine_gb18030.csv": (
            SHARED / "chinese_medical_dialogue/internal_medicine_sample_gb18030.csv"
        ).read_bytes(),
    }
    for path in sorted(SHARED.glob("medquad/*/*.xml")):
        domain[f"medquad/{path.parent.name}/{path.name}"] = path.read_bytes()
    general = {
        "novel_tianlongbabu.txt": (pretrain / "tianlongbabu.txt").read_bytes(),
        "en_article_wrapped.txt": (pretrain / "en_article_first400.txt").read_bytes(),
    }
    return domain, general


def medical_parameters() -> dict:
    from kedro.config import OmegaConfigLoader

    loader = OmegaConfigLoader(str(REPO / "conf"), base_env="base", default_run_env="local")
    return loader["parameters"]["medical"]


def is_placeholder(module_name: str) -> bool:
    module = importlib.import_module(f"domainforge.data.{module_name}")
    return "placeholder" in (module.__doc__ or "").lower()


def run_chain(with_classifier: bool) -> dict:
    from domainforge.data import dedup, ingest, language, normalise, privacy, quality, quality_classifier

    sys.path.insert(0, str(Path(__file__).parent))
    from real_corpora import nonprose_files

    params = medical_parameters()
    domain, general = raw_files()
    stages = []

    def cpu_seconds() -> float:
        return sum(
            usage.ru_utime + usage.ru_stime
            for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
        )

    def timed(name: str, module: str, call, docs_in: int | None = None):
        start, cpu_start = time.perf_counter(), cpu_seconds()
        result = call()
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
        out = len(result[0]) if isinstance(result[0], pd.DataFrame) else docs_in  # training keeps all
        if docs_in is None:  # ingest: every record read, kept or quarantined
            docs_in = len(result[0]) + len(result[1])
        stages.append({
            "stage": name, "module": module, "placeholder": is_placeholder(module), "documents_in": docs_in,
            "documents_out": out, "seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),
            "docs_per_s": round(docs_in / seconds, 1) if seconds else None,
        })
        print(f"{name:>18}: {docs_in} -> {out} in {seconds:.2f}s ({cpu:.2f} CPU s)", flush=True)
        return result

    docs, _ = timed("ingest", "ingest", lambda: ingest.ingest_documents(domain, general, params["ingest"]))
    stages[-1]["files"] = len(domain) + len(general)
    total = stages[-1]["documents_in"]
    docs, _ = timed(
        "normalise", "normalise", lambda: normalise.normalise_documents(docs, params["normalise"]), len(docs)
    )
    docs, _ = timed("language", "language", lambda: language.detect_language(docs, params["language"]), len(docs))
    docs, _ = timed("quality", "quality", lambda: quality.filter_quality(docs, params["quality"]), len(docs))
    if with_classifier:
        classifier = params["quality_classifier"]
        tokens = timed(
            "classifier_tokenise", "quality_classifier",
            lambda: quality_classifier.tokenise_documents(docs, classifier), len(docs),
        )
        model = timed(
            "classifier_train", "quality_classifier",
            lambda: quality_classifier.train_quality_classifier(docs, nonprose_files(), classifier, tokens), len(docs),
        )[0]
        docs, _ = timed(
            "classifier_filter", "quality_classifier",
            lambda: quality_classifier.filter_by_classifier(docs, model, classifier, tokens), len(docs),
        )
    docs, _ = timed("exact_dedup", "dedup", lambda: dedup.exact_dedup(docs, params["dedup"]), len(docs))
    docs, _, _ = timed("near_dedup", "dedup", lambda: dedup.near_dedup(docs, params["dedup"]), len(docs))
    docs, _ = timed("privacy", "privacy", lambda: privacy.scrub_documents(docs, params["privacy"]), len(docs))

    seconds = sum(stage["seconds"] for stage in stages)
    cpu = sum(stage["cpu_seconds"] for stage in stages)
    per_document = seconds - sum(s["seconds"] for s in stages if s["stage"] == "classifier_train")
    return {
        "documents_ingested": total,
        "documents_curated": len(docs),
        "seconds": round(seconds, 2),
        "docs_per_s": round(total / seconds, 1),
        "docs_per_s_without_classifier_training": round(total / per_document, 1),
        "cpu_seconds": round(cpu, 2),
        "docs_per_cpu_s": round(total / cpu, 1),
        "target_docs_per_s": 1000,
        "workers": {stage: params[stage].get("workers", 1) for stage in CHAIN_PARAMETERS},
        "stages": stages,
        "placeholder_stages": sorted({s["module"] for s in stages if s["placeholder"]}),
    }


def fresh_process_run(no_classifier: bool) -> dict:
    """One run in a new interpreter, so that no run finds another's memoised tokens or patterns."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run.json"
        command = [sys.executable, __file__, "--one-run", str(out)] + (["--no-classifier"] if no_classifier else [])
        subprocess.run(command, check=True)
        return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-classifier", action="store_true", help="skip training/filtering with fastText")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/curation_throughput.json")
    parser.add_argument("--repeats", type=int, default=3, help="whole-chain runs; the median one is reported")
    parser.add_argument("--one-run", type=Path, help=argparse.SUPPRESS)  # internal: one run's JSON to this file
    args = parser.parse_args()
    if args.one_run:
        args.one_run.write_text(json.dumps(run_chain(with_classifier=not args.no_classifier)))
        return
    load_before = os.getloadavg()
    runs = sorted((fresh_process_run(args.no_classifier) for _ in range(args.repeats)), key=lambda r: r["seconds"])
    result = runs[len(runs) // 2]
    result["all_runs_docs_per_s"] = [run["docs_per_s"] for run in runs]
    result["machine"] = {
        "cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "note": "other work on the machine during the run shows in the load average and in seconds "
        "(wall) but not in cpu_seconds",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{result['docs_per_s']} docs/s over {result['documents_ingested']} documents -> {args.out}")


if __name__ == "__main__":
    main()

"""Peak memory of the fastText quality classifier's training (`train_quality_classifier`): the
driver's largest single cost on big corpora, since it trains on up to `max_documents_per_class`
documents a class plus synthetic junk built from the positives' text.

Documents: paragraphs of the shared Chinese textbook (domain) and novel (general), four per
document, seeded; the token lines are computed before the measurement, as the pipeline's
tokenise step does. One fresh process per size; reported: RSS before training, peak RSS during
it (ru_maxrss) and their difference, the training's wall time and its held-out scores.
`--src` measures another source tree (e.g. a checkout of an earlier commit) under `--label`, so
one result file holds a before/after pair.

    python benchmarks/classifier_memory.py --sizes 25000 100000 --label after
    python benchmarks/classifier_memory.py --label before --src /tmp/old/src
writes (merges into) benchmarks/results/classifier_memory.json.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

from harness import RESULT_FILE, fresh_process, src_env, write_labelled_result

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DOMAINFORGE_SHARED_DATA", REPO.parent / "shared" / "data"))
RESULT = REPO / "benchmarks/results/classifier_memory.json"


def one_run(documents: int, out: Path) -> None:
    import numpy as np
    import pandas as pd
    import yaml

    from domainforge.curation.quality import classifier

    pretrain = SHARED / "medicalgpt/pretrain"
    rng = np.random.default_rng(0)

    def corpus(file: str, n: int, name: str) -> pd.DataFrame:
        paragraphs = [p for p in (pretrain / file).read_text(encoding="utf-8").split("\n") if len(p) > 20]
        picks = rng.integers(0, len(paragraphs), size=(n, 4))
        return pd.DataFrame({"id": [f"{name}{i}" for i in range(n)], "source": name, "corpus": name,
                             "text": ["\n".join(paragraphs[j] for j in row) for row in picks], "lang": "zh"})

    docs = pd.concat([corpus("fever.txt", documents // 2, "domain"),
                      corpus("tianlongbabu.txt", documents - documents // 2, "general")], ignore_index=True)
    params = yaml.safe_load((REPO / "conf/base/parameters_quality_classifier.yml").read_text())["quality_classifier"]
    tokens = classifier.tokenise_documents(docs, params)
    before = _rss_mb()
    start = time.perf_counter()
    _, metrics = classifier.train_quality_classifier(docs, {}, params, document_tokens=tokens)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.write_text(json.dumps({
        "documents": documents,
        "text_mb": round(docs["text"].str.len().sum() / 2**20, 1),
        "rss_before_training_mb": round(before),
        "peak_rss_mb": round(peak),
        "training_peak_over_before_mb": round(peak - before),
        "train_seconds": round(time.perf_counter() - start, 1),
        "examples": metrics["examples"],
        "held_out": metrics["held_out"],
    }))


def _rss_mb() -> float:
    status = Path(f"/proc/{os.getpid()}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", type=int, default=[25_000, 100_000])
    parser.add_argument("--label", default="current")
    parser.add_argument("--src", type=Path, help="source tree to import domainforge from (default: installed)")
    parser.add_argument("--one-run", nargs=2, help=argparse.SUPPRESS)  # internal: documents, result file
    args = parser.parse_args()
    if args.one_run:
        one_run(int(args.one_run[0]), Path(args.one_run[1]))
        return
    runs = {}
    for size in args.sizes:
        runs[str(size)] = fresh_process([__file__, "--one-run", str(size), RESULT_FILE], env=src_env(args.src))
        print(args.label, json.dumps(runs[str(size)]), flush=True)
    write_labelled_result(RESULT, "peak RSS of train_quality_classifier (zh documents from the shared corpora, "
                          "fresh process per size)", args.label, args.src, runs)


if __name__ == "__main__":
    sys.exit(main())

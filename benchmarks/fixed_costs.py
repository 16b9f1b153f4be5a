"""What every `kedro run` pays before any record is curated: importing the pipeline registry and
loading the base model's tokenizer, each in a fresh process (median of `--repeats`).

- `registry_import_s`: `import domainforge.pipeline_registry` (Kedro builds the registry for
  every run, a curation-only run too).
- `tokenizer_from_gguf_s`: `TokenizerDataset` building the tokenizer from the packaged GGUF (what
  every load did before the cache, and what the first load with an empty cache does).
- `tokenizer_from_cache_s`: the same dataset reading the folder that first load saved; with
  `--src` pointing at a tree without `cache_dir` this is not measured.
- `bare_tokenizer_from_cache_s`: the dataset with `library: tokenizers` (what curation loads to
  count tokens: the Rust tokenizer from that folder's tokenizer.json, no transformers); not
  measured for a tree without that option.

`--src`/`--label` measure another source tree (e.g. a checkout of an earlier commit), so one
result file holds a before/after pair.

    python benchmarks/fixed_costs.py --label after
    python benchmarks/fixed_costs.py --label before --src /tmp/old/src
writes (merges into) benchmarks/results/fixed_costs.json.
"""
from __future__ import annotations

import argparse
import inspect
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness import RESULT_FILE, fresh_process, src_env, write_labelled_result

REPO = Path(__file__).resolve().parents[1]
RESULT = REPO / "benchmarks/results/fixed_costs.json"


def one_run(what: str, cache: Path, out: Path) -> None:
    start = time.perf_counter()
    if what == "registry_import":
        import domainforge.pipeline_registry  # noqa: F401
    else:
        from domainforge.datasets import TokenizerDataset

        options = inspect.signature(TokenizerDataset).parameters
        if what == "bare_tokenizer_from_cache":
            if "library" not in options:
                out.write_text(json.dumps(None))
                return
            TokenizerDataset(cache_dir=str(cache), library="tokenizers").load()
        elif "cache_dir" in options:
            TokenizerDataset(cache_dir=str(cache) if what == "tokenizer_from_cache" else None).load()
        elif what == "tokenizer_from_gguf":
            TokenizerDataset().load()
        else:
            out.write_text(json.dumps(None))
            return
    out.write_text(json.dumps(time.perf_counter() - start))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--label", default="current")
    parser.add_argument("--src", type=Path, help="source tree to import domainforge from (default: installed)")
    parser.add_argument("--one-run", nargs=3, help=argparse.SUPPRESS)  # internal: what, cache, result file
    args = parser.parse_args()
    if args.one_run:
        one_run(args.one_run[0], Path(args.one_run[1]), Path(args.one_run[2]))
        return
    runs = {}
    with tempfile.TemporaryDirectory() as cache:
        # the first cached load converts and saves (where the tree has a cache): the ones timed read it
        fresh_process([__file__, "--one-run", "tokenizer_from_cache", cache, RESULT_FILE], env=src_env(args.src))
        for what in ("registry_import", "tokenizer_from_gguf", "tokenizer_from_cache", "bare_tokenizer_from_cache"):
            times = [fresh_process([__file__, "--one-run", what, cache, RESULT_FILE], env=src_env(args.src))
                     for _ in range(args.repeats)]
            runs[f"{what}_s"] = None if None in times else round(statistics.median(times), 2)
            runs[f"{what}_all_s"] = None if None in times else [round(t, 2) for t in times]
    print(args.label, json.dumps(runs), flush=True)
    write_labelled_result(RESULT, "fixed costs of every kedro run: registry import and tokenizer load, fresh "
                          "process each, median", args.label, args.src, runs)


if __name__ == "__main__":
    sys.exit(main())

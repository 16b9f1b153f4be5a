"""What every `kedro run` pays before any record is curated: importing the pipeline registry,
loading the base model's tokenizer and, with the Ray engine, Ray's own costs; each in a fresh
process (median of `--repeats`).

- `registry_import_s`: `import domainforge.pipeline_registry` (Kedro builds the registry for
  every run, a curation-only run too).
- `tokenizer_from_gguf_s`: `TokenizerDataset` building the tokenizer from the packaged GGUF (what
  every load did before the cache, and what the first load with an empty cache does).
- `tokenizer_from_cache_s`: the same dataset reading the folder that first load saved; with
  `--src` pointing at a tree without `cache_dir` this is not measured.
- `bare_tokenizer_from_cache_s`: the dataset with `library: tokenizers` (what curation loads to
  count tokens: the Rust tokenizer from that folder's tokenizer.json, no transformers); not
  measured for a tree without that option.

- `ray`: what the Ray engine (`curation_runtime.engine: ray`, a local cluster of 2 worker CPUs)
  costs through the engine's own code, whatever the corpus: importing ray and Ray Data, starting
  the cluster, the first job (Ray Data's executor, both workers started; two tasks that sleep 0
  and 1 s: its wall minus 1 s), a later job's overhead (two tasks sleeping 4 and 5 s: wall minus
  5 s), the CPU that Ray's own processes (driver included) use per second of that job while the
  tasks only sleep, i.e. what they take from the workers on a machine with as many cores as
  workers, and the shutdown. Not measured with `--no-ray`.

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


def ray_costs(out: Path) -> None:
    import psutil

    def cpu_seconds() -> dict[int, float]:  # this process and every process it started (Ray's, workers included)
        found = {}
        for process in [psutil.Process(), *psutil.Process().children(recursive=True)]:
            try:
                times = process.cpu_times()
                found[process.pid] = times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return found

    from domainforge.curation.engine import CurationRuntime, disconnect_ray, ray_session, run_tasks  # imports no ray

    start = time.perf_counter()
    import ray.data  # noqa: F401

    imported = time.perf_counter()
    runtime = CurationRuntime(engine="ray", workers=2)
    ray_session(runtime)
    started = time.perf_counter()
    run_tasks(time.sleep, [0, 1], runtime)  # time.sleep(task) on the workers
    first = time.perf_counter()
    cpu = cpu_seconds()
    run_tasks(time.sleep, [4, 5], runtime)
    later = time.perf_counter()
    after = cpu_seconds()
    idle_cpu = sum(after[pid] - cpu.get(pid, 0.0) for pid in after)  # a process that ended: not counted
    disconnect_ray()
    stopped = time.perf_counter()
    out.write_text(json.dumps({
        "ray_import_s": imported - start, "ray_init_s": started - imported,
        "ray_first_job_overhead_s": first - started - 1, "ray_later_job_overhead_s": later - first - 5,
        "ray_own_cpu_per_job_second": idle_cpu / (later - first), "ray_shutdown_s": stopped - later,
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--label", default="current")
    parser.add_argument("--src", type=Path, help="source tree to import domainforge from (default: installed)")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray engine's costs")
    parser.add_argument("--one-run", nargs=3, help=argparse.SUPPRESS)  # internal: what, cache, result file
    parser.add_argument("--ray-run", help=argparse.SUPPRESS)  # internal: result file
    args = parser.parse_args()
    if args.ray_run:
        ray_costs(Path(args.ray_run))
        return
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
    if not args.no_ray:
        ray_runs = [fresh_process([__file__, "--ray-run", RESULT_FILE], env=src_env(args.src)) for _ in range(args.repeats)]
        for key in ray_runs[0]:
            values = [run[key] for run in ray_runs]
            runs[key], runs[f"{key}_all"] = round(statistics.median(values), 2), [round(v, 2) for v in values]
    print(args.label, json.dumps(runs), flush=True)
    write_labelled_result(RESULT, "fixed costs of every kedro run: registry import, tokenizer load and the Ray "
                          "engine's own costs, fresh process each, median", args.label, args.src, runs)


if __name__ == "__main__":
    sys.exit(main())

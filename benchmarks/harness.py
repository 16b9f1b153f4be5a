"""What every script under benchmarks/ shares: the machine a number was measured on, writing the
result JSON, and running one configuration in a fresh process several times.

The scripts run as `python benchmarks/<name>.py`, so benchmarks/ is on sys.path and they import
this module as `from harness import ...`. It imports nothing heavy: versions are read from the
installed packages' metadata, so asking for them does not load torch into the timed process.
"""
from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULT_FILE = "{result}"  # in fresh_process's argv: replaced by the file the child writes its JSON to


# ---- the machine ---------------------------------------------------------------------------
def load_average() -> float:
    """The 1-minute load average, rounded: the development machine's 2 cores are shared with
    other jobs, so a timing means little without it."""
    return round(os.getloadavg()[0], 2)


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine(**extra) -> dict:
    """CPU count, Python, platform, torch/transformers versions (those installed) and the load
    average now; `extra` (a script's own keys, e.g. its load before and after) is added last."""
    info = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_1_5_15m": [round(x, 2) for x in os.getloadavg()],
    }
    for package in ("torch", "transformers"):
        if (version := _version(package)) is not None:
            info[package] = version
    return {**info, **extra}


def git_commit() -> str | None:
    """HEAD's short hash, with "-dirty" when tracked files differ from it; None outside git."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)

    try:
        head = git("rev-parse", "--short", "HEAD")
    except OSError:  # no git on the machine
        return None
    if head.returncode != 0:
        return None
    dirty = git("diff", "--quiet", "HEAD").returncode != 0
    return head.stdout.strip() + ("-dirty" if dirty else "")


# ---- results -------------------------------------------------------------------------------
def write_result(path: Path | str, result: dict) -> Path:
    """Write `result` as JSON (indent 2, UTF-8 text as is, trailing newline), creating the folder.
    Keys a script did not set itself are added at the end: `machine` (machine()), `date` (UTC,
    ISO 8601) and `git_commit`. The dict passed in is not changed."""
    path = Path(path)
    out = dict(result)
    out.setdefault("machine", machine())
    out.setdefault("date", datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"))
    out.setdefault("git_commit", git_commit())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_labelled_result(path: Path | str, benchmark: str, label: str, src: Path | None, runs: dict) -> Path:
    """Merge one labelled set of runs into a result file that holds several (e.g. "before", measured
    on a checkout of an earlier commit through `src`, and "after"), each with its own machine."""
    path = Path(path)
    result = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    result["benchmark"] = benchmark
    result.setdefault("labels", {})[label] = {
        "src": str(src) if src else "installed package",
        "runs": runs,
        "machine": machine(),
        "git_commit": git_commit(),
    }
    result.pop("date", None), result.pop("git_commit", None)
    return write_result(path, result)


def src_env(src: Path | None) -> dict | None:
    """The environment for a child process importing `domainforge` from the source tree `src`."""
    return {**os.environ, "PYTHONPATH": str(Path(src).resolve())} if src else None


# ---- fresh-process repeats -----------------------------------------------------------------
def fresh_process(argv: list[str], **run_kwargs) -> dict:
    """Run `python <argv>` in a new interpreter and return the JSON it wrote. The argument equal
    to RESULT_FILE is replaced by a temporary file's path; the child writes its result there
    (plain json, not write_result: it is one run, not a result file). A fresh process per run
    means no warm caches, imported modules or allocator state carry over from the run before.
    `run_kwargs` go to subprocess.run (cwd, env, ...); a failing child raises."""
    with tempfile.TemporaryDirectory(prefix="bench-run-") as folder:
        out = Path(folder) / "run.json"
        command = [sys.executable, *(str(out) if arg == RESULT_FILE else str(arg) for arg in argv)]
        subprocess.run(command, check=True, **run_kwargs)
        return json.loads(out.read_text(encoding="utf-8"))


def interleaved(configs: Iterable[str], repeats: int, run: Callable[[str], dict],
                report: Callable[[str, dict], None] | None = None) -> dict[str, list[dict]]:
    """`repeats` rounds, each running every configuration once (a, b, a, b, ... rather than
    a, a, b, b): load from other jobs on the shared machine then hits all configurations alike.
    `run(config)` is typically `lambda c: fresh_process([...c...])`; `report(config, run)` is
    called after each run (progress lines). Returns every configuration's runs in order."""
    configs = list(configs)
    runs: dict[str, list[dict]] = {config: [] for config in configs}
    for _ in range(repeats):
        for config in configs:
            runs[config].append(run(config))
            if report is not None:
                report(config, runs[config][-1])
    return runs


def median_run(runs: list[dict], key: str) -> dict:
    """The run whose `key` is the median (the upper one of an even count): a real run, so all its
    other numbers belong to the same measurement."""
    return sorted(runs, key=lambda r: r[key])[len(runs) // 2]


def relative_spread(values: list[float]) -> float | None:
    """Population standard deviation over the mean, rounded: differences smaller than this are noise."""
    return round(statistics.pstdev(values) / statistics.mean(values), 3) if len(values) > 1 else None

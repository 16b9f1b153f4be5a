"""The engines that run a batch function over a record table: `local` (this process, or forked
worker processes) and `ray` (Ray Data `map_batches` on a local or an existing Ray cluster).

Both cut the table into contiguous batches and put the results back in input order, so a
function that judges each record on its own gives the same table on either engine, with any
number of workers. `curation_runtime` (conf/base/parameters_curation_runtime.yml) picks one.

Ray shards travel as pickled pandas frames, not Arrow tables: an Arrow round trip turns the
chats' message lists into arrays of structs and None into NaN, and the outputs would no longer be
identical to the local engine's.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd

from domainforge import progress
from domainforge.typed_settings import from_params

log = logging.getLogger(__name__)

ENGINES = ("local", "ray")
# Local engine: below this many records per worker the work runs in-process (a pool would cost
# more than it saves); several batches per worker even out sources of unequal cost.
MIN_RECORDS_PER_WORKER = 500
BATCHES_PER_WORKER = 4


@dataclass(frozen=True)
class CurationRuntime:
    """`curation_runtime` (global for all domains): where the curation stages run. Outputs are the
    same, byte for byte, on every engine and with any number of workers; `--env ray` switches it."""

    engine: str = "local"  # local: this process, or `workers` forked processes | ray: Ray Data
    # ray: None starts a local cluster (loopback, `workers` CPUs); "auto" or "ray://head:10001" joins one
    address: str | None = None
    workers: int = 2  # processes (local) or concurrent Ray tasks
    shard_rows: int = 5000  # records per part of a sharded table (and per Ray batch): one task each
    raw_shard_mb: int = 16  # ingest: MiB of raw files per task (large line-based files are split)
    task_memory_mb: int | None = None  # ray: memory each task reserves (None: Ray's default)
    # ray: tables with fewer documents are deduplicated in the driver's memory, as on the local
    # engine (same decisions): the distributed dedup's ~15 shuffles cost minutes of fixed time,
    # while the in-memory band-key index costs ~0.6 GB per million documents.
    in_memory_dedup_below: int = 500_000

    def __post_init__(self):
        if self.engine not in ENGINES:
            raise ValueError(f"curation_runtime.engine must be one of {ENGINES}, not {self.engine!r}")
        for name in ("workers", "shard_rows", "raw_shard_mb"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"curation_runtime.{name} must be a whole number >= 1, not {value!r}")

    @classmethod
    def from_params(cls, params: Mapping | None) -> CurationRuntime:
        return from_params(cls, params, "curation_runtime")

    def describe(self) -> str:
        where = f", address {self.address}" if self.engine == "ray" and self.address else ""
        return f"engine {self.engine}, {self.workers} workers{where}"


# Library calls without Kedro (e.g. `normalise_documents(docs, params)`): this process only.
IN_PROCESS = CurationRuntime(engine="local", address=None, workers=1, shard_rows=1)


def chunked(frame: pd.DataFrame, rows: int) -> list[pd.DataFrame]:
    return [frame.iloc[start : start + rows] for start in range(0, len(frame), max(rows, 1))]


def map_batches(function: Callable[..., pd.DataFrame], frame: pd.DataFrame, runtime: CurationRuntime, *args):
    """`function(*args, batch)` over contiguous batches of `frame`, concatenated in input order.
    `function` must be a module-level function (workers find it by name)."""
    if frame.empty:
        return function(*args, frame).reset_index(drop=True)
    if runtime.engine == "ray" and len(frame) > runtime.shard_rows:
        results = _ray_map(function, chunked(frame, runtime.shard_rows), runtime, args)
    else:  # one shard on Ray gains no parallelism: run it here
        results = _local_map(function, frame, runtime.workers if runtime.engine == "local" else 1, args)
    return pd.concat(results, ignore_index=True)


def run_tasks(function: Callable, tasks: list[int], runtime: CurationRuntime, *args, desc: str = "tasks") -> list:
    """`function(*args, task)` for every task number, on the engine; results in `tasks` order.

    For sharded tables (plan.py): a task reads its own part and writes its own files, so only the
    task number travels to a worker and only a small result (a marker, counts) comes back."""
    if not tasks:
        return []
    if runtime.engine == "ray" and len(tasks) > 1:  # one task: no parallelism to gain from Ray
        return _ray_tasks(function, tasks, runtime, args, desc)
    workers = min(runtime.workers, len(tasks))
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [function(*args, task) for task in progress.bar(tasks, desc=desc, unit="task")]
    global _FORKED
    _FORKED = (function, None, args)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(progress.bar(pool.map(_forked_task, tasks), total=len(tasks), desc=desc, unit="task"))
    finally:
        _FORKED = ()


def _forked_task(task: int):
    function, _, args = _FORKED
    return function(*args, task)


# --- local: in-process, or forked workers ----------------------------------------------------

# What the forked workers read: set just before the pool forks, so neither the table nor
# unpicklable shared inputs (a fastText model) are ever pickled to reach them.
_FORKED: tuple = ()


def _local_map(function, frame: pd.DataFrame, workers: int, args: tuple) -> list[pd.DataFrame]:
    global _FORKED
    workers = min(workers, len(frame) // MIN_RECORDS_PER_WORKER)
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [function(*args, frame)]
    size = -(-len(frame) // (workers * BATCHES_PER_WORKER))
    _FORKED = (function, frame, args)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            starts = range(0, len(frame), size)
            batches = pool.map(_forked_batch, starts, [size] * len(starts))
            return list(progress.bar(batches, total=len(starts), desc=getattr(function, "__name__", "batches"), unit="batch"))
    finally:
        _FORKED = ()


def _forked_batch(start: int, size: int) -> pd.DataFrame:
    function, frame, args = _FORKED
    return function(*args, frame.iloc[start : start + size])


# --- ray: Ray Data over shards ----------------------------------------------------------------


def ray_session(runtime: CurationRuntime):
    """The `ray` module, connected: to the cluster at `address`, or to a local one this process
    starts (loopback only, `workers` CPUs; CurationEngineHook shuts it down after the run)."""
    global _STARTED
    # Offline and private: no usage reports (Ray Data's poller would also query a Prometheus
    # that is not there). Set before Ray starts so its processes inherit it.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    if not ray.is_initialized():  # else: already connected (e.g. by a caller that owns the cluster)
        if runtime.address:
            ray.init(address=runtime.address, log_to_driver=False)
        else:
            from ray._private import ray_constants

            # A local cluster stays on loopback: without this switch (Ray's default on macOS and
            # Windows) ray.init swaps 127.0.0.1 for the host's network address and binds there.
            ray_constants.ENABLE_RAY_CLUSTER = False
            ray.init(
                num_cpus=runtime.workers, include_dashboard=False, log_to_driver=False,
                _node_ip_address="127.0.0.1",
            )
        _STARTED = True
        log.info("Ray: %s", ray.cluster_resources())
    return ray


_STARTED = False  # whether ray_session connected this process (so the hook disconnects it)


@contextmanager
def _task_pool_job(ray) -> Iterator[None]:
    """The Ray Data settings of a job of one map operator whose task pool is `workers` wide
    (a dataset keeps the context it was made in: make it inside). Results come back in input
    order. Ray Data's per-operator resource reservation, made for pipelines of several
    operators, held such a pool under its size on a small cluster (2 CPUs: a job's second task
    started 1-2 s after its first; fixed_costs.json, `ray_later_job_overhead_s`), so it is off
    for the job: the pool's size caps the tasks in flight, and the other backpressure policies
    still watch the object store. The distributed dedup's multi-operator jobs keep Ray's default."""
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = progress.enabled()
    saved, context.op_resource_reservation_enabled = context.op_resource_reservation_enabled, False
    try:
        yield
    finally:
        context.op_resource_reservation_enabled = saved


def _ray_map(function, shards: list[pd.DataFrame], runtime: CurationRuntime, args: tuple) -> list[pd.DataFrame]:
    ray = ray_session(runtime)
    shared = ray.put(pickle.dumps((function, args)))  # once to the object store, not per shard
    items = [{"shard": i, "payload": pickle.dumps(shard)} for i, shard in enumerate(shards)]
    # Tasks, not actors: Ray Data retries a task whose worker or node died (its default
    # max_retries=-1), so a lost worker costs time, never records (each shard's result is
    # computed from its input alone).
    with _task_pool_job(ray):
        rows = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
            _ray_task,
            fn_args=([shared],),  # in a list: Ray passes the reference, each worker fetches it once
            batch_size=1,  # one shard per call
            batch_format="pandas",
            num_cpus=1,
            compute=ray.data.TaskPoolStrategy(size=runtime.workers),
        ).take_all()
    if sorted(row["shard"] for row in rows) != list(range(len(shards))):
        raise RuntimeError(f"Ray returned shards {sorted(row['shard'] for row in rows)} for {len(shards)} inputs")
    return [pickle.loads(row["payload"]) for row in sorted(rows, key=lambda row: row["shard"])]


def _ray_tasks(function, tasks: list[int], runtime: CurationRuntime, args: tuple, desc: str) -> list:
    ray = ray_session(runtime)
    shared = ray.put(pickle.dumps((function, args)))
    resources = {"num_cpus": 1}
    if runtime.task_memory_mb:
        resources["memory"] = runtime.task_memory_mb * 1024 * 1024  # Ray schedules by it
    # Tasks, not actors: Ray Data retries a task whose worker or node died (its default
    # max_retries=-1), and a task rewrites its files by atomic renames, so a retry neither loses
    # nor doubles a record.
    with _task_pool_job(ray):
        rows = ray.data.from_items([{"task": t} for t in tasks], override_num_blocks=len(tasks)).map_batches(
            _ray_run_task, fn_args=([shared],), batch_size=1, batch_format="pandas",
            compute=ray.data.TaskPoolStrategy(size=runtime.workers), **resources,
        ).take_all()
    by_task = {row["task"]: pickle.loads(row["payload"]) for row in rows}
    if sorted(by_task) != sorted(tasks):
        raise RuntimeError(f"Ray returned tasks {sorted(by_task)} for {sorted(tasks)} ({desc})")
    return [by_task[t] for t in tasks]


def _ray_run_task(batch: pd.DataFrame, shared: list) -> pd.DataFrame:
    function, args = _shared_inputs(shared[0])
    payloads = [pickle.dumps(function(*args, int(task))) for task in batch["task"]]
    return pd.DataFrame({"task": batch["task"].to_numpy(), "payload": payloads})


def _shared_inputs(ref) -> tuple:
    import ray

    key = ref.hex()
    if key not in _SHARED:
        _SHARED.clear()  # one stage at a time: do not keep the previous stage's inputs alive
        _SHARED[key] = pickle.loads(ray.get(ref))
    return _SHARED[key]


_SHARED: dict[str, tuple] = {}  # per Ray worker process: the unpickled (function, args) by object id


def _ray_task(batch: pd.DataFrame, shared: list) -> pd.DataFrame:
    function, args = _shared_inputs(shared[0])
    payloads = [pickle.dumps(function(*args, pickle.loads(p))) for p in batch["payload"]]
    return pd.DataFrame({"shard": batch["shard"].to_numpy(), "payload": payloads})


class CurationEngineHook:
    """Shuts down the local Ray cluster an engine started, once the Kedro run is over."""

    from kedro.framework.hooks import hook_impl

    @hook_impl
    def after_pipeline_run(self):
        self._shutdown()

    @hook_impl
    def on_pipeline_error(self):
        self._shutdown()

    @staticmethod
    def _shutdown():
        global _STARTED
        if _STARTED:
            disconnect_ray()
            _STARTED = False


def disconnect_ray() -> None:
    """Disconnect from Ray so that a later cluster in this process logs to its own session.

    Ray Data's log file handler resolves the session folder once per process; after the first
    session's folder is gone (and logging reconfigured, as every Kedro session does) it would
    reopen that dead path and fail the next job. Ray Data's own configure_logging() gives it
    fresh handlers that find the new session when they first write."""
    import ray
    from ray.data._internal.logging import configure_logging

    ray.shutdown()
    configure_logging()

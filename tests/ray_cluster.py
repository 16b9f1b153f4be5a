"""A real multi-node Ray cluster on loopback for tests (plain module: tests import it by name).

    from ray_cluster import local_ray_cluster

    with local_ray_cluster(nodes=2, cpus_per_node=1) as cluster:
        ray.data.range(10).map_batches(...)   # the driver is connected to `cluster.address`

`ray.cluster_utils.Cluster` starts a head (0 CPUs: it only schedules) and `nodes` worker-node
processes, all on 127.0.0.1, each with a small object store and no dashboard. Ray 2.60 turns
token authentication on by default; the token lives in a file in this cluster's own temporary
directory (RAY_AUTH_TOKEN_PATH), never in ~/.ray. RAY_TMPDIR points at that directory too, so the
session files and Ray's "current cluster" address file stay private to the test and a concurrent
`ray.init()` elsewhere on the machine cannot join this cluster by accident.

Teardown goes through Ray's own API (`ray.shutdown()` in `disconnect_ray`, `cluster.shutdown()`), which kills exactly
the processes this cluster started; it never runs `ray stop` (that kills every Ray process on the
machine by name). Afterwards the helper checks that no process of this cluster survived (they
all carry its RAY_TMPDIR) and raises if one did.
"""
from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ray.cluster_utils import Cluster

LOOPBACK = "127.0.0.1"
_ENV = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_TMPDIR", "RAY_ADDRESS")


def _reset_ray_auth_state() -> None:
    """Make this process re-read the auth mode and token from the environment."""
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


def _processes_of(folder: str) -> list[int]:
    """Pids of live processes this cluster started: every one of them (GCS, raylets, agents,
    workers, whose command lines Ray rewrites to "ray::...") inherited RAY_TMPDIR=`folder`."""
    marker = f"RAY_TMPDIR={folder}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # gone, or not ours to read
            continue
        if marker in environ and state != "Z":
            pids.append(int(entry.name))
    return pids


@contextmanager
def local_ray_cluster(
    nodes: int = 2, cpus_per_node: int = 1, object_store_mb: int = 100
) -> Iterator[Cluster]:
    """Head + `nodes` worker nodes on 127.0.0.1; yields the connected `ray.cluster_utils.Cluster`."""
    import ray
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster

    from domainforge.curation.engine import disconnect_ray

    if ray.is_initialized():
        raise RuntimeError("local_ray_cluster: this process is already connected to a Ray cluster")
    # Short path: Ray's Unix sockets live under it and socket paths are limited to 107 bytes.
    folder = tempfile.mkdtemp(prefix="dfray-", dir="/tmp")
    saved = {name: os.environ.get(name) for name in _ENV}
    token_path = Path(folder) / "auth_token"
    token_path.write_text(secrets.token_hex(32))
    token_path.chmod(0o600)
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token_path), RAY_TMPDIR=folder)
    os.environ.pop("RAY_AUTH_TOKEN", None)
    os.environ.pop("RAY_ADDRESS", None)
    _reset_ray_auth_state()
    # ray.init() "canonicalises" 127.0.0.1 to the host's network address, where nothing of this
    # cluster listens (nodes bind node_ip_address only). This is Ray's own switch for keeping a
    # cluster on loopback (its default on macOS/Windows); restored on exit.
    cluster_mode = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False

    node_args = {
        "num_cpus": cpus_per_node,
        "object_store_memory": object_store_mb * 1024 * 1024,
        "node_ip_address": LOOPBACK,
        "temp_dir": os.path.join(folder, "ray"),  # where RAY_TMPDIR makes Ray look for it
    }
    os.mkdir(node_args["temp_dir"])
    cluster = None
    try:
        cluster = Cluster(shutdown_at_exit=True)  # created first, so a failing node start is torn down too
        cluster.add_node(**{**node_args, "num_cpus": 0, "include_dashboard": False, "dashboard_host": LOOPBACK, "dashboard_port": 0})
        for _ in range(nodes):
            cluster.add_node(**node_args)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address)
        yield cluster
    finally:
        disconnect_ray()
        if cluster is not None:
            cluster.shutdown()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _reset_ray_auth_state()
        ray_constants.ENABLE_RAY_CLUSTER = cluster_mode
        deadline = time.monotonic() + 10
        while (left := _processes_of(folder)) and time.monotonic() < deadline:
            time.sleep(0.2)  # worker processes exit a moment after their raylet
        shutil.rmtree(folder, ignore_errors=True)
        if left:
            raise RuntimeError(f"local_ray_cluster: processes {left} outlived the cluster's shutdown")

"""Launching a stage on one host or several: the launcher commands and hostfile built from
training_runtime, the errors for impossible settings, and real two-host runs on CPU (two launcher
processes meeting on 127.0.0.1 over gloo, DeepSpeed ZeRO-2) whose token counts cover both ranks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tiny_training import PARAMS, REPO, deepspeed_config, documents

from domainforge.training import stages
from domainforge.training.runtime import Runtime, hostfile_text, launch_command

PY = sys.executable
WORKER = ["domainforge.training.worker", "spec.pkl"]
SPEC = Path("spec.pkl")


def conf_runtime(**overrides) -> dict:
    """training_runtime as conf/base ships it, with `nodes.<key>` / top-level overrides."""
    params = yaml.safe_load((REPO / "conf/base/parameters_training_runtime.yml").read_text())["training_runtime"]
    for key, value in overrides.items():
        if key.startswith("nodes_"):
            params.setdefault("nodes", {})[key.removeprefix("nodes_")] = value
        else:
            params[key] = value
    return params


def runtime(**overrides) -> Runtime:
    return Runtime.from_params(conf_runtime(**overrides), {"zero2": lambda: deepspeed_config("zero2")})


def test_single_host_commands():
    assert launch_command(runtime(num_processes=4), SPEC) == [
        PY, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=4", "-m", *WORKER,
    ]
    assert launch_command(runtime(num_processes=4, launcher="deepspeed"), SPEC) == [
        PY, "-m", "deepspeed.launcher.runner", "--no_local_rank", "--num_gpus=4", "--module", *WORKER,
    ]
    # Direct library use without nodes is one host too.
    assert launch_command(Runtime(deepspeed={}, num_processes=2), SPEC)[3] == "--standalone"


def test_multi_node_torchrun_command():
    cluster = runtime(num_processes=8, nodes_nnodes=4, nodes_node_rank=3, nodes_master_addr="10.0.0.1")
    assert cluster.multi_process() and cluster.world_size == 32
    assert launch_command(cluster, SPEC) == [
        PY, "-m", "torch.distributed.run", "--nnodes=4", "--node_rank=3", "--master_addr=10.0.0.1",
        "--master_port=29500", "--nproc_per_node=8", "-m", *WORKER,
    ]
    # One process on each of two hosts still goes through the launcher.
    assert runtime(nodes_nnodes=2, nodes_master_addr="h0").multi_process()
    assert not runtime().multi_process()


def test_multi_node_deepspeed_commands_and_hostfile(tmp_path):
    listed = runtime(
        launcher="deepspeed", num_processes=8, nodes_nnodes=2, nodes_node_rank=1, nodes_master_addr="gpu-0",
        nodes_master_port=6000, nodes_hostfile=["gpu-0", {"host": "gpu-1", "slots": 4}],
    )
    hosts = listed.nodes.hosts(listed.num_processes)
    assert hosts == [("gpu-0", 8), ("gpu-1", 4)]
    assert hostfile_text(hosts) == "gpu-0 slots=8\ngpu-1 slots=4\n"
    written = tmp_path / "hostfile"
    assert launch_command(listed, SPEC, written) == [
        PY, "-m", "deepspeed.launcher.runner", "--no_local_rank", f"--hostfile={written}",
        "--master_port=6000", "--master_addr=gpu-0", "--no_ssh", "--node_rank=1", "--module", *WORKER,
    ]
    # A hostfile of the user's, read with DeepSpeed's own parser; host 0 starts all hosts over ssh.
    path = tmp_path / "cluster_hosts"
    path.write_text("# two nodes\nworker-1 slots=8\nworker-2 slots=8\n")
    ssh = runtime(launcher="deepspeed", nodes_nnodes=2, nodes_hostfile=str(path), nodes_ssh=True)
    assert ssh.nodes.hosts(1) == [("worker-1", 8), ("worker-2", 8)]
    assert launch_command(ssh, SPEC) == [
        PY, "-m", "deepspeed.launcher.runner", "--no_local_rank", f"--hostfile={path}",
        "--master_port=29500", "--module", *WORKER,
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"launcher": "mpirun"}, r"training_runtime\.launcher: unknown value 'mpirun'"),
        ({"num_processes": 0}, r"training_runtime\.num_processes must be an integer >= 1"),
        ({"nodes_nnodes": 0}, r"training_runtime\.nodes\.nnodes must be >= 1"),
        ({"nodes_nnodes": "2"}, r"training_runtime\.nodes\.nnodes must be an integer"),
        ({"nodes_nnodes": 2, "nodes_node_rank": 2, "nodes_master_addr": "h"}, r"nodes\.node_rank=2 must be in 0\.\.nnodes-1"),
        ({"nodes_node_rank": -1}, r"nodes\.node_rank=-1"),
        ({"nodes_nnodes": 2}, r"training_runtime\.nodes\.master_addr .* required when nnodes=2"),
        ({"nodes_master_port": 70000}, r"training_runtime\.nodes\.master_port=70000"),
        ({"nodes_hostfile": ["a"]}, r"training_runtime\.nodes\.hostfile is for launcher deepspeed"),
        ({"nodes_ssh": True}, r"training_runtime\.nodes\.ssh is for launcher deepspeed"),
        ({"nodes_typo": 1}, r"training_runtime\.nodes: unknown setting 'typo'"),
        ({"nodes_master_prot": 1}, r"training_runtime\.nodes: unknown setting 'master_prot'; did you mean 'master_port'"),
        ({"deepspeed": "zero4"}, r"training_runtime\.deepspeed='zero4': no conf/base/deepspeed/zero4\.json"),
        ({"micro_batch_token": 1}, r"training_runtime: unknown setting 'micro_batch_token'; did you mean 'micro_batch_tokens'"),
        ({"launcher": "deepspeed", "nodes_nnodes": 2, "nodes_master_addr": "h"}, r"nodes\.hostfile is required"),
        ({"launcher": "deepspeed", "nodes_nnodes": 3, "nodes_master_addr": "h", "nodes_hostfile": ["a", "b"]},
         r"nodes\.nnodes=3 but the hostfile lists 2 hosts"),
        ({"launcher": "deepspeed", "nodes_nnodes": 2, "nodes_hostfile": ["a", "b"]}, r"nodes\.master_addr .* ssh: false"),
        ({"launcher": "deepspeed", "nodes_nnodes": 2, "nodes_node_rank": 1, "nodes_hostfile": ["a", "b"], "nodes_ssh": True},
         r"nodes\.node_rank must be 0 with ssh: true"),
        ({"launcher": "deepspeed", "nodes_nnodes": 2, "nodes_master_addr": "h", "nodes_hostfile": ["a", "a"]},
         r"nodes\.hostfile lists a host twice"),
        ({"launcher": "deepspeed", "nodes_hostfile": [{"name": "a"}]}, r"nodes\.hostfile entries are a host name"),
        ({"launcher": "deepspeed", "nodes_hostfile": "no/such/hostfile"}, r"nodes\.hostfile: no file"),
        ({"launcher": "deepspeed", "nodes_hostfile": __file__}, r"nodes\.hostfile '.*test_launch\.py': .*bad entry"),
    ],
)
def test_impossible_settings_name_the_key(overrides, message):
    with pytest.raises(ValueError, match=message):
        runtime(**overrides)


def test_left_out_keys_take_the_defaults():
    runtime = Runtime.from_params({"nodes": {"nnodes": 2, "master_addr": "h0"}}, {"zero2": lambda: {"zero": 2}})
    assert (runtime.nodes.master_port, runtime.nodes.node_rank, runtime.nodes.ssh) == (29500, 0, False)
    assert runtime.deepspeed == {"zero": 2} and runtime.work_dir == "data/06_models/training_runs"
    assert Runtime.from_params({}).nodes.nnodes == 1 and not Runtime.from_params(None).multi_process()


# --- real runs: two hosts on loopback ------------------------------------------------------------

STEPS = {**PARAMS["pt"], "max_steps": 3, "save_steps": 2}


def _isolated_loopback() -> bool:
    try:
        return subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0
    except FileNotFoundError:
        return False


def two_hosts(tmp_path: Path, model: Path, launcher: str, **nodes) -> list[dict]:
    """Run PT on two "hosts" (tests/training/two_nodes.py) sharing tmp_path/work; their results."""
    if not _isolated_loopback():
        pytest.skip("needs `unshare -rn`: torch's rendezvous store listens on every address, so the "
                    "hosts run in a network namespace whose only interface is loopback")
    spec = tmp_path / "spec.json"
    nodes = {"nnodes": 2, "node_rank": 0, "master_addr": "127.0.0.1", "master_port": 0,
             "hostfile": None, "ssh": False, **nodes}
    spec.write_text(json.dumps({
        "model": str(model), "work_dir": str(tmp_path / "work"), "launcher": launcher, "nodes": nodes,
        "params": STEPS, "output": str(tmp_path / "result.json"),
    }))
    script = Path(__file__).with_name("two_nodes.py")
    completed = subprocess.run(
        ["unshare", "-rn", "env", f"PYTHONPATH={REPO / 'tests'}", sys.executable, str(script), str(spec)],
        capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-6000:]
    return [json.loads((tmp_path / f"result.node{rank}.json").read_text()) for rank in range(2)]


@pytest.fixture(scope="module")
def one_rank(tiny_model, tmp_path_factory):
    """The same PT in one process: the same global batch (4 blocks) per step, and one with the
    two-host run's per-device batch (2 blocks)."""
    work = tmp_path_factory.mktemp("one_rank")
    rt = Runtime(deepspeed=deepspeed_config("zero2"), micro_batch_tokens=256, work_dir=str(work))
    same_global = stages.continued_pretraining(tiny_model, documents(), params=STEPS, runtime=rt)
    same_device = stages.continued_pretraining(
        tiny_model, documents(), params={**STEPS, "batch_tokens": STEPS["batch_tokens"] // 2}, runtime=rt
    )
    return same_global, same_device


def _step_tokens(result: dict | stages.StageResult) -> list[int]:
    history = result["history"] if isinstance(result, dict) else result.history
    return [entry["num_input_tokens_seen"] for entry in history if "loss" in entry]


def _check_two_host_run(results: list[dict], one_rank) -> None:
    same_global, same_device = one_rank
    host0, host1 = results
    # Both hosts return the one model that global rank 0 wrote into the shared work_dir.
    assert host0["summary"] == host1["summary"]
    summary = host0["summary"]
    assert summary["global_step"] == STEPS["max_steps"] and summary["per_device_batch"] == 2
    assert host0["model"] == host1["model"] and (Path(host0["model"]) / "config.json").is_file()
    # Every step, each rank steps on its 2 blocks of 64 tokens; the count covers both ranks.
    assert _step_tokens(host0)[0] == 2 * 2 * STEPS["seq_len"] == 2 * _step_tokens(same_device)[0]
    # The two ranks split the single process's 4-block batches: the same tokens in total, and
    # the same losses (one data-parallel step, not two ranks each training alone).
    assert summary["tokens"] == same_global.summary["tokens"] == _step_tokens(host0)[-1]
    losses = [entry["loss"] for entry in host0["history"] if "loss" in entry]
    assert losses == pytest.approx([entry["loss"] for entry in same_global.history if "loss" in entry], rel=1e-4)
    assert summary["tokens_per_second"] == pytest.approx(summary["tokens"] / summary["train_runtime_s"], rel=0.02)


@pytest.mark.slow
def test_two_hosts_under_torchrun(tmp_path, tiny_model, one_rank):
    _check_two_host_run(two_hosts(tmp_path, tiny_model, "torchrun"), one_rank)


@pytest.mark.slow
def test_two_hosts_under_deepspeed_with_a_hostfile(tmp_path, tiny_model, one_rank):
    results = two_hosts(tmp_path, tiny_model, "deepspeed", hostfile=["node0", "node1"])
    _check_two_host_run(results, one_rank)
    (run_dir,) = (tmp_path / "work" / "pt").iterdir()
    for rank in range(2):  # each host wrote the listed hosts for its own launcher
        assert (run_dir / f"hostfile-node{rank}").read_text() == "node0 slots=1\nnode1 slots=1\n"

"""Two local "hosts" training one stage together: run as `python two_nodes.py SPEC.json` inside a
network namespace that has only loopback (test_launch.py starts it under `unshare -rn`), since
torch's rendezvous store listens on every address of the machine.

The spec names the tiny model, work_dir, launcher, stage params and the output file. Each host is
its own process calling the stage with its node_rank, as `kedro run` would on each machine; both
share work_dir, as hosts share a filesystem.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

TIMEOUT_S = 420


def host(spec: dict, node_rank: int) -> dict:
    from tiny_training import deepspeed_config, documents

    from domainforge.training import stages
    from domainforge.training.runtime import Runtime

    nodes = {**spec["nodes"], "node_rank": node_rank}
    runtime = Runtime(
        deepspeed=deepspeed_config("zero2"),
        micro_batch_tokens=256,
        work_dir=spec["work_dir"],
        launcher=spec["launcher"],
        nodes=nodes,
    )
    result = stages.continued_pretraining(spec["model"], documents(), params=spec["params"], runtime=runtime)
    return {"model": str(result.model.path), "summary": result.summary, "history": result.history}


def main(spec_path: str) -> int:
    from domainforge.training.runtime import free_port

    spec = json.loads(Path(spec_path).read_text())
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # gloo connects its pairs over the interface of the host name; loopback is the only one here.
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo"}
    spec["nodes"]["master_port"] = free_port()
    Path(spec_path).write_text(json.dumps(spec))
    hosts = [
        subprocess.Popen(
            [sys.executable, __file__, spec_path, str(rank)], env=env, start_new_session=True
        )
        for rank in range(spec["nodes"]["nnodes"])
    ]
    codes = []
    try:
        for process in hosts:
            codes.append(process.wait(timeout=TIMEOUT_S))
    except subprocess.TimeoutExpired:
        codes.append("timeout")
    finally:
        for process in hosts:  # each host and its launcher's workers: one process group
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    print(json.dumps({"exit_codes": codes}))
    return 0 if codes == [0] * len(hosts) else 1


if __name__ == "__main__":
    if len(sys.argv) == 3:
        spec = json.loads(Path(sys.argv[1]).read_text())
        rank = int(sys.argv[2])
        out = host(spec, rank)
        Path(spec["output"]).with_suffix(f".node{rank}.json").write_text(json.dumps(out, default=str))
    else:
        sys.exit(main(sys.argv[1]))

"""kedro-viz serves the medical pipeline headless: nodes, datasets and layers in /api/main."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kedro_project import copy_project

pytestmark = pytest.mark.slow


def _free_port() -> int:
    """A free port that kedro-viz accepts: it refuses ports above 49151, and those are where the
    OS hands out ephemeral ones (binding port 0 often gave one, and kedro viz exited)."""
    for port in range(4141, 49152):  # from kedro-viz's default port
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free TCP port below 49152")


def _screenshot(url: str, png: Path) -> None:
    """Headless Chromium renders the graph page; a blank or failed page gives a tiny file."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    subprocess.run(
        ["chromium", *flags, f"--user-data-dir={png.parent / 'chromium'}", "--window-size=1600,1000",
         "--virtual-time-budget=30000", f"--screenshot={png}", url],
        check=True, timeout=300, capture_output=True,
    )
    assert png.stat().st_size > 50_000, "kedro-viz page rendered (nearly) empty"


def _server_url(log: Path, fallback: str) -> str:
    """The address kedro-viz says it serves (it moves to another port when its own is taken)."""
    found = re.search(r"Kedro Viz is running at\s+(http://[\w.:]+)", log.read_text(errors="replace"))
    return found.group(1) if found else fallback


def test_viz_api_lists_medical_nodes_and_layers(tmp_path):
    project = copy_project(tmp_path / "project")
    port = _free_port()
    kedro = Path(sys.executable).with_name("kedro")
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"}
    log = tmp_path / "viz.log"
    # kedro viz forks a server: own process group so the whole group can be stopped.
    with open(log, "w") as out:
        server = subprocess.Popen(
            [str(kedro), "viz", "run", "--no-browser", "--host", "127.0.0.1", "--port", str(port)],
            cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        graph, url = None, f"http://127.0.0.1:{port}"
        deadline = time.time() + 300
        while time.time() < deadline and graph is None:
            assert server.poll() is None, f"kedro viz exited ({server.returncode}):\n{log.read_text()[-3000:]}"
            url = _server_url(log, url)
            try:
                with urllib.request.urlopen(f"{url}/api/main", timeout=5) as response:
                    graph = json.load(response)
            except OSError:
                time.sleep(1)
        assert graph is not None, f"kedro viz did not answer within 300 s at {url}:\n{log.read_text()[-3000:]}"
        if shutil.which("chromium"):
            _screenshot(f"{url}/?expandAllPipelines=true", tmp_path / "viz.png")
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
        except ProcessLookupError:  # it exited already (the assertion above says why)
            pass
        server.wait(timeout=30)

    names = {n.get("full_name") or n["name"] for n in graph["nodes"]}
    for node in ["medical.ingest_documents", "medical.near_dedup", "medical.scrub_documents", "medical.mix_pretraining", "medical.build_ledger"]:
        assert node in names
    assert {"raw", "intermediate", "primary", "model_input", "reporting"} <= set(graph["layers"])
    assert "medical" in {p["id"] for p in graph["pipelines"]}

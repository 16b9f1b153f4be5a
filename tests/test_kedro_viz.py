"""kedro-viz serves the medical pipeline headless: nodes, datasets, layers and the modular-pipeline
groups in /api/main; in headless Chromium the collapsed graph is the recipe (curation -> PT -> SFT
-> RM / DPO -> eval and model cards, RAG from curation). UPDATE_SCREENSHOT=1 writes its picture to docs/pipeline.png
(the README's), otherwise to the test's tmp_path."""
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
from headless_chromium import Page
from kedro_project import REPO, copy_project

pytestmark = pytest.mark.slow

STAGES = ["medical.training.pt", "medical.training.sft", "medical.training.rm", "medical.training.dpo"]
RECIPE = ["medical.curation", *STAGES, "medical.model_cards", "medical.rag", "medical.eval"]
# The arrows a reader follows in the collapsed graph (source|target, kedro-viz's edge ids).
RECIPE_EDGES = {
    "medical.curation|medical.training.pt",
    "medical.training.pt|medical.training.sft",
    "medical.training.sft|medical.training.rm",
    "medical.training.sft|medical.training.dpo",
    "medical.training.dpo|medical.eval",
    "medical.training.dpo|medical.model_cards",
    "medical.curation|medical.rag",
}
SCREENSHOT = REPO / "docs" / "pipeline.png"


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


# Drawn nodes: modular pipelines carry their id as full name, task nodes their node name.
_DRAWN = "Array.from(document.querySelectorAll('.pipeline-node')).map(e => e.dataset.nodeFullname)"
_HIDE_HINTS = """(() => { const style = document.createElement('style');
    style.textContent = '.feature-hints, .feature-hints__highlightDot, .feature-hints__reopen-message, '
        + '.update-reminder-unexpanded {display: none !important}';
    document.head.appendChild(style); })()"""


def _expand(page: Page, group: str, shows: str) -> None:
    """Click a collapsed group in the graph, as a reader does, until `shows` is drawn."""
    page.evaluate(f"document.querySelector('.pipeline-node[data-id=\"{group}\"]')"
                  ".dispatchEvent(new MouseEvent('click', {bubbles: true}))")
    page.wait_for(f"{_DRAWN}.includes('{shows}')", timeout=60, settle=2)


def _collapsed_graph(url: str, png: Path, profile: Path) -> tuple[set[str], set[str]]:
    """The medical pipeline with datasets hidden (kedro-viz's `types=nodes` filter), `medical` and
    `medical.training` opened one level, fitted to the screen and photographed. Returns the drawn
    nodes and edges. (No onboarding hints or update banner: they would cover the graph.)"""
    with Page(profile) as page:
        page.goto(f"{url}/?pid=medical&types=nodes")
        page.wait_for(f"{_DRAWN}.includes('medical')", timeout=240, settle=2)
        page.evaluate(_HIDE_HINTS)
        _expand(page, "medical", "medical.training")
        _expand(page, "medical.training", "medical.training.sft")
        page.evaluate("document.querySelector('[data-test=\"sidebar-reset-zoom-btn\"]').click()")
        time.sleep(2)  # the zoom animation
        drawn = set(page.evaluate(_DRAWN))
        edges = set(page.evaluate("Array.from(document.querySelectorAll('.pipeline-edge')).map(e => e.dataset.id)"))
        page.screenshot(png)
    assert png.stat().st_size > 50_000, "kedro-viz page rendered (nearly) empty"
    return drawn, edges


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
        drawn = edges = None
        if shutil.which("chromium"):
            png = SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") == "1" else tmp_path / "pipeline.png"
            drawn, edges = _collapsed_graph(url, png, tmp_path / "chromium")
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
        except ProcessLookupError:  # it exited already (the assertion above says why)
            pass
        server.wait(timeout=30)

    names = {n.get("full_name") or n["name"] for n in graph["nodes"]}
    for node in ["medical.curation.ingest_documents", "medical.curation.near_dedup", "medical.curation.scrub_documents",
                 "medical.curation.mix_pretraining", "medical.curation.build_ledger",
                 "medical.training.sft.supervised_finetuning", "medical.rag.build_rag_index",
                 "medical.eval.report_benchmarks", "medical.documents_curated", "medical.sft_model"]:
        assert node in names
    assert {"raw", "intermediate", "primary", "model_input", "reporting"} <= set(graph["layers"])
    assert "medical" in {p["id"] for p in graph["pipelines"]}

    # The groups: medical holds curation, training, rag and eval; training holds the four stages.
    tree = graph["modular_pipelines"]
    children = {group: {c["id"] for c in tree[group]["children"] if c["type"] == "modularPipeline"} for group in tree}
    assert children["__root__"] == {"medical"}
    assert children["medical"] == {"medical.curation", "medical.training", "medical.model_cards", "medical.rag",
                                   "medical.eval"}
    assert children["medical.training"] == set(STAGES)
    by_name = {n.get("full_name") or n["name"]: n for n in graph["nodes"]}
    assert by_name["medical.curation.near_dedup"]["modular_pipelines"] == ["medical.curation"]
    assert by_name["medical.training.dpo.export_gguf"]["modular_pipelines"] == ["medical.training.dpo"]

    if drawn is not None:  # the collapsed graph, as drawn in the browser
        assert drawn == {"prepare_base_model", *RECIPE}, drawn
        assert RECIPE_EDGES <= edges, RECIPE_EDGES - edges
        assert not {e for e in edges if e.endswith("|medical.curation")}, "curation comes first"

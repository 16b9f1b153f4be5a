"""The one training engine every stage runs on: a transformers Trainer (or trl subclass) under
DeepSpeed, with fingerprinted run directories, periodic checkpoints and resume.

Rerun rule. A stage's fingerprint hashes: the stage name, the domainforge version, the input
model's fingerprint (recorded in its directory by the stage that produced it, or a content hash
for foreign directories), the input tables' rows, the stage settings with their defaults (minus
checkpoint/logging cadence) and the result-relevant runtime settings (precision). Its run lives in
`<work_dir>/<stage>/<fingerprint[:16]>/`:
  - `final/` with `domainforge_run.json` present: the stage finished; rerunning returns it as is;
  - otherwise `checkpoints/checkpoint-N`: training resumes from the highest N;
  - a changed input or parameter gives a new fingerprint, hence a fresh run.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import pickle
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
from transformers import TrainerCallback
from transformers.trainer_utils import get_last_checkpoint

import domainforge
from domainforge.atomic_dir import recover, staging_path, swap_in
from domainforge.training.artifacts import (
    RUN_FILE,
    ModelDir,
    check_model_dir,
    frame_fingerprint,
    value_fingerprint,
    write_json,
)
from domainforge.training.runtime import (
    Runtime,
    clean_env,
    ensure_distributed_env,
    hostfile_text,
    launch_command,
    launched,
)
from domainforge.training.stage_settings import StageSettings, stage_settings

# Parameters that change how often we save or log, not what is learned.
CADENCE_KEYS = {"save_steps", "logging_steps"}
STAGES: dict[str, Callable] = {}


@dataclass
class StageResult:
    model: ModelDir
    history: list[dict]
    summary: dict

    @classmethod
    def load(cls, model_dir: Path, reused: bool) -> StageResult:
        info = json.loads((Path(model_dir) / RUN_FILE).read_text(encoding="utf-8"))
        summary = {**info["summary"], "fingerprint": info["fingerprint"], "reused": reused}
        return cls(ModelDir(model_dir), info["history"], summary)


@dataclass(frozen=True)
class RunDir:
    root: Path
    fingerprint: str
    keep_checkpoints: bool = False

    @property
    def final(self) -> Path:
        return self.root / "final"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    def finished(self) -> bool:
        return (self.final / RUN_FILE).is_file()

    def last_checkpoint(self) -> str | None:
        return get_last_checkpoint(self.checkpoints) if self.checkpoints.is_dir() else None


def stage_fingerprint(
    stage: str, model: ModelDir, frames: tuple[pd.DataFrame, ...], params: Mapping | StageSettings, runtime: Runtime
) -> str:
    params = stage_settings(stage, params)
    return value_fingerprint(
        {
            "stage": stage,
            "version": domainforge.__version__,
            "model": model.fingerprint(),
            "data": [frame_fingerprint(frame) for frame in frames],
            # Every setting, defaults included: a key left out trains as if written with its default.
            "params": {k: v for k, v in asdict(params).items() if k not in CADENCE_KEYS},
            "runtime": runtime.result_relevant(),
        }
    )


def stage(name: str):
    """Register a stage function `fn(run, model, *frames, params, runtime, callbacks)`.

    The wrapper takes `(model, *frames, params, runtime, callbacks=())` (params: a mapping or the
    stage's settings, stage_settings.py; the stage function gets the settings), returns the finished run
    if its fingerprint matches, and with several processes or hosts (`runtime.multi_process()`)
    re-runs the stage under the torchrun/deepspeed launcher on the same (materialised) inputs.
    """

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(model, *frames, params: dict | StageSettings, runtime: Runtime, callbacks=()) -> StageResult:
            model = check_model_dir(model)
            params = stage_settings(name, params)
            fingerprint = stage_fingerprint(name, model, frames, params, runtime)
            run = RunDir(
                Path(runtime.work_dir) / name / fingerprint[:16], fingerprint, runtime.keep_checkpoints
            )
            if os.environ.get("WORLD_SIZE", "1") == "1":  # launched ranks would race; their parent did it
                recover(run.final)
            if run.finished():
                return StageResult.load(run.final, reused=True)
            if runtime.multi_process() and not launched():
                _launch(name, run, model, frames, params, runtime)
                return StageResult.load(run.final, reused=False)
            ensure_distributed_env()
            return fn(run, model, *frames, params=params, runtime=runtime, callbacks=callbacks)

        STAGES[name] = wrapper
        return wrapper

    return decorate


def _launch(name: str, run: RunDir, model: ModelDir, frames, params: StageSettings, runtime: Runtime) -> None:
    """Run a stage in the launcher's processes on this host (and, with nodes.ssh, on the others).
    Kedro runs nodes in one process, so the node hands its materialised inputs to a launcher and
    waits for the finished run directory. Across hosts the work_dir must be shared: global rank 0
    writes the model, every host reads it."""
    import torch

    if torch.cuda.is_available() and torch.cuda.device_count() < runtime.num_processes:
        raise ValueError(
            f"training_runtime.num_processes={runtime.num_processes} needs that many GPUs "
            f"(found {torch.cuda.device_count()})"
        )
    run.root.mkdir(parents=True, exist_ok=True)
    node_rank = runtime.nodes.node_rank
    spec = run.root / f"launch-node{node_rank}.pkl"  # one per host: hosts write it side by side
    with spec.open("wb") as handle:
        pickle.dump(
            {
                "stage": name,
                "model": str(model),
                "frames": frames,
                "params": params,
                "runtime": asdict(runtime),
            },
            handle,
        )
    hostfile = None  # a hostfile listed in the parameters becomes a file; a path is passed on
    if runtime.launcher == "deepspeed" and isinstance(runtime.nodes.hostfile, list):
        hostfile = run.root / f"hostfile-node{node_rank}"
        hostfile.write_text(hostfile_text(runtime.nodes.hosts(runtime.num_processes)), encoding="utf-8")
    completed = subprocess.run(launch_command(runtime, spec, hostfile), check=False, env=clean_env())
    if completed.returncode != 0 or not run.finished():
        raise RuntimeError(
            f"stage {name!r} failed under {runtime.launcher} (exit {completed.returncode}); "
            f"rerun resumes from the last checkpoint in {run.checkpoints}"
        )


class _EngineCallback(TrainerCallback):
    """The token count a (resumed) train() call starts from; no checkpoint at the last step (the
    model is exported)."""

    tokens_at_start = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.tokens_at_start = state.num_input_tokens_seen  # restored from a checkpoint by now

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= state.max_steps:
            control.should_save = False


def train(run: RunDir, trainer, export: Callable[[object, Path], None], data_stats: dict) -> StageResult:
    """Train (resuming from the run's last checkpoint), export the model, record the run.

    `export(trainer, directory)` writes the model; it is called on every process (ZeRO-3 gathers
    the weights collectively) and must write files only on the main one.
    """
    callback = _EngineCallback()
    trainer.add_callback(callback)
    resume = run.last_checkpoint()
    started = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=resume)
    runtime_s = output.metrics.get("train_runtime") or time.perf_counter() - started
    # The Trainer sums every rank's tokens; `tokens` covers the whole run, tokens/s this call.
    tokens = trainer.state.num_input_tokens_seen
    summary = {
        **data_stats,
        "global_step": trainer.state.global_step,
        "resumed_from_step": int(Path(resume).name.split("-")[-1]) if resume else 0,
        "train_runtime_s": round(runtime_s, 2),
        "tokens": tokens,
        "tokens_per_second": round((tokens - callback.tokens_at_start) / runtime_s, 2),
        "train_loss": output.training_loss,
    }
    history = trainer.state.log_history
    staging = staging_path(run.final, run.fingerprint[:16])  # one name that every process agrees on
    main = trainer.is_world_process_zero()
    if main:
        shutil.rmtree(staging, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    export(trainer, staging)
    if main:
        write_json(
            staging / RUN_FILE,
            {
                "stage": run.root.parent.name,
                "fingerprint": run.fingerprint,
                "history": history,
                "summary": summary,
            },
        )
        swap_in(staging, run.final)
        if not run.keep_checkpoints:
            shutil.rmtree(run.checkpoints, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    _release(trainer)
    return StageResult(
        ModelDir(run.final), history, {**summary, "fingerprint": run.fingerprint, "reused": False}
    )


def _release(trainer) -> None:
    """Free the DeepSpeed engine so the next stage (or evaluation) in this process starts clean.

    transformers keeps a global reference to the last DeepSpeed config; while it says ZeRO-3,
    every later from_pretrained in the process would build empty, partitioned parameters.
    """
    from transformers.integrations.deepspeed import unset_hf_deepspeed_config

    engine = getattr(trainer, "model_wrapped", None)
    if hasattr(engine, "destroy"):
        engine.destroy()
    trainer.accelerator.free_memory()
    unset_hf_deepspeed_config()
    os.environ.pop("ACCELERATE_USE_DEEPSPEED", None)  # set by accelerate, would leak into later trainers
    gc.collect()

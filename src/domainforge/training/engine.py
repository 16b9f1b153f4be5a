"""The one training engine every stage runs on: a transformers Trainer (or trl subclass) under
DeepSpeed, with fingerprinted run directories, periodic checkpoints and resume.

Rerun rule. A stage's fingerprint hashes: the stage name, the domainforge version, the input
model's fingerprint (recorded in its directory by the stage that produced it, or a content hash
for foreign directories), the input tables' rows, the stage parameters (minus checkpoint/logging
cadence) and the result-relevant runtime settings (precision). Its run lives in
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
import sys
import time
from collections.abc import Callable
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
from domainforge.training.runtime import Runtime, clean_env, ensure_distributed_env, launched

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
    stage: str, model: ModelDir, frames: tuple[pd.DataFrame, ...], params: dict, runtime: Runtime
) -> str:
    return value_fingerprint(
        {
            "stage": stage,
            "version": domainforge.__version__,
            "model": model.fingerprint(),
            "data": [frame_fingerprint(frame) for frame in frames],
            "params": {k: v for k, v in params.items() if k not in CADENCE_KEYS},
            "runtime": runtime.result_relevant(),
        }
    )


def stage(name: str):
    """Register a stage function `fn(run, model, *frames, params, runtime, callbacks)`.

    The wrapper takes `(model, *frames, params, runtime, callbacks=())`, returns the finished run
    if its fingerprint matches, and with `runtime.num_processes > 1` re-runs the stage under the
    torchrun/deepspeed launcher on the same (materialised) inputs.
    """

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(model, *frames, params: dict, runtime: Runtime, callbacks=()) -> StageResult:
            model = check_model_dir(model)
            fingerprint = stage_fingerprint(name, model, frames, params, runtime)
            run = RunDir(
                Path(runtime.work_dir) / name / fingerprint[:16], fingerprint, runtime.keep_checkpoints
            )
            if os.environ.get("WORLD_SIZE", "1") == "1":  # launched ranks would race; their parent did it
                recover(run.final)
            if run.finished():
                return StageResult.load(run.final, reused=True)
            if runtime.num_processes > 1 and not launched():
                _launch(name, run, model, frames, params, runtime)
                return StageResult.load(run.final, reused=False)
            ensure_distributed_env()
            return fn(run, model, *frames, params=params, runtime=runtime, callbacks=callbacks)

        STAGES[name] = wrapper
        return wrapper

    return decorate


def _launch(name: str, run: RunDir, model: ModelDir, frames, params: dict, runtime: Runtime) -> None:
    """Run a stage in N processes. Kedro runs nodes in one process, so the node hands its
    materialised inputs to a launcher and waits for the finished run directory."""
    import torch

    if runtime.num_processes > 1 and torch.cuda.device_count() < runtime.num_processes:
        # accelerate only sets up multi-process DeepSpeed on accelerators; on CPU every rank
        # would silently train alone.
        raise ValueError(
            f"training_runtime.num_processes={runtime.num_processes} needs that many GPUs "
            f"(found {torch.cuda.device_count()}); use num_processes: 1 on CPU"
        )
    run.root.mkdir(parents=True, exist_ok=True)
    spec = run.root / "launch.pkl"
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
    module = ["-m", "domainforge.training.worker", str(spec)]
    if runtime.launcher == "torchrun":
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={runtime.num_processes}",
            *module,
        ]
    else:
        command = [
            sys.executable,
            "-m",
            "deepspeed.launcher.runner",
            f"--num_gpus={runtime.num_processes}",
            "--module",
            *module[1:],
        ]
    env = clean_env()
    completed = subprocess.run(command, check=False, env=env)
    if completed.returncode != 0 or not run.finished():
        raise RuntimeError(
            f"stage {name!r} failed under {runtime.launcher} (exit {completed.returncode}); "
            f"rerun resumes from the last checkpoint in {run.checkpoints}"
        )


class TokenCounter:
    """Counts the real (non-padding) tokens of every micro-batch the trainer steps on."""

    def __init__(self):
        self.tokens = 0

    def watch(self, trainer) -> None:
        step = trainer.training_step

        def counted_step(model, inputs, *args, **kwargs):
            mask = inputs.get("attention_mask")
            self.tokens += int(mask.sum()) if mask is not None else int(inputs["input_ids"].numel())
            return step(model, inputs, *args, **kwargs)

        trainer.training_step = counted_step


class _EngineCallback(TrainerCallback):
    """Tokens seen in every log entry; no checkpoint at the last step (the model is exported)."""

    def __init__(self, counter: TokenCounter):
        self.counter = counter

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.log_history:
            state.log_history[-1]["tokens"] = self.counter.tokens

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= state.max_steps:
            control.should_save = False


def train(run: RunDir, trainer, export: Callable[[object, Path], None], data_stats: dict) -> StageResult:
    """Train (resuming from the run's last checkpoint), export the model, record the run.

    `export(trainer, directory)` writes the model; it is called on every process (ZeRO-3 gathers
    the weights collectively) and must write files only on the main one.
    """
    counter = TokenCounter()
    counter.watch(trainer)
    trainer.add_callback(_EngineCallback(counter))
    resume = run.last_checkpoint()
    started = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=resume)
    runtime_s = output.metrics.get("train_runtime") or time.perf_counter() - started
    summary = {
        **data_stats,
        "global_step": trainer.state.global_step,
        "resumed_from_step": int(Path(resume).name.split("-")[-1]) if resume else 0,
        "train_runtime_s": round(runtime_s, 2),
        "tokens": counter.tokens,
        "tokens_per_second": round(counter.tokens / runtime_s, 2),
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

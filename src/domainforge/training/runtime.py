"""Machine-side settings of a training run: DeepSpeed config, precision, micro-batch size, launcher.

The recipe (steps, learning rate, tokens per optimizer step) belongs to the stage parameters; this
module decides how a step is cut into micro-batches on the machine at hand, so the same recipe
gives the same optimisation on a laptop CPU and on GPUs.
"""

from __future__ import annotations

import copy
import math
import os
import socket
import sys
from dataclasses import dataclass, field, fields

import torch

PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# Trainer integrations training_runtime.report_to may name ("none" alone: no integration).
REPORT_TO = ("mlflow", "tensorboard", "none")


def validate_report_to(value) -> list[str]:
    """training_runtime.report_to as the list of integrations the Trainer reports to."""
    names = [value] if isinstance(value, str) else list(value or [])
    for name in names:
        if name not in REPORT_TO:
            raise ValueError(
                f"training_runtime.report_to: unknown value {name!r}; allowed: {', '.join(REPORT_TO)}"
            )
    if "none" in names and len(names) > 1:
        raise ValueError(f"training_runtime.report_to: 'none' cannot be combined with others, got {names}")
    return [n for n in names if n != "none"]


@dataclass
class Runtime:
    deepspeed: dict = field(repr=False)
    precision: str = "fp32"
    attn_implementation: str = "sdpa"
    gradient_checkpointing: bool = False
    micro_batch_tokens: int = 2048
    num_processes: int = 1
    launcher: str = "torchrun"
    work_dir: str = "data/06_models/training_runs"
    keep_checkpoints: bool = False
    # The pipeline's default is in conf/base/parameters_training_runtime.yml; direct library
    # calls report nowhere unless asked.
    report_to: list = field(default_factory=lambda: ["none"])

    def __post_init__(self):
        self.report_to = validate_report_to(self.report_to) or ["none"]
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, got {self.precision!r}")
        if self.launcher not in ("torchrun", "deepspeed"):
            raise ValueError(f"launcher must be 'torchrun' or 'deepspeed', got {self.launcher!r}")

    @classmethod
    def from_params(cls, params: dict, deepspeed_config: dict) -> Runtime:
        """`params["deepspeed"]` names the config; the caller resolves it to `deepspeed_config`."""
        known = {f.name for f in fields(cls)} - {"deepspeed"}
        unknown = set(params) - known - {"deepspeed"}
        if unknown:
            raise ValueError(f"unknown training_runtime keys: {sorted(unknown)}")
        return cls(deepspeed=deepspeed_config, **{k: v for k, v in params.items() if k in known})

    @property
    def dtype(self) -> torch.dtype:
        return PRECISIONS[self.precision]

    @property
    def world_size(self) -> int:
        return int(os.environ.get("WORLD_SIZE", self.num_processes))

    def result_relevant(self) -> dict:
        """The settings that change what a stage learns (they enter the stage fingerprint)."""
        return {"precision": self.precision}

    def micro_batches(self, tokens_per_item: int, items_per_step: int) -> tuple[int, int]:
        """(items per micro-batch per process, gradient accumulation steps) for one optimizer step
        of `items_per_step` items of about `tokens_per_item` tokens, split over the world."""
        per_process = max(1, math.ceil(items_per_step / self.world_size))
        micro = max(1, min(per_process, self.micro_batch_tokens // max(1, tokens_per_item)))
        return micro, max(1, math.ceil(per_process / micro))


DIST_ENV = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def clean_env() -> dict[str, str]:
    """This process's environment minus what an in-process DeepSpeed run set (its single-rank
    process group, accelerate's flags), for launching other training processes."""
    env = {k: v for k, v in os.environ.items() if k not in DIST_ENV and not k.startswith("ACCELERATE_")}
    env.update(_mlflow_env())
    return env


def _mlflow_env() -> dict[str, str]:
    """The active MLflow run (the stage's nested run) for launched workers' MLflow callback."""
    mlflow = sys.modules.get("mlflow")
    run = mlflow.active_run() if mlflow is not None else None
    if run is None:
        return {}
    return {"MLFLOW_RUN_ID": run.info.run_id, "MLFLOW_TRACKING_URI": mlflow.get_tracking_uri()}


def launched() -> bool:
    """True inside a torchrun/deepspeed-launched process."""
    return "LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ and "RANK" in os.environ


def ensure_distributed_env() -> None:
    """Single-process DeepSpeed needs the env a launcher would set; set it if absent."""
    if launched():
        return
    os.environ.update(
        RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port())
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def trainer_kwargs(
    schedule: dict, runtime: Runtime, output_dir: str, per_device_batch: int, accumulation: int
) -> dict:
    """TrainingArguments keywords shared by every stage (trl configs accept the same)."""
    max_steps = int(schedule["max_steps"])
    return dict(
        output_dir=output_dir,
        max_steps=max_steps,
        per_device_train_batch_size=per_device_batch,
        gradient_accumulation_steps=accumulation,
        learning_rate=float(schedule["learning_rate"]),
        lr_scheduler_type=schedule.get("lr_scheduler", "cosine"),
        warmup_steps=int(round(float(schedule.get("warmup_ratio", 0.0)) * max_steps)),
        weight_decay=float(schedule.get("weight_decay", 0.0)),
        max_grad_norm=float(schedule.get("max_grad_norm", 1.0)),
        seed=int(schedule.get("seed", 42)),
        logging_steps=int(schedule.get("logging_steps", 1)),
        save_strategy="steps",
        save_steps=int(schedule.get("save_steps", 50)),
        save_total_limit=2,
        # A fresh copy: transformers fills the "auto" entries in place.
        deepspeed=copy.deepcopy(runtime.deepspeed),
        bf16=runtime.precision == "bf16",
        fp16=runtime.precision == "fp16",
        gradient_checkpointing=runtime.gradient_checkpointing,
        remove_unused_columns=False,
        report_to=_report_to(runtime),
        disable_tqdm=not progress_bar(),
        dataloader_num_workers=0,
    )


def progress_bar() -> bool:
    """The Trainer's progress bar: on for an interactive terminal, off in CI and in logs."""
    return sys.stderr.isatty() and not os.environ.get("CI")


def _report_to(runtime: Runtime) -> list[str]:
    """The runtime's integrations; "mlflow" only inside a tracked run (the Kedro hook's nested run
    of this stage, or MLFLOW_RUN_ID in a launched worker), so that a stage run outside a tracked
    Kedro run never creates a stray MLflow run/store in the working directory."""
    names = [n for n in runtime.report_to if n != "none"]
    if "mlflow" in names:
        try:
            import mlflow

            tracked = mlflow.active_run() is not None or bool(os.environ.get("MLFLOW_RUN_ID"))
        except ImportError:
            tracked = False
        if not tracked:
            names.remove("mlflow")
    return names

"""Machine-side settings of a training run: DeepSpeed config, precision, micro-batch size, launcher
and the hosts it spans.

The recipe (steps, learning rate, tokens per optimizer step) belongs to the stage parameters; this
module decides how a step is cut into micro-batches on the machine at hand, so the same recipe
gives the same optimisation on a laptop CPU and on GPUs, and builds the launcher's command line.
"""

from __future__ import annotations

import copy
import math
import os
import socket
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from domainforge import progress
from domainforge.training.stage_settings import StageSettings
from domainforge.typed_settings import from_params

# torch dtype names; torch itself is imported where a dtype or a device is needed (it takes
# ~1 s to import, and the pipeline registry imports this module).
PRECISIONS = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
LAUNCHERS = ("torchrun", "deepspeed")
WORKER = "domainforge.training.worker"
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


@dataclass(frozen=True)
class Nodes:
    """training_runtime.nodes: the hosts one run spans (README "Training across nodes").

    torchrun: every host runs the stage with its own node_rank and meets host 0 at
    master_addr:master_port. deepspeed: the hosts and their slots come from `hostfile` (a path, or a
    list of hosts written to the run directory at launch); with `ssh` host 0 starts them all over
    passwordless ssh, without it every host runs the stage with its node_rank, as under torchrun.
    The work_dir must be on a filesystem every host shares.
    """

    nnodes: int = 1  # hosts in the run
    node_rank: int = 0  # this host's index, set on each host (0: the host at master_addr)
    master_addr: str | None = None  # host 0's address, reachable from every host; required when nnodes > 1
    master_port: int = 29500  # rendezvous port on host 0
    # deepspeed only: a hostfile path, or hosts [name | {host, slots}] (slots default: num_processes)
    hostfile: str | list | None = None
    # deepspeed + hostfile: true = host 0 starts every host over passwordless ssh (pdsh);
    # false = each host runs with its node_rank
    ssh: bool = False

    def hosts(self, slots: int) -> list[tuple[str, int]] | None:
        """The hostfile's (host, slots) entries: read from its path, or the listed hosts (a bare
        name gets `slots`, the processes per host); None without a hostfile."""
        if self.hostfile is None:
            return None
        if isinstance(self.hostfile, str):
            from deepspeed.launcher.runner import fetch_hostfile

            if not Path(self.hostfile).is_file():
                raise ValueError(f"training_runtime.nodes.hostfile: no file {self.hostfile!r}")
            try:
                return list(fetch_hostfile(self.hostfile).items())
            except ValueError as error:
                raise ValueError(f"training_runtime.nodes.hostfile {self.hostfile!r}: {error}") from error
        hosts = []
        for entry in self.hostfile:
            entry = {"host": entry} if isinstance(entry, str) else dict(entry)
            if not entry.get("host") or set(entry) - {"host", "slots"}:
                raise ValueError(
                    f"training_runtime.nodes.hostfile entries are a host name or {{host, slots}}, got {entry!r}"
                )
            hosts.append((str(entry["host"]), int(entry.get("slots", slots))))
        if len({host for host, _ in hosts}) != len(hosts):
            raise ValueError(f"training_runtime.nodes.hostfile lists a host twice: {self.hostfile}")
        return hosts


def validate_nodes(nodes: Nodes, launcher: str, num_processes: int) -> None:
    """Errors that name the training_runtime key at fault, before any process is started."""
    key = "training_runtime.nodes."  # the types are checked when the settings are built (typed_settings)
    if nodes.nnodes < 1:
        raise ValueError(f"{key}nnodes must be >= 1, got {nodes.nnodes}")
    if not 0 <= nodes.node_rank < nodes.nnodes:
        raise ValueError(f"{key}node_rank={nodes.node_rank} must be in 0..nnodes-1 (nnodes={nodes.nnodes})")
    if not 0 < nodes.master_port < 2**16:
        raise ValueError(f"{key}master_port={nodes.master_port} is not a port")
    if launcher == "torchrun":
        if nodes.hostfile is not None:
            raise ValueError(f"{key}hostfile is for launcher deepspeed; torchrun takes nnodes, node_rank, master_addr")
        if nodes.ssh:
            raise ValueError(f"{key}ssh is for launcher deepspeed; under torchrun every host runs the stage itself")
        if nodes.nnodes > 1 and not nodes.master_addr:
            raise ValueError(f"{key}master_addr (host 0's address) is required when nnodes={nodes.nnodes} > 1")
        return
    hosts = nodes.hosts(num_processes)
    if hosts is None:
        if nodes.nnodes > 1:
            raise ValueError(f"{key}hostfile is required with launcher deepspeed and nnodes={nodes.nnodes} > 1")
        return
    if len(hosts) != nodes.nnodes:
        raise ValueError(f"{key}nnodes={nodes.nnodes} but the hostfile lists {len(hosts)} hosts")
    if nodes.ssh and nodes.node_rank != 0:
        raise ValueError(f"{key}node_rank must be 0 with ssh: true (host 0 starts every host)")
    if not nodes.ssh and nodes.nnodes > 1 and not nodes.master_addr:
        raise ValueError(f"{key}master_addr (host 0's address) is required with ssh: false and nnodes > 1")


DEEPSPEED = "zero2"  # the default conf/base/deepspeed/<name>.json


@dataclass
class Runtime:
    """training_runtime: machine settings of the training stages, shared by all domains. These
    fields are its keys and defaults; conf/base/parameters_training_runtime.yml sets only what the
    pipeline does differently, `--env gpu` what a GPU machine does.

    `deepspeed` is the DeepSpeed config itself; in the parameters it names one
    (`deepspeed: zero2 | zero2_offload | zero3 | zero3_offload`, default zero2), see from_params."""

    deepspeed: dict = field(repr=False)
    precision: str = "fp32"  # fp32 | bf16 | fp16 (DeepSpeed mixed precision, fp32 master weights)
    attn_implementation: str = "sdpa"  # sdpa | eager | flash_attention_2 (if installed)
    gradient_checkpointing: bool = False
    micro_batch_tokens: int = 2048  # tokens per forward pass per process
    # per host; >1 (or nodes.nnodes >1): the node re-runs the stage under the launcher on its inputs
    num_processes: int = 1
    launcher: str = "torchrun"  # torchrun | deepspeed
    work_dir: str = "data/06_models/training_runs"  # checkpoints + finished-run cache, keyed by fingerprint
    keep_checkpoints: bool = False  # false: a stage's checkpoints are deleted once its final model is written
    # Trainer integrations: mlflow | tensorboard | none (mlflow: the stage's nested run of the kedro
    # run). Direct library calls report nowhere unless asked; the pipeline's conf asks for mlflow.
    report_to: str | list[str] = field(default_factory=lambda: ["none"])
    nodes: Nodes = field(default_factory=Nodes)  # one host unless set

    def __post_init__(self):
        self.report_to = validate_report_to(self.report_to) or ["none"]
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, got {self.precision!r}")
        if self.launcher not in LAUNCHERS:
            raise ValueError(
                f"training_runtime.launcher: unknown value {self.launcher!r}; allowed: {', '.join(LAUNCHERS)}"
            )
        if isinstance(self.num_processes, bool) or not isinstance(self.num_processes, int) or self.num_processes < 1:
            raise ValueError(f"training_runtime.num_processes must be an integer >= 1, got {self.num_processes!r}")
        # A mapping from a direct call or a launched worker's spec: checked as the parameters are.
        self.nodes = from_params(Nodes, self.nodes, "training_runtime.nodes")
        validate_nodes(self.nodes, self.launcher, self.num_processes)

    @classmethod
    def from_params(
        cls, params: Mapping | None, deepspeed_configs: Mapping[str, Callable[[], dict]] | None = None
    ) -> Runtime:
        """The `training_runtime` parameters, checked; `params["deepspeed"]` names one of
        `deepspeed_configs` (the catalog's `deepspeed_configs`: name -> loader). Without
        `deepspeed_configs` (nodes that only need work_dir) the DeepSpeed config stays empty."""
        params = dict(params or {})
        name = params.pop("deepspeed", DEEPSPEED)
        config = {}
        if deepspeed_configs is not None:
            if name not in deepspeed_configs:
                raise ValueError(
                    f"training_runtime.deepspeed={name!r}: no conf/base/deepspeed/{name}.json "
                    f"(have {sorted(deepspeed_configs)})"
                )
            config = deepspeed_configs[name]()
        return from_params(cls, {**params, "deepspeed": config}, "training_runtime")

    @property
    def dtype(self):
        import torch

        return getattr(torch, PRECISIONS[self.precision])

    @property
    def nnodes(self) -> int:
        return self.nodes.nnodes

    @property
    def world_size(self) -> int:
        # A launcher's WORLD_SIZE wins; the one an earlier in-process stage left behind (always
        # 1, see ensure_distributed_env) says nothing about this stage's processes.
        if launched():
            return int(os.environ["WORLD_SIZE"])
        return self.num_processes * self.nnodes

    def multi_process(self) -> bool:
        """True when the stage runs under the launcher (several processes or hosts)."""
        return self.num_processes > 1 or self.nnodes > 1

    def result_relevant(self) -> dict:
        """The settings that change what a stage learns (they enter the stage fingerprint)."""
        return {"precision": self.precision}

    def micro_batches(self, tokens_per_item: int, items_per_step: int) -> tuple[int, int]:
        """(items per micro-batch per process, gradient accumulation steps) for one optimizer step
        of `items_per_step` items of about `tokens_per_item` tokens, split over the world."""
        per_process = max(1, math.ceil(items_per_step / self.world_size))
        micro = max(1, min(per_process, self.micro_batch_tokens // max(1, tokens_per_item)))
        return micro, max(1, math.ceil(per_process / micro))


# IN_PROCESS marks the env ensure_distributed_env set, so that it is not taken for a launcher's.
IN_PROCESS = "DOMAINFORGE_IN_PROCESS_RANK"
DIST_ENV = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", IN_PROCESS)


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
    """True inside a torchrun/deepspeed-launched process (not after an earlier in-process stage,
    nor in a child of such a process)."""
    return all(k in os.environ for k in ("LOCAL_RANK", "WORLD_SIZE", "RANK")) and IN_PROCESS not in os.environ


def ensure_distributed_env() -> None:
    """Single-process DeepSpeed needs the env a launcher would set; set it if absent."""
    if launched() or IN_PROCESS in os.environ:
        return
    os.environ.update(
        RANK="0",
        LOCAL_RANK="0",
        WORLD_SIZE="1",
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(free_port()),
        **{IN_PROCESS: "1"},
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_command(runtime: Runtime, spec: Path, hostfile: Path | None = None) -> list[str]:
    """The launcher command that runs the stage in `spec` (engine._launch) on this host.

    `hostfile`: where engine._launch wrote a listed hostfile; a hostfile path from the parameters
    is used as given."""
    worker = [WORKER, str(spec)]
    nodes = runtime.nodes
    if runtime.launcher == "torchrun":
        torchrun = [sys.executable, "-m", "torch.distributed.run"]
        if runtime.nnodes == 1:
            return [*torchrun, "--standalone", f"--nproc_per_node={runtime.num_processes}", "-m", *worker]
        return [
            *torchrun,
            f"--nnodes={nodes.nnodes}",
            f"--node_rank={nodes.node_rank}",
            f"--master_addr={nodes.master_addr}",
            f"--master_port={nodes.master_port}",
            f"--nproc_per_node={runtime.num_processes}",
            "-m",
            *worker,
        ]
    # --no_local_rank: the worker reads LOCAL_RANK from the environment, its argv is the spec alone.
    deepspeed = [sys.executable, "-m", "deepspeed.launcher.runner", "--no_local_rank"]
    if nodes.hostfile is None:
        return [*deepspeed, f"--num_gpus={runtime.num_processes}", "--module", *worker]
    # Processes per host come from the hostfile's slots; --num_gpus would cap them.
    command = [*deepspeed, f"--hostfile={hostfile or nodes.hostfile}", f"--master_port={nodes.master_port}"]
    if nodes.master_addr:
        command.append(f"--master_addr={nodes.master_addr}")
    if not nodes.ssh:
        command += ["--no_ssh", f"--node_rank={nodes.node_rank}"]
    return [*command, "--module", *worker]


def hostfile_text(hosts: list[tuple[str, int]]) -> str:
    """DeepSpeed's hostfile format: one `host slots=N` line per host."""
    return "".join(f"{host} slots={slots}\n" for host, slots in hosts)


def trainer_kwargs(
    schedule: StageSettings,
    runtime: Runtime,
    output_dir: str,
    per_device_batch: int,
    accumulation: int,
    padding_free: bool = False,
) -> dict:
    """TrainingArguments keywords shared by every stage (trl configs accept the same).

    `padding_free`: the batches hold no padding (packed rows without an attention mask)."""
    warmup = schedule.warmup_ratio
    if schedule.num_train_epochs is not None:  # epochs win over max_steps
        length = {"num_train_epochs": schedule.num_train_epochs, "max_steps": -1, "warmup_steps": warmup}
    else:  # a float warmup_steps in [0, 1) is a ratio; an int, steps
        length = {"max_steps": schedule.max_steps, "warmup_steps": int(round(warmup * schedule.max_steps))}
    return dict(
        output_dir=output_dir,
        **length,
        per_device_train_batch_size=per_device_batch,
        gradient_accumulation_steps=accumulation,
        learning_rate=schedule.learning_rate,
        lr_scheduler_type=schedule.lr_scheduler,
        weight_decay=schedule.weight_decay,
        max_grad_norm=schedule.max_grad_norm,
        seed=schedule.seed,
        logging_steps=schedule.logging_steps,
        save_strategy="steps",
        save_steps=schedule.save_steps,
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
        # Tokens stepped on, summed over all ranks (state.num_input_tokens_seen). Packed rows have no
        # attention mask, and "non_padding" would then drop every token equal to pad_token_id,
        # which is EOS in SmolLM2 and in chat models generally: they are counted whole instead.
        include_num_input_tokens_seen="all" if padding_free else "non_padding",
        **_cpu_process_group(runtime),
    )


def _cpu_process_group(runtime: Runtime) -> dict:
    """Several ranks on CPU: accelerate sets up DeepSpeed's process group with a backend only on
    accelerators; without one it tells every rank it is alone (each trains on all the data, all
    write the model) while DeepSpeed averages over the real world. So set its state up here, on
    gloo, and let the Trainer use it (TrainingArguments ignores ddp_backend under DeepSpeed)."""
    import torch

    if runtime.world_size == 1 or torch.cuda.is_available():
        return {}
    from accelerate import PartialState

    os.environ["ACCELERATE_USE_DEEPSPEED"] = "true"  # what TrainingArguments sets for its own state
    try:
        PartialState(backend="gloo")
    finally:
        del os.environ["ACCELERATE_USE_DEEPSPEED"]
    return {"accelerator_config": {"use_configured_state": True}}


def progress_bar() -> bool:
    """The Trainer's progress bar: on for an interactive terminal, off in CI and in logs."""
    return progress.enabled()


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

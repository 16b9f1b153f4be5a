"""Training stages on one DeepSpeed engine: base model -> PT -> SFT -> RM -> DPO, plus evaluation.

Usable without Kedro:

    from domainforge.training import Runtime, prepare_base_model, stages, evaluate
    runtime = Runtime(deepspeed=json.load(open("conf/base/deepspeed/zero2.json")))
    base = prepare_base_model({}, runtime.work_dir)
    pt = stages.continued_pretraining(base, documents, params=pt_params, runtime=runtime)
    report = evaluate.evaluate_language_model(pt.model, eval_docs, eval_chats, eval_params)
"""
from domainforge.lazy_exports import lazy_getattr

# Imported on first use: torch, transformers and peft take ~3 s to import, and the pipeline
# registry, curation workers and the CLI import this package without training anything.
_EXPORTS = {
    "ModelDir": "domainforge.training.artifacts",
    "Runtime": "domainforge.training.runtime",
    "StageResult": "domainforge.training.engine",
    "prepare_base_model": "domainforge.training.base_model",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)

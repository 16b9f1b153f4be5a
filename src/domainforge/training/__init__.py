"""Training stages on one DeepSpeed engine: base model -> PT -> SFT -> RM -> DPO, plus evaluation.

Usable without Kedro:

    from domainforge.training import Runtime, prepare_base_model, stages, evaluate
    runtime = Runtime(deepspeed=json.load(open("conf/base/deepspeed/zero2.json")))
    base = prepare_base_model({}, runtime.work_dir)
    pt = stages.continued_pretraining(base, documents, params=pt_params, runtime=runtime)
    report = evaluate.evaluate_language_model(pt.model, eval_docs, eval_chats, eval_params)
"""

from domainforge.training.artifacts import ModelDir
from domainforge.training.base_model import prepare_base_model
from domainforge.training.engine import StageResult
from domainforge.training.runtime import Runtime

__all__ = ["ModelDir", "Runtime", "StageResult", "prepare_base_model"]

"""The evaluation's parameters as settings: `evaluation`, `training.eval`, `training.checks`,
`base_model` and benchmark specs are checked; a key left out takes the default."""
import pytest

from domainforge.evaluation.settings import EvaluationSettings, PerplexitySettings, evaluation_settings
from domainforge.training.base_model import base_model_settings
from domainforge.training.stage_settings import checks_settings, eval_settings
from domainforge.typed_settings import SettingsError

HELDOUT = {"heldout_general": {"source": "prose"}}


def test_left_out_keys_take_the_defaults():
    settings = evaluation_settings({**HELDOUT, "batch_size": 64, "perplexity": {"max_length": 64}})
    assert settings == EvaluationSettings(
        heldout_general=settings.heldout_general, batch_size=64, perplexity=PerplexitySettings(max_length=64)
    )
    assert (settings.dtype, settings.bootstrap_iters, settings.seed, settings.perplexity.max_tokens) == ("float32", 10000, 0, 2048)
    assert checks_settings({}).max_general_ppl_increase_pct == 5.0 and eval_settings({}).max_new_tokens == 48
    assert base_model_settings({"path": None}).gguf_file == "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.mark.parametrize(
    ("build", "params", "message"),
    [
        (evaluation_settings, {**HELDOUT, "bootstrap_iter": 10}, r"^evaluation: unknown setting 'bootstrap_iter'; did you mean 'bootstrap_iters'"),
        (evaluation_settings, {**HELDOUT, "perplexity": {"max_token": 10}}, r"^evaluation\.perplexity: unknown setting 'max_token'; did you mean 'max_tokens'"),
        (evaluation_settings, {}, r"^evaluation: missing setting 'heldout_general'"),
        (eval_settings, {"prompt": ["a"]}, r"^training\.eval: unknown setting 'prompt'; did you mean 'prompts'"),
        (checks_settings, {"min_rm_acuracy": 0.6}, r"^training\.checks: unknown setting 'min_rm_acuracy'; did you mean 'min_rm_accuracy'"),
        (base_model_settings, {"gguf": "x.gguf"}, r"^base_model: unknown setting 'gguf'; did you mean 'gguf_file'"),
    ],
)
def test_a_misspelt_key_is_an_error_naming_it(build, params, message):
    with pytest.raises(SettingsError, match=message):
        build(params)

"""Hugging Face model cards for the trained model folders, written from the run's own reports.

`render_model_card` is pure: the stage's report and the base model's report (evaluation), the
data report (funnel, mix ratio, languages), the stage's recipe and the card settings in, the card
text out (YAML front matter + markdown, rendered by `huggingface_hub.ModelCard`). The catalog's
`<domain>.<model>_card` dataset writes it as the model folder's README.md.
"""

from __future__ import annotations

from collections.abc import Mapping

from huggingface_hub import ModelCard, ModelCardData

# What each stage trained on (its own table plus the ones its input model saw) and its HF names.
_STAGES = {
    "pt": ("continued pretraining", ["pretrain_train"], ["continued-pretraining"], "text-generation"),
    "sft": ("supervised fine-tuning", ["pretrain_train", "sft_train"], ["sft"], "text-generation"),
    "rm": (
        "reward model",
        ["pretrain_train", "sft_train", "preference_train"],
        ["reward-model"],
        "text-classification",
    ),
    "dpo": (
        "direct preference optimisation",
        ["pretrain_train", "sft_train", "preference_train"],
        ["dpo", "trl"],
        "text-generation",
    ),
}
_FOLDERS = {"pt": "pt_model", "sft": "sft_model", "rm": "reward_model", "dpo": "dpo_model"}
_CHAIN = {"pt": "base → PT", "sft": "base → PT → SFT", "rm": "base → PT → SFT → RM", "dpo": "base → PT → SFT → DPO"}

TEMPLATE = """---
{{ card_data }}
---

# {{ model_name }}

{{ chain }} ({{ stage_title }}) of **{{ base_model }}**, built by the DomainForge Kedro pipeline
(`kedro run --pipelines {{ domain }}`).

> **Disclaimer.** {{ disclaimer }}

## Training data

Curation funnel of the `{{ domain }}` corpora ({{ token_unit }} counted with the base model's tokenizer):

| stage | records | {{ token_unit }} | dropped |
|---|---:|---:|---:|
{% for row in funnel -%}
| {{ row.stage }} | {{ row.records }} | {{ row.tokens }} | {{ row.get("dropped", "") }} |
{% endfor %}
{% for name, mix in mixes.items() -%}
{% set achieved = mix.achieved_general_per_domain -%}
- {{ name }} mix, general:domain in {{ mix.unit }}: target {{ mix.target_general_per_domain }}, achieved {{ "%.3f"|format(achieved) if achieved is not none else "n/a" }} ({{ mix.after.records }} of {{ mix.before.records }} records kept)
{% endfor %}
Curated documents by language: {{ languages_text }}.

## Training recipe

| parameter | value |
|---|---|
{% for key, value in recipe -%}
| `{{ key }}` | `{{ value }}` |
{% endfor %}
{% if run -%}
{% set loss = run.get("train_loss") -%}
Run: {{ run.get("global_step") }} optimizer steps, {{ run.get("tokens") }} tokens, train loss {{ "%.4f"|format(loss) if loss is not none else "n/a" }}, {{ run.get("train_runtime_s") }} s.

{% endif -%}
## Evaluation

Held-out splits of the same run.

| metric | base model | this model |
|---|---:|---:|
{% for metric, base, value in evaluation -%}
| {{ metric }} | {{ base }} | {{ value }} |
{% endfor %}
{% if samples -%}
Greedy answers to the fixed prompts:

{% for sample in samples -%}
- **{{ sample.prompt }}** → {{ sample.response | replace("\\n", " ") }}
{% endfor %}
{% endif -%}
## Use

```python
from transformers import {{ auto_class }}, AutoTokenizer
model = {{ auto_class }}.from_pretrained("{{ folder }}")
tokenizer = AutoTokenizer.from_pretrained("{{ folder }}")
```
{% if pipeline_tag == "text-generation" %}
or `domainforge serve --model {{ folder }}` (an OpenAI-compatible API).
{%- endif %}
{%- if gguf %}
GGUF files for llama.cpp and Ollama (f16, q8_0): `{{ gguf }}`.
{%- endif %}
"""


def _number(value) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _flatten(params: Mapping, prefix: str = "") -> list[tuple[str, object]]:
    rows = []
    for key, value in params.items():
        if isinstance(value, Mapping):
            rows += _flatten(value, f"{prefix}{key}.")
        else:
            rows.append((f"{prefix}{key}", value))
    return rows


def _metrics(evaluation: Mapping) -> dict[str, object]:
    """The scalar metrics of one stage report's `evaluation`, by display name."""
    out = {}
    for corpus, entry in (evaluation.get("perplexity") or {}).items():
        out[f"perplexity ({corpus})"] = entry.get("perplexity")
    for corpus, entry in (evaluation.get("chat_loss") or {}).items():
        out[f"held-out chat loss ({corpus})"] = entry.get("loss")
    if "accuracy" in evaluation:  # reward model
        out["preference accuracy"] = evaluation["accuracy"]
        out["reward margin (mean)"] = evaluation.get("margin_mean")
        out["pairs"] = evaluation.get("pairs")
    preference = evaluation.get("preference") or {}  # DPO
    if preference:
        out["DPO reward accuracy"] = preference.get("reward_accuracy")
        out["DPO reward margin (mean)"] = preference.get("reward_margin_mean")
        out["pairs"] = preference.get("pairs")
    return out


def render_model_card(
    stage: str,
    report: Mapping,
    base_report: Mapping,
    data_report: Mapping,
    recipe: Mapping,
    card: Mapping,
    base_model: Mapping,
) -> str:
    """The README.md of one stage's model folder.

    card: domain (the namespace: names the model and its datasets), tags, disclaimer.
    base_model: the base model parameters; hub_id and license describe it on the card.
    """
    if stage not in _STAGES:
        raise ValueError(f"no model card for stage {stage!r} (have {sorted(_STAGES)})")
    title, tables, stage_tags, pipeline_tag = _STAGES[stage]
    domain = card["domain"]
    languages = data_report.get("languages") or {}
    language = [lang for lang, n in sorted(languages.items(), key=lambda kv: -kv[1]) if n and lang != "unknown"]
    model_name = f"domainforge-{domain}-{stage}"
    card_data = ModelCardData(
        model_name=model_name,
        base_model=base_model["hub_id"],
        language=language,
        license=base_model["license"],
        library_name="transformers",
        pipeline_tag=pipeline_tag,
        tags=["domainforge", *card.get("tags", []), *stage_tags],
        datasets=[f"{domain}.{table}" for table in tables],
    )
    this, base = _metrics(report.get("evaluation") or {}), _metrics(base_report.get("evaluation") or {})
    stages = data_report.get("stages") or {}
    mixes = {
        name: stages[key]
        for name, key in (("pretraining", "mix_report_pretrain"), ("SFT", "mix_report_sft"))
        if stages.get(key)
    }
    return ModelCard.from_template(
        card_data,
        template_str=TEMPLATE,
        domain=domain,
        stage_title=title,
        chain=_CHAIN[stage],
        disclaimer=" ".join(card["disclaimer"].split()),
        token_unit=data_report.get("token_unit", "tokens"),
        funnel=data_report.get("funnel", []),
        mixes=mixes,
        languages_text=", ".join(f"{lang} {n}" for lang, n in languages.items() if n) or "n/a",
        recipe=_flatten(recipe),
        run=report.get("training") or {},
        evaluation=[(metric, _number(base.get(metric)), _number(value)) for metric, value in this.items()],
        samples=(report.get("evaluation") or {}).get("samples", []),
        folder=f"data/06_models/{domain}/{_FOLDERS[stage]}",
        auto_class="AutoModelForSequenceClassification" if stage == "rm" else "AutoModelForCausalLM",
        gguf=f"data/06_models/{domain}/gguf/" if stage == "dpo" else None,
    ).content

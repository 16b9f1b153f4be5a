"""Derive the quality-rule thresholds from the real corpora (Chinese: all; English: where the
published value would drop real text).

Method (all on the "dev" half of the ids; benchmarks/quality_filters.py measures the other half):
1. Clean text: the real documents, as the pipeline ingests and normalises them, that language
   ID labels with the language: zh = fever.txt (textbook), the internal-medicine dialogue CSV and
   tianlongbabu.txt (general Chinese, so general text is kept too); en = MedQuAD (one
   question/answer pair per document) and the English article (general).
2. Junk: planted junk (domainforge.curation.quality.synthetic_junk, seed 1, 100 per kind and language) built from dev
   clean text, kept if language ID gives it the language and line filtering leaves something.
3. For each rule, over the documents it applies to, the clean bound b is the loosest per-corpus
   99.9th percentile of its statistic (0.1th for lower bounds): every real corpus keeps at
   least 99.9% of its documents under each rule. Corpora with fewer than 100 dev documents are
   too small to estimate that percentile and do not set bounds. The typical junk value j is the
   median of the statistic over junk beyond b.
   - Chinese: threshold = b + 0.25 (j - b) (a quarter of the way from the clean edge towards
     typical junk: headroom for unseen clean text, far from junk); b when no junk lies beyond.
   - English: the published threshold when it keeps b (it drops at most 0.1% of any corpus);
     otherwise, and for our own rules without a published value, the Chinese formula; the
     published rules derived this way are listed under `deviations_from_published`.
4. Content-type rules (`quality.content`, domainforge.curation.quality.content_type: is it prose at all?):
   the same formula on the normalised text (before line filtering), with the clean bound taken
   over both languages' dev documents and the junk being the dev half (by source file) of the
   real non-prose files of benchmarks/real_junk.py that language ID passes as zh or en;
   benchmarks/real_junk_filters.py measures the test half.
Structural settings (scopes, n-gram sizes, word lists) are read from conf/base/parameters_quality.yml.

Run: python benchmarks/derive_quality_thresholds.py [--update-parameters]
(writes results/quality_thresholds.json; with the flag also the thresholds in parameters_quality.yml)
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from harness import write_result  # noqa: E402
from real_corpora import REPO, load_documents, source_group  # noqa: E402
from real_junk import load_real_junk  # noqa: E402

from domainforge.curation.normalise import normalise_documents  # noqa: E402
from domainforge.curation.quality import content_type  # noqa: E402
from domainforge.curation.quality import rules_en as quality_rules_en
from domainforge.curation.quality import rules_zh as quality_rules_zh
from domainforge.curation.quality.language import detect_language  # noqa: E402
from domainforge.curation.quality.synthetic_junk import KINDS, make_junk  # noqa: E402

CLEAN_QUANTILE = 0.999
TOWARDS_JUNK = 0.25
MIN_CORPUS_DOCS = 100
JUNK_PER_KIND = 100
JUNK_SEED = 1
RULE_MODULES = {"zh": quality_rules_zh, "en": quality_rules_en}
# Every section of `quality` whose thresholds are derived, and the module of its rules.
SECTIONS = {**RULE_MODULES, "content": content_type}
# Size caps, not quality signals: kept as configured.
NOT_DERIVED = {"zh_max_chars", "gopher_long_doc"}
# Published English thresholds: Gopher (Rae et al. 2021, table A1 and app. A), C4 (Raffel et al.
# 2020; lorem ipsum, `{`, 5 sentences), FineWeb (Penedo et al. 2024; datatrove defaults).
PUBLISHED_EN = {
    "min_doc_words": 50, "max_doc_words": 100000, "min_avg_word_length": 3, "max_avg_word_length": 10,
    "max_hash_per_word": 0.1, "max_ellipsis_per_word": 0.1, "max_bullet_lines_frac": 0.9,
    "max_ellipsis_lines_frac": 0.3, "min_alpha_words_frac": 0.8, "min_stop_words": 2,
    "max_dup_para_frac": 0.3, "max_dup_para_char_frac": 0.2, "max_dup_line_frac": 0.3,
    "max_dup_line_char_frac": 0.2, "max_lorem_ipsum": 0, "max_curly_bracket": 0, "min_sentences": 5,
    "min_line_punct_frac": 0.12, "max_short_line_frac": 0.67, "max_line_dup_char_frac": 0.01,
    "max_newlines_per_word": 0.3,
    "top_ngram_max_frac": [[2, 0.2], [3, 0.18], [4, 0.16]],
    "dup_ngram_max_frac": [[5, 0.15], [6, 0.14], [7, 0.13], [8, 0.12], [9, 0.11], [10, 0.1]],
}
INTEGER_FEATURES = {"chars", "words", "sentences", "sentence_ends", "stop_words", "lorem_ipsum", "curly_bracket"}
CONF = REPO / "conf" / "base"
OUT = Path(__file__).parent / "results" / "quality_thresholds.json"


def parameter_key(section: str, rule_name: str) -> tuple[str, int | None]:
    """Where a rule's threshold lives in `quality.<section>`: a key, or an n-gram list and its n."""
    for name, _, _, key, _ in SECTIONS[section].RULES:
        if name == rule_name:
            return key, None
    n = int(re.search(r"_(\d+)_gram$", rule_name).group(1))
    return ("top_ngram_max_frac" if "_top_" in rule_name else "dup_ngram_max_frac"), n


def published(lang: str, rule_name: str) -> float | None:
    if lang != "en":
        return None
    key, n = parameter_key(lang, rule_name)
    if key not in PUBLISHED_EN:  # our own rule (no published value): derived like the Chinese ones
        return None
    return PUBLISHED_EN[key] if n is None else dict(PUBLISHED_EN[key])[n]


def feature_table(texts, module, params: dict) -> pd.DataFrame:
    prepared = [module.prepare(t, params) for t in texts]
    return pd.DataFrame([module.features(t, params) for t in prepared if t])


def rounded(value: float, bound: float, feature: str, kind: str) -> float:
    """Round outwards (never past the clean bound); counts get the integer that still keeps the
    bound and rejects what `value` rejects (a lower bound of 0.75 sentence ends means 1)."""
    if feature in INTEGER_FEATURES:
        if kind == "min":
            return int(min(np.ceil(value), np.floor(bound)))
        return int(max(np.floor(value), np.ceil(bound)))
    return float(np.floor(value * 1000) / 1000 if kind == "min" else np.ceil(value * 1000) / 1000)


def derive(lang: str, clean: pd.DataFrame, junk: pd.DataFrame, params: dict) -> dict:
    """Thresholds of section `lang` ("zh", "en" or "content")."""
    module = SECTIONS[lang]
    out = {}
    for name, feature, kind, _, scope in module.rules(params):
        if name in NOT_DERIVED:
            continue
        in_scope = clean[[module.applies(scope, row, params) for row in clean.to_dict("records")]]
        large = in_scope.groupby("corpus_name").filter(lambda g: len(g) >= MIN_CORPUS_DOCS)
        q = CLEAN_QUANTILE if kind == "max" else 1 - CLEAN_QUANTILE
        per_corpus = large.groupby("corpus_name")[feature].quantile(q)
        bound = float(per_corpus.max() if kind == "max" else per_corpus.min())
        junk_values = junk.loc[[module.applies(scope, row, params) for row in junk.to_dict("records")], feature]
        beyond = junk_values[junk_values > bound] if kind == "max" else junk_values[junk_values < bound]
        typical = float(beyond.median()) if len(beyond) else None
        derived = rounded(bound if typical is None else bound + TOWARDS_JUNK * (typical - bound), bound, feature, kind)
        paper = published(lang, name)
        keeps_clean = paper is not None and (paper >= bound if kind == "max" else paper <= bound)
        out[name] = {
            "feature": feature,
            "kind": kind,
            "threshold": paper if keeps_clean else derived,
            "source": "published" if keeps_clean else "derived",
            "published": paper,
            "clean_bound": round(bound, 4),
            "clean_bound_per_corpus": {k: round(float(v), 4) for k, v in per_corpus.items()},
            "junk_median_beyond_bound": None if typical is None else round(typical, 4),
            "junk_beyond_bound": int(len(beyond)),
            "junk_in_scope": int(len(junk_values)),
        }
    return out


def as_parameters(lang: str, thresholds: dict, params: dict) -> dict:
    """The thresholds under their keys in `quality.<lang>` of parameters_quality.yml."""
    out: dict = {}
    for name, rule in thresholds.items():
        key, n = parameter_key(lang, name)
        if n is None:
            out[key] = rule["threshold"]
        else:
            out.setdefault(key, [[m, None] for m, _ in params[key]])
            next(pair for pair in out[key] if pair[0] == n)[1] = rule["threshold"]
    return out


def update_parameters(values: dict[str, dict]) -> None:
    """Rewrite the threshold lines of parameters_quality.yml, leaving comments and layout alone."""
    path = CONF / "parameters_quality.yml"
    text = path.read_text(encoding="utf-8")
    for lang, params in values.items():
        # The language's section: from "  <lang>:" to the next line indented by two spaces only.
        start = text.index(f"\n  {lang}:\n")
        match = re.compile(r"\n  \S").search(text, start + 1)
        end = match.start() if match else len(text)
        section = text[start:end]
        for key, value in params.items():
            shown = "[" + ", ".join(f"[{n}, {t}]" for n, t in value) + "]" if isinstance(value, list) else value
            section, found = re.subn(rf"(\n    {key}: )[^\n]*", lambda m, shown=shown: m.group(1) + str(shown), section)
            if not found:
                raise KeyError(f"quality.{lang}.{key} not found in {path}")
        text = text[:start] + section + text[end:]
    path.write_text(text, encoding="utf-8")


def derive_content(docs: pd.DataFrame, dev: pd.DataFrame, language_params: dict, params: dict) -> dict:
    """Content-type thresholds: clean = dev documents of both languages (labelled as expected),
    junk = dev half of the real non-prose files that language ID passes as zh or en."""
    clean_docs = dev[dev["lang"] == dev["lang_expected"]]
    clean = pd.DataFrame([content_type.features(t, params) for t in clean_docs["text"]])
    clean["corpus_name"] = [source_group(s) for s in clean_docs["source"]]
    real_junk = load_real_junk()
    real_junk = real_junk[real_junk["split"] == "dev"].assign(source=lambda f: "real_junk/" + f["kind"], corpus="domain")
    normalise = yaml.safe_load((CONF / "parameters_data.yml").read_text())["normalise"]
    real_junk, _ = normalise_documents(real_junk, normalise)
    real_junk, _ = detect_language(real_junk, language_params)
    junk = pd.DataFrame([content_type.features(t, params) for t in real_junk["text"]])
    return {
        "clean_docs": clean["corpus_name"].value_counts().to_dict(),
        "junk_docs_judged": int(len(junk)),
        "junk_docs_by_kind": real_junk["kind"].value_counts().to_dict(),
        "rules": (thresholds := derive("content", clean, junk, params)),
        "parameters": as_parameters("content", thresholds, params),
    }


def main() -> None:
    language_params = yaml.safe_load((CONF / "parameters_language.yml").read_text())["language"]
    quality_params = yaml.safe_load((CONF / "parameters_quality.yml").read_text())["quality"]
    docs = load_documents()
    dev, _ = detect_language(docs[docs["split"] == "dev"], language_params)
    result = {
        "method": (
            f"b = loosest per-corpus {CLEAN_QUANTILE:.1%} quantile of clean dev docs ({1 - CLEAN_QUANTILE:.1%} "
            f"for lower bounds; corpora with >= {MIN_CORPUS_DOCS} docs), j = median of planted dev junk beyond b; "
            f"zh: b + {TOWARDS_JUNK} * (j - b); en: the published value when it keeps b, else as zh"
        ),
    }
    for lang, module in RULE_MODULES.items():
        params = quality_params[lang]
        clean_docs = dev[(dev["lang"] == lang) & (dev["lang_expected"] == lang)]
        clean = feature_table(clean_docs["text"], module, params)
        clean["corpus_name"] = [source_group(s) for s, t in zip(clean_docs["source"], clean_docs["text"]) if module.prepare(t, params)]
        seeds = clean_docs.loc[clean_docs["corpus"] == "domain", "text"].tolist()
        planted = pd.DataFrame(make_junk(JUNK_PER_KIND * len(KINDS), lang, JUNK_SEED, seeds))
        planted["id"], planted["source"], planted["corpus"] = planted.index.astype(str), "junk", "domain"
        planted, _ = detect_language(planted, language_params)
        junk = feature_table(planted.loc[planted["lang"] == lang, "text"], module, params)
        thresholds = derive(lang, clean, junk, params)
        result[lang] = {
            "clean_docs": clean["corpus_name"].value_counts().to_dict(),
            "junk_docs_judged": int(len(junk)),
            "deviations_from_published": [
                n for n, r in thresholds.items() if r["source"] == "derived" and r["published"] is not None
            ] if lang == "en" else None,
            "rules": thresholds,
            "parameters": as_parameters(lang, thresholds, params),
        }
    result["content"] = derive_content(docs, dev, language_params, quality_params["content"])
    write_result(OUT, result)
    if "--update-parameters" in sys.argv:
        update_parameters({lang: result[lang]["parameters"] for lang in SECTIONS})
    for lang in SECTIONS:
        print(lang, json.dumps(result[lang]["parameters"]))
    print("en deviations:", result["en"]["deviations_from_published"])


if __name__ == "__main__":
    main()

"""How much REAL non-prose junk the medical filter chain catches, and what it costs real medical text.

The junk is real_junk.py's set: chunks of real files on this machine (minified JS, CSS, HTML,
Python with docstrings, C headers, shell/perl/cmake, JSON, numeric tables, base64, Chinese and
English word lists and word-table modules, XML/YAML/man pages) that nobody here wrote. It is
mixed into the real shared corpora (real_corpora.py) as domain documents
(`source = pretrain_domain/real_junk/<kind>/<file>`), after going through the pipeline's
normalise step as real raw input would, and the table goes through the medical domain's filter
chain exactly as the Kedro nodes run it, with the medical parameters from conf/base:
detect_language -> filter_quality -> train_quality_classifier (on the documents that pass the
rules, as the pipeline does: junk that passed the rules is among the positives) ->
filter_by_classifier.

Reported: per junk kind, overall and per split (dev/test by source file, see real_junk.py),
the share caught (dropped by normalise, language ID, the rules or the classifier) and the counts
by status and by stage; every junk document that passed (id, kind, file, first 150 characters);
the real medical documents wrongly dropped by the same chain (test half and all, per source
group, by reason); and the chain's wall time. Targets: >= 98% of real junk caught overall,
>= 90% of every kind, <= 0.5% of real medical text wrongly dropped.

Run: python benchmarks/real_junk_filters.py  (writes results/real_junk_filters.json)
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from harness import write_result  # noqa: E402
from real_corpora import REPO, load_documents, nonprose_files, source_group  # noqa: E402
from real_junk import KINDS, load_real_junk  # noqa: E402

from domainforge.curation.normalise import normalise_documents  # noqa: E402
from domainforge.curation.quality.classifier import filter_by_classifier, train_quality_classifier  # noqa: E402
from domainforge.curation.quality.language import detect_language  # noqa: E402
from domainforge.curation.quality.rules import filter_quality  # noqa: E402

PER_KIND = 60
SEED = 0
TARGETS = {"junk_caught_share_min": 0.98, "junk_caught_share_per_kind_min": 0.90, "medical_wrongly_dropped_share_max": 0.005}
OUT = Path(__file__).parent / "results" / "real_junk_filters.json"
STAGES = ("normalise", "language", "quality", "classifier")
FILTER_FILES = ["src/domainforge/data", "conf/base"]


def load_params() -> dict:
    """The medical domain's parameters as Kedro resolves them from conf/base."""
    from kedro.config import OmegaConfigLoader

    from domainforge import settings

    # The project's loader settings (its `merge` resolver), conf/base only.
    loader = OmegaConfigLoader(str(REPO / "conf"), **{**settings.CONFIG_LOADER_ARGS, "default_run_env": "base"})
    return loader["parameters"]["medical"]


def junk_documents(junk: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "id": junk["id"],
        "source": [f"pretrain_domain/real_junk/{kind}/{Path(path).name}" for kind, path in zip(junk["kind"], junk["source_file"])],
        "corpus": "domain",
        "text": junk["text"],
    })


def run_chain(docs: pd.DataFrame, params: dict) -> tuple[pd.Series, dict, dict]:
    """Final status per id ("kept" or the drop status), seconds per stage, classifier metrics."""
    seconds = {}
    start = time.perf_counter()
    labelled, language_drops = detect_language(docs, params["language"])
    seconds["language"] = time.perf_counter() - start
    start = time.perf_counter()
    passed, quality_drops = filter_quality(labelled, params["quality"])
    seconds["quality"] = time.perf_counter() - start
    start = time.perf_counter()
    model, metrics = train_quality_classifier(passed, nonprose_files(), params["quality_classifier"])
    seconds["classifier_train"] = time.perf_counter() - start
    start = time.perf_counter()
    _, classifier_drops = filter_by_classifier(passed, model, params["quality_classifier"])
    seconds["classifier_score"] = time.perf_counter() - start
    status = pd.Series("kept", index=docs["id"].to_numpy(), dtype=object)
    for drops in (language_drops, quality_drops, classifier_drops):
        status[drops["id"].to_numpy()] = drops["status"].to_numpy()
    metrics = {**metrics, "documents_passing_rules": int(len(passed))}
    return status, seconds, metrics


def stage(status: str) -> str:
    return "kept" if status == "kept" else status.split(":")[1]


def summary(ids: pd.Series, status: pd.Series, caught_name: str) -> dict:
    st = status[ids.to_numpy()]
    hit = st.to_numpy() != "kept"
    return {
        "documents": int(len(st)),
        caught_name: int(hit.sum()),
        f"{caught_name}_share": round(float(hit.mean()), 5) if len(st) else None,
        "by_stage": {s: int((st.map(stage) == s).sum()) for s in STAGES if (st.map(stage) == s).any()},
        "by_status": {k: int(v) for k, v in st[hit].value_counts().items()},
    }


def git_state() -> dict:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

    return {
        "head": git("rev-parse", "--short", "HEAD"),
        "uncommitted_filter_changes": [line for line in git("status", "--porcelain", "--", *FILTER_FILES).splitlines()],
    }


def main() -> None:
    params = load_params()
    state = git_state()
    start = time.perf_counter()
    junk = load_real_junk(PER_KIND, SEED)
    junk_seconds = time.perf_counter() - start
    corpora = load_documents()
    junk_docs, normalise_drops = normalise_documents(junk_documents(junk), params["normalise"])
    columns = ["id", "source", "corpus", "text"]
    mixed = pd.concat([corpora[columns], junk_docs[columns]], ignore_index=True)
    assert mixed["id"].is_unique

    status, seconds, metrics = run_chain(mixed, params)
    status = pd.concat([status, pd.Series(normalise_drops["status"].to_numpy(), index=normalise_drops["id"].to_numpy(), dtype=object)])
    chain_seconds = sum(seconds.values())

    junk = junk.assign(status=status[junk["id"].to_numpy()].to_numpy())
    junk["caught"] = junk["status"] != "kept"
    by_kind = {}
    for kind in KINDS:
        group = junk[junk["kind"] == kind]
        by_kind[kind] = {
            **summary(group["id"], status, "caught"),
            "files": int(group["source_file"].nunique()),
            "caught_share_dev": round(float(group.loc[group["split"] == "dev", "caught"].mean()), 4) if (group["split"] == "dev").any() else None,
            "caught_share_test": round(float(group.loc[group["split"] == "test", "caught"].mean()), 4) if (group["split"] == "test").any() else None,
        }
    passed = junk[~junk["caught"]]
    junk_in_positives = int(((junk["status"] == "kept") | (junk["status"].map(stage) == "classifier")).sum())

    medical = corpora[corpora["corpus"] == "domain"]
    medical_test = medical[medical["split"] == "test"]
    general = corpora[corpora["corpus"] == "general"]
    by_group = {name: summary(group["id"], status, "dropped") for name, group in medical.groupby(medical["source"].map(source_group))}

    overall = summary(junk["id"], status, "caught")
    kind_shares = {kind: v["caught_share"] for kind, v in by_kind.items() if v["documents"]}
    medical_test_summary = summary(medical_test["id"], status, "dropped")
    medical_all_summary = summary(medical["id"], status, "dropped")
    checks = {
        "junk_caught_share_overall": overall["caught_share"] >= TARGETS["junk_caught_share_min"],
        "junk_caught_share_every_kind": all(v >= TARGETS["junk_caught_share_per_kind_min"] for v in kind_shares.values()),
        "medical_wrongly_dropped_test": medical_test_summary["dropped_share"] <= TARGETS["medical_wrongly_dropped_share_max"],
        "medical_wrongly_dropped_all": medical_all_summary["dropped_share"] <= TARGETS["medical_wrongly_dropped_share_max"],
    }
    result = {
        "description": __doc__.split("\n\n")[0],
        "git": state,
        "targets": TARGETS,
        "pass": checks,
        "headline": {
            "junk_caught_share": overall["caught_share"],
            "junk_caught_share_dev": round(float(junk.loc[junk["split"] == "dev", "caught"].mean()), 5),
            "junk_caught_share_test": round(float(junk.loc[junk["split"] == "test", "caught"].mean()), 5),
            "junk_caught_share_by_kind": kind_shares,
            "junk_passed": int(len(passed)),
            "medical_wrongly_dropped_share_test": medical_test_summary["dropped_share"],
            "medical_wrongly_dropped_share_all": medical_all_summary["dropped_share"],
        },
        "real_junk": {
            "per_kind_requested": PER_KIND,
            "seed": SEED,
            "load_seconds": round(junk_seconds, 1),
            # The set depends on what is installed: this fingerprint says whether two runs saw the same.
            "set_sha256": hashlib.sha256(
                "\0".join(f"{f}\0{t}" for f, t in sorted(zip(junk["source_file"], junk["text"]))).encode()
            ).hexdigest(),
            "overall": overall,
            "by_split": {split: summary(group["id"], status, "caught") for split, group in junk.groupby("split")},
            "by_kind": by_kind,
            "junk_among_classifier_positives": junk_in_positives,
        },
        "passed": [
            {"id": row.id, "kind": row.kind, "source_file": row.source_file, "text": row.text[:150]}
            for row in passed.itertuples()
        ],
        "medical": {
            "test_half": medical_test_summary,
            "all": medical_all_summary,
            "all_by_source_group": by_group,
        },
        "general_dropped": summary(general["id"], status, "dropped"),
        "classifier_metrics": metrics,
        "timing": {
            "documents": int(len(mixed)),
            "seconds_by_stage": {k: round(v, 1) for k, v in seconds.items()},
            "chain_seconds": round(chain_seconds, 1),
            "docs_per_s": round(len(mixed) / chain_seconds, 1),
        },
    }
    write_result(OUT, result)

    print(f"git {state['head']}; uncommitted filter changes: {state['uncommitted_filter_changes'] or 'none'}")
    print(f"{'kind':16} {'docs':>5} {'files':>5} {'caught':>7} {'dev':>6} {'test':>6}  stages")
    for kind, v in by_kind.items():
        print(f"{kind:16} {v['documents']:5d} {v['files']:5d} {v['caught_share']:7.3f} {v['caught_share_dev'] or 0:6.3f} "
              f"{v['caught_share_test'] or 0:6.3f}  {v['by_stage']}")
    print(f"{'overall':16} {overall['documents']:5d} {junk['source_file'].nunique():5d} {overall['caught_share']:7.3f} "
          f"{result['headline']['junk_caught_share_dev']:6.3f} {result['headline']['junk_caught_share_test']:6.3f}  {overall['by_stage']}")
    print(f"medical wrongly dropped: test {medical_test_summary['dropped_share']:.4f} ({medical_test_summary['dropped']}/{medical_test_summary['documents']}), "
          f"all {medical_all_summary['dropped_share']:.4f} ({medical_all_summary['dropped']}/{medical_all_summary['documents']})")
    print(f"chain: {chain_seconds:.1f} s for {len(mixed)} documents ({len(mixed) / chain_seconds:.0f} docs/s); {result['timing']['seconds_by_stage']}")
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'} {name}")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

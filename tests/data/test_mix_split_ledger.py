import pandas as pd
import pytest

from domainforge.data.ledger import LedgerError, build_ledger, build_ledger_node
from domainforge.data.mix import mix_by_ratio, mix_pretraining
from domainforge.data.split import split_records


def _docs(n_domain, n_general, length=100):
    rows = [{"id": f"d{i}", "source": "d", "corpus": "domain", "text": "医" * length} for i in range(n_domain)]
    rows += [{"id": f"g{i}", "source": "g", "corpus": "general", "text": "a" * length} for i in range(n_general)]
    return pd.DataFrame(rows)


def test_mix_downsamples_general_to_ratio_and_drops_the_rest():
    docs = _docs(20, 100)
    mixed, drops, report = mix_pretraining(docs, None, {"pretrain_general_per_domain": 1.0, "seed": 1, "count_by": "tokens"})
    assert report["unit"] == "characters"
    assert report["achieved_general_per_domain"] == pytest.approx(1.0, rel=0.05)
    assert len(mixed) + len(drops) == len(docs)
    assert set(drops["status"]) == {"dropped:mix:over_ratio"}
    assert (mixed["corpus"] == "domain").sum() == 20


def test_mix_downsamples_domain_when_general_is_short_and_is_seeded():
    docs = _docs(100, 10)
    a = mix_by_ratio(docs, [100] * 110, 2.0, seed=7, unit="tokens")
    b = mix_by_ratio(docs, [100] * 110, 2.0, seed=7, unit="tokens")
    assert a[2]["achieved_general_per_domain"] == pytest.approx(2.0, rel=0.05)
    assert list(a[0]["id"]) == list(b[0]["id"])


def test_mix_counts_real_tokenizer_tokens():
    class Whitespace:  # a real callable with the tokenizer interface: one token per word
        def __call__(self, texts, add_special_tokens=False):
            return {"input_ids": [t.split() for t in texts]}

    docs = pd.DataFrame(
        {"id": ["d", "g1", "g2"], "source": "s", "corpus": ["domain", "general", "general"], "text": ["a b c d", "x y", "z w"]}
    )
    mixed, _, report = mix_pretraining(docs, Whitespace(), {"pretrain_general_per_domain": 1.0, "seed": 0})
    assert report["unit"] == "tokens" and report["before"] == {"domain": 4, "general": 4, "records": 3}


def test_split_is_stable_per_corpus_and_keeps_train_nonempty():
    docs = _docs(30, 3)
    train, eval_ = split_records(docs, {"eval_fraction": 0.1, "min_eval": 2, "seed": 0})
    assert (eval_["corpus"] == "domain").sum() == 3 and (eval_["corpus"] == "general").sum() == 2
    assert len(train) + len(eval_) == len(docs)
    # Adding records does not move existing ones out of eval.
    _, eval_more = split_records(_docs(300, 3), {"eval_fraction": 0.01, "min_eval": 2, "seed": 0})
    assert set(eval_more["id"]) <= set(eval_["id"]) | set(f"d{i}" for i in range(30, 300))


def _drops(*rows):
    return pd.DataFrame([{"id": i, "source": "s", "status": s} for i, s in rows], columns=["id", "source", "status"])


def test_ledger_invariant_holds_and_records_each_status():
    raw = pd.DataFrame({"id": ["a", "b", "c"], "source": "s"})
    ledger = build_ledger_node(
        documents_raw=raw,
        quarantine_documents=_drops(("q", "quarantined:bad_json")),
        drops_quality=_drops(("b", "dropped:quality:too_short")),
        pretrain_train=pd.DataFrame({"id": ["a"], "source": "s"}),
        pretrain_eval=pd.DataFrame({"id": ["c"], "source": "s"}),
    )
    assert dict(zip(ledger["id"], ledger["status"])) == {
        "a": "kept",
        "b": "dropped:quality:too_short",
        "c": "kept",
        "q": "quarantined:bad_json",
    }
    assert dict(zip(ledger["id"], ledger["output"]))["c"] == "pretrain_eval"


@pytest.mark.parametrize(
    "drops,kept,problem",
    [
        (_drops(), ["a"], "1 unaccounted"),
        (_drops(("b", "dropped:x:y")), ["a", "b"], "1 accounted twice"),
        (_drops(("b", "dropped:x:y")), ["a", "zz"], "1 unknown"),
    ],
)
def test_ledger_invariant_violations_raise(drops, kept, problem):
    raw = pd.DataFrame({"id": ["a", "b"], "source": "s"})
    with pytest.raises(LedgerError, match=problem):
        build_ledger({"documents_raw": raw}, {"drops": drops}, {"out": pd.DataFrame({"id": kept, "source": "s"})})

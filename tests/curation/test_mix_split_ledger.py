import pandas as pd
import pytest

from domainforge.curation.engine import CurationRuntime
from domainforge.curation.ledger import LedgerError, build_ledger, build_ledger_node
from domainforge.curation.mix import mix_by_ratio, mix_pretraining
from domainforge.curation.plan import execute
from domainforge.curation.shards import write_frame
from domainforge.curation.split import split_preferences, split_records
from domainforge.curation.tokens import count_step

LOCAL = CurationRuntime(engine="local", address=None, workers=2, shard_rows=50)


def _docs(n_domain, n_general, length=100):
    rows = [{"id": f"d{i}", "source": "d", "corpus": "domain", "text": "医" * length} for i in range(n_domain)]
    rows += [{"id": f"g{i}", "source": "g", "corpus": "general", "text": "a" * length} for i in range(n_general)]
    return pd.DataFrame(rows)


MIX = {"pretrain_general_per_domain": 1.0, "seed": 1, "count_by": "tokens"}
SPLIT = {"eval_fraction": 0.1, "min_eval": 2, "seed": 0}


def _sharded_mix(tmp_path, docs, mix=MIX, split=SPLIT, rows_per_part=7):
    """mix_pretraining over `docs` as a sharded table (tokens = characters), and its result."""
    table = write_frame(docs.assign(status="", tokens=docs["text"].str.len()), tmp_path / "curated", rows_per_part)
    plan, report = mix_pretraining(table, mix, split, LOCAL)
    return execute(plan, tmp_path / "mixed").to_pandas(live=False), report


def test_mix_downsamples_general_to_ratio_and_drops_the_rest(tmp_path):
    docs = _docs(20, 100)
    mixed, report = _sharded_mix(tmp_path, docs)
    assert report["unit"] == "tokens"
    assert report["achieved_general_per_domain"] == pytest.approx(1.0, rel=0.05)
    assert list(mixed["id"]) == list(docs["id"])  # every document stays, with its status
    dropped = mixed[mixed["status"] != ""]
    assert set(dropped["status"]) == {"dropped:mix:over_ratio"} and (dropped["corpus"] == "general").all()
    assert ((mixed["status"] == "") & (mixed["corpus"] == "domain")).sum() == 20


def test_sharded_mix_and_split_decide_as_the_in_memory_ones(tmp_path):
    """Histogram passes over parts find exactly the cutoff that sorting all records finds."""
    docs = _docs(40, 300, length=1)
    docs["text"] = [("医" if c == "domain" else "a") * (5 + (i * 37) % 90) for i, c in enumerate(docs["corpus"])]
    mixed, report = _sharded_mix(tmp_path, docs, rows_per_part=13)
    kept_in_memory, drops, expected = mix_by_ratio(docs, docs["text"].str.len().tolist(), 1.0, seed=1, unit="tokens")
    assert report == expected
    live = mixed[mixed["status"] == ""]
    assert list(live["id"]) == list(kept_in_memory["id"])
    train, eval_ = split_records(kept_in_memory, SPLIT)
    assert set(live.loc[live["split"] == "eval", "id"]) == set(eval_["id"])
    assert set(live.loc[live["split"] == "train", "id"]) == set(train["id"])


def test_mix_downsamples_domain_when_general_is_short_and_is_seeded():
    docs = _docs(100, 10)
    a = mix_by_ratio(docs, [100] * 110, 2.0, seed=7, unit="tokens")
    b = mix_by_ratio(docs, [100] * 110, 2.0, seed=7, unit="tokens")
    assert a[2]["achieved_general_per_domain"] == pytest.approx(2.0, rel=0.05)
    assert list(a[0]["id"]) == list(b[0]["id"])


def test_token_counts_use_the_tokenizer_or_characters():
    class Whitespace:  # a real callable with the tokenizer interface: one token per word
        def __call__(self, texts, add_special_tokens=False):
            return {"input_ids": [t.split() for t in texts]}

    docs = pd.DataFrame({"id": ["d", "g1", "g2"], "text": ["a b c d", "x y", None], "status": ["", "", "dropped:x:y"]})
    counted, _ = count_step(docs, 0, Whitespace())
    assert counted["tokens"].tolist() == [4, 2, 0]
    assert count_step(docs, 0, None)[0]["tokens"].tolist() == [7, 3, 0]


def test_split_is_stable_per_corpus_and_keeps_train_nonempty():
    docs = _docs(30, 3)
    train, eval_ = split_records(docs, {"eval_fraction": 0.1, "min_eval": 2, "seed": 0})
    assert (eval_["corpus"] == "domain").sum() == 3 and (eval_["corpus"] == "general").sum() == 2
    assert len(train) + len(eval_) == len(docs)
    # Adding records does not move existing ones out of eval.
    _, eval_more = split_records(_docs(300, 3), {"eval_fraction": 0.01, "min_eval": 2, "seed": 0})
    assert set(eval_more["id"]) <= set(eval_["id"]) | set(f"d{i}" for i in range(30, 300))


def test_preferences_hold_out_their_own_share():
    pairs = _docs(400, 0)
    _, eval_ = split_preferences(pairs, {"eval_fraction": 0.1, "preference_eval_fraction": 0.55})
    assert len(eval_) == 220  # enough pairs for a useful RM/DPO accuracy CI
    _, default = split_preferences(pairs, {"eval_fraction": 0.1})
    assert len(default) == 40 and set(default["id"]) <= set(eval_["id"])  # same hash order


def _drops(*rows):
    return pd.DataFrame([{"id": i, "source": "s", "status": s} for i, s in rows], columns=["id", "source", "status"])


def test_ledger_invariant_holds_and_records_each_status(tmp_path):
    raw = write_frame(pd.DataFrame({"id": ["a", "b", "c", "q"], "source": "s"}), tmp_path / "raw", 10)
    mixed = write_frame(pd.DataFrame({
        "id": ["a", "b", "c", "q"], "source": "s", "tokens": [3, 2, 1, 0],
        "status": ["", "dropped:quality:too_short", "", "quarantined:bad_json"], "split": ["train", None, "eval", None],
    }), tmp_path / "mixed", 2)
    chats = pd.DataFrame({"id": ["c1", "c2"], "source": "t"})
    plan = build_ledger_node(
        raw, mixed, LOCAL, chats_raw=chats, drops_chat_format=_drops(("c2", "dropped:format:empty")),
        sft_train=chats.iloc[:1],
    )
    ledger = execute(plan, tmp_path / "ledger").to_pandas(live=False)
    assert dict(zip(ledger["id"], ledger["status"])) == {
        "a": "kept", "b": "dropped:quality:too_short", "c": "kept", "q": "quarantined:bad_json",
        "c1": "kept", "c2": "dropped:format:empty",
    }
    assert dict(zip(ledger["id"], ledger["output"])) == {
        "a": "pretrain_train", "b": "", "c": "pretrain_eval", "q": "", "c1": "sft_train", "c2": "",
    }
    with pytest.raises(LedgerError, match="accounts for 4"):
        build_ledger_node(write_frame(pd.DataFrame({"id": list("abcde"), "source": "s"}), tmp_path / "raw5", 10), mixed, LOCAL)


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

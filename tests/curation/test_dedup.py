"""Exact and MinHash near dedup on real Chinese and English medical text."""
import csv
import random
import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from datasketch import MinHash

from domainforge.curation.dedup import minhash as dedup
from domainforge.curation.dedup.minhash import NearDuplicateIndex, exact_dedup, near_dedup, near_duplicate_clusters

NEAR = {"char_ngram": 5, "word_ngram": 5, "num_perm": 112, "bands": 14, "rows": 8, "seed": 1}
PARAMS = {"exact": {"casefold": True, "ignore_whitespace": True, "ignore_punctuation": True}, "near": NEAR}


@pytest.fixture(scope="module")
def zh_paragraphs(shared_data):
    """Long, mutually distinct paragraphs of the infectious-disease textbook."""
    lines = (shared_data / "medicalgpt/pretrain/fever.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if len(line) >= 200][:20]


@pytest.fixture(scope="module")
def en_answers(shared_data):
    answers = []
    for path in sorted((shared_data / "medquad/5_NIDDK_QA").glob("*.xml"))[:12]:
        answers += [a.text for a in ET.parse(path).iter("Answer") if a.text and len(a.text) > 600]
    distinct = [answers[0]]
    for text in answers[1:]:  # MedQuAD repeats answers across questions; keep unrelated ones
        if text[:200] not in {d[:200] for d in distinct}:
            distinct.append(text)
    return distinct[:12]


@pytest.fixture(scope="module")
def zh_answers(shared_data):
    path = shared_data / "chinese_medical_dialogue/internal_medicine_sample_gb18030.csv"
    with path.open(encoding="gb18030", newline="") as handle:
        return [row["answer"] for row in csv.DictReader(handle)][:40]


def edit_chars(text: str, rate: float, seed: int) -> str:
    """Replace `rate` of the characters with other common Chinese characters."""
    rng = random.Random(seed)
    chars = list(text)
    for i in rng.sample(range(len(chars)), max(1, round(rate * len(chars)))):
        chars[i] = rng.choice("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动")
    return "".join(chars)


def edit_words(text: str, rate: float, seed: int) -> str:
    rng = random.Random(seed)
    words = text.split()
    for i in rng.sample(range(len(words)), max(1, round(rate * len(words)))):
        words[i] = rng.choice(["patient", "often", "the", "blood", "kidney", "may"])
    return " ".join(words)


def documents(texts, **columns) -> pd.DataFrame:
    ids = [f"doc#{i}" for i in range(len(texts))]
    frame = pd.DataFrame({"id": ids, "source": "test", "corpus": "domain", "text": texts})
    for name, values in columns.items():
        frame[name] = values
    return frame


# --- shingles and signatures --------------------------------------------------------------------


def reference_shingles(text: str, cjk: bool, n: int = 5) -> set:
    """The shingle definition, written plainly: character n-grams of the word characters of a CJK
    text, word n-grams of the casefolded words of any other; a shorter text is one shingle."""
    units = [c for c in text.casefold() if c.isalnum()] if cjk else re.findall(r"[^\W_]+", text.casefold())
    if not units:
        return set()
    if len(units) < n:
        return {tuple(units)}
    return {tuple(units[i : i + n]) for i in range(len(units) - n + 1)}


def test_vectorised_shingles_follow_the_reference_definition(zh_paragraphs, en_answers):
    texts = zh_paragraphs[:3] + en_answers[:3] + ["Short text", "传染源", "", "!!! ？？"]
    shingles = dedup._shingle_batch(texts, dedup.NearDedupConfig(**NEAR))
    assert shingles.cjk.tolist() == [True] * 3 + [False] * 3 + [False, True, False, False]
    for i, text in enumerate(texts):
        ours = set(shingles.hashes[shingles.doc == i].tolist())
        assert len(ours) == len(reference_shingles(text, bool(shingles.cjk[i]))), text[:40]


def test_mixed_chinese_text_with_latin_terms_is_shingled_as_cjk():
    text = "支原体（mycoplasma）感染后可出现发热、咳嗽，需用大环内酯类抗生素治疗。"
    assert dedup._shingle_batch([text], dedup.NearDedupConfig()).cjk.tolist() == [True]


def test_signatures_equal_datasketch_minhash_over_the_same_shingles(zh_paragraphs, en_answers):
    texts = zh_paragraphs[:2] + en_answers[:2] + ["Short text", ""]
    index = NearDuplicateIndex(**NEAR)
    signatures, has_shingles, _ = index.signatures(texts)
    shingles = dedup._shingle_batch(texts, index.config)
    for i in range(len(texts)):
        reference = MinHash(num_perm=112, seed=1, hashfunc=int)
        reference.update_batch(shingles.hashes[shingles.doc == i].tolist())
        np.testing.assert_array_equal(signatures[i], reference.hashvalues)
    assert has_shingles.tolist() == [True] * 5 + [False]


def test_batches_and_chunks_do_not_change_signatures_or_clusters(zh_paragraphs, en_answers):
    texts = zh_paragraphs[:5] + [edit_chars(zh_paragraphs[0], 0.01, 1)] + en_answers[:4] + [en_answers[1]]
    whole = NearDuplicateIndex(**NEAR)
    pieces = NearDuplicateIndex(**NEAR, batch_chars=500)
    pieces._SHINGLE_CHUNK = 7  # documents split across permutation blocks are min-merged
    np.testing.assert_array_equal(whole.signatures(texts)[0], pieces.signatures(texts)[0])
    whole.add(texts)
    pieces.add(iter(texts[:4]))
    pieces.add(iter(texts[4:]))
    assert whole.clusters() == pieces.clusters() == [[0, 5], [7, 10]]


# --- near-duplicate clusters --------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.0, 0.01, 0.02])
def test_light_chinese_edits_are_caught_and_unrelated_paragraphs_are_not(zh_paragraphs, rate):
    originals = zh_paragraphs[:10]
    copies = [edit_chars(text, rate, seed) for seed, text in enumerate(originals)] if rate else list(originals)
    clusters = near_duplicate_clusters(originals + copies, **NEAR)
    assert sorted(clusters) == [[i, i + 10] for i in range(10)]


@pytest.mark.parametrize("rate", [0.01, 0.02])
def test_light_english_edits_are_caught_and_unrelated_answers_are_not(en_answers, rate):
    originals = en_answers[:8]
    copies = [edit_words(text, rate, seed) for seed, text in enumerate(originals)]
    clusters = near_duplicate_clusters(originals + copies, **NEAR)
    assert sorted(clusters) == [[i, i + 8] for i in range(8)]


def test_heavy_edits_fall_below_the_threshold(zh_paragraphs):
    originals = zh_paragraphs[:5]
    copies = [edit_chars(text, 0.3, seed) for seed, text in enumerate(originals)]
    assert near_duplicate_clusters(originals + copies, **NEAR) == []


def test_chinese_and_english_documents_never_match_each_other():
    zh, en = "高血压病人可以口服党参的" * 5, "patients with high blood pressure " * 5
    assert near_duplicate_clusters([zh, en, zh + "。", en + "."], **NEAR) == [[0, 2], [1, 3]]


def test_clusters_merge_transitively_with_union_find(zh_paragraphs):
    base = zh_paragraphs[0]
    chain = [base, edit_chars(base, 0.02, 1), edit_chars(base, 0.02, 2), zh_paragraphs[1]]
    assert near_duplicate_clusters(chain, **NEAR) == [[0, 1, 2]]


def test_empty_input_and_bad_parameters():
    assert near_duplicate_clusters([], **NEAR) == []
    assert near_duplicate_clusters(["", "  ", "。"], **NEAR) == []
    with pytest.raises(ValueError, match=r"dedup\.near: unknown setting 'ngram'"):
        near_duplicate_clusters(["x"], ngram=5)
    with pytest.raises(ValueError, match="bands and rows"):
        near_duplicate_clusters(["x"], bands=14, rows=None)
    with pytest.raises(TypeError, match="document 1"):
        near_duplicate_clusters(["x", None])


def test_clusters_are_those_of_datasketch_lsh_with_union_find(zh_paragraphs, en_answers):
    """The band-key components equal what datasketch's own MinHashLSH finds, query then insert,
    with candidates merged by union-find (the index's definition before it kept band keys)."""
    from datasketch import LeanMinHash, MinHashLSH

    texts = [*zh_paragraphs, *en_answers[:30]]
    texts += [edit_chars(t, 0.02, i) for i, t in enumerate(zh_paragraphs[:15])] + en_answers[:5] + ["", "。"]
    index = NearDuplicateIndex(**NEAR)
    signatures, shingled, _ = index.signatures(texts)
    lsh = MinHashLSH(num_perm=NEAR["num_perm"], params=(NEAR["bands"], NEAR["rows"]))
    parent = list(range(len(texts)))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i, values in enumerate(signatures):
        if not shingled[i]:
            continue
        minhash = LeanMinHash(seed=NEAR.get("seed", 1), hashvalues=values, scheme="affine32")
        for other in lsh.query(minhash):
            parent[max(find(i), find(other))] = min(find(i), find(other))
        lsh.insert(i, minhash)
    expected: dict[int, list[int]] = {}
    for i in range(len(texts)):
        expected.setdefault(find(i), []).append(i)
    expected_clusters = [members for members in expected.values() if len(members) > 1]
    assert near_duplicate_clusters(texts, **NEAR) == expected_clusters and len(expected_clusters) >= 12


def test_dedup_keys_step_keys_only_the_records_in_play():
    from domainforge.curation.dedup import keys

    params = {"near": NEAR}
    frame = pd.DataFrame({"id": ["a", "b", "c"], "text": ["发热三天，伴有咳嗽和咽痛。", None, "Fever and cough for three days."],
                          "status": ["", "dropped:quality:too_short", ""]})
    out, _ = keys.keys_step(frame, 0, params)
    assert out.loc[1, keys.COLUMNS].isna().all() and out.loc[[0, 2], keys.COLUMNS].notna().all().all()
    bands, shingled, cjk = keys.near_keys([frame.loc[0, "text"], frame.loc[2, "text"]], params)
    assert keys.band_matrix(out.loc[[0, 2], keys.BANDS].tolist(), NEAR["bands"], NEAR["rows"]).tolist() == bands.tolist()
    assert out.loc[[0, 2], keys.CJK].tolist() == cjk.tolist() == [True, False] and shingled.all()
    assert out.loc[[0, 2], keys.LENGTH].tolist() == [13, 31]
    nobody, _ = keys.keys_step(frame.assign(status="dropped:quality:too_short"), 0, params)  # a part with none in play
    assert nobody[keys.COLUMNS].isna().all().all() and list(keys.drop_keys_step(nobody, 0)[0].columns) == ["id", "text", "status"]


def test_threshold_lets_datasketch_choose_the_banding():
    index = NearDuplicateIndex(num_perm=128, bands=None, rows=None, threshold=0.8)
    assert index.lsh.b * index.lsh.r <= 128 and (index.lsh.b, index.lsh.r) != (14, 8)


# --- Kedro nodes --------------------------------------------------------------------------------


def test_exact_dedup_ignores_case_whitespace_and_punctuation_and_keeps_the_first():
    texts = ["Fever and cough.", "fever  and\ncough", "FEVER, AND COUGH!", "发热，咳嗽。", "发热 咳嗽", "Fever and rash."]
    kept, drops = exact_dedup(documents(texts), PARAMS)
    assert kept["id"].tolist() == ["doc#0", "doc#3", "doc#5"]
    assert dict(zip(drops["id"], drops["status"])) == {
        "doc#1": "dropped:dedup:exact_duplicate_of:doc#0",
        "doc#2": "dropped:dedup:exact_duplicate_of:doc#0",
        "doc#4": "dropped:dedup:exact_duplicate_of:doc#3",
    }
    strict = {"exact": {"casefold": False, "ignore_whitespace": False, "ignore_punctuation": False}}
    kept, drops = exact_dedup(documents(texts + [texts[0]]), strict)
    assert drops["id"].tolist() == ["doc#6"] and len(kept) == len(texts)


def test_near_dedup_keeps_the_highest_quality_then_the_longest(zh_paragraphs, en_answers):
    zh = zh_paragraphs[0]
    en = en_answers[0]
    texts = [zh, edit_chars(zh, 0.01, 1), zh + "此段完。", en, en + " End.", edit_words(en, 0.01, 3), zh_paragraphs[1]]
    quality = [0.5, 0.9, 0.1, 0.2, 0.2, 0.2, 0.3]
    kept, drops, report = near_dedup(documents(texts, quality_score=quality), PARAMS)
    assert kept["id"].tolist() == ["doc#1", "doc#4", "doc#6"]  # doc#4: quality tie, longest
    assert dict(zip(drops["id"], drops["status"])) == {
        "doc#0": "dropped:dedup:near_duplicate_of:doc#1",
        "doc#2": "dropped:dedup:near_duplicate_of:doc#1",
        "doc#3": "dropped:dedup:near_duplicate_of:doc#4",
        "doc#5": "dropped:dedup:near_duplicate_of:doc#4",
    }
    assert report["clusters"] == 2 and report["cluster_sizes"] == {"3": 2}
    assert report["near_duplicates_dropped"] == 4 and report["documents_kept"] == 3
    assert report["shingling"]["cjk_char_ngram_documents"] == 4


def test_near_dedup_without_quality_breaks_length_ties_by_input_order(zh_paragraphs):
    text = zh_paragraphs[2]
    kept, drops, _ = near_dedup(documents([edit_chars(text, 0.01, 5), text, text]), PARAMS)
    assert kept["id"].tolist() == ["doc#0"]
    assert drops["status"].tolist() == ["dropped:dedup:near_duplicate_of:doc#0"] * 2


def test_every_record_is_kept_or_dropped_with_its_reason(zh_answers):
    """The real dialogue answers contain many (near-)duplicates: the ledger must see each one."""
    docs = documents(zh_answers + zh_answers[:10])
    after_exact, exact_drops = exact_dedup(docs, PARAMS)
    kept, near_drops, report = near_dedup(after_exact, PARAMS)
    assert len(exact_drops) >= 10
    assert sorted(kept["id"].tolist() + exact_drops["id"].tolist() + near_drops["id"].tolist()) == sorted(docs["id"])
    assert exact_drops["status"].str.fullmatch(r"dropped:dedup:exact_duplicate_of:doc#\d+").all()
    assert set(exact_drops["status"].str.rsplit(":", n=1).str[1]) <= set(after_exact["id"])
    assert near_drops["status"].str.fullmatch(r"dropped:dedup:near_duplicate_of:doc#\d+").all()
    assert set(near_drops["status"].str.rsplit(":", n=1).str[1]) <= set(kept["id"])
    assert report["documents_in"] == len(after_exact)


def test_nodes_accept_empty_tables():
    empty = documents([])
    kept, drops = exact_dedup(empty, PARAMS)
    assert kept.empty and drops.empty and list(drops.columns) == ["id", "source", "status"]
    kept, drops, report = near_dedup(empty, PARAMS)
    assert kept.empty and drops.empty and report["clusters"] == 0


def test_nodes_name_the_record_without_text():
    with pytest.raises(TypeError, match="doc#1"):
        exact_dedup(documents(["ok", None]), PARAMS)

"""Exact and MinHash near-duplicate removal for Chinese and English documents.

Exact dedup hashes normalised text (casefolded; whitespace and punctuation optionally ignored)
and keeps the first occurrence in input order.

Near dedup follows datasketch's MinHash + MinHashLSH. A document whose word characters are at
least `cjk_min_ratio` CJK (Han, kana, Hangul) is shingled into character n-grams, because Chinese
has no spaces between words; every other document into word n-grams. Shingle hashing and the MinHash
permutations run vectorised in numpy over a batch of documents at a time and give exactly what
`datasketch.MinHash(num_perm, seed, hashfunc=int).update_batch(shingle_hashes)` gives (scheme
"affine32"). The index keeps only each document's LSH band keys, cut with datasketch's own
`MinHashLSH` banding: two documents share a band key iff datasketch's LSH makes them candidates.
Clusters are the connected components of that candidate graph (scipy), the same clusters a
union-find over datasketch's query-then-insert gives, at bands x rows x 4 bytes a document
(448 with the defaults) instead of datasketch's dict buckets (benchmarks/dedup_vs_datatrove.py).

Library use without Kedro:

    from domainforge.curation.dedup import near_duplicate_clusters
    near_duplicate_clusters(texts, char_ngram=5, word_ngram=5, num_perm=112, bands=14, rows=8)
    -> [[0, 7], [3, 4, 9]]   # clusters of indices into `texts`, each of size >= 2
"""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from functools import cache

import numpy as np
import pandas as pd
from datasketch import MinHash, MinHashLSH
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from domainforge.curation.records import drop_rows, drops_table
from domainforge.curation.stage import Stage
from domainforge.typed_settings import from_params

STAGE = Stage(
    "dedup",
    ("drops_exact_dedup_chats", "drops_near_dedup_chats", "drops_exact_dedup_preferences", "drops_near_dedup_preferences"),
)

# ----------------------------------------------------------------------------------------------
# Exact dedup


@dataclass(frozen=True)
class ExactDedupSettings:
    """`dedup.exact`: which differences do not make two documents different."""

    casefold: bool = True  # "Fever" == "fever"
    ignore_whitespace: bool = True  # re-wrapped or re-spaced copies are still exact duplicates
    ignore_punctuation: bool = True  # so are copies that differ only in punctuation (，vs ,)


def _exact_normaliser(params: Mapping | ExactDedupSettings):
    params = from_params(ExactDedupSettings, params, "dedup.exact")
    casefold, ignore_whitespace, ignore_punctuation = params.casefold, params.ignore_whitespace, params.ignore_punctuation
    if ignore_whitespace and ignore_punctuation:
        strip = re.compile(r"[\W_]+")
    elif ignore_whitespace:
        strip = re.compile(r"\s+")
    elif ignore_punctuation:
        strip = re.compile(r"[^\w\s]|_")
    else:
        strip = None

    def normalise(text: str) -> str:
        text = text.casefold() if casefold else text
        return strip.sub("", text) if strip else text

    return normalise


def exact_keys(texts: Iterable[str], params: Mapping | ExactDedupSettings) -> list[bytes]:
    """Each text's exact-dedup key: blake2b-128 of the text normalised as `dedup.exact` says."""
    normalise = _exact_normaliser(params)
    return [hashlib.blake2b(normalise(text).encode("utf-8"), digest_size=16).digest() for text in texts]


def exact_dedup(documents: pd.DataFrame, params: Mapping | DedupSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop documents whose normalised text equals an earlier document's; the first one stays.

    `params` is the `dedup` block (DedupSettings); its `exact` keys (casefold, ignore_whitespace,
    ignore_punctuation) say which differences do not count.
    """
    settings = dedup_settings(params)
    if documents.empty:
        return documents.reset_index(drop=True), drops_table()
    _check_texts(documents)
    first_id: dict[bytes, str] = {}
    status = []
    for doc_id, key in zip(documents["id"], exact_keys(documents["text"], settings.exact)):
        kept = first_id.setdefault(key, doc_id)
        status.append(None if kept == doc_id else f"dropped:dedup:exact_duplicate_of:{kept}")
    status = pd.Series(status, index=documents.index, dtype=object)
    return drop_rows(documents, status.notna(), status)


def _check_texts(documents: pd.DataFrame) -> None:
    bad = documents.loc[~documents["text"].map(lambda t: isinstance(t, str)), "id"]
    if len(bad):
        raise TypeError(f"dedup needs str text; record {bad.iloc[0]!r} (and {len(bad) - 1} more) has none")


# ----------------------------------------------------------------------------------------------
# Shingling: vectorised over a batch of documents


@dataclass(frozen=True)
class NearDedupConfig:
    """MinHash LSH settings (the `dedup.near` parameter block)."""

    char_ngram: int = 5  # CJK documents: character n-grams (Chinese has no spaces between words)
    word_ngram: int = 5  # other documents: word n-grams
    cjk_min_ratio: float = 0.3  # share of CJK among word characters (Han/kana/Hangul) that makes a document CJK
    num_perm: int = 112  # MinHash permutations = bands x rows
    # LSH threshold ~ (1/bands)^(1/rows) = 0.72 Jaccard (datatrove's default banding); null both to
    # let datasketch pick them from `threshold`.
    bands: int | None = 14
    rows: int | None = 8
    threshold: float = 0.72  # Jaccard threshold, used only when bands/rows are null
    seed: int = 1
    batch_chars: int = 2_000_000  # characters shingled per numpy batch (bounds working memory)

    def __post_init__(self):
        if min(self.char_ngram, self.word_ngram) < 1:
            raise ValueError("char_ngram and word_ngram must be >= 1")
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both bands and rows, or neither (then threshold picks them)")

    @classmethod
    def from_params(cls, params: Mapping | None) -> NearDedupConfig:
        return from_params(cls, params, "dedup.near")


@dataclass(frozen=True)
class DedupSettings:
    """`dedup`: exact, then MinHash near-duplicate removal."""

    exact: ExactDedupSettings = field(default_factory=ExactDedupSettings)
    near: NearDedupConfig = field(default_factory=NearDedupConfig)


def dedup_settings(params: Mapping | DedupSettings) -> DedupSettings:
    return from_params(DedupSettings, params, "dedup")


_U64 = np.uint64
_FMIX64 = (_U64(33), _U64(0xFF51AFD7ED558CCD), _U64(0xC4CEB9FE1A85EC53))
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))
# Odd multipliers for the polynomial hashes of a word (over characters) and of an n-gram (over units).
_CHAR_BASE = _U64(0x9E3779B97F4A7C15)
_UNIT_BASE = _U64(0xC2B2AE3D27D4EB4F)
# Different salts keep character and word shingles apart, so a CJK and a Latin document never match.
_CHAR_SALT = _U64(0x2545F4914F6CDD1D)
_WORD_SALT = _U64(0x5851F42D4C957F2D)

# Scripts written without spaces between words: Han (incl. extensions), kana, Hangul.
_CJK_RANGES = [
    (0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7AF), (0x1100, 0x11FF),
    (0x3130, 0x318F), (0xF900, 0xFAFF), (0x20000, 0x2FA1F), (0x30000, 0x323AF),
]


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser: spreads every input bit over the output (wraps mod 2^64)."""
    shift, m1, m2 = _FMIX64
    h = h ^ (h >> shift)
    h = h * m1
    h = h ^ (h >> shift)
    h = h * m2
    return h ^ (h >> shift)


def _fmix32(h: np.ndarray) -> np.ndarray:
    """datasketch's pre-mix for scheme "affine32" (MurmurHash3's 32-bit finaliser)."""
    s1, m1, s2, m2 = _FMIX32
    h = h ^ (h >> s1)
    h = h * m1
    h = h ^ (h >> s2)
    h = h * m2
    return h ^ (h >> s1)


@cache
def _char_tables() -> tuple[np.ndarray, np.ndarray]:
    """Per code point: is it a word character (str.isalnum), is it a CJK word character."""
    word = np.fromiter((chr(c).isalnum() for c in range(0x110000)), dtype=bool, count=0x110000)
    cjk = np.zeros(0x110000, dtype=bool)
    for low, high in _CJK_RANGES:
        cjk[low : high + 1] = True
    return word, cjk & word


def _powers(base: np.uint64, count: int) -> np.ndarray:
    out = np.full(max(count, 1), base, dtype=_U64)
    out[0] = 1
    return np.cumprod(out)  # uint64 products wrap mod 2^64, which is the intended arithmetic


def _ngram_hashes(units: np.ndarray, unit_doc: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of the n-grams of consecutive units inside each document.

    A document with fewer than n units yields one shingle of all its units, so short texts
    still get a signature. Returns (hashes, document index of each hash), grouped by document.
    """
    count = len(units)
    if count == 0:
        return units, unit_doc
    acc = units.copy()
    powers = _powers(_UNIT_BASE, n)
    full = np.ones(count, dtype=bool)  # units k .. k+i all lie in one document
    for i in range(1, n):
        same = np.zeros(count, dtype=bool)
        same[: count - i] = unit_doc[i:] == unit_doc[: count - i]
        full &= same
        term = np.zeros(count, dtype=_U64)
        term[: count - i] = units[i:] * powers[i]
        acc += np.where(full, term, _U64(0))
    first = np.ones(count, dtype=bool)
    first[1:] = unit_doc[1:] != unit_doc[:-1]
    short_doc = np.bincount(unit_doc)[unit_doc] < n
    keep = full | (first & short_doc)
    return _fmix64(acc[keep]), unit_doc[keep]


@dataclass
class _Shingles:
    hashes: np.ndarray  # uint32 shingle hashes, grouped by document
    doc: np.ndarray  # batch-local document index of each hash
    cjk: np.ndarray  # per document: shingled as CJK characters


def _shingle_batch(texts: list[str], config: NearDedupConfig) -> _Shingles:
    word_table, cjk_table = _char_tables()
    folded = [text.casefold() for text in texts]
    lengths = np.fromiter(map(len, folded), dtype=np.int64, count=len(folded))
    points = np.frombuffer("".join(folded).encode("utf-32-le"), dtype=np.uint32)
    doc = np.repeat(np.arange(len(folded)), lengths)
    is_word = word_table[points]
    n_word = np.bincount(doc[is_word], minlength=len(folded))
    n_cjk = np.bincount(doc[cjk_table[points]], minlength=len(folded))
    cjk_doc = (n_cjk > 0) & (n_cjk >= config.cjk_min_ratio * n_word)

    # CJK documents: every word character is a unit.
    char_pos = np.flatnonzero(is_word & cjk_doc[doc])
    char_units = _fmix64(points[char_pos].astype(_U64) ^ _CHAR_SALT)
    char_hashes, char_doc = _ngram_hashes(char_units, doc[char_pos], config.char_ngram)

    # Other documents: every maximal run of word characters (a word) is a unit.
    word_pos = np.flatnonzero(is_word & ~cjk_doc[doc])
    starts = np.ones(len(word_pos), dtype=bool)
    starts[1:] = (word_pos[1:] != word_pos[:-1] + 1) | (doc[word_pos[1:]] != doc[word_pos[:-1]])
    run_start = np.flatnonzero(starts)
    run_of = np.cumsum(starts) - 1
    offset = np.arange(len(word_pos)) - run_start[run_of]
    weighted = _fmix64(points[word_pos].astype(_U64)) * _powers(_CHAR_BASE, int(offset.max(initial=0)) + 1)[offset]
    words = np.add.reduceat(weighted, run_start) if len(run_start) else weighted
    word_units = _fmix64(words ^ _WORD_SALT)
    word_hashes, word_doc = _ngram_hashes(word_units, doc[word_pos[run_start]], config.word_ngram)

    hashes = np.concatenate([char_hashes, word_hashes])
    return _Shingles(
        hashes=(hashes >> _U64(32)).astype(np.uint32),
        doc=np.concatenate([char_doc, word_doc]),
        cjk=cjk_doc,
    )


# ----------------------------------------------------------------------------------------------
# MinHash signatures, LSH and clustering


class NearDuplicateIndex:
    """Streams documents in, keeps their LSH band keys, clusters near duplicates.

    `add(texts)` may be called repeatedly (texts may be a generator); documents are numbered
    0, 1, ... in the order added. `clusters()` returns lists of indices of size >= 2.
    """

    _SHINGLE_CHUNK = 1 << 16  # shingles per permutation block: num_perm x 64k x 4 bytes

    def __init__(self, **params):
        self.config = NearDedupConfig.from_params(params)
        config = self.config
        # Never filled: it fixes the banding (b, r, hashranges), from `threshold` when bands/rows are null.
        if config.bands is None:
            self.lsh = MinHashLSH(threshold=config.threshold, num_perm=config.num_perm)
        else:
            self.lsh = MinHashLSH(num_perm=config.num_perm, params=(config.bands, config.rows))
        template = MinHash(num_perm=config.num_perm, seed=config.seed)  # datasketch's own permutations
        self._a, self._b = template.permutations
        self._empty = template.hashvalues[0]
        self._shingled: list[np.ndarray] = []  # numbers of the documents with shingles, per batch
        self._bands: list[np.ndarray] = []  # their band keys, per batch: (documents, b, r) uint32
        self.documents = 0
        self.cjk_documents = 0
        self.unshingled = 0  # documents without a single word character: never near duplicates

    def add(self, texts: Iterable[str]) -> None:
        for batch in self._batches(texts):
            self.add_band_keys(*self._batch_keys(batch))

    def keys_of(self, texts: Iterable[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(band keys (documents, b, r) uint32, has a shingle, shingled as CJK) of `texts`,
        `batch_chars` at a time, for `add_band_keys` elsewhere (e.g. keys.py on the workers);
        nothing is added here."""
        parts = [self._batch_keys(batch) for batch in self._batches(texts)]
        if not parts:
            return np.zeros((0, self.lsh.b, self.lsh.r), np.uint32), np.zeros(0, bool), np.zeros(0, bool)
        return tuple(np.concatenate(column) for column in zip(*parts))

    def _batches(self, texts: Iterable[str]) -> Iterator[list[str]]:
        batch, size = [], 0
        for number, text in enumerate(texts, start=self.documents):
            if not isinstance(text, str):
                raise TypeError(f"document {number} is {type(text).__name__}, not str")
            batch.append(text)
            size += len(text)
            if size >= self.config.batch_chars:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    def signatures(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """MinHash values (len(texts) x num_perm, uint32), whether each text had any shingle,
        and whether it was shingled as CJK characters."""
        shingles = _shingle_batch(texts, self.config)
        # Permutations x documents: reducing along contiguous rows is ~10x faster than columns.
        signatures = np.full((self.config.num_perm, len(texts)), self._empty, dtype=np.uint32)
        mixed = _fmix32(shingles.hashes)
        a, b = self._a[:, None], self._b[:, None]
        for start in range(0, len(mixed), self._SHINGLE_CHUNK):
            part = slice(start, start + self._SHINGLE_CHUNK)
            permuted = a * mixed[None, part]
            permuted += b
            doc = shingles.doc[part]
            segment = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1]])
            cols = doc[segment]  # a document split across chunks is min-merged here
            signatures[:, cols] = np.minimum(signatures[:, cols], np.minimum.reduceat(permuted, segment, axis=1))
        has_shingles = np.bincount(shingles.doc, minlength=len(texts)) > 0
        return np.ascontiguousarray(signatures.T), has_shingles, shingles.cjk

    def band_keys(self, signatures: np.ndarray) -> np.ndarray:
        """(documents, b, r) uint32: each band's MinHash values, datasketch's bucket key."""
        return np.stack([signatures[:, lo:hi] for lo, hi in self.lsh.hashranges], axis=1)

    def _batch_keys(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        signatures, has_shingles, cjk = self.signatures(texts)
        return self.band_keys(signatures), has_shingles, cjk

    def add_band_keys(self, bands: np.ndarray, shingled: np.ndarray, cjk: np.ndarray) -> None:
        """Documents given by their band keys, shingle flag and CJK flag (`keys_of`, here or
        elsewhere with the same settings), numbered on from the last ones."""
        self.cjk_documents += int(cjk.sum())
        self.unshingled += int((~shingled).sum())
        rows = np.flatnonzero(shingled)  # a document without shingles is nobody's candidate
        self._shingled.append(rows + self.documents)
        self._bands.append(bands[rows])
        self.documents += len(shingled)

    def clusters(self) -> list[list[int]]:
        """Connected components of "shares a band key", in the order of their first document."""
        numbers = np.concatenate([np.zeros(0, np.int64), *self._shingled])
        if len(numbers) < 2:
            return []
        bands = np.concatenate(self._bands)
        linked, first = [], []
        for band in range(bands.shape[1]):
            keys = np.ascontiguousarray(bands[:, band]).view(np.dtype((np.void, 4 * bands.shape[2]))).ravel()
            _, first_row, inverse = np.unique(keys, return_index=True, return_inverse=True)
            head = first_row[inverse.ravel()]  # each document's bucket's first document
            moved = np.flatnonzero(head != np.arange(len(keys)))
            linked.append(moved)
            first.append(head[moved])
        linked, first = np.concatenate(linked), np.concatenate(first)
        graph = coo_matrix((np.ones(len(linked), np.int8), (linked, first)), shape=(len(numbers), len(numbers)))
        labels = connected_components(graph, directed=False)[1]
        grouped = np.flatnonzero(np.bincount(labels)[labels] > 1)  # ascending: clusters by first document
        groups: dict[int, list[int]] = {}
        for row in grouped:
            groups.setdefault(int(labels[row]), []).append(int(numbers[row]))
        return list(groups.values())


def near_duplicate_clusters(texts: Iterable[str], **params) -> list[list[int]]:
    """Clusters (lists of indices into `texts`, size >= 2) of near-duplicate documents.

    `params` are the `dedup.near` keys of NearDedupConfig (char_ngram, word_ngram,
    cjk_min_ratio, num_perm, bands, rows, threshold, seed, batch_chars).
    """
    index = NearDuplicateIndex(**params)
    index.add(texts)
    return index.clusters()


# ----------------------------------------------------------------------------------------------
# Kedro node

REPRESENTATIVE_RULE = "highest quality_score (if present), then longest text, then first in input order"


def representative_statuses(clusters: list[list[int]], ids, quality, lengths) -> pd.Series:
    """REPRESENTATIVE_RULE in every cluster: `dropped:dedup:near_duplicate_of:<its id>` for the
    other members, None elsewhere (index 0 .. len(ids) - 1)."""
    status = pd.Series(None, index=range(len(ids)), dtype=object)
    for members in clusters:
        keep = max(members, key=lambda i: (quality[i], lengths[i], -i))
        for i in members:
            if i != keep:
                status.iloc[i] = f"dropped:dedup:near_duplicate_of:{ids[keep]}"
    return status


def near_dedup(documents: pd.DataFrame, params: Mapping | DedupSettings) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Keep one representative per near-duplicate cluster (REPRESENTATIVE_RULE); drop the rest."""
    index = NearDuplicateIndex(**asdict(dedup_settings(params).near))
    if not documents.empty:
        _check_texts(documents)
        index.add(documents["text"].tolist())
    clusters = index.clusters()

    lengths = documents["text"].str.len().to_numpy() if len(documents) else np.zeros(0)
    if "quality_score" in documents.columns:
        quality = pd.to_numeric(documents["quality_score"], errors="coerce").fillna(-np.inf).to_numpy()
    else:
        quality = np.zeros(len(documents))
    ids = documents["id"].to_numpy()
    status = representative_statuses(clusters, ids, quality, lengths).set_axis(documents.index)
    kept, drops = drop_rows(documents, status.notna(), status)
    return kept, drops, _report(index, clusters, ids, status)


def _report(index: NearDuplicateIndex, clusters: list[list[int]], ids, status: pd.Series) -> dict:
    sizes = Counter(len(members) for members in clusters)
    largest = sorted(clusters, key=len, reverse=True)[:5]
    return {
        "documents_in": index.documents,
        "documents_kept": index.documents - int(status.notna().sum()),
        "near_duplicates_dropped": int(status.notna().sum()),
        "clusters": len(clusters),
        "documents_in_clusters": int(sum(len(m) for m in clusters)),
        "cluster_sizes": {str(size): count for size, count in sorted(sizes.items())},
        "largest_clusters": [
            {"size": len(m), "ids": [str(ids[i]) for i in m[:10]]} for m in largest
        ],
        **report_settings(index, index.documents, index.cjk_documents, index.unshingled),
    }


def report_settings(index: NearDuplicateIndex, documents: int, cjk_documents: int, unshingled: int) -> dict:
    """The keep rule, shingling and LSH part of the near-dedup report (in memory and on Ray)."""
    config, bands, rows = index.config, index.lsh.b, index.lsh.r
    return {
        "representative_rule": REPRESENTATIVE_RULE,
        "shingling": {
            "cjk_char_ngram_documents": cjk_documents,
            "word_ngram_documents": documents - cjk_documents,
            "documents_without_shingles": unshingled,
            "char_ngram": config.char_ngram,
            "word_ngram": config.word_ngram,
        },
        "lsh": {
            "num_perm": config.num_perm,
            "bands": bands,
            "rows": rows,
            "approx_threshold": round((1 / bands) ** (1 / rows), 4),
            "seed": config.seed,
        },
    }

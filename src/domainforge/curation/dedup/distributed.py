"""Exact and MinHash near dedup on a `ray.data.Dataset`, with the same decisions as minhash.py.

The driver never holds the documents, their signatures or the LSH buckets: every step is a
`map_batches` over blocks or a hash shuffle (`repartition(keys=...)`), and the driver only sees
counts and the report's small summaries.

Interface (called by the curation engine when `curation_runtime.engine == "ray"`):

    exact_dedup_dataset(ds, params, partitions=None) -> ray.data.Dataset
    near_dedup_dataset(ds, params, partitions=None) -> (ray.data.Dataset, report: dict)

- `ds` holds documents (id, text [, quality_score, ...]), or instead of the text their keys
  (keys.COLUMNS, as the curation pipeline computes them on its workers), and an integer `position`
  column: the document's place in the global input order (unique; e.g. shard offset + row).
  "First occurrence" and the last tie-break of the keep rule follow it, so decisions do not depend
  on how Ray schedules blocks.
- `params` is the `dedup` parameter block (`exact`, `near`), as for `exact_dedup`/`near_dedup`.
- Both return every input row (in no particular order) with all its columns plus `status`: ""
  for kept, else `dropped:dedup:exact_duplicate_of:<id>` / `dropped:dedup:near_duplicate_of:<id>`,
  exactly as the in-memory nodes write them. One output with a status column, filtered
  downstream, so the work is never computed twice. A row that arrives with a non-empty `status`
  (e.g. dropped by exact dedup) passes through untouched and takes no part, so
  `near_dedup_dataset(exact_dedup_dataset(ds, p), p)` is the in-memory chain
  `near_dedup(exact_dedup(docs))`.
- The report is `minhash._report`'s dict, computed from per-block summaries.
- `partitions`: blocks of each hash shuffle (default: 2 x the cluster's CPUs). Every partition is
  one block (Ray Data never splits a hash-shuffled block), so raise it with the corpus size.
- `exact_dedup_dataset` is lazy. `near_dedup_dataset` executes the signature, bucket and
  component steps (it must, to return the report) and returns the final status join lazily; it
  reads `ds` twice (signatures, then that join), so pass a dataset that is cheap to re-read
  (parquet shards, or `materialize()` it first).

Near dedup, step by step:
1. Band keys per document (keys.py: `NearDuplicateIndex.signatures`, the same shingling and
   MinHash code, cut with datasketch's own `hashranges`; read from `ds` when it has them): two
   documents share a bucket of `MinHashLSH` iff they share a key (band index + that band's values).
2. Band keys hash-shuffled so each bucket lies in one block; a vectorised pass links every member
   of a bucket to the bucket's first document (star edges).
3. Connected components by alternating Large-Star / Small-Star (Kiveris et al., "Connected
   Components in MapReduce and Beyond", 2014), each a shuffle on one endpoint plus a vectorised
   pass; O(log^2 n) rounds. It stops when every node is a root (no smaller neighbour) or a leaf
   with exactly one, smaller, neighbour: then each component is a star around its first document.
   The driver sees only the number of nodes that break that condition.
4. The keep rule (REPRESENTATIVE_RULE) per component after a shuffle on the root; the statuses are
   joined back to the documents by `position` with one more shuffle.
"""
from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import ray
import ray.data

from domainforge.curation.dedup import keys
from domainforge.curation.dedup.minhash import NearDuplicateIndex, dedup_settings, exact_keys, report_settings

POSITION, STATUS = "position", "status"
_KEY, _NEAR = "_dedup_key", "_dedup_near_status"  # internal columns, never in the output
_ARROW = {"batch_format": "pyarrow"}
_WHOLE_BLOCKS = {"batch_format": "pyarrow", "batch_size": None}  # a shuffled block is one batch


def _default_partitions() -> int:
    return max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))


# ----------------------------------------------------------------------------------------------
# Arrow / numpy helpers


def _live(table: pa.Table) -> np.ndarray:
    """Rows still in play: no status yet, or an empty one."""
    if STATUS not in table.column_names:
        return np.ones(table.num_rows, dtype=bool)
    return pc.fill_null(pc.equal(table[STATUS], ""), True).to_numpy(zero_copy_only=False)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with exactly `schema`'s columns (missing ones null): every block of a shuffle must
    have one schema, or Ray's reduce cannot concatenate them."""
    arrays = [
        table[field.name].cast(field.type) if field.name in table.column_names else pa.nulls(table.num_rows, field.type)
        for field in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _prepare(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """The documents in `schema` (see _document_schema), status "" where none."""
    table = _conform(table, schema)
    return table.set_column(schema.get_field_index(STATUS), STATUS, pc.fill_null(table[STATUS], ""))


def _document_schema(ds: ray.data.Dataset, *extra: pa.Field) -> pa.Schema:
    """The input's columns, text as large_string (blocks of long texts overflow string's 2 GiB
    offsets once a shuffle concatenates them), a string status, then `extra`."""
    schema = ds.schema()
    missing = {"id", POSITION} - set(schema.names)
    if missing or not ("text" in schema.names or set(keys.COLUMNS) <= set(schema.names)):
        raise ValueError(
            f"dedup on Ray needs columns id, position (the global input order) and text or the keys {keys.COLUMNS};"
            f" it got {schema.names}"
        )
    fields = []
    for name, kind in zip(schema.names, schema.types):
        if name in ("text", "id"):
            kind = pa.large_string() if name == "text" else pa.string()
        elif name == STATUS:
            kind = pa.string()
        elif not isinstance(kind, pa.DataType):  # pandas blocks: object columns hold text
            kind = pa.string() if np.dtype(kind) == object else pa.from_numpy_dtype(kind)
        fields.append(pa.field(name, kind))
    if STATUS not in schema.names:
        fields.append(pa.field(STATUS, pa.string()))
    return pa.schema(fields + list(extra))


def _texts(table: pa.Table) -> list[str]:
    texts = table["text"].to_pylist()
    bad = [i for i, text in enumerate(texts) if not isinstance(text, str)]
    if bad:
        ids = table["id"].to_pylist()
        raise TypeError(f"dedup needs str text; record {ids[bad[0]]!r} (and {len(bad) - 1} more) has none")
    return texts


def _fixed_binary(matrix: np.ndarray) -> pa.FixedSizeBinaryArray:
    """One fixed-size binary value per row of a C-contiguous 2-d array."""
    matrix = np.ascontiguousarray(matrix)
    width = matrix.shape[1] * matrix.itemsize
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(matrix), [None, pa.py_buffer(matrix.tobytes())])


def _binary_matrix(column, dtype) -> np.ndarray:
    """The inverse of _fixed_binary: rows of `dtype` values."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    width = array.type.byte_width
    data = np.frombuffer(array.buffers()[1], dtype=np.uint8)[array.offset * width : (array.offset + len(array)) * width]
    return data.view(dtype).reshape(len(array), width // np.dtype(dtype).itemsize)


def _ints(table: pa.Table, name: str) -> np.ndarray:
    return table[name].to_numpy().astype(np.int64, copy=False)


def _group_starts(sorted_rows: np.ndarray) -> np.ndarray:
    """For rows sorted so that equal keys are adjacent: True where a new key starts."""
    new = np.ones(len(sorted_rows), dtype=bool)
    if sorted_rows.ndim == 1:
        new[1:] = sorted_rows[1:] != sorted_rows[:-1]
    else:
        new[1:] = (sorted_rows[1:] != sorted_rows[:-1]).any(axis=1)
    return new


# ----------------------------------------------------------------------------------------------
# Exact dedup


def _exact_keys(table: pa.Table, exact_items: tuple, schema: pa.Schema) -> pa.Table:
    table = _prepare(table, schema)
    if keys.EXACT_KEY in table.column_names:  # computed on the workers already (keys.py)
        zero = pa.scalar(bytes(16), pa.binary(16))
        return table.append_column(_KEY, pc.fill_null(table[keys.EXACT_KEY].cast(pa.binary(16)), zero))
    live = _live(table)
    digests = bytearray(16 * table.num_rows)  # rows with a status keep a zero key and take no part
    texts = _texts(table.filter(pa.array(live)))
    for row, key in zip(np.flatnonzero(live), exact_keys(texts, dict(exact_items))):
        digests[16 * row : 16 * row + 16] = key
    return table.append_column(_KEY, pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), table.num_rows, [None, pa.py_buffer(bytes(digests))]))


def _exact_statuses(table: pa.Table, columns: list[str]) -> pa.Table:
    """One block holds every row of its keys: the first position of a key stays."""
    live = np.flatnonzero(_live(table))
    if len(live):
        keys = _binary_matrix(table[_KEY], np.uint64)[live]
        position = _ints(table, POSITION)[live]
        order = np.lexsort((position, keys[:, 1], keys[:, 0]))
        new = _group_starts(keys[order])
        first = order[new][np.cumsum(new) - 1]  # per sorted row: its key's first row
        ids = table["id"].to_numpy(zero_copy_only=False)
        status = table[STATUS].to_numpy(zero_copy_only=False).astype(object)
        status[live[order[~new]]] = [f"dropped:dedup:exact_duplicate_of:{i}" for i in ids[live[first[~new]]]]
        table = table.set_column(table.column_names.index(STATUS), STATUS, pa.array(status, pa.string()))
    return table.select(columns)


def exact_dedup_dataset(ds: ray.data.Dataset, params: dict, partitions: int | None = None) -> ray.data.Dataset:
    """Every row of `ds` with `status` "" or `dropped:dedup:exact_duplicate_of:<first id>` (lazy).

    The key is the blake2b hash of the text normalised as `exact_dedup` does (`params["exact"]`);
    the shuffle on it brings all copies into one block, where the lowest `position` stays.
    """
    exact_items = tuple(sorted(asdict(dedup_settings(params).exact).items()))
    schema = _document_schema(ds)
    columns = schema.names
    keyed = ds.map_batches(_exact_keys, fn_kwargs={"exact_items": exact_items, "schema": schema}, **_ARROW)
    return keyed.repartition(partitions or _default_partitions(), keys=[_KEY]).map_batches(
        _exact_statuses, fn_kwargs={"columns": columns}, **_WHOLE_BLOCKS
    )


# ----------------------------------------------------------------------------------------------
# Near dedup, step 1: signatures and band keys per batch


def _signature_rows(table: pa.Table, near_items: tuple) -> pa.Table:
    """Per live document: position, id, the keep rule's quality and length, shingling flags and
    all its band keys (bands x (1 + rows) uint32: band index, then the band's MinHash values)."""
    table = table.filter(pa.array(_live(table)))
    index = keys.index_for(near_items)
    if keys.BANDS in table.column_names:  # computed on the workers already (keys.py)
        bands = keys.band_matrix(table[keys.BANDS].to_pylist(), index.lsh.b, index.lsh.r)
        shingled = table[keys.SHINGLED].to_numpy(zero_copy_only=False).astype(bool)
        cjk = table[keys.CJK].to_numpy(zero_copy_only=False).astype(bool)
        length = table[keys.LENGTH].cast(pa.int64())
    else:
        bands, shingled, cjk = index.keys_of(_texts(table))
        length = pc.utf8_length(table["text"].cast(pa.large_string())).cast(pa.int64())
    band_index = np.broadcast_to(np.arange(index.lsh.b, dtype=np.uint32)[None, :, None], (len(bands), index.lsh.b, 1))
    band_keys = np.concatenate([band_index, bands], axis=2).reshape(len(bands), -1)
    if "quality_score" in table.column_names:
        quality = pd.to_numeric(table["quality_score"].to_pandas(), errors="coerce").fillna(-np.inf).to_numpy(float)
    else:
        quality = np.zeros(table.num_rows)
    return pa.table(
        {
            POSITION: pa.array(_ints(table, POSITION)),
            "id": table["id"].cast(pa.string()),
            "quality": pa.array(quality, pa.float64()),
            "length": length,
            "shingled": pa.array(shingled.astype(np.int64)),
            "cjk": pa.array(cjk.astype(np.int64)),
            "bands": _fixed_binary(band_keys),
        }
    )


def _band_rows(table: pa.Table, key_width: int) -> pa.Table:
    """One row per (document with shingles, band): its key and the document's position."""
    shingled = table.filter(pc.equal(table["shingled"], 1))
    if not shingled.num_rows:
        return pa.table({_KEY: pa.array([], pa.binary(4 * key_width)), POSITION: pa.array([], pa.int64())})
    keys = _binary_matrix(shingled["bands"], np.uint32).reshape(-1, key_width)
    bands = keys.shape[0] // shingled.num_rows
    return pa.table({_KEY: _fixed_binary(keys), POSITION: np.repeat(_ints(shingled, POSITION), bands)})


# ----------------------------------------------------------------------------------------------
# Step 2: buckets -> star edges


def _edges(a: np.ndarray, b: np.ndarray) -> pa.Table:
    """Deduplicated edge rows (a, b) with a > b, plus the `bad` column of _large_star's stats row."""
    pairs = np.unique(np.stack([a, b], axis=1), axis=0) if len(a) else np.zeros((0, 2), np.int64)
    return pa.table({"a": pairs[:, 0], "b": pairs[:, 1], "bad": np.zeros(len(pairs), np.int64)})


def _bucket_edges(table: pa.Table) -> pa.Table:
    """Each bucket lies whole in this block: link its members to its first document."""
    keys = _binary_matrix(table[_KEY], np.uint32)
    position = _ints(table, POSITION)
    order = np.lexsort((position, *keys.T[::-1]))
    new = _group_starts(keys[order])
    first = position[order][new][np.cumsum(new) - 1]
    member = position[order]
    return _edges(member[~new], first[~new])


# ----------------------------------------------------------------------------------------------
# Step 3: connected components (Large-Star / Small-Star)


def _undirected(table: pa.Table) -> pa.Table:
    edges = table.filter(pc.greater_equal(table["a"], 0))  # drop _large_star's stats rows
    a, b = _ints(edges, "a"), _ints(edges, "b")
    return pa.table({"u": np.concatenate([a, b]), "v": np.concatenate([b, a])})


def _large_star(table: pa.Table) -> pa.Table:
    """Grouped by u (all its neighbours in this block): link every larger neighbour to the smallest
    node of u's closed neighbourhood. Appends one stats row (a = b = -1, bad = number of nodes that
    are neither a root, all neighbours larger, nor a leaf, one smaller neighbour)."""
    pairs = np.unique(np.stack([_ints(table, "u"), _ints(table, "v")], axis=1), axis=0)
    u, v = pairs[:, 0], pairs[:, 1]
    new = _group_starts(u)
    group = np.cumsum(new) - 1
    smallest = np.minimum(u[new], v[new])[group]  # v is sorted within each u
    degree = np.bincount(group)
    smaller = np.bincount(group, weights=v < u).astype(np.int64)
    leaf = (degree == 1) & (smaller == 1)
    bad = int(np.count_nonzero((smaller > 0) & ~leaf))
    larger = v > u
    out = _edges(v[larger], smallest[larger])
    stats = pa.table({"a": [-1], "b": [-1], "bad": [bad]}, schema=out.schema)
    return pa.concat_tables([out, stats])


def _small_star(table: pa.Table) -> pa.Table:
    """Grouped by a (its smaller neighbours b in this block): link a and all its smaller neighbours
    to the smallest of them."""
    pairs = np.unique(np.stack([_ints(table, "a"), _ints(table, "b")], axis=1), axis=0)
    a, b = pairs[:, 0], pairs[:, 1]
    new = _group_starts(a)
    smallest = b[new][np.cumsum(new) - 1]
    others = b != smallest
    return _edges(np.concatenate([a[new], b[others]]), np.concatenate([smallest[new], smallest[others]]))


def _bad_nodes(table: pa.Table) -> pa.Table:
    return table.filter(pc.less(table["a"], 0)).select(["bad"])


def _components(edges: ray.data.Dataset, partitions: int, max_rounds: int) -> ray.data.Dataset:
    """Star edges (leaf a, root b = the component's lowest position), materialised."""
    for _ in range(max_rounds):
        large = (
            edges.map_batches(_undirected, **_ARROW)
            .repartition(partitions, keys=["u"])
            .map_batches(_large_star, **_WHOLE_BLOCKS)
            .materialize()
        )
        if not sum(row["bad"] for row in large.map_batches(_bad_nodes, **_ARROW).take_all()):
            return large  # the input was already stars around their minima: large-star kept it
        edges = large.repartition(partitions, keys=["a"]).map_batches(_small_star, **_WHOLE_BLOCKS).materialize()
    raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")


# ----------------------------------------------------------------------------------------------
# Step 4: keep rule per component, statuses back onto the documents


_META = pa.schema([(POSITION, pa.int64()), ("id", pa.string()), ("quality", pa.float64()), ("length", pa.int64()),
                   ("_root", pa.int64())])


def _meta_rows(table: pa.Table) -> pa.Table:
    return _conform(table, _META)


def _component_rows(table: pa.Table) -> pa.Table:
    """(position, root) for every node of a component: leaves and their roots."""
    edges = table.filter(pc.greater_equal(table["a"], 0))
    a, b = _ints(edges, "a"), _ints(edges, "b")
    return _conform(pa.table({POSITION: np.concatenate([a, b]), "_root": np.concatenate([b, b])}), _META)


_MEMBERS = pa.schema([("root", pa.int64()), (POSITION, pa.int64()), ("id", pa.string()), ("quality", pa.float64()),
                      ("length", pa.int64())])


def _attach_root(table: pa.Table) -> pa.Table:
    """Grouped by position: the documents' keep-rule columns meet their component's root."""
    labelled = pc.is_valid(table["_root"]).to_numpy(zero_copy_only=False)
    labels = table.filter(pa.array(labelled))
    # (position, root) pairs: a root comes once per leaf; each position has one root.
    labels = np.unique(np.stack([_ints(labels, POSITION), _ints(labels, "_root")], axis=1), axis=0)
    docs = table.filter(pa.array(~labelled))
    position = _ints(docs, POSITION)
    at = np.searchsorted(labels[:, 0], position)
    found = at < len(labels)
    found[found] = labels[at[found], 0] == position[found]
    docs = docs.filter(pa.array(found))
    columns = {"root": labels[at[found], 1], POSITION: position[found], "id": docs["id"],
               "quality": docs["quality"], "length": docs["length"]}
    return pa.table(columns, schema=_MEMBERS)


_SUMMARY = pa.schema([(POSITION, pa.int64()), (_NEAR, pa.string()), ("kind", pa.int8()), ("size", pa.int64()),
                      ("count", pa.int64()), ("root", pa.int64()), ("ids", pa.list_(pa.string()))])
_STATUS_ROW, _SIZE_ROW, _LARGEST_ROW, _TOTALS_ROW = 0, 1, 2, 3
_SUMMARY_COLUMNS = ["kind", "size", "count", "root", "ids"]


def _totals_rows(table: pa.Table) -> pa.Table:
    """One summary row per block of signatures: size = documents with shingles, count = CJK."""
    row = {"kind": [_TOTALS_ROW], "size": [int(pc.sum(table["shingled"]).as_py() or 0)],
           "count": [int(pc.sum(table["cjk"]).as_py() or 0)], "root": [0], "ids": [[]]}
    return pa.table(row, schema=_SUMMARY.remove(0).remove(0))


def _keep_rule(table: pa.Table) -> pa.Table:
    """Grouped by root: one representative per component (REPRESENTATIVE_RULE), a status for every
    other member, and summary rows for the report (size histogram; this block's 5 largest
    components with their first 10 ids in input order)."""
    root, position = _ints(table, "root"), _ints(table, POSITION)
    quality = table["quality"].to_numpy()
    length = _ints(table, "length")
    ids = table["id"].to_numpy(zero_copy_only=False)
    order = np.lexsort((position, -length, -quality, root))
    new = _group_starts(root[order])
    keeper = order[new][np.cumsum(new) - 1]
    dropped = order[~new]
    statuses = [f"dropped:dedup:near_duplicate_of:{i}" for i in ids[keeper[~new]]]

    by_position = np.lexsort((position, root))
    starts = np.flatnonzero(_group_starts(root[by_position]))
    sizes = np.diff(np.r_[starts, len(root)])
    roots = root[by_position][starts]
    hist_sizes, hist_counts = np.unique(sizes, return_counts=True)
    largest = np.lexsort((roots, -sizes))[:5]
    n_status, n_hist, n_large = len(dropped), len(hist_sizes), len(largest)
    zeros = np.zeros
    return pa.table(
        {
            POSITION: np.r_[position[dropped], zeros(n_hist + n_large, np.int64)],
            _NEAR: statuses + [None] * (n_hist + n_large),
            "kind": np.r_[zeros(n_status, np.int8), np.full(n_hist, _SIZE_ROW, np.int8), np.full(n_large, _LARGEST_ROW, np.int8)],
            "size": np.r_[zeros(n_status, np.int64), hist_sizes, sizes[largest]],
            "count": np.r_[zeros(n_status, np.int64), hist_counts, zeros(n_large, np.int64)],
            "root": np.r_[zeros(n_status + n_hist, np.int64), roots[largest]],
            "ids": [[]] * (n_status + n_hist)
            + [ids[by_position[starts[k] : starts[k] + min(sizes[k], 10)]].tolist() for k in largest],
        },
        schema=_SUMMARY,
    )


def _status_rows(table: pa.Table, schema: pa.Schema) -> pa.Table:
    return _conform(table.filter(pc.equal(table["kind"], _STATUS_ROW)).select([POSITION, _NEAR]), schema)


def _summary_rows(table: pa.Table) -> pa.Table:
    return table.filter(pc.not_equal(table["kind"], _STATUS_ROW)).select(_SUMMARY_COLUMNS)


def _apply_statuses(table: pa.Table, columns: list[str]) -> pa.Table:
    """Grouped by position: documents take the near-dedup status meant for them."""
    is_status = pc.is_valid(table[_NEAR]).to_numpy(zero_copy_only=False)
    updates = table.filter(pa.array(is_status))
    docs = table.filter(pa.array(~is_status))
    target = _ints(updates, POSITION)
    order = np.argsort(target)
    target = target[order]
    position = _ints(docs, POSITION)
    at = np.searchsorted(target, position)
    found = at < len(target)
    found[found] = target[at[found]] == position[found]
    status = docs[STATUS].to_numpy(zero_copy_only=False).astype(object)
    status[found] = updates[_NEAR].to_numpy(zero_copy_only=False)[order][at[found]]
    docs = docs.set_column(docs.column_names.index(STATUS), STATUS, pa.array(status, pa.string()))
    return docs.select(columns)


def near_dedup_dataset(
    ds: ray.data.Dataset, params: dict, partitions: int | None = None, max_rounds: int = 64
) -> tuple[ray.data.Dataset, dict]:
    """Every row of `ds` with `status` ("" kept, or `dropped:dedup:near_duplicate_of:<id>` of its
    component's representative), and the report dict of `minhash._report`."""
    near = asdict(dedup_settings(params).near)
    index = NearDuplicateIndex(**near)  # fixes the banding
    partitions = partitions or _default_partitions()
    ds = ds.materialize()  # read twice below (signatures, final join): run the upstream plan once
    schema = _document_schema(ds, pa.field(_NEAR, pa.string()))
    docs = ds.map_batches(_prepare, fn_kwargs={"schema": schema}, **_ARROW)

    near_items = tuple(sorted(near.items()))
    signatures = docs.map_batches(_signature_rows, fn_kwargs={"near_items": near_items}, **_ARROW).materialize()
    summary = signatures.map_batches(_totals_rows, **_ARROW)
    statuses = None
    if signatures.count():
        edges = (
            signatures.map_batches(_band_rows, fn_kwargs={"key_width": 1 + index.lsh.r}, **_ARROW)
            .repartition(partitions, keys=[_KEY])
            .map_batches(_bucket_edges, **_WHOLE_BLOCKS)
            .materialize()
        )
        if edges.count():
            stars = _components(edges, partitions, max_rounds)
            kept = (
                signatures.map_batches(_meta_rows, **_ARROW)
                .union(stars.map_batches(_component_rows, **_ARROW))
                .repartition(partitions, keys=[POSITION])
                .map_batches(_attach_root, **_WHOLE_BLOCKS)
                .repartition(partitions, keys=["root"])
                .map_batches(_keep_rule, **_WHOLE_BLOCKS)
                .materialize()
            )
            summary = summary.union(kept.map_batches(_summary_rows, **_ARROW))
            statuses = kept.map_batches(_status_rows, fn_kwargs={"schema": schema}, **_ARROW)

    out = docs if statuses is None else docs.union(statuses).repartition(partitions, keys=[POSITION])
    out = out.map_batches(_apply_statuses, fn_kwargs={"columns": schema.names[:-1]}, **_WHOLE_BLOCKS)
    return out, _report(index, signatures.count(), summary.take_all())


def _report(index: NearDuplicateIndex, documents: int, summary: list[dict]) -> dict:
    """minhash._report's dict, from the per-block summary rows of _totals_rows and _keep_rule."""
    sizes: dict[int, int] = {}
    shingled = sum(row["size"] for row in summary if row["kind"] == _TOTALS_ROW)
    cjk = sum(row["count"] for row in summary if row["kind"] == _TOTALS_ROW)
    for row in summary:
        if row["kind"] == _SIZE_ROW:
            sizes[row["size"]] = sizes.get(row["size"], 0) + row["count"]
    largest = sorted((row for row in summary if row["kind"] == _LARGEST_ROW), key=lambda r: (-r["size"], r["root"]))[:5]
    clusters = sum(sizes.values())
    in_clusters = sum(size * count for size, count in sizes.items())
    dropped = in_clusters - clusters
    return {
        "documents_in": documents,
        "documents_kept": documents - dropped,
        "near_duplicates_dropped": dropped,
        "clusters": clusters,
        "documents_in_clusters": in_clusters,
        "cluster_sizes": {str(size): count for size, count in sorted(sizes.items())},
        "largest_clusters": [{"size": row["size"], "ids": [str(i) for i in row["ids"]]} for row in largest],
        **report_settings(index, documents, cjk, documents - shingled),
    }

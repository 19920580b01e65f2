"""Reading a table's columns straight from its Delta snapshot, without a SQL session.

What a writer reads before it writes (the crawl units and contracts already in the lake, the
crawl journal): the values of a few columns, counted or distinct, through guarded delta-rs
calls. A table that does not exist reads as empty.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable

from attestlake.lake.delta import guarded, is_table, open_table
from attestlake.lake.object_store import LakeRoot
from attestlake.lake.tables import Table


def column_values(
    root: LakeRoot, table: Table, column: str, *, where: tuple[str, str] | None = None
) -> set[str]:
    """The distinct non-null values of ``column``, optionally of rows where a column equals a value."""
    if not is_table(root, table):
        return set()
    columns = [column, where[0]] if where else [column]
    rows = guarded(
        root,
        table,
        "read",
        lambda: open_table(root, table).to_pyarrow_dataset().to_table(columns=columns).to_pylist(),
    )
    return {
        r[column]
        for r in rows
        if r[column] is not None and (where is None or r[where[0]] == where[1])
    }


def distinct_rows(
    root: LakeRoot, table: Table, columns: Sequence[str], *, opened: DeltaTable | None = None
) -> set[tuple[Any, ...]]:
    """The distinct combinations of ``columns`` in ``table`` (none if it does not exist); a
    column the table does not have (a lake written by an older version) reads as NULL.
    ``opened``: the table as its cheap checks opened it (it exists then)."""
    return set(count_rows(root, table, columns, opened=opened))


def count_rows(
    root: LakeRoot, table: Table, columns: Sequence[str], *, opened: DeltaTable | None = None
) -> dict[tuple[Any, ...], int]:
    """How many rows of ``table`` hold each combination of ``columns`` (none if the table does
    not exist); a column the table does not have reads as NULL. ``opened``: the table as its
    cheap checks opened it (it exists then, and is not opened again)."""
    if opened is None and not is_table(root, table):
        return {}

    def read() -> list[dict[str, Any]]:
        dataset = (opened or open_table(root, table)).to_pyarrow_dataset()
        have = [c for c in columns if c in dataset.schema.names]
        if not have:
            return [{"count_all": dataset.count_rows()}]
        data = dataset.to_table(columns=have)
        rows: list[dict[str, Any]] = data.group_by(have).aggregate([([], "count_all")]).to_pylist()
        return rows

    rows = guarded(root, table, "read", read)
    return {
        tuple(row.get(c) for c in columns): int(row["count_all"])
        for row in rows
        if row["count_all"]
    }


#: Rows read at a time by :func:`column_slices`.
SLICE_ROWS = 65_536


def column_slices(
    snapshot: Any, columns: Mapping[str, pa.DataType], rows: int = SLICE_ROWS
) -> Iterator[pa.RecordBatch]:
    """``columns`` of every live data file of ``snapshot`` (a Delta table's current snapshot
    as an Arrow dataset), ``rows`` rows at a time, each column cast to its type (files may
    hold strings as views or large strings) or NULL where a file has not got it (written by
    an older version).

    Parquet's batch reader decodes a few pages at a time: a few MB at once however many rows
    a table or one of its row groups has. Arrow's dataset scanner decodes whole row groups
    ahead, hundreds of MB for a few columns of ``sbom_components`` at 100k runs.
    """
    for fragment in snapshot.get_fragments():
        with fragment.filesystem.open_input_file(fragment.path) as raw:
            parquet = pq.ParquetFile(raw)
            have = [c for c in columns if c in parquet.schema_arrow.names]
            if not have:
                yield _typed(pa.record_batch({"": pa.nulls(parquet.metadata.num_rows)}), columns)
                continue
            for read in parquet.iter_batches(batch_size=rows, columns=have):
                yield _typed(read, columns)


def _typed(read: pa.RecordBatch, columns: Mapping[str, pa.DataType]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [
            read.column(name).cast(kind)
            if name in read.schema.names
            else pa.nulls(read.num_rows, kind)
            for name, kind in columns.items()
        ],
        names=list(columns),
    )

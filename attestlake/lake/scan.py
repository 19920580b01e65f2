"""Reading a table's columns straight from its Delta snapshot, without a SQL session.

What a writer reads before it writes (the crawl units and contracts already in the lake, the
crawl journal): the values of a few columns, counted or distinct, through guarded delta-rs
calls. A table that does not exist reads as empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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

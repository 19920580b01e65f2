"""DuckDB sessions over the tables a re-evaluation reads back from a lake (and from its
scratch lake): ``blobs``, ``verifications``, ``attestations``, ``published_documents``.

Each session's working memory is bounded (:mod:`attestlake.lake.session_memory`) and spills
to a private directory: what it reads grows with the lake's history. A local lake's tables
are read by DuckDB's own Parquet reader (its memory counted in the bound; the files checked
first, as every lake session checks them); a lake in object storage's through delta-rs as
Arrow datasets.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from attestlake.lake.delta import guarded, intact_tables, is_table, open_table
from attestlake.lake.lake import table_view
from attestlake.lake.object_store import LakeRoot, ObjectLake
from attestlake.lake.session_memory import WORK_MEMORY, bound, spilling
from attestlake.lake.table_schema import Table

if TYPE_CHECKING:
    import pyarrow.dataset as ds

__all__ = ["kept_session", "kept_sql"]

_KEPT_SQL = Path(__file__).with_name("kept_sql")


def kept_sql(name: str) -> str:
    """The SQL file ``kept_sql/<name>.sql``."""
    return (_KEPT_SQL / f"{name}.sql").read_text(encoding="utf-8")


def _kept_dataset(root: LakeRoot, table: Table) -> pa.Table | ds.Dataset:
    """``table`` of the lake at ``root`` to scan, with every column of its schema (NULL in
    the files of a version that did not write it); an empty table if it has none."""
    if not is_table(root, table):
        return table.schema.empty_table()
    dataset = guarded(root, table, "read", open_table(root, table).to_pyarrow_dataset)
    missing = [f for f in table.schema if f.name not in dataset.schema.names]
    for column in missing:
        dataset = dataset.replace_schema(dataset.schema.append(column))
    return dataset


@contextlib.contextmanager
def kept_session(
    tables: Mapping[str, tuple[LakeRoot, Table]], limit: str = WORK_MEMORY
) -> Iterator[Any]:
    """A DuckDB connection with each table of ``tables`` (the lake it is read from, and the
    table) under its name, with every column of the table's schema; its memory bounded by
    ``limit``."""
    import duckdb  # here: a crawl that re-evaluates nothing never loads it

    with spilling(limit) as memory:
        con = duckdb.connect()
        try:
            if memory is not None:
                bound(con, memory)
            live: dict[Path, dict[str, Any]] = {}
            for name, (root, table) in tables.items():
                if isinstance(root, ObjectLake):
                    con.register(name, _kept_dataset(root, table))
                    continue
                files = live.setdefault(root, intact_tables(root.resolve())).get(table.name, ())
                con.sql(table_view(table, files, name=name))
            yield con
        finally:
            con.close()

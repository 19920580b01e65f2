"""DuckDB sessions over the tables a re-evaluation reads back from a lake (and from its
scratch lake): ``blobs``, ``verifications``, ``attestations``, ``published_documents``.

Each session's working memory is bounded (:mod:`attestlake.lake.session_memory`) and spills
to a private directory: what it reads grows with the lake's history.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from attestlake.lake.delta import guarded, is_table, open_table
from attestlake.lake.object_store import LakeRoot
from attestlake.lake.session_memory import bound, spilling
from attestlake.lake.table_schema import Table

if TYPE_CHECKING:
    import pyarrow.dataset as ds

__all__ = ["kept_dataset", "kept_session", "kept_sql"]

_KEPT_SQL = Path(__file__).with_name("kept_sql")


def kept_sql(name: str) -> str:
    """The SQL file ``kept_sql/<name>.sql``."""
    return (_KEPT_SQL / f"{name}.sql").read_text(encoding="utf-8")


def kept_dataset(root: LakeRoot, table: Table) -> pa.Table | ds.Dataset:
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
def kept_session(tables: Mapping[str, pa.Table | ds.Dataset]) -> Iterator[Any]:
    """A DuckDB connection with each of ``tables`` registered under its name, its working
    memory bounded."""
    import duckdb  # here: a crawl that re-evaluates nothing never loads it

    with spilling() as memory:
        con = duckdb.connect()
        try:
            if memory is not None:
                bound(con, memory)
            for name, data in tables.items():
                con.register(name, data)
            yield con
        finally:
            con.close()

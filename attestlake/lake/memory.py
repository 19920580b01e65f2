"""A lake held in memory: the lake's own tables, filled with rows not yet written anywhere.

The collector evaluates a contract's policies on the run it is about to sign
(:mod:`attestlake.audit.push_policies`): the run's rows, made by the crawler's own normalisers,
go into a :class:`~attestlake.lake.lake.Lake` whose tables have exactly the lake's schemas
(:mod:`attestlake.lake.tables`), so a policy reads the same shapes at push as over a crawled
lake. The session is locked like an opened lake's: statements only read, and SQL gets no
file, network or extension access at all.

Every in-memory lake of a process is a connection to one locked DuckDB database, its tables
temporary views that only that connection sees: opening a database costs more than
evaluating a run's policies.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from attestlake.lake.lake import Lake, derived_views, empty_relation, lock_session
from attestlake.lake.tables import TABLES

#: What the lake's errors name as its location.
IN_MEMORY = Path("<the run being pushed>")


_database: duckdb.DuckDBPyConnection | None = None
_opening = threading.Lock()


def _locked_database() -> duckdb.DuckDBPyConnection:
    """The process's database for in-memory lakes: UTC, no file, network or extension
    access, its configuration locked."""
    global _database
    with _opening:
        if _database is None:
            con = duckdb.connect(":memory:")
            con.sql("SET TimeZone = 'UTC'")
            lock_session(con, ())
            _database = con
        return _database


def memory_lake(rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> Lake:
    """A read-only lake with every table of the lake, holding ``rows`` (by table name; a
    column a row lacks is NULL). KeyError for a table the lake does not have."""
    unknown = set(rows) - {t.name for t in TABLES}
    if unknown:
        raise KeyError(f"not tables of the lake: {', '.join(sorted(unknown))}")
    con = _locked_database().cursor()
    try:
        views = []
        for table in TABLES:
            given = rows.get(table.name)
            if not given:  # most tables: typed and empty, nothing to hand over
                views.append(f'CREATE TEMP VIEW "{table.name}" AS {empty_relation(table)}')
                continue
            con.register(
                f"_{table.name}_rows", pa.Table.from_pylist(list(given), schema=table.schema)
            )
            views.append(f'CREATE TEMP VIEW "{table.name}" AS SELECT * FROM "_{table.name}_rows"')  # noqa: S608
        con.execute(";\n".join([*views, derived_views(temporary=True)]))
    except BaseException:
        con.close()
        raise
    return Lake(IN_MEMORY, con)

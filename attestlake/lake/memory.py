"""A lake held in memory: the lake's own tables, filled with rows not yet written anywhere.

The collector evaluates a contract's policies on the run it is about to sign
(:mod:`attestlake.audit.push_policies`): the run's rows, made by the crawler's own normalisers,
go into a :class:`~attestlake.lake.lake.Lake` whose tables have exactly the lake's schemas
(:mod:`attestlake.lake.tables`), so a policy reads the same shapes at push as over a crawled
lake. The session is locked like an opened lake's: statements only read, and SQL gets no
file, network or extension access at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from attestlake.lake.lake import DERIVED_VIEWS, Lake, empty_relation, lock_session
from attestlake.lake.tables import TABLES

#: What the lake's errors name as its location.
IN_MEMORY = Path("<the run being pushed>")


def memory_lake(rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> Lake:
    """A read-only lake with every table of the lake, holding ``rows`` (by table name; a
    column a row lacks is NULL). KeyError for a table the lake does not have."""
    unknown = set(rows) - {t.name for t in TABLES}
    if unknown:
        raise KeyError(f"not tables of the lake: {', '.join(sorted(unknown))}")
    con = duckdb.connect(":memory:")
    try:
        con.sql("SET TimeZone = 'UTC'")
        views = []
        for table in TABLES:
            given = rows.get(table.name)
            if not given:  # most tables: typed and empty, nothing to hand over
                views.append(f'CREATE VIEW "{table.name}" AS {empty_relation(table)}')
                continue
            con.register(
                f"_{table.name}_rows", pa.Table.from_pylist(list(given), schema=table.schema)
            )
            views.append(f'CREATE VIEW "{table.name}" AS SELECT * FROM "_{table.name}_rows"')  # noqa: S608
        views += [f'CREATE VIEW "{name}" AS {body}' for name, body in DERIVED_VIEWS.items()]
        con.execute(";\n".join(views))
        lock_session(con, ())
    except BaseException:
        con.close()
        raise
    return Lake(IN_MEMORY, con)

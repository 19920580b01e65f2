"""The saved queries in other engines' SQL: DuckDB SQL transpiled with sqlglot.

The saved queries are written for DuckDB; :func:`in_dialect` gives one in Spark SQL (or Trino,
...) for teams that run their engines over the same Delta tables (docs/lake.md). Parameters
(``$name``) become the target's named parameters (``:name`` in Spark SQL). What sqlglot cannot
translate faithfully is an error naming the query, never a silently different query: a DuckDB
function the target does not have (sqlglot passes unknown functions through unchanged, so the
written query, read back as the target's SQL, must call none it does not know).
"""

from __future__ import annotations

from attestlake.audit.query_files import SavedQuery
from attestlake.errors import QueryError

#: The dialects ``query show --dialect`` offers (sqlglot names).
DIALECTS = ("duckdb", "spark", "databricks", "trino", "bigquery", "snowflake")


def in_dialect(query: SavedQuery, dialect: str) -> str:
    """``query``'s SQL in ``dialect`` (see the module doc)."""
    if dialect not in DIALECTS:
        raise QueryError(f"unknown SQL dialect {dialect!r}; one of: {', '.join(DIALECTS)}")
    if dialect == "duckdb":
        return query.sql
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ErrorLevel, SqlglotError

    try:
        out = sqlglot.transpile(
            query.sql,
            read="duckdb",
            write=dialect,
            pretty=True,
            unsupported_level=ErrorLevel.RAISE,
        )
    except SqlglotError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise QueryError(
            f"query {query.name} cannot be written in {dialect} SQL: {first}"
        ) from None
    if len(out) != 1:
        raise QueryError(f"query {query.name}: expected one statement, sqlglot wrote {len(out)}")
    unknown = sorted(
        {f.name for f in sqlglot.parse_one(out[0], read=dialect).find_all(exp.Anonymous)}
    )
    if unknown:
        raise QueryError(
            f"query {query.name} cannot be written in {dialect} SQL: it calls "
            f"{', '.join(unknown)}, which {dialect} does not have (as far as sqlglot knows); "
            "run it in DuckDB, or port those calls by hand"
        )
    return out[0] + "\n"

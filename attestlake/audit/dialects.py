"""The saved queries in other engines' SQL: DuckDB SQL transpiled with sqlglot.

The saved queries are written for DuckDB; :func:`in_dialect` gives one in Spark SQL (or Trino,
...) for teams that run their engines over the same Delta tables (docs/lake.md). Parameters
(``$name``) become the target's named parameters (``:name`` in Spark SQL). What sqlglot cannot
translate faithfully is an error naming the query, never a silently different query: a DuckDB
function the target does not have (sqlglot passes unknown functions through unchanged, so the
written query, read back as the target's SQL, must call none it does not know).

For Spark (and Databricks), DuckDB's ``to_hours(n)`` is written as ``n * INTERVAL '1' HOUR``;
``date_diff('minute', a, b)`` (the minute boundaries between a and b; also second, hour, day)
as ``timestampdiff`` of both truncated to the minute, since Spark's counts whole minutes
elapsed; ``string_agg(DISTINCT x, sep ORDER BY x)`` as
``array_join(array_sort(collect_set(x)), sep)`` (NULL for no values, as DuckDB gives): Spark's
``listagg(DISTINCT x) WITHIN GROUP (ORDER BY x)`` fails with an internal error when the same
aggregation has another DISTINCT aggregate (``count(DISTINCT y)``). In every dialect, a
CTE's ``MATERIALIZED`` or ``NOT MATERIALIZED`` (how DuckDB should hold it) is left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from attestlake.audit.query_files import SavedQuery
from attestlake.errors import QueryError

if TYPE_CHECKING:
    from sqlglot import exp

#: The dialects ``query show --dialect`` offers (sqlglot names).
DIALECTS = ("duckdb", "spark", "databricks", "trino", "bigquery", "snowflake")
_SPARK = ("spark", "databricks")
#: The units whose DuckDB ``date_diff`` (boundaries crossed) is the difference of the values
#: truncated to the unit.
_TRUNCATED_UNITS = ("SECOND", "MINUTE", "HOUR", "DAY")


def in_dialect(query: SavedQuery, dialect: str) -> str:
    """``query``'s SQL in ``dialect`` (see the module doc)."""
    return transpile(query.sql, dialect, f"query {query.name}")


def transpile(sql: str, dialect: str, what: str) -> str:
    """DuckDB ``sql`` (one statement, called ``what`` in errors) in ``dialect``."""
    if dialect not in DIALECTS:
        raise QueryError(f"unknown SQL dialect {dialect!r}; one of: {', '.join(DIALECTS)}")
    if dialect == "duckdb":
        return sql
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ErrorLevel, SqlglotError

    try:
        trees = [t for t in sqlglot.parse(sql, read="duckdb") if t is not None]
        if len(trees) != 1:
            raise QueryError(f"{what}: expected one statement, sqlglot read {len(trees)}")
        tree = trees[0].transform(_without_materialization)
        if dialect in _SPARK:
            tree = tree.transform(_sorted_distinct_join).transform(_spark_calls)
        out = [tree.sql(dialect=dialect, pretty=True, unsupported_level=ErrorLevel.RAISE)]
    except SqlglotError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise QueryError(f"{what} cannot be written in {dialect} SQL: {first}") from None
    unknown = sorted(
        {f.name for f in sqlglot.parse_one(out[0], read=dialect).find_all(exp.Anonymous)}
    )
    if unknown:
        raise QueryError(
            f"{what} cannot be written in {dialect} SQL: it calls "
            f"{', '.join(unknown)}, which {dialect} does not have (as far as sqlglot knows); "
            "run it in DuckDB, or port those calls by hand"
        )
    return out[0] + "\n"


def _without_materialization(node: exp.Expression) -> exp.Expression:
    """A CTE without DuckDB's ``[NOT] MATERIALIZED``: a hint about memory, not about rows,
    that the other dialects do not parse; any other node unchanged."""
    from sqlglot import exp

    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node = node.copy()
        node.set("materialized", None)
    return node


def _sorted_distinct_join(node: exp.Expression) -> exp.Expression:
    """``string_agg(DISTINCT x, sep ORDER BY x)`` as Spark's sorted ``collect_set`` joined
    (see the module doc); any other node unchanged."""
    import sqlglot
    from sqlglot import exp

    order = node.this if isinstance(node, exp.GroupConcat) else None
    if not isinstance(order, exp.Order) or not isinstance(order.this, exp.Distinct):
        return node
    values, keys = order.this.expressions, order.expressions
    if len(values) != 1 or len(keys) != 1 or keys[0].args.get("desc") or keys[0].this != values[0]:
        return node
    value = values[0].sql("spark")
    separator = (node.args.get("separator") or exp.Literal.string(",")).sql("spark")
    joined = sqlglot.parse_one(
        f"CASE WHEN SIZE(COLLECT_SET({value})) = 0 THEN NULL "
        f"ELSE ARRAY_JOIN(ARRAY_SORT(COLLECT_SET({value})), {separator}) END",
        read="spark",
    )
    assert isinstance(joined, exp.Expression)
    return joined


def _spark_calls(node: exp.Expression) -> exp.Expression:
    """DuckDB's ``to_hours(n)`` and ``date_diff`` in Spark SQL (see the module doc)."""
    from sqlglot import exp

    if isinstance(node, exp.DateDiff) and node.args.get("date_part_boundary"):
        unit = str(node.unit).upper() if node.unit else ""
        if unit not in _TRUNCATED_UNITS:
            return node
        late = exp.TimestampTrunc(this=node.this, unit=exp.Var(this=unit))
        early = exp.TimestampTrunc(this=node.expression, unit=exp.Var(this=unit))
        return exp.DateDiff(this=late, expression=early, unit=exp.Var(this=unit))
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "to_hours":
        if len(node.expressions) != 1:
            return node
        hour = exp.Interval(this=exp.Literal.string("1"), unit=exp.Var(this="HOUR"))
        return exp.Mul(this=exp.Paren(this=node.expressions[0]), expression=hour)
    return node

"""The saved queries in other engines' SQL (sqlglot): every one is written in Spark SQL,
reads back as Spark SQL, and keeps its parameters as named parameters."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from attestlake.audit.dialects import DIALECTS, in_dialect, transpile
from attestlake.audit.query_files import load_queries
from attestlake.errors import QueryError
from attestlake.lake.lake import DERIVED_VIEWS
from attestlake.lake.tables import TABLES
from tests.integration.cli_helpers import run_cli

QUERIES = load_queries()
#: Saved queries that call DuckDB functions Spark has no equivalent of (sqlglot's knowledge).
DUCKDB_ONLY = {
    "component_search": "ERROR, LIST_RESIZE",
    "non_compliant_workflows": "ERROR",
}
PORTABLE = [q for q in QUERIES if q.name not in DUCKDB_ONLY]


@pytest.mark.parametrize("query", PORTABLE, ids=[q.name for q in PORTABLE])
def test_every_portable_saved_query_is_written_in_spark_sql(query: object) -> None:
    from attestlake.audit.query_files import SavedQuery

    assert isinstance(query, SavedQuery)
    spark = in_dialect(query, "spark")
    (tree,) = sqlglot.parse(spark, read="spark")  # one statement, valid Spark SQL
    assert tree is not None
    names = {p.name for p in tree.find_all(exp.Placeholder)}
    assert names == {p.name for p in query.params}
    assert not any(f"${p.name}" in spark for p in query.params)  # no DuckDB parameter left
    # the tables read are the lake's, under the same names
    tables = {t.name for t in tree.find_all(exp.Table)}
    ctes = {c.alias for c in tree.find_all(exp.CTE)}
    assert tables - ctes <= {t.name for t in TABLES} | set(DERIVED_VIEWS)


@pytest.mark.parametrize(("name", "calls"), sorted(DUCKDB_ONLY.items()))
def test_a_query_spark_cannot_run_is_refused_naming_the_calls(name: str, calls: str) -> None:
    (query,) = [q for q in QUERIES if q.name == name]
    with pytest.raises(QueryError, match=f"it calls {calls}, which spark does not have"):
        in_dialect(query, "spark")


def test_duckdb_is_the_query_as_written_and_an_unknown_dialect_is_refused() -> None:
    query = QUERIES[0]
    assert in_dialect(query, "duckdb") == query.sql
    with pytest.raises(QueryError, match="one of: duckdb, spark"):
        in_dialect(query, "cobol")
    assert "spark" in DIALECTS


def test_query_show_dialect(tmp_path: Path) -> None:
    out = run_cli(tmp_path, "query", "show", "missing_sbom_digests", "--dialect", "spark")
    assert out.code == 0, out.err
    assert ":since" in out.out and "$since" not in out.out
    assert not out.out.startswith("missing_sbom_digests:")  # only the SQL
    bad = run_cli(tmp_path, "query", "show", "missing_sbom_digests", "--dialect", "cobol")
    assert bad.code == 2 and "spark" in bad.err


@pytest.mark.parametrize("dialect", ["spark", "trino"])
def test_a_ctes_materialization_is_left_out_of_other_dialects(dialect: str) -> None:
    """DuckDB's ``[NOT] MATERIALIZED`` says how to hold a CTE, not what it holds: the other
    dialects do not parse it, so it is left out and the rest kept."""
    sql = (
        "WITH a AS MATERIALIZED (SELECT 1 AS x), b AS NOT MATERIALIZED (SELECT x FROM a), "
        "c AS (SELECT x FROM b) SELECT x FROM a UNION ALL SELECT x FROM c"
    )
    out = transpile(sql, dialect, "the test's query")
    assert "MATERIALIZED" not in out.upper()
    tree = sqlglot.parse_one(out, read=dialect)
    assert [cte.alias for cte in tree.find_all(exp.CTE)] == ["a", "b", "c"]
    assert tree == sqlglot.parse_one(
        sql.replace(" NOT MATERIALIZED", "").replace(" MATERIALIZED", ""), read="duckdb"
    )

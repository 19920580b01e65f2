"""The in-memory lake the collector evaluates a run's policies in: the lake's tables, the run's
rows only, read-only, no file access; several in one process never see each other's rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from attestlake.audit.policies import evaluate
from attestlake.audit.query_files import SavedQuery, parse_query
from attestlake.errors import LakeError, QueryError
from attestlake.lake.memory import memory_lake
from attestlake.lake.tables import TABLES


def _run(run_id: str) -> dict[str, object]:
    return {"run_id": run_id, "manifest_digest": "sha256:" + "a" * 64, "workflow": "build"}


def test_every_table_is_there_typed_and_empty_unless_given() -> None:
    with memory_lake({"runs": [_run("r1")]}) as lake:
        for table in TABLES:
            names = lake.sql(f'SELECT * FROM "{table.name}" LIMIT 0').column_names
            assert names == table.schema.names, table.name
        assert lake.sql("SELECT run_id FROM runs").to_pylist() == [{"run_id": "r1"}]
        assert lake.sql("SELECT count(*) AS n FROM materials").to_pylist() == [{"n": 0}]


def test_two_lakes_at_once_and_one_after_another_see_only_their_own_rows() -> None:
    with memory_lake({"runs": [_run("first")]}) as first:
        with memory_lake({"runs": [_run("second")]}) as second:
            assert second.sql("SELECT run_id FROM runs").to_pylist() == [{"run_id": "second"}]
        assert first.sql("SELECT run_id FROM runs").to_pylist() == [{"run_id": "first"}]
    with memory_lake({}) as empty:
        assert empty.sql("SELECT count(*) AS n FROM runs").to_pylist() == [{"n": 0}]


@pytest.mark.parametrize(
    "statement",
    [
        "COPY (SELECT 1) TO '{out}'",
        "SELECT * FROM read_text('/etc/passwd')",
        "SET enable_external_access = true",
        "CREATE TABLE t AS SELECT 1",
    ],
)
def test_it_cannot_write_read_files_or_unlock(statement: str, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    with memory_lake({}) as lake, pytest.raises(LakeError):
        lake.sql(statement.format(out=out))
    assert not out.exists()
    with memory_lake({"runs": [_run("r")]}) as lake:  # a refused statement changed nothing
        assert lake.sql("SELECT run_id FROM runs").to_pylist() == [{"run_id": "r"}]


def test_a_row_for_a_table_the_lake_does_not_have_is_refused() -> None:
    with pytest.raises(KeyError, match="not tables of the lake: nope"):
        memory_lake({"nope": [{}]})


def _policy(name: str, sql: str) -> SavedQuery:
    header = f"-- title: {name}\n-- description: d\n-- severity: high\n-- gate: true\n"
    return parse_query(header + sql, Path(f"{name}.sql"))


VIOLATING = _policy(
    "every_run_violates", "SELECT run_id, project, workflow, 'bad' AS violation FROM runs"
)


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE OR REPLACE TEMP VIEW runs AS SELECT * FROM runs WHERE false",
        "CREATE TEMP MACRO lower(x) AS x",
        "EXPLAIN SELECT run_id, project, workflow, 'x' AS violation FROM runs",
    ],
)
def test_a_policy_cannot_change_what_the_policies_after_it_read(sql: str) -> None:
    """Policies share a session (at push, in policy eval, in the gate): one that is not a single
    SELECT is refused before it runs, so it cannot hide the runs from the next one."""
    with memory_lake({"runs": [_run("r1")]}) as lake:
        with pytest.raises(QueryError, match="a policy is one SELECT statement"):
            evaluate(lake, [_policy("shadow", sql), VIOLATING])
        (result,) = evaluate(lake, [VIOLATING])
        assert result.violations == 1  # nothing was left behind

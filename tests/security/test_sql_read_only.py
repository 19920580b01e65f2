"""Attacks on the lake through SQL: no statement of a SQL session writes a file or unlocks
the session (``attestlake sql``, ``Lake.sql``, the interactive prompt, saved queries)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attestlake.errors import LakeError
from attestlake.lake.lake import Lake
from attestlake.lake.shell import Shell
from tests.integration.cli_helpers import run_cli
from tests.security.lake_fixtures import build, copy, count_runs, listing, log_entry, runs_files

READ_ONLY = "the lake is read-only in SQL sessions"


@pytest.fixture(scope="module")
def committed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("readonly"))[1]


@pytest.fixture
def lake(committed: Path, tmp_path: Path) -> Path:
    return copy(committed, tmp_path / "lake")


def _writes(lake: Path, outside: Path) -> dict[str, str]:
    """Every way DuckDB offers to write a file or change the session, by name."""
    inside = lake / "runs"
    return {
        "copy_parquet_into_lake": f"COPY (SELECT * FROM runs) TO '{inside}/forged.parquet' (FORMAT parquet)",
        "copy_csv_into_lake": f"COPY (SELECT * FROM runs) TO '{inside}/forged.csv' (FORMAT csv)",
        "copy_json_into_lake": f"COPY (SELECT * FROM runs) TO '{inside}/forged.json' (FORMAT json)",
        "copy_parquet_outside": f"COPY (SELECT 1 AS a) TO '{outside}/out.parquet' (FORMAT parquet)",
        "copy_csv_outside": f"COPY (SELECT 1 AS a) TO '{outside}/out.csv'",
        "copy_table_to_file": f"COPY runs TO '{inside}/forged2.parquet'",
        "copy_from_file": f"COPY runs FROM '{inside}/forged.csv'",
        "copy_database": "COPY FROM DATABASE memory TO other",
        "export_database": f"EXPORT DATABASE '{outside}/export'",
        "export_into_lake": f"EXPORT DATABASE '{inside}/export' (FORMAT parquet)",
        "attach_new_file": f"ATTACH '{outside}/new.duckdb' AS other",
        "attach_in_lake": f"ATTACH '{inside}/new.duckdb' AS other",
        "create_table": "CREATE TABLE t AS SELECT * FROM runs",
        "create_view_shadowing_runs": "CREATE OR REPLACE VIEW runs AS SELECT 1 AS run_id",
        "create_macro": "CREATE MACRO m(a) AS a",
        "create_temp_table": "CREATE TEMP TABLE t AS SELECT * FROM runs",
        "create_table_in_temp_disguise": "CREATE /* TEMP VIEW */ TABLE t AS SELECT 1",
        "create_secret": "CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')",
        "insert": "INSERT INTO runs (run_id) VALUES ('forged')",
        "update": "UPDATE runs SET status = 'success'",
        "delete": "DELETE FROM runs",
        "drop_view": "DROP VIEW runs",
        "alter": "ALTER VIEW runs RENAME TO r",
        "set_allowed_directories": "SET allowed_directories = ['/']",
        "set_external_access": "SET enable_external_access = true",
        "set_temp_directory": f"SET temp_directory = '{inside}'",
        "set_lock_configuration": "SET lock_configuration = false",
        "reset_lock": "RESET lock_configuration",
        "set_profiling_output": f"SET profiling_output = '{inside}/profile.json'",
        "pragma_profiling": "PRAGMA enable_profiling = 'json'",
        "pragma_call": "PRAGMA table_info('runs')",
        "install": "INSTALL httpfs",
        "force_install": "FORCE INSTALL sqlite",
        "load": "LOAD httpfs",
        "load_file": f"LOAD '{outside}/ext.duckdb_extension'",
        "call_checkpoint": "CALL checkpoint()",
        "checkpoint": "CHECKPOINT",
        "vacuum": "VACUUM",
        "prepare": f"PREPARE p AS COPY runs TO '{inside}/p.parquet'",
        "transaction": "BEGIN TRANSACTION",
        "use": "USE memory",
        "detach": "DETACH memory",
        "set_variable": "SET VARIABLE x = 1",
        "explain_analyze_copy": f"EXPLAIN ANALYZE COPY runs TO '{inside}/e.parquet'",
        "explain_analyze_options_copy": f"EXPLAIN (ANALYZE) COPY runs TO '{inside}/e.parquet'",
        "explain_comment_copy": f"EXPLAIN /* x */ ANALYZE -- y\nCOPY runs TO '{inside}/e.parquet'",
        "select_then_copy": f"SELECT 1; COPY (SELECT * FROM runs) TO '{inside}/forged.parquet'",
        "comment_hides_copy": f"SELECT 1 /* ; */ ; COPY runs TO '{inside}/c.parquet' -- ;",
        "update_extensions": "UPDATE EXTENSIONS",
    }


WRITES = sorted(_writes(Path("/l"), Path("/o")))


@pytest.mark.attack("forgery")
@pytest.mark.parametrize("name", WRITES)
def test_lake_sql_refuses_every_write_statement(lake: Path, tmp_path: Path, name: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    before = listing(lake)
    with Lake.open(lake) as opened:
        with pytest.raises(LakeError, match=READ_ONLY):
            opened.sql(_writes(lake, outside)[name])
        assert opened.sql("SELECT count(*) AS n FROM runs").column("n")[0].as_py() == 4
        setting = "SELECT current_setting('lock_configuration') AS v"
        assert opened.sql(setting).column("v")[0].as_py() is True
    assert listing(lake) == before
    assert list(outside.iterdir()) == []


@pytest.mark.attack("forgery")
@pytest.mark.parametrize(
    "name", ["copy_parquet_into_lake", "export_database", "attach_new_file", "select_then_copy"]
)
def test_sql_command_refuses_writes_with_exit_1(lake: Path, tmp_path: Path, name: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    before = listing(lake)
    r = run_cli(tmp_path, "sql", "--lake", str(lake), _writes(lake, outside)[name])
    assert r.code == 1, r.err
    assert r.err.startswith(f"error: {READ_ONLY}"), r.err
    assert "Traceback" not in r.err
    assert listing(lake) == before
    assert list(outside.iterdir()) == []


@pytest.mark.attack("forgery")
def test_sql_file_with_a_copy_after_selects_runs_nothing(lake: Path, tmp_path: Path) -> None:
    script = tmp_path / "audit.sql"
    script.write_text(
        "-- looks like an audit\nSELECT count(*) FROM runs;\n"
        f"COPY (SELECT * FROM runs) TO '{lake}/runs/forged.parquet';\nSELECT 1;\n"
    )
    before = listing(lake)
    r = run_cli(tmp_path, "sql", "--lake", str(lake), "--file", str(script))
    assert r.code == 1 and READ_ONLY in r.err and r.out == ""
    assert listing(lake) == before


@pytest.mark.attack("forgery")
def test_interactive_prompt_refuses_writes_and_goes_on(lake: Path) -> None:
    out: list[str] = []
    err: list[str] = []
    lines = iter(
        [
            f"COPY runs TO '{lake}/runs/forged.parquet';",
            "SET enable_external_access = true;",
            "SELECT count(*) AS n FROM runs;",
        ]
    )

    def read(prompt: str) -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    before = listing(lake)
    with Lake.open(lake) as opened:
        Shell(opened, out.append, err.append, "csv").run(read)
    assert len(err) == 2 and all(READ_ONLY in e for e in err)
    assert out == ["n\n4\n"] or out[-1].strip().splitlines() == ["n", "4"]
    assert listing(lake) == before


@pytest.mark.attack("forgery")
def test_forged_run_through_copy_and_a_hand_written_log_entry_is_impossible(
    lake: Path, tmp_path: Path
) -> None:
    """The attack of the issue: COPY a forged row into runs/ as Parquet, then add a log entry
    for it. The COPY is refused, so the log entry points at nothing and the lake says so."""
    forged = lake / "runs" / "run_date=2024-05-01" / "forged.parquet"
    r = run_cli(
        tmp_path,
        "sql",
        "--lake",
        str(lake),
        "COPY (SELECT * REPLACE ('forged-run' AS run_id, 'success' AS status) FROM runs "
        f"LIMIT 1) TO '{forged}' (FORMAT parquet)",
    )
    assert r.code == 1 and READ_ONLY in r.err
    assert not forged.exists()
    entry = {
        "add": {
            "path": "run_date=2024-05-01/forged.parquet",
            "partitionValues": {"run_date": "2024-05-01"},
            "size": 1000,
            "modificationTime": 0,
            "dataChange": True,
        }
    }
    log_entry(lake, 5).write_text(json.dumps(entry) + "\n")
    r = run_cli(tmp_path, "sql", "--lake", str(lake), "SELECT count(*) FROM runs")
    assert r.code == 1
    assert "runs/run_date=2024-05-01/forged.parquet: data file is missing" in r.err
    log_entry(lake, 5).unlink()
    assert count_runs(lake) == 4
    assert len(runs_files(lake)) == 4


@pytest.mark.attack("forgery")
def test_read_statements_and_saved_queries_still_run(lake: Path, tmp_path: Path) -> None:
    with Lake.open(lake) as opened:
        for sql in (
            "SELECT count(*) FROM runs",
            "FROM runs SELECT run_id",
            "WITH r AS (SELECT * FROM runs) SELECT * FROM r",
            "VALUES (1)",
            "DESCRIBE runs",
            "SHOW TABLES",
            "SUMMARIZE runs",
            "EXPLAIN SELECT * FROM runs",
            "EXPLAIN ANALYZE SELECT * FROM runs",
            "SELECT * FROM current_inventory",
            "CREATE TEMP VIEW mine AS SELECT run_id FROM runs",
            "CREATE OR REPLACE TEMPORARY MACRO twice(a) AS a * 2",
            "SELECT twice(count(*)) FROM mine",
        ):
            opened.sql(sql)
    r = run_cli(tmp_path, "report", "--lake", str(lake), "--format", "json")
    assert r.code == 0, r.err
    r = run_cli(tmp_path, "query", "run", "failing_runs", "--lake", str(lake))
    assert r.code == 0, r.err

"""More attacks on the lake through SQL: statements disguised so that the read-only check
and DuckDB's parser disagree about what they are, and the DuckDB connection used directly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from attestlake.errors import LakeError
from attestlake.lake.lake import Lake
from tests.integration.cli_helpers import run_cli
from tests.security.lake_fixtures import build, copy, count_runs, listing, log_entry

READ_ONLY = "the lake is read-only in SQL sessions"
PARTITION = "run_date=2024-05-01"


@pytest.fixture(scope="module")
def committed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("readonly-more"))[1]


@pytest.fixture
def lake(committed: Path, tmp_path: Path) -> Path:
    return copy(committed, tmp_path / "lake")


def _hidden(statement: str) -> str:
    """``statement`` behind EXPLAIN ANALYZE, inside a nested comment: DuckDB's comments nest,
    so it ends at the second ``*/`` and DuckDB runs ``statement``; a reader that ends the
    comment at the first ``*/`` sees a SELECT of a quoted alias."""
    return f'EXPLAIN ANALYZE /* /* */ SELECT 1 AS "*/ {statement} -- "'


def _disguises(lake: Path) -> dict[str, str]:
    target = f"{lake}/runs/{PARTITION}/forged.parquet"
    copy_runs = f"COPY (SELECT * FROM runs) TO '{target}' (FORMAT parquet)"
    return {
        "explain_analyze_nested_comment": _hidden(copy_runs),
        "explain_options_nested_comment": (
            f'EXPLAIN (ANALYZE) /* /* */ SELECT 1 AS "*/ {copy_runs} -- "'
        ),
        "explain_nested_comment_before_analyze": (
            f'EXPLAIN /* /* */ SELECT 1 AS "*/ ANALYZE {copy_runs} -- "'
        ),
        "create_temp_nested_comment_table": "CREATE TEMP /* /* */ VIEW */ TABLE t AS SELECT 1",
        "create_nested_comment_temp": "CREATE /* /* */ TEMP VIEW */ TABLE t AS SELECT 1",
    }


DISGUISES = sorted(_disguises(Path("/l")))


@pytest.mark.attack("forgery")
@pytest.mark.parametrize("name", DISGUISES)
def test_nested_comments_do_not_disguise_a_write_as_a_read(lake: Path, name: str) -> None:
    before = listing(lake)
    with Lake.open(lake) as opened:
        with pytest.raises(LakeError, match=READ_ONLY):
            opened.sql(_disguises(lake)[name])
        assert opened.sql("SELECT count(*) AS n FROM runs").column("n")[0].as_py() == 4
    assert listing(lake) == before


@pytest.mark.attack("forgery")
def test_forged_run_through_explain_analyze_in_a_nested_comment_is_impossible(
    lake: Path, tmp_path: Path
) -> None:
    """The whole forgery: a Parquet file of a forged run, then the Delta log entry that adds
    it, each written by a COPY hidden behind EXPLAIN ANALYZE."""
    forged = lake / "runs" / PARTITION / "forged.parquet"
    row = (
        "SELECT * EXCLUDE (run_date) REPLACE ('forged-run' AS run_id, 'success' AS status) "
        "FROM runs LIMIT 1"
    )
    r = run_cli(
        tmp_path,
        "sql",
        "--lake",
        str(lake),
        _hidden(f"COPY ({row}) TO '{forged}' (FORMAT parquet)"),
    )
    assert r.code == 1, r.err
    assert r.err.startswith(f"error: {READ_ONLY}"), r.err
    assert not forged.exists()
    entry = (
        f"SELECT {{'path': '{PARTITION}/forged.parquet', 'partitionValues': "
        "{'run_date': '2024-05-01'}, 'size': 4000, 'modificationTime': 0, "
        "'dataChange': true} AS add"
    )
    r = run_cli(
        tmp_path,
        "sql",
        "--lake",
        str(lake),
        _hidden(f"COPY ({entry}) TO '{log_entry(lake, 5)}' (FORMAT json)"),
    )
    assert r.code == 1, r.err
    assert not log_entry(lake, 5).exists()
    assert count_runs(lake) == 4


@pytest.mark.attack("forgery")
@pytest.mark.parametrize(
    "where",
    ["runs/run_date=2024-05-01/forged.parquet", "runs/_delta_log/00000000000000000005.json"],
)
def test_lake_connection_itself_cannot_write_into_the_lake(lake: Path, where: str) -> None:
    """``Lake.con`` is DuckDB's own connection (no statement check): its file access is the
    lake's live data files, read only; nothing can be created or replaced in the lake."""
    before = listing(lake)
    with Lake.open(lake) as opened:
        with pytest.raises(Exception, match="disabled by configuration"):
            opened.con.sql(f"COPY (SELECT * FROM runs) TO '{lake / where}' (FORMAT parquet)")
        live = next(iter(opened._files))
        with pytest.raises(Exception, match="disabled by configuration"):
            opened.con.sql(f"COPY (SELECT * FROM runs LIMIT 0) TO '{live}' (FORMAT parquet)")
        assert opened.sql("SELECT count(*) AS n FROM runs").column("n")[0].as_py() == 4
    assert listing(lake) == before
    assert count_runs(lake) == 4


@pytest.mark.attack("forgery")
def test_read_statements_with_comments_and_explain_options_still_run(lake: Path) -> None:
    with Lake.open(lake) as opened:
        for sql in (
            "EXPLAIN /* plan */ SELECT 1",
            "EXPLAIN ANALYZE -- timing\nSELECT count(*) FROM runs",
            "EXPLAIN (ANALYZE, FORMAT json) SELECT * FROM runs",
            "explain analyse select 1",
            "EXPLAIN /* a /* nested */ comment */ SELECT 1",
            "CREATE /* mine */ OR REPLACE TEMPORARY VIEW v AS SELECT * FROM runs",
            "create temp macro twice(a) as a * 2",
            "SELECT twice(count(*)) FROM v",
        ):
            opened.sql(sql)
    assert os.path.isdir(lake / "runs")


def _live_runs_file(lake: Path) -> Path:
    with Lake.open(lake) as opened:
        return Path(next(p for p, (table, _) in opened._files.items() if table == "runs"))


def _outputs(lake: Path) -> dict[str, list[str]]:
    """Commands that write their result where ``--output`` says, aimed into the lake."""
    live = _live_runs_file(lake)
    forged = f"SELECT * REPLACE ('success' AS status) FROM read_parquet('{live}')"
    return {
        "sql_parquet_over_a_live_file": ["sql", forged, "--format", "parquet", "-o", str(live)],
        "sql_json_as_a_log_entry": [
            "sql",
            "SELECT 1 AS add",
            "--format",
            "json",
            "-o",
            str(log_entry(lake, 5)),
        ],
        "query_run_into_a_partition": [
            "query",
            "run",
            "failing_runs",
            "--format",
            "parquet",
            "-o",
            str(lake / "runs" / PARTITION / "forged.parquet"),
        ],
        "report_into_the_log": ["report", "-o", str(lake / "runs" / "_delta_log" / "r.json")],
        "report_through_dot_dot": [
            "report",
            "-o",
            str(lake / "runs" / ".." / "runs" / "_delta_log" / "00000000000000000005.json"),
        ],
    }


@pytest.mark.attack("forgery")
@pytest.mark.parametrize(
    "name",
    [
        "sql_parquet_over_a_live_file",
        "sql_json_as_a_log_entry",
        "query_run_into_a_partition",
        "report_into_the_log",
        "report_through_dot_dot",
    ],
)
def test_output_into_the_lake_is_refused(lake: Path, tmp_path: Path, name: str) -> None:
    """``--output`` never writes into the lake it reads: replacing a live data file would
    change what the tables say, a new log entry would add rows."""
    args = _outputs(lake)[name]
    before = listing(lake)
    r = run_cli(tmp_path, *args, "--lake", str(lake))
    assert r.code == 1, (r.out, r.err)
    assert "inside the lake" in r.err and "Traceback" not in r.err, r.err
    assert listing(lake) == before
    assert count_runs(lake) == 4


@pytest.mark.attack("forgery")
def test_output_through_a_symlink_into_the_lake_is_refused(lake: Path, tmp_path: Path) -> None:
    (tmp_path / "reports").symlink_to(lake / "runs")
    before = listing(lake)
    r = run_cli(
        tmp_path,
        "sql",
        "--lake",
        str(lake),
        "SELECT 1 AS a",
        "-o",
        "reports/x.parquet",
        "--format",
        "parquet",
    )
    assert r.code == 1 and "inside the lake" in r.err, r.err
    assert listing(lake) == before
    r = run_cli(tmp_path, "sql", "--lake", str(lake), "SELECT 1 AS a", "-f", "csv", "-o", "o.csv")
    assert r.code == 0, r.err
    assert (tmp_path / "o.csv").read_text() == "a\n1\n"

"""Results in Python: Lake.query / Lake.sql, Polars and Arrow, relative durations, writing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from attestlake._internal._atomic import write_atomic
from attestlake._internal.durations import is_time_param, relative_duration, resolve
from attestlake.audit.queries import AuditLake as Lake
from attestlake.audit.queries import QueryResult, bind_params
from attestlake.audit.query_files import get_query
from attestlake.errors import InputError, LakeError, QueryError
from attestlake.lake.results import check_output, param_text
from tests.lakefactory import raw_lake

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
DIGEST = "sha256:" + "d" * 64

RUNS_SINCE = """\
-- title: Runs since
-- description: Runs started at or after a moment; names are untrusted <b>data</b>.
-- severity: medium
-- param: since = 1970-01-01 : runs started on or after this date
SELECT run_id, workflow, started_at FROM runs
WHERE started_at >= CAST($since AS TIMESTAMPTZ) ORDER BY started_at
"""


def run(n: int, started: datetime, workflow: str = "build") -> dict[str, object]:
    return {
        "run_id": f"run-{n}",
        "manifest_digest": f"sha256:{n}" + "0" * 63,
        "project": "payments",
        "workflow": workflow,
        "started_at": started,
        "run_date": started.date().isoformat(),
    }


@pytest.fixture
def qdir(tmp_path: Path) -> Path:
    d = tmp_path / "queries"
    d.mkdir()
    (d / "runs_since.sql").write_text(RUNS_SINCE, encoding="utf-8")
    return d


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[Lake]:
    runs = [
        run(1, NOW - timedelta(days=40)),
        run(2, NOW - timedelta(days=10), "<script>alert('x')</script>"),
        run(3, NOW - timedelta(hours=6)),
    ]
    with Lake.open(raw_lake(tmp_path / "lake", {"runs": runs})) as opened:
        yield opened


# -- relative durations --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30 days", timedelta(days=30)),
        ("1 day", timedelta(days=1)),
        ("12 hours", timedelta(hours=12)),
        ("2w", timedelta(weeks=2)),
        ("90 Minutes ago", timedelta(minutes=90)),
        ("  45s ", timedelta(seconds=45)),
        ("2024-05-01", None),
        ("30 dayz", None),
        ("-3 days", None),
        ("days", None),
    ],
)
def test_relative_duration(text: str, expected: timedelta | None) -> None:
    assert relative_duration(text) == expected


def test_resolve_relative_absolute_and_refused() -> None:
    assert resolve("30 days", NOW) == "2024-05-02T12:00:00Z"
    assert resolve("12 hours", NOW) == "2024-06-01T00:00:00Z"
    assert resolve("2024-05-01", NOW) == "2024-05-01"
    assert resolve("2024-05-01T10:00:00Z", NOW) == "2024-05-01T10:00:00Z"
    with pytest.raises(ValueError, match="not a date"):
        resolve("'; DROP TABLE runs; --", NOW)


@pytest.mark.parametrize(
    ("name", "default", "expected"),
    [
        ("since", None, True),
        ("window_start", "2024-01-01", True),
        ("first_seen_at", None, True),
        ("build_date", "x", True),
        ("project", None, False),
        ("package", "pkg:npm/lodash", False),
        ("days", "30", False),
    ],
)
def test_time_parameters(name: str, default: str | None, expected: bool) -> None:
    assert is_time_param(name, default) is expected


def test_bind_params_resolves_durations_of_time_parameters_only(qdir: Path) -> None:
    q = get_query("runs_since", qdir)
    assert bind_params(q, {"since": "7 days"}, now=NOW) == {"since": "2024-05-25T12:00:00Z"}
    assert bind_params(q, now=NOW) == {"since": "1970-01-01"}
    project = get_query("missing_sbom_digests")
    assert bind_params(project, {"since": "1 week"}, now=NOW)["since"] == "2024-05-25T12:00:00Z"


def test_a_bad_time_value_is_refused_before_any_sql_runs(qdir: Path) -> None:
    q = get_query("runs_since", qdir)
    with pytest.raises(QueryError, match=r"parameter since='last tuesday'.*'30 days'"):
        bind_params(q, {"since": "last tuesday"}, now=NOW)


# -- Lake.query and Lake.sql ---------------------------------------------------------------
def test_lake_query_with_a_relative_duration(lake: Lake, qdir: Path) -> None:
    result = lake.query("runs_since", directory=qdir, now=NOW, since="30 days")
    assert isinstance(result, QueryResult)
    assert result.params == {"since": "2024-05-02T12:00:00Z"}
    assert [r["run_id"] for r in result.rows] == ["run-2", "run-3"]
    assert lake.query("runs_since", directory=qdir, now=NOW, since="12 hours").count == 1
    assert lake.query("runs_since", directory=qdir, since=None).count == 3  # None: default


def test_lake_query_accepts_python_values(lake: Lake, qdir: Path) -> None:
    by_datetime = lake.query("runs_since", directory=qdir, since=NOW - timedelta(days=11))
    assert by_datetime.params == {"since": "2024-05-21T12:00:00Z"}
    assert by_datetime.count == 2
    assert lake.query("runs_since", directory=qdir, since=date(2024, 5, 31)).count == 1
    by_delta = lake.query("runs_since", directory=qdir, now=NOW, since=timedelta(hours=7))
    assert by_delta.params == {"since": "2024-06-01T05:00:00Z"}
    with pytest.raises(QueryError, match="cannot use a list value"):
        lake.query("runs_since", directory=qdir, since=["2024-01-01"])


def test_lake_query_errors_are_clear(lake: Lake, qdir: Path) -> None:
    with pytest.raises(QueryError, match=r"no saved query 'nope'.*known queries: runs_since"):
        lake.query("nope", directory=qdir)
    with pytest.raises(QueryError, match="no parameter projekt; accepted: since"):
        lake.query("runs_since", directory=qdir, projekt="x")


def test_results_as_polars_and_arrow(lake: Lake, qdir: Path) -> None:
    result = lake.query("runs_since", directory=qdir)
    frame = result.pl()
    assert isinstance(frame, pl.DataFrame)
    assert frame.columns == ["run_id", "workflow", "started_at"] == result.to_polars().columns
    assert frame["run_id"].to_list() == ["run-1", "run-2", "run-3"]
    assert isinstance(result.arrow(), pa.Table) and result.to_arrow().num_rows == 3

    assert lake.sql("SELECT 1 AS one").to_pylist() == [{"one": 1}]  # Arrow, as before
    polars_frame = lake.sql("SELECT run_id FROM runs ORDER BY run_id", as_="polars")
    assert isinstance(polars_frame, pl.DataFrame)
    assert polars_frame["run_id"].to_list() == ["run-1", "run-2", "run-3"]
    assert lake.sql("SELECT 1 AS a WHERE false", as_="polars").shape == (0, 1)
    with pytest.raises(LakeError, match="as_ must be"):
        lake.sql("SELECT 1", as_="pandas")  # type: ignore[call-overload]


def test_notebook_display_is_escaped_html(lake: Lake, qdir: Path) -> None:
    shown = lake.query("runs_since", directory=qdir)._repr_html_()
    assert "<script>" not in shown and "&lt;script&gt;alert(&#x27;x&#x27;)" in shown
    assert "<b>data</b>" not in shown and "&lt;b&gt;data&lt;/b&gt;" in shown
    assert "<strong>Runs since</strong>" in shown and ">medium</span>" in shown
    assert "since=1970-01-01" in shown and "3 rows × 3 columns" in shown


def test_param_text() -> None:
    assert param_text("a", "x") == "x"
    assert param_text("a", True) == "true"
    assert param_text("a", 3) == "3"
    assert param_text("a", datetime(2024, 5, 1, 12, 0)) == "2024-05-01T12:00:00Z"
    assert param_text("a", timedelta(days=1)) == "86400 seconds"


# -- writing results -----------------------------------------------------------------------
def test_write_formats(lake: Lake, qdir: Path, tmp_path: Path) -> None:
    result = lake.query("runs_since", directory=qdir)
    parquet = result.write(tmp_path / "out" / "runs.parquet", "parquet")
    assert pq.read_table(parquet).column("run_id").to_pylist() == ["run-1", "run-2", "run-3"]
    csv_path = result.write(tmp_path / "runs.csv", "csv")
    assert csv_path.read_text().splitlines()[0] == "run_id,workflow,started_at"
    assert result.format("json").startswith("[")
    with pytest.raises(InputError, match="unknown output format"):
        result.write(tmp_path / "x.xml", "xml")


def test_write_atomic_replaces_whole_files_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["report.html"]


def test_write_atomic_failure_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "dir-not-file"
    target.mkdir()
    with pytest.raises(InputError, match="cannot write"):
        write_atomic(target, b"data")
    assert target.is_dir() and list(target.iterdir()) == []
    assert sorted(os.listdir(tmp_path)) == ["dir-not-file"]


def test_check_output() -> None:
    check_output("csv", None)
    check_output("parquet", Path("x.parquet"))
    with pytest.raises(InputError, match=r"--output FILE\.parquet"):
        check_output("parquet", None)
    with pytest.raises(InputError, match="one of: table, json, csv, parquet"):
        check_output("xml", None)

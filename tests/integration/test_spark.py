"""Spark (PySpark in local mode, no Delta jars) reads the demo lake's tables as the files
delta-rs lists, with the types delta-rs reports, and runs the saved queries transpiled to
Spark SQL with the answers DuckDB gives (attestlake.audit.spark, docs/spark.md)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from attestlake import open_lake
from attestlake.audit.dialects import transpile
from attestlake.audit.queries import run_query
from attestlake.audit.query_files import SavedQuery, load_queries
from attestlake.audit.spark import register_lake, spark_query, table_frame
from attestlake.demo.demo import DemoResult
from attestlake.errors import LakeError, QueryError
from attestlake.lake.lake import DERIVED_VIEWS
from attestlake.lake.snapshot_files import DataFile, snapshot_files
from attestlake.lake.tables import TABLES
from tests.demo_lake import NOW

pytestmark = pytest.mark.spark

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Saved queries Spark SQL cannot express (refused by ``query show --dialect spark``).
REFUSED = {"component_search", "non_compliant_workflows"}
#: Saved queries whose answer on the demo lake is empty (no re-evaluation ran).
EMPTY_ON_DEMO = {"trust_changes"}
ON_SPARK = [q for q in load_queries() if q.name not in REFUSED]


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """One local Spark session for the module (Java 17: ``openjdk-17-jre-headless``)."""
    if shutil.which("java") is None:
        reason = "java not found: Spark needs Java 17 (apt-get install openjdk-17-jre-headless)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from pyspark.sql import SparkSession

    home = tmp_path_factory.mktemp("spark")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("attestlake-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "512m")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(home / "warehouse"))
        .config("spark.local.dir", str(home / "local"))
        # Small files (a demo lake) packed into few tasks; a JVM that starts cheaply.
        .config("spark.sql.files.openCostInBytes", "8192")
        .config(
            "spark.driver.extraJavaOptions",
            f"-Dderby.system.home={home / 'derby'} -XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
        )
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def views(spark: SparkSession, demo: DemoResult) -> list[str]:
    return register_lake(spark, demo.lake)


def _spark_type(arrow: pa.DataType) -> str:
    """The Spark SQL type an Arrow type of delta-rs's schema reads as."""
    from pyspark.sql import types as T

    simple = {
        pa.string(): T.StringType(),
        pa.large_string(): T.StringType(),
        pa.int32(): T.IntegerType(),
        pa.int64(): T.LongType(),
        pa.bool_(): T.BooleanType(),
        pa.binary(): T.BinaryType(),
        pa.large_binary(): T.BinaryType(),
        pa.float64(): T.DoubleType(),
        pa.date32(): T.DateType(),
    }
    if arrow in simple:
        return simple[arrow].simpleString()
    if pa.types.is_timestamp(arrow):
        return (T.TimestampType() if arrow.tz else T.TimestampNTZType()).simpleString()
    if pa.types.is_list(arrow) or pa.types.is_large_list(arrow):
        return f"array<{_spark_type(arrow.value_type)}>"
    if pa.types.is_struct(arrow):
        fields = ",".join(f"{f.name}:{_spark_type(f.type)}" for f in arrow)
        return f"struct<{fields}>"
    raise AssertionError(f"no Spark type expected for {arrow}")


def _plain(value: Any) -> Any:
    """A value of either engine in one form: timestamps in UTC, numbers as rounded floats,
    lists and rows as tuples."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.astimezone()).astimezone(UTC)
    if isinstance(value, float | Decimal):
        return round(float(value), 9)
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _plain(v)) for k, v in value.items()))
    if hasattr(value, "asDict"):
        return _plain(value.asDict())
    return value


def _sorted(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted((tuple(_plain(v) for v in row) for row in rows), key=repr)


def test_every_table_reads_with_the_types_and_rows_delta_rs_reports(
    spark: SparkSession, views: list[str], demo: DemoResult
) -> None:
    assert views == [*(t.name for t in TABLES), *DERIVED_VIEWS]
    with open_lake(demo.lake) as lake:
        for table in TABLES:
            delta = DeltaTable(str(demo.lake / table.name))
            arrow = pa.schema(delta.schema().to_arrow())
            frame = spark.table(table.name)
            got = [(f.name, f.dataType.simpleString()) for f in frame.schema.fields]
            assert got == [(f.name, _spark_type(f.type)) for f in arrow], table.name
            assert set(table.partition_by) <= set(frame.columns), table.name
            assert frame.count() == delta.to_pyarrow_table().num_rows, table.name
            for column in table.partition_by:  # each row has its file's partition value
                sql = f"SELECT {column}, count(*) FROM {table.name} GROUP BY {column}"
                want = lake.sql(sql).to_pylist()
                assert _sorted([tuple(r) for r in spark.sql(sql).collect()]) == _sorted(
                    [tuple(r.values()) for r in want]
                ), (table.name, column)
                # several partitions where the demo has rows (a table it leaves empty has none)
                assert len(want) != 1 or table.name in ("attestations", "verifications")


def test_a_partitioned_table_reads_row_for_row_as_duckdb_reads_it(
    spark: SparkSession, views: list[str], demo: DemoResult
) -> None:
    with open_lake(demo.lake) as lake:
        want = lake.sql("SELECT * FROM runs").to_pylist()
    got = spark.table("runs").collect()
    assert len(want) > 100
    assert _sorted([tuple(r) for r in got]) == _sorted([tuple(r.values()) for r in want])


@pytest.mark.parametrize("query", ON_SPARK, ids=[q.name for q in ON_SPARK])
def test_a_saved_query_gives_the_duckdb_answer_on_spark(
    spark: SparkSession, views: list[str], demo: DemoResult, query: SavedQuery
) -> None:
    with open_lake(demo.lake) as lake:
        want = run_query(lake, query, now=NOW).table
    got = spark_query(spark, query, now=NOW)
    assert got.columns == want.column_names
    rows = got.collect()
    assert _sorted([tuple(r) for r in rows]) == _sorted(
        [tuple(r.values()) for r in want.to_pylist()]
    )
    assert bool(rows) == (query.name not in EMPTY_ON_DEMO)


def test_parameters_are_bound_and_checked_on_spark(
    spark: SparkSession, views: list[str], demo: DemoResult
) -> None:
    (query,) = [q for q in ON_SPARK if q.name == "missing_sbom_digests"]
    every = spark_query(spark, query, now=NOW).count()
    recent = spark_query(spark, query, {"since": "2 days"}, now=NOW).count()
    assert 0 < recent < every  # the value reached the query as a bound date
    (levels,) = [q for q in ON_SPARK if q.name == "slsa_build_levels"]
    with open_lake(demo.lake) as lake:  # 4 lists every workflow, 2 (the default) fewer
        every_workflow = run_query(lake, levels, {"target_level": "4"}).table.num_rows
    assert spark_query(spark, levels, {"target_level": "4"}).count() == every_workflow
    assert spark_query(spark, levels).count() < every_workflow
    hostile = spark_query(spark, levels, {"target_level": "4 OR 1=1"}, now=NOW)
    with pytest.raises(Exception, match="CAST_INVALID_INPUT"):
        hostile.collect()  # a value Spark casts, never SQL
    with pytest.raises(QueryError, match="bad value for parameter since"):
        spark_query(spark, query, {"since": "yesterday-ish"}, now=NOW)
    with pytest.raises(QueryError, match="has no parameter sicne"):
        spark_query(spark, query, {"sicne": "2 days"}, now=NOW)


def test_the_spark_rewrites_give_duckdb_answers(spark: SparkSession) -> None:
    """date_diff counts boundaries (not whole units elapsed), to_hours is an interval, and a
    sorted distinct string_agg beside another DISTINCT aggregate is NULL for no values."""
    sql = """
        SELECT k,
            date_diff('minute', min(a), max(b)) AS minutes,
            date_diff('hour', min(a), max(b)) AS hours,
            min(a) + to_hours(max(n) + 1) AS later,
            count(DISTINCT n) AS ns,
            string_agg(DISTINCT v, ', ' ORDER BY v) AS vs
        FROM (VALUES
            ('x', TIMESTAMPTZ '2026-11-19 22:07:50+00', TIMESTAMPTZ '2026-11-20 12:00:10+00', 1, 'b'),
            ('x', TIMESTAMPTZ '2026-11-19 22:07:50+00', TIMESTAMPTZ '2026-11-20 12:00:10+00', 2, 'a'),
            ('x', TIMESTAMPTZ '2026-11-19 22:07:50+00', TIMESTAMPTZ '2026-11-20 12:00:10+00', 2, 'b'),
            ('y', TIMESTAMPTZ '2026-11-20 10:59:59+00', TIMESTAMPTZ '2026-11-20 11:00:00+00', 3, NULL)
        ) AS t(k, a, b, n, v)
        GROUP BY k
    """
    con = duckdb.connect()
    con.sql("SET TimeZone = 'UTC'")
    want = con.sql(sql).fetchall()
    got = spark.sql(transpile(sql, "spark", "test")).collect()
    assert _sorted([tuple(r) for r in got]) == _sorted(want)
    assert ("y", 1, 1) in [tuple(r)[:3] for r in got]  # one boundary crossed in one second


def test_files_outside_hive_directories_get_their_partition_values_from_the_log(
    spark: SparkSession, views: list[str], demo: DemoResult, tmp_path: Path
) -> None:
    """A lake made by an earlier version has ``runs`` partitioned by ``run_date``: its files
    do not hold the column, and the log gives each file its value."""
    from deltalake import write_deltalake

    old = shutil.copytree(demo.lake, tmp_path / "old")
    shutil.rmtree(old / "runs")
    rows = DeltaTable(str(demo.lake / "runs")).to_pyarrow_table()
    DeltaTable.create(str(old / "runs"), rows.schema, partition_by=["run_date"])
    write_deltalake(str(old / "runs"), rows, mode="append", partition_by=["run_date"])
    (runs,) = [t for t in snapshot_files(old) if t.name == "runs"]
    assert runs.partition_columns == ("run_date",) and "run_date" not in runs.data_columns
    flat = []
    for number, file in enumerate(runs.files):  # one directory, names that say nothing
        target = tmp_path / f"{number}.parquet"
        shutil.copyfile(file.path, target)
        flat.append(DataFile(str(target), file.partition, target.name))
    moved = replace(runs, directory=str(tmp_path), files=tuple(flat))
    assert runs.hive_layout and not moved.hive_layout
    got = table_frame(spark, moved).collect()
    assert _sorted([tuple(r) for r in got]) == _sorted(
        [tuple(r) for r in spark.table("runs").collect()]
    )


def test_what_cannot_be_read_is_refused_and_the_views_stay(
    spark: SparkSession, views: list[str], demo: DemoResult, tmp_path: Path
) -> None:
    before = spark.table("runs").count()
    (tmp_path / "notes.txt").write_text("not a lake")
    with pytest.raises(LakeError, match="not a lake"):
        register_lake(spark, tmp_path)
    damaged = tmp_path / "damaged"
    shutil.copytree(demo.lake, damaged)
    (victim,) = next(t for t in snapshot_files(damaged) if t.name == "materials").files[:1]
    Path(victim.path).write_bytes(Path(victim.path).read_bytes()[:100])
    with pytest.raises(LakeError, match=r"table materials, materials/.*\.parquet: data file has"):
        register_lake(spark, damaged)
    assert spark.table("runs").count() == before  # the views of the demo lake are kept
    assert "notes" not in {t.name for t in spark.catalog.listTables()}


def test_a_session_not_in_utc_is_refused(spark: SparkSession, views: list[str]) -> None:
    (query,) = [q for q in ON_SPARK if q.name == "verification_failures"]
    spark.conf.set("spark.sql.session.timeZone", "Europe/Paris")
    try:
        with pytest.raises(QueryError, match=r"set spark\.sql\.session\.timeZone to UTC"):
            spark_query(spark, query)
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")

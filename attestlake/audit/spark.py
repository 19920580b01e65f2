"""The lake in Spark, without the Delta jars: every table a temporary view, and the saved
queries run on them (docs/spark.md).

:func:`register_lake` reads each table's current snapshot as the files delta-rs lists
(:mod:`attestlake.lake.snapshot_files`): the Parquet data files with the schema the Delta log
records, each partition column restored from the log's partition values of each file, since
the files do not hold it. A cluster with the delta-spark jars reads the same tables with
``spark.read.format("delta").load(path)``. :func:`spark_query` runs a saved query: its SQL
transpiled to Spark SQL (:mod:`attestlake.audit.dialects`), its parameters checked and bound
as Spark's named parameters, never pasted into the SQL.

PySpark is not a dependency of attestlake: it is imported only when these functions run, on
the ``SparkSession`` the caller gives. The saved queries are written for a UTC session (dates
of timestamps, date parameters), so a session in another time zone is refused, not given
answers shifted by its offset.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from attestlake.audit.dialects import in_dialect, transpile
from attestlake.audit.queries import bind_params
from attestlake.audit.query_files import SavedQuery
from attestlake.errors import QueryError
from attestlake.lake.lake import DERIVED_VIEWS
from attestlake.lake.snapshot_files import SnapshotTable, snapshot_files

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: Characters Hadoop reads as a glob pattern in a path (the lake's path holds no '[', ']' or
#: '\\': :func:`attestlake.lake.delta.check_path`).
_GLOB = str.maketrans({c: "\\" + c for c in "{}?*"})


def table_frame(spark: SparkSession, table: SnapshotTable) -> DataFrame:
    """``table``'s snapshot as a DataFrame with the table's schema, partition columns
    included with their values from the log, cast to the column's type.

    Files laid out in ``col=value/`` directories that say what the log says are read in one
    scan, Spark taking the values from the directory names; otherwise each set of files with
    the same partition values is read on its own, the values added as literals."""
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F
    from pyspark.sql.types import StructType

    schema = StructType.fromJson(json.loads(table.schema_json))
    if not table.files:
        return spark.createDataFrame([], schema)
    if table.hive_layout:
        paths = [f.path.translate(_GLOB) for f in table.files]
        read = spark.read.schema(schema).option("basePath", table.directory)
        return read.parquet(*paths).select(*schema.fieldNames())
    stored = StructType([f for f in schema.fields if f.name not in table.partition_columns])
    groups: dict[tuple[tuple[str, str | None], ...], list[str]] = {}
    for file in table.files:
        groups.setdefault(file.partition, []).append(file.path.translate(_GLOB))
    frames = []
    for partition, paths in groups.items():
        frame = spark.read.schema(stored).parquet(*paths)
        for column, value in partition:
            frame = frame.withColumn(column, F.lit(value).cast(schema[column].dataType))
        frames.append(frame.select(*schema.fieldNames()))
    return functools.reduce(DataFrame.unionAll, frames)


def register_lake(spark: SparkSession, lake: Path | str) -> list[str]:
    """Register every table of ``lake`` and its derived views (``current_inventory``) as
    temporary views of ``spark``, under the names the saved queries use; returns the names.

    Each view reads the snapshot current now: register again to see later crawls.
    """
    names = []
    for table in snapshot_files(lake):
        table_frame(spark, table).createOrReplaceTempView(table.name)
        names.append(table.name)
    for name, body in DERIVED_VIEWS.items():
        spark.sql(transpile(body, "spark", f"view {name}")).createOrReplaceTempView(name)
        names.append(name)
    return names


def _require_utc(spark: SparkSession) -> None:
    zone = spark.conf.get("spark.sql.session.timeZone")
    if zone not in ("UTC", "Etc/UTC", "Z", "+00:00"):
        raise QueryError(
            f"the Spark session's time zone is {zone}: the saved queries are written for UTC; "
            "set spark.sql.session.timeZone to UTC (spark.conf.set(...) or --conf)"
        )


def spark_query(
    spark: SparkSession,
    query: SavedQuery,
    params: Mapping[str, str] | None = None,
    *,
    now: datetime | None = None,
) -> DataFrame:
    """``query`` on the views of :func:`register_lake`, its parameters checked as ``query
    run`` checks them (defaults filled in, durations such as ``30 days`` before ``now``) and
    bound by Spark. QueryError for a query Spark SQL cannot express, a bad parameter value
    or a query Spark refuses."""
    from pyspark.errors import PySparkException

    _require_utc(spark)
    sql = in_dialect(query, "spark")
    values = bind_params(query, params, now=now)
    try:
        return spark.sql(sql, args=dict(values))
    except PySparkException as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise QueryError(f"query {query.name} failed on Spark: {first}") from None

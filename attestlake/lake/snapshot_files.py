"""Each table's current snapshot as plain Parquet files: what an engine without Delta reads.

A Delta table is its transaction log plus Parquet data files; the log says which files make up
the current snapshot and, for a partitioned table, each file's partition values, which the
files themselves do not hold (``runs`` is partitioned by ``run_date``: no data file has that
column). :func:`snapshot_files` lists, for every table of a lake, the live data files as
delta-rs reads the log, each with its partition values, and the table's schema as the log
records it (Spark's JSON schema format, the type names of docs/lake.md). An engine reads the
files, adds each partition column from the file's values, and has the table as a Delta reader
would (:mod:`attestlake.audit.spark` does it for Spark).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
from deltalake import DeltaTable, Schema

from attestlake.errors import LakeError
from attestlake.lake.delta import guarded, intact_tables, table_location, table_path
from attestlake.lake.location import require_lake
from attestlake.lake.structure import REWRITE_PLAIN, needs_delta_reader
from attestlake.lake.tables import TABLES, Table

#: How Hive-style directories (and Spark's partition discovery) write a NULL partition value.
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


def _hive_value(text: str) -> str | None:
    """A Hive directory's partition value as Spark's discovery reads it (each %XX one char)."""
    if text == HIVE_NULL:
        return None
    return re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m[1], 16)), text)


@dataclass(frozen=True)
class DataFile:
    """One live data file: its path and its partition values (column, value as the log
    writes it; None for a NULL partition)."""

    path: str
    partition: tuple[tuple[str, str | None], ...] = ()
    #: The path relative to the table's directory, as the log names it (decoded).
    relative: str = ""

    def in_hive_directory(self) -> bool:
        """True when the file lies in ``col=value/`` directories directly under the table
        that give exactly its partition values, so a reader that discovers partitions from
        directory names (Spark's ``basePath``) reads the values the log holds."""
        directories = Path(self.relative).parts[:-1]
        if len(directories) != len(self.partition):
            return False
        for directory, (column, value) in zip(directories, self.partition, strict=True):
            name, sep, text = directory.partition("=")
            if not sep or name != column or _hive_value(text) != value:
                return False
        return True


@dataclass(frozen=True)
class SnapshotTable:
    """One table's current snapshot: its Delta version (None: the lake has no such table
    yet, so it reads as empty), schema (the log's JSON, Spark's ``StructType`` format),
    partition columns and live data files."""

    name: str
    directory: str
    version: int | None
    schema_json: str
    partition_columns: tuple[str, ...]
    files: tuple[DataFile, ...]

    @property
    def data_columns(self) -> tuple[str, ...]:
        """The columns the data files hold: every column but the partition columns."""
        fields = json.loads(self.schema_json)["fields"]
        return tuple(f["name"] for f in fields if f["name"] not in self.partition_columns)

    @property
    def hive_layout(self) -> bool:
        """True when every file's directories give its partition values
        (:meth:`DataFile.in_hive_directory`), as delta-rs and Spark lay out a table."""
        return all(f.in_hive_directory() for f in self.files)


def _partition(
    action: dict[str, Any], columns: tuple[str, ...]
) -> tuple[tuple[str, str | None], ...]:
    values = (action.get(f"partition.{column}") for column in columns)
    return tuple((c, None if v is None else str(v)) for c, v in zip(columns, values, strict=True))


def _data_file(
    root: Path, table: Table, action: dict[str, Any], columns: tuple[str, ...]
) -> DataFile:
    relative = unquote(str(action["path"]))
    if "://" in relative or relative.startswith("/") or ".." in Path(relative).parts:
        raise LakeError(
            f"table {table.name} of the lake {root}: its log names the data file {relative!r}, "
            "outside the table's directory; 'attestlake lake check' checks the lake"
        )
    path = str(table_path(root, table) / relative)
    return DataFile(path, _partition(action, columns), relative)


def _absent(root: Path, table: Table) -> SnapshotTable:
    """A table the lake does not have yet: empty, with the schema a crawl would give it."""
    schema = Schema.from_arrow(table.schema).to_json()
    directory = str(table_path(root, table))
    return SnapshotTable(table.name, directory, None, schema, table.partition_by, ())


def _snapshot(root: Path, table: Table) -> SnapshotTable:
    delta = guarded(root, table, "read", lambda: DeltaTable(table_location(root, table)))
    refused = needs_delta_reader(delta)
    if refused is not None:
        raise LakeError(f"table {table.name} of the lake {root}: {refused}; {REWRITE_PLAIN}")
    columns = tuple(delta.metadata().partition_columns)
    actions = pa.table(delta.get_add_actions(flatten=True)).to_pylist()
    files = tuple(
        _data_file(root, table, a, columns) for a in sorted(actions, key=lambda a: str(a["path"]))
    )
    directory = str(table_path(root, table))
    schema = delta.schema().to_json()
    return SnapshotTable(table.name, directory, delta.version(), schema, columns, files)


def snapshot_files(root: Path | str) -> list[SnapshotTable]:
    """The current snapshot of every table of the lake at ``root``, in the order of
    :data:`attestlake.lake.tables.TABLES` (a table the lake does not have yet is empty, as in
    a lake session). LakeError for a path that is no lake, and one naming every damaged table
    and file (the checks every lake session runs first)."""
    lake = Path(root).absolute()
    require_lake(lake)
    present = intact_tables(lake)
    return [_snapshot(lake, t) if t.name in present else _absent(lake, t) for t in TABLES]

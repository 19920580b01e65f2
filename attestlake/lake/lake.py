"""The attestation lake: Delta tables on disk, read through DuckDB.

Each table (:mod:`attestlake.lake.tables`) is a Delta Lake table (Parquet data files plus a
``_delta_log``) in ``LAKE/<table>/``, readable by any Delta or Parquet engine.
:meth:`Lake.open` gives a DuckDB connection with one view per table; the lake is written by
:mod:`attestlake.lake.write`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, Self, overload

import duckdb
import pyarrow as pa

from attestlake.errors import LakeError
from attestlake.lake.delta import damaged, guarded, intact_states, intact_tables, open_table
from attestlake.lake.fan_out import each_table
from attestlake.lake.location import object_lake, require_lake
from attestlake.lake.maintained_views import (
    MAINTAINED,
    MAINTAINED_BY_NAME,
    current_states,
    current_tables,
)
from attestlake.lake.object_store import LakeRoot, ObjectLake, lake_root
from attestlake.lake.read_only import refuse_writes
from attestlake.lake.results import to_polars
from attestlake.lake.session_memory import MemoryBound, bound
from attestlake.lake.sql_errors import public_message
from attestlake.lake.structure import RESTORE, LakeListing, LiveFile, Problem, TableState
from attestlake.lake.tables import TABLES, Table

if TYPE_CHECKING:
    import polars
    import pyarrow.dataset as ds


def _unreadable(
    root: LakeRoot, table: str, files: Sequence[LiveFile], exc: duckdb.Error
) -> LakeError:
    """The LakeError for a table whose data files DuckDB cannot open: names the first file
    whose Parquet footer does not read (or the one DuckDB's message names)."""
    import pyarrow.parquet as pq

    message = str(exc).splitlines()[0]
    bad = next((f for f in files if str(f.path) in str(exc)), None)
    for live in files if bad is None else ():
        try:
            pq.ParquetFile(live.path).metadata  # noqa: B018
        except Exception:  # pyarrow raises ArrowInvalid, OSError, ... on a damaged file
            bad = live
            break
    where = bad.relative if bad is not None else f"{table}/"
    return damaged(
        root,
        [
            Problem(
                table,
                where,
                f"data file cannot be read ({message})",
                RESTORE,
            )
        ],
    )


#: Views derived from the tables, defined in every lake session (documented in docs/lake.md):
#: the current inventory, then the maintained tables (:mod:`attestlake.lake.maintained_views`)
#: as their definitions compute them.
DERIVED_VIEWS = {
    # The current inventory: the highest revision of each inventory name.
    "current_inventory": (
        "SELECT * FROM inventory "
        "QUALIFY revision = max(revision) OVER (PARTITION BY inventory_name)"
    ),
    **{m.name: m.sql for m in MAINTAINED},
}


def derived_views(*, temporary: bool = False, written: Mapping[str, str] | None = None) -> str:
    """The statements that define :data:`DERIVED_VIEWS` over a session's tables (temporary
    views: only the session's own connection sees them). ``written``: a relation that reads
    a maintained table's current rows, by name, used instead of its definition."""
    kind = "TEMP VIEW" if temporary else "VIEW"
    bodies = {**DERIVED_VIEWS, **(written or {})}
    return ";\n".join(f'CREATE {kind} "{name}" AS {body}' for name, body in bodies.items())


def _written_relation(name: str, files: Sequence[LiveFile]) -> str:
    """A relation over the data files of the maintained table ``name`` (none: no rows, with
    the columns of its definition)."""
    if not files:
        return f"SELECT * FROM ({DERIVED_VIEWS[name]}) AS d WHERE false"  # noqa: S608
    listed = ", ".join(_literal(str(f.path)) for f in files)
    return f"SELECT * FROM read_parquet([{listed}], hive_partitioning = false)"  # noqa: S608


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


#: DuckDB's name for each Arrow type the lake's tables use.
_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.large_binary(): "BLOB",
    pa.timestamp("us", tz="UTC"): "TIMESTAMP WITH TIME ZONE",
}


def duckdb_type(kind: pa.DataType) -> str:
    """DuckDB's name for the Arrow type ``kind`` of a lake column (LakeError for another)."""
    try:
        return _DUCKDB_TYPES[kind]
    except KeyError:
        raise LakeError(f"no DuckDB type is known for the lake column type {kind}") from None


def _typed_columns(table: Table) -> str:
    """``CAST(NULL AS <type>) AS "<column>", ...`` for every column of ``table``, in order,
    with DuckDB's name for each Arrow type."""
    return ", ".join(f'CAST(NULL AS {duckdb_type(f.type)}) AS "{f.name}"' for f in table.schema)


def empty_relation(table: Table) -> str:
    """A SELECT of no rows with exactly ``table``'s columns and types."""
    return f"SELECT {_typed_columns(table)} WHERE false"


def _partition_columns(table: Table, files: Sequence[LiveFile]) -> list[str]:
    """The table's columns that its files' directories hold (``run_date=2026-11-20/``): the
    partitions of a table written before tables were unpartitioned, in schema order."""
    named = {
        part.split("=", 1)[0]
        for f in files
        for part in f.relative.split("/")[1:-1]  # between the table's directory and the file
        if "=" in part
    }
    return [c for c in table.schema.names if c in named]


#: Each data file's schema as DuckDB reads it from the file's footer, numbered: files of one
#: number have the same columns, in the same order, of the same types.
_FILE_SCHEMAS = """
SELECT file_name, dense_rank() OVER (ORDER BY columns) AS schema_number
FROM (
    SELECT
        file_name,
        list(
            (name, type, type_length, repetition_type, num_children, converted_type, scale,
                precision, field_id, logical_type, duckdb_type)
            ORDER BY column_id
        ) AS columns
    FROM parquet_schema($files)
    GROUP BY file_name
)
"""


def _one_schema(con: duckdb.DuckDBPyConnection, live: Mapping[str, Sequence[LiveFile]]) -> set[str]:
    """The tables of ``live`` whose data files all have one schema (each footer read once,
    then kept by the session's metadata cache). None of them when a footer does not read:
    every view then reads its files by column name, and the damaged file is found there."""
    files = [str(f.path) for listed in live.values() for f in listed]
    if not files:
        return set()
    try:
        numbered = dict(con.execute(_FILE_SCHEMAS, {"files": files}).fetchall())
    except duckdb.Error:
        return set()
    schemas = {name: {numbered.get(str(f.path)) for f in listed} for name, listed in live.items()}
    return {name for name, found in schemas.items() if len(found) == 1 and None not in found}


def table_view(
    table: Table, files: Sequence[LiveFile], one_schema: bool = False, name: str | None = None
) -> str:
    """A view (named ``name``, by default the table's name) with exactly the table's schema
    over the live Parquet files of its snapshot.

    The typed empty relation on the left fixes column names, order and types; files written
    before a column was added simply have NULLs there. Files of several schemas are read by
    column name (``union_by_name``, which reads every file's footer whenever a query binds
    the view); files that all have one schema (``one_schema``) are read as the first one is.
    """
    empty = empty_relation(table)
    view = (name or table.name).replace('"', '""')
    if not files:
        return f'CREATE VIEW "{view}" AS {empty}'
    hive = ", ".join(f"{_literal(c)}: VARCHAR" for c in _partition_columns(table, files))
    listed = ", ".join(_literal(str(f.path)) for f in files)
    scan = (
        f"read_parquet([{listed}], "
        + ("" if one_schema and not hive else "union_by_name = true, ")
        + (
            f"hive_partitioning = true, hive_types = {{{hive}}}"
            if hive
            else "hive_partitioning = false"
        )
        + ")"
    )
    return (
        f'CREATE VIEW "{view}" AS {empty} '  # noqa: S608
        f"UNION ALL BY NAME SELECT * FROM {scan}"
    )


def lock_session(con: duckdb.DuckDBPyConnection, files: Sequence[str]) -> None:
    """Lock ``con``'s configuration with file access limited to ``files``.

    DuckDB reads the lake's Parquet files itself (the live files of each Delta snapshot); SQL
    gets no other file or network access, and cannot change that. Only those files are
    allowed, not the lake's directory: a file can be read, and nothing can be created or
    replaced in the lake.
    """
    allowed = ", ".join(_literal(path) for path in files)
    con.sql(f"SET allowed_paths = [{allowed}]")
    con.sql("SET enable_external_access = false")
    con.sql("SET autoinstall_known_extensions = false")
    con.sql("SET autoload_known_extensions = false")
    con.sql("SET lock_configuration = true")


def _connect(memory: MemoryBound | None = None) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection for a lake session: times in UTC, and each data
    file's Parquet metadata read once per session (the files of a Delta snapshot never
    change; every query that reads a table binds its view, which reads every file's footer
    again without the cache); bounded by ``memory`` when given."""
    con = duckdb.connect(":memory:")
    con.sql("SET TimeZone = 'UTC'")
    con.sql("SET parquet_metadata_cache = true")
    if memory is not None:
        bound(con, memory)
    return con


def _snapshot(root: ObjectLake, table: Table, state: TableState) -> ds.Dataset:
    """``table``'s current snapshot, from the handle its cheap checks opened (``state``)."""
    opened = state.delta if state.delta is not None else open_table(root, table)
    return opened.to_pyarrow_dataset()


def _object_session(
    root: ObjectLake, listed: LakeListing, memory: MemoryBound | None = None, derived: bool = True
) -> duckdb.DuckDBPyConnection:
    """A session over a lake in object storage: each table's current snapshot, read by
    delta-rs as an Arrow dataset, registered in DuckDB under a view of the table's schema. The
    session has no file or network access of its own (:func:`lock_session` with no file).
    ``listed``: the lake's objects, the one listing every table's checks read."""
    live = intact_states(root, listed)
    present = [t for t in TABLES if t.name in live]
    datasets = each_table(
        root,
        lambda t: guarded(root, t, "read", partial(_snapshot, root, t, live[t.name])),
        present,
    )
    current = current_states(root, listed) if derived else {}
    maintained = [MAINTAINED_BY_NAME[name].table for name in current]
    written_sets = each_table(root, lambda t: _snapshot(root, t, current[t.name]), maintained)
    con = _connect(memory)
    try:
        opened = dict(zip([t.name for t in present], datasets, strict=True))
        for table in TABLES:
            empty = empty_relation(table)
            if table.name not in opened:
                con.sql(f'CREATE VIEW "{table.name}" AS {empty}')
                continue
            con.register(f"_{table.name}_snapshot", opened[table.name])
            con.sql(
                f'CREATE VIEW "{table.name}" AS {empty} '  # noqa: S608
                f'UNION ALL BY NAME SELECT * FROM "_{table.name}_snapshot"'
            )
        written = {}
        for table, dataset in zip(maintained, written_sets, strict=True):
            con.register(f"_{table.name}_snapshot", dataset)
            written[table.name] = f'SELECT * FROM "_{table.name}_snapshot"'  # noqa: S608
        if derived:
            con.execute(derived_views(written=written))
        lock_session(con, [])
    except BaseException:
        con.close()
        raise
    return con


#: DuckDB errors that come from reading files rather than from the SQL itself.
_READ_ERRORS = (duckdb.IOException, duckdb.InternalException, duckdb.SerializationException)


class Lake:
    """A read view of a lake: a DuckDB connection with a view per table.

    Statements given to :meth:`sql` only read (:func:`refuse_writes`); the session's
    configuration is locked with file access limited to the lake's directory and no network
    or extension loading.
    """

    def __init__(
        self,
        root: LakeRoot,
        con: duckdb.DuckDBPyConnection,
        files: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        self.root = root
        self.con = con
        #: Each data file's path as DuckDB reads it -> (table, path relative to the lake).
        self._files = files or {}

    @classmethod
    def open(
        cls, path: LakeRoot | str, *, memory: MemoryBound | None = None, derived: bool = True
    ) -> Self:
        """A session over the lake at ``path``: a directory, or ``s3://bucket/prefix``;
        its queries' memory bounded by ``memory`` when given. ``derived=False``: the tables
        only, without :data:`DERIVED_VIEWS` (the session that computes the maintained tables
        runs their definitions itself; defining them as views would bind each twice)."""
        root = path if isinstance(path, Path | ObjectLake) else lake_root(path)
        if isinstance(root, ObjectLake):
            return cls(root, _object_session(root, object_lake(root), memory, derived))
        require_lake(root)
        resolved = root.resolve()
        live = intact_tables(resolved)
        files = {str(f.path): (name, f.relative) for name, listed in live.items() for f in listed}
        con = _connect(memory)
        try:
            one_schema = _one_schema(con, live)
            views = [table_view(t, live.get(t.name, ()), t.name in one_schema) for t in TABLES]
            try:
                con.execute(";\n".join(views))  # one round trip while every file reads
            except duckdb.Error:
                con.close()
                con = _connect(memory)
                for table, view in zip(TABLES, views, strict=True):  # find the table that fails
                    try:
                        con.sql(view)
                    except duckdb.Error as exc:
                        listed = live.get(table.name, ())
                        raise _unreadable(root, table.name, listed, exc) from None
            if derived:
                current = current_tables(resolved)
                for name, listed in current.items():
                    files.update({str(f.path): (name, f.relative) for f in listed})
                written = {n: _written_relation(n, listed) for n, listed in current.items()}
                con.execute(derived_views(written=written))
            lock_session(con, list(files))
        except BaseException:
            con.close()
            raise
        return cls(root, con, files)

    def tables(self) -> list[str]:
        return [t.name for t in TABLES]

    @overload
    def sql(
        self, query: str, params: dict[str, Any] | None = None, *, as_: Literal["arrow"] = ...
    ) -> pa.Table: ...
    @overload
    def sql(
        self, query: str, params: dict[str, Any] | None = None, *, as_: Literal["polars"]
    ) -> polars.DataFrame: ...
    def sql(
        self, query: str, params: dict[str, Any] | None = None, *, as_: str = "arrow"
    ) -> pa.Table | polars.DataFrame:
        """Run SQL (parameters bound, never pasted in) and return an Arrow table, or a
        Polars DataFrame with ``as_="polars"``."""
        if as_ not in ("arrow", "polars"):
            raise LakeError(f"as_ must be 'arrow' or 'polars', not {as_!r}")
        refuse_writes(self.con, query)
        try:
            rel = self.con.sql(query, params=params or None)
            result = pa.table({}) if rel is None else rel.arrow()  # None: no result set
        except duckdb.Error as exc:
            self._fail(exc)
        table = result if isinstance(result, pa.Table) else result.read_all()
        if as_ == "polars":
            return to_polars(table)
        return table

    def _fail(self, exc: duckdb.Error) -> NoReturn:
        """Raise the LakeError for a failed statement: a damaged data file named by table and
        file, or the SQL error."""
        message = public_message(str(exc), [*self.tables(), *DERIVED_VIEWS])
        for path, (table, relative) in self._files.items():
            if path in message:
                raise LakeError(
                    f"the lake {self.root} is damaged: table {table}, {relative}: data file "
                    f"cannot be read ({message.splitlines()[0]})\nrepair: {RESTORE}; "
                    f"'attestlake lake check --lake {self.root}' lists every problem"
                ) from None
        if isinstance(exc, _READ_ERRORS) or type(exc) is duckdb.Error:
            raise LakeError(
                f"SQL error: {message}\nif the lake is damaged, 'attestlake lake check --lake "
                f"{self.root}' names the table and file"
            ) from None
        raise LakeError(f"SQL error: {message}") from None

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

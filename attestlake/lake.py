"""The attestation lake: Delta tables on disk, read through DuckDB.

Each table (:mod:`attestlake.tables`) is a Delta Lake table (Parquet data files plus a
``_delta_log``) in ``LAKE/<table>/``, readable by any Delta or Parquet engine.
:meth:`Lake.open` gives a DuckDB connection with one view per table.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import duckdb
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from attestlake.errors import LakeError
from attestlake.tables import TABLES, Table

if TYPE_CHECKING:
    import polars

    from attestlake.queries import QueryResult


def table_path(root: Path, table: Table) -> Path:
    return root / table.name


def create_tables(root: Path) -> None:
    """Create every table that does not exist yet (idempotent)."""
    root.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        path = table_path(root, table)
        if not DeltaTable.is_deltatable(str(path)):
            DeltaTable.create(
                str(path),
                table.schema,
                mode="ignore",
                partition_by=list(table.partition_by) or None,
            )


@contextlib.contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """Serialise writers of one lake (two crawls at once take turns, never interleave)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".writer.lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class Appender:
    """Appends batches to a lake's tables, keeping each table open between commits (no log
    replay per batch). For one writer at a time: use it under :func:`writer_lock`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._open: dict[str, DeltaTable] = {}

    def append(self, table: Table, rows: pa.Table | Sequence[dict[str, Any]]) -> int:
        """Append ``rows`` (an Arrow table of ``table``'s schema, or dicts) in one commit;
        return how many were written."""
        data = (
            rows
            if isinstance(rows, pa.Table)
            else pa.Table.from_pylist(list(rows), schema=table.schema)
        )
        if data.num_rows == 0:
            return 0
        delta = self._open.get(table.name)
        if delta is None:
            delta = self._open[table.name] = DeltaTable(str(table_path(self.root, table)))
        write_deltalake(
            delta,
            data,
            mode="append",
            partition_by=list(table.partition_by) or None,
            schema_mode="merge",  # a lake made by an older version gains the new columns
        )
        return int(data.num_rows)


def column_values(
    root: Path, table: Table, column: str, *, where: tuple[str, str] | None = None
) -> set[str]:
    """The distinct non-null values of ``column``, optionally of rows where a column equals a value."""
    path = table_path(root, table)
    if not DeltaTable.is_deltatable(str(path)):
        return set()
    columns = [column, where[0]] if where else [column]
    rows = DeltaTable(str(path)).to_pyarrow_dataset().to_table(columns=columns).to_pylist()
    return {
        r[column]
        for r in rows
        if r[column] is not None and (where is None or r[where[0]] == where[1])
    }


def delete_where_in(root: Path, table: Table, column: str, values: set[str]) -> None:
    """Delete rows whose ``column`` is one of ``values`` (sha256 digests only)."""
    if not values:
        return
    for v in values:
        if (
            not v.startswith("sha256:")
            or not all(c in "0123456789abcdef" for c in v[7:])
            or len(v) != 71
        ):
            raise LakeError(f"refusing to delete by a value that is not a digest: {v!r}")
    listed = ", ".join(f"'{v}'" for v in sorted(values))
    DeltaTable(str(table_path(root, table))).delete(f"{column} IN ({listed})")


@dataclass(frozen=True)
class CompactResult:
    """What ``compact`` did per table: files before and after, and files removed from disk."""

    tables: dict[str, tuple[int, int, int]]


def compact(root: Path) -> CompactResult:
    """Rewrite each table's small files into large ones and delete superseded files.

    Runs under the writer lock, so it never interleaves with a crawl.
    """
    if not root.is_dir():
        raise LakeError(f"{root} is not a lake directory")
    out: dict[str, tuple[int, int, int]] = {}
    with writer_lock(root):
        for table in TABLES:
            path = str(table_path(root, table))
            if not DeltaTable.is_deltatable(path):
                continue
            dt = DeltaTable(path)
            before = len(dt.file_uris())
            dt.optimize.compact()
            dt = DeltaTable(path)
            removed = dt.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
            out[table.name] = (before, len(DeltaTable(path).file_uris()), len(removed))
    return CompactResult(out)


#: Views derived from the tables, defined in every lake session (documented in docs/lake.md).
DERIVED_VIEWS = {
    # The current inventory: the highest revision of each inventory name.
    "current_inventory": (
        "SELECT * FROM inventory "
        "QUALIFY revision = max(revision) OVER (PARTITION BY inventory_name)"
    ),
}


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _view_sql(con: duckdb.DuckDBPyConnection, root: Path, table: Table) -> str:
    """A view with exactly the table's schema over the live Parquet files of its snapshot.

    The typed empty relation on the left fixes column names, order and types; files written
    before a column was added simply have NULLs there.
    """
    empty = f"_{table.name}_schema"
    con.register(empty, table.schema.empty_table())
    path = table_path(root, table)
    files = DeltaTable(str(path)).file_uris() if DeltaTable.is_deltatable(str(path)) else []
    if not files:
        return f'CREATE VIEW "{table.name}" AS SELECT * FROM "{empty}"'  # noqa: S608
    hive = ", ".join(f"{_literal(c)}: VARCHAR" for c in table.partition_by)
    listed = ", ".join(_literal(f.removeprefix("file://")) for f in files)
    scan = (
        f"read_parquet([{listed}], union_by_name = true"
        + (f", hive_partitioning = true, hive_types = {{{hive}}}" if hive else "")
        + ")"
    )
    return (
        f'CREATE VIEW "{table.name}" AS SELECT * FROM "{empty}" '  # noqa: S608
        f"UNION ALL BY NAME SELECT * FROM {scan}"
    )


class Lake:
    """A read view of a lake: a DuckDB connection with a view per table."""

    def __init__(self, root: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.root = root
        self.con = con

    @classmethod
    def open(cls, path: Path | str) -> Lake:
        root = Path(path)
        if not root.is_dir() or not any(
            DeltaTable.is_deltatable(str(table_path(root, t))) for t in TABLES
        ):
            raise LakeError(
                f"{root} is not an attestlake lake (no tables): run 'attestlake crawl --lake {root}' first"
            )
        con = duckdb.connect(":memory:")
        con.sql("SET TimeZone = 'UTC'")
        for table in TABLES:
            con.sql(_view_sql(con, root, table))
        for name, body in DERIVED_VIEWS.items():
            con.sql(f'CREATE VIEW "{name}" AS {body}')
        # DuckDB reads the lake's Parquet files itself (the live files of each Delta snapshot);
        # SQL gets no other file or network access.
        con.sql(f"SET allowed_directories = [{_literal(str(root.resolve()) + '/')}]")
        con.sql("SET enable_external_access = false")
        return cls(root, con)

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
        try:
            rel = self.con.sql(query, params=params or None)
            result = pa.table({}) if rel is None else rel.arrow()  # None: no result set
        except duckdb.Error as exc:
            raise LakeError(f"SQL error: {exc}") from None
        table = result if isinstance(result, pa.Table) else result.read_all()
        if as_ == "polars":
            from attestlake.results import to_polars

            return to_polars(table)
        return table

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Lake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- saved queries from Python (attestlake.results) ------------------------------------
    def query(
        self,
        name: str,
        /,
        *,
        directory: Path | None = None,
        now: datetime | None = None,
        **params: object,
    ) -> QueryResult:
        """Run the saved query ``name``: ``lake.query("missing_sbom_digests", since="30 days")``.

        Parameters are keywords (str, number, bool, date, datetime or timedelta; None means
        the default); a date parameter also takes a relative duration such as ``"30 days"``.
        The result has ``.pl()``, ``.arrow()``, ``.rows`` and an HTML notebook display.
        """
        from attestlake.results import query_lake

        return query_lake(self, name, params, directory=directory, now=now)

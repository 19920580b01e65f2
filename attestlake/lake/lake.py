"""The attestation lake: Delta tables on disk, read through DuckDB.

Each table (:mod:`attestlake.lake.tables`) is a Delta Lake table (Parquet data files plus a
``_delta_log``) in ``LAKE/<table>/``, readable by any Delta or Parquet engine.
:meth:`Lake.open` gives a DuckDB connection with one view per table.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, Self, TypeVar, overload

import duckdb
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from attestlake.errors import LakeError
from attestlake.lake.lake_check import (
    RESTORE,
    LiveFile,
    Problem,
    table_state,
    unlisted_files,
    unreadable_files,
)
from attestlake.lake.results import to_polars
from attestlake.lake.tables import TABLES, Table

if TYPE_CHECKING:
    import polars

_T = TypeVar("_T")

#: Path characters delta-rs misreads: it percent-decodes a path (twice when reading a log), and
#: parses '[', ']' and '\\' as URL syntax.
_UNUSABLE = re.compile(r"%[0-9A-Fa-f]{2}|[\[\]\\]")


def table_path(root: Path, table: Table) -> Path:
    return root / table.name


def _location(root: Path, table: Table) -> str:
    """Where delta-rs opens ``table``: its directory as a plain path (never a URI)."""
    return str(table_path(root, table))


def check_path(root: Path) -> None:
    """LakeError if the lake's path holds characters the Delta library cannot use."""
    found = _UNUSABLE.search(str(root.absolute()))
    if found:
        raise LakeError(
            f"the lake path {root} contains {found.group()!r}, which the Delta library "
            "misreads in paths ('%' followed by two hex digits, '[', ']', '\\'): choose a "
            "lake directory whose path has none of them"
        )


def _damaged(root: Path, problems: Sequence[Problem]) -> LakeError:
    shown = [f"  {p.describe()}" for p in problems[:8]]
    if len(problems) > 8:
        shown.append(f"  ... and {len(problems) - 8} more")
    return LakeError(
        f"the lake {root} is damaged:\n"
        + "\n".join(shown)
        + f"\nrepair: {problems[0].repair}; 'attestlake lake check --lake {root}' lists every "
        "problem"
    )


def _delta_failure(exc: BaseException) -> bool:
    """True for what delta-rs raises on a damaged table or a failed write (DeltaError,
    OSError, ...), including a Rust panic, which is no Exception."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _guarded(root: Path, table: Table, doing: str, call: Callable[[], _T]) -> _T:
    """Run one delta-rs operation on ``table``; its failure becomes a LakeError naming the
    table (a full disk: free space and run the command again)."""
    try:
        return call()
    except BaseException as exc:
        if not _delta_failure(exc) or isinstance(exc, LakeError):
            raise
        reason = _first_line(exc)
        for line in str(exc).splitlines()[1:]:  # delta-rs nests the OS error below
            if "os error" in line:
                reason = re.sub(r"\x1b\[[0-9;]*m", "", line).strip().lstrip("↳").strip()
        damage = unreadable_files(root, table, _location(root, table))
        if damage:
            raise _damaged(root, damage) from None
        raise LakeError(
            f"cannot {doing} table {table.name} of the lake {root}: {reason}. If the disk is "
            "full, free space and run the command again: what was committed stays, what was "
            "not is written again; 'attestlake lake check' checks the lake"
        ) from None


def intact_tables(root: Path) -> dict[str, tuple[LiveFile, ...]]:
    """The live data files of each table present in the lake; LakeError naming every damaged
    table and file (the cheap checks of :mod:`attestlake.lake.lake_check`)."""
    check_path(root)
    problems: list[Problem] = []
    live: dict[str, tuple[LiveFile, ...]] = {}
    for table in TABLES:
        state = table_state(root, table, _location(root, table))
        problems.extend(state.problems)
        if state.present:
            live[table.name] = state.files
    if problems:
        raise _damaged(root, problems)
    return live


def create_tables(root: Path) -> None:
    """Create every table that does not exist yet (idempotent); LakeError if one that exists
    is damaged (its log or a data file is missing or garbled)."""
    check_path(root)
    root.mkdir(parents=True, exist_ok=True)
    present = intact_tables(root)
    for table in TABLES:
        if table.name in present:
            continue
        create = functools.partial(
            DeltaTable.create,
            _location(root, table),
            table.schema,
            mode="ignore",
            partition_by=list(table.partition_by) or None,
        )
        _guarded(root, table, "create", create)


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
            location = _location(self.root, table)
            delta = self._open[table.name] = _guarded(
                self.root, table, "open", lambda: DeltaTable(location)
            )

        def write() -> None:
            write_deltalake(
                delta,
                data,
                mode="append",
                partition_by=list(table.partition_by) or None,
                schema_mode="merge",  # a lake made by an older version gains the new columns
            )

        started = time.time()
        try:
            _guarded(self.root, table, "write", write)
        except LakeError:
            self._open.pop(table.name, None)  # reopen from the log next time
            self._remove_partial(table, started)
            raise
        return int(data.num_rows)

    def _remove_partial(self, table: Table, since: float) -> None:
        """Delete the data files a failed write left that no log entry names (a full disk
        stops delta-rs after some files, before its commit)."""
        with contextlib.suppress(OSError, LakeError):
            for path in unlisted_files(self.root, table, _location(self.root, table)):
                if path.stat().st_mtime >= since - 1:
                    path.unlink()


def column_values(
    root: Path, table: Table, column: str, *, where: tuple[str, str] | None = None
) -> set[str]:
    """The distinct non-null values of ``column``, optionally of rows where a column equals a value."""
    location = _location(root, table)
    if not DeltaTable.is_deltatable(location):
        return set()
    columns = [column, where[0]] if where else [column]
    rows = _guarded(
        root,
        table,
        "read",
        lambda: DeltaTable(location).to_pyarrow_dataset().to_table(columns=columns).to_pylist(),
    )
    return {
        r[column]
        for r in rows
        if r[column] is not None and (where is None or r[where[0]] == where[1])
    }


def distinct_rows(root: Path, table: Table, columns: Sequence[str]) -> set[tuple[Any, ...]]:
    """The distinct combinations of ``columns`` in ``table`` (none if it does not exist); a
    column the table does not have (a lake written by an older version) reads as NULL."""
    return set(count_rows(root, table, columns))


def count_rows(root: Path, table: Table, columns: Sequence[str]) -> dict[tuple[Any, ...], int]:
    """How many rows of ``table`` hold each combination of ``columns`` (none if the table does
    not exist); a column the table does not have reads as NULL."""
    location = _location(root, table)
    if not DeltaTable.is_deltatable(location):
        return {}

    def read() -> list[dict[str, Any]]:
        dataset = DeltaTable(location).to_pyarrow_dataset()
        have = [c for c in columns if c in dataset.schema.names]
        if not have:
            return [{"count_all": dataset.count_rows()}]
        data = dataset.to_table(columns=have)
        rows: list[dict[str, Any]] = data.group_by(have).aggregate([([], "count_all")]).to_pylist()
        return rows

    rows = _guarded(root, table, "read", read)
    return {
        tuple(row.get(c) for c in columns): int(row["count_all"])
        for row in rows
        if row["count_all"]
    }


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def delete_batches_after(root: Path, table: Table, crawl_id: str, batch: int) -> int:
    """Delete the rows that crawl ``crawl_id`` wrote in its batches after ``batch``; return
    how many were deleted."""
    if not _UUID.fullmatch(crawl_id):
        raise LakeError(f"refusing to delete by a crawl id that is not a UUID: {crawl_id!r}")
    predicate = f"crawl_id = '{crawl_id}' AND crawl_batch > {int(batch)}"
    location = _location(root, table)
    metrics = _guarded(root, table, "delete from", lambda: DeltaTable(location).delete(predicate))
    return int(metrics.get("num_deleted_rows") or 0)


@dataclass(frozen=True)
class CompactResult:
    """What ``compact`` did per table: files before and after, and files removed from disk."""

    tables: dict[str, tuple[int, int, int]]


def compact(root: Path) -> CompactResult:
    """Rewrite each table's small files into large ones and delete superseded files.

    Runs under the writer lock, so it never interleaves with a crawl.
    """
    check_path(root)
    if not root.is_dir():
        raise LakeError(f"{root} is not a lake directory")
    out: dict[str, tuple[int, int, int]] = {}
    with writer_lock(root):
        present = intact_tables(root)
        for table in TABLES:
            if table.name not in present:
                continue
            location = _location(root, table)

            def run(location: str = location) -> tuple[int, int, int]:
                dt = DeltaTable(location)
                before = len(dt.file_uris())
                dt.optimize.compact()
                dt = DeltaTable(location)
                removed = dt.vacuum(
                    retention_hours=0, enforce_retention_duration=False, dry_run=False
                )
                return before, len(DeltaTable(location).file_uris()), len(removed)

            out[table.name] = _guarded(root, table, "compact", run)
    return CompactResult(out)


def _unreadable(root: Path, table: str, files: Sequence[LiveFile], exc: duckdb.Error) -> LakeError:
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
    return _damaged(
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


def _view_sql(con: duckdb.DuckDBPyConnection, table: Table, files: Sequence[LiveFile]) -> str:
    """A view with exactly the table's schema over the live Parquet files of its snapshot.

    The typed empty relation on the left fixes column names, order and types; files written
    before a column was added simply have NULLs there.
    """
    empty = f"_{table.name}_schema"
    con.register(empty, table.schema.empty_table())
    if not files:
        return f'CREATE VIEW "{table.name}" AS SELECT * FROM "{empty}"'  # noqa: S608
    hive = ", ".join(f"{_literal(c)}: VARCHAR" for c in table.partition_by)
    listed = ", ".join(_literal(str(f.path)) for f in files)
    scan = (
        f"read_parquet([{listed}], union_by_name = true"
        + (f", hive_partitioning = true, hive_types = {{{hive}}}" if hive else "")
        + ")"
    )
    return (
        f'CREATE VIEW "{table.name}" AS SELECT * FROM "{empty}" '  # noqa: S608
        f"UNION ALL BY NAME SELECT * FROM {scan}"
    )


READ_ONLY = "the lake is read-only in SQL sessions"
READ_STATEMENTS = (
    "SELECT (also FROM, WITH, VALUES, DESCRIBE, SHOW, SUMMARIZE), EXPLAIN and CREATE TEMP "
    "VIEW or MACRO"
)


def _words(text: str) -> list[tuple[int, str]]:
    """The tokens of ``text`` as DuckDB's own scanner splits them (so comments nest as they
    do for its parser), comments left out: each token's offset and text."""
    tokens = duckdb.tokenize(text)
    words: list[tuple[int, str]] = []
    for i, (start, kind) in enumerate(tokens):
        if kind == duckdb.token_type.comment:
            continue
        end = tokens[i + 1][0] if i + 1 < len(tokens) else len(text)
        words.append((start, text[start:end].strip()))
    return words


def _spelled(words: Sequence[tuple[int, str]], at: int, *options: str) -> bool:
    return at < len(words) and words[at][1].upper() in options


def _temporary(words: Sequence[tuple[int, str]]) -> bool:
    """True for a temporary view or macro (a name for a query, kept in the session's
    memory): CREATE [OR REPLACE] TEMP[ORARY] VIEW|MACRO|FUNCTION."""
    at = 1  # CREATE
    if _spelled(words, at, "OR") and _spelled(words, at + 1, "REPLACE"):
        at += 2
    return _spelled(words, at, "TEMP", "TEMPORARY") and _spelled(
        words, at + 1, "VIEW", "MACRO", "FUNCTION"
    )


def _explained(words: Sequence[tuple[int, str]]) -> int | None:
    """Where the statement an EXPLAIN explains starts (after ANALYZE and an option list);
    None if that cannot be told."""
    at = 1  # EXPLAIN
    if _spelled(words, at, "ANALYZE", "ANALYSE"):
        at += 1
    if _spelled(words, at, "("):  # the option list: (ANALYZE, FORMAT json)
        depth = 0
        while True:
            depth += {"(": 1, ")": -1}.get(words[at][1], 0)
            at += 1
            if depth == 0:
                break
            if at >= len(words):
                return None
    return words[at][0] if at < len(words) else None


def _kind(statement: Any) -> str:
    try:
        return str(statement.type.name)
    except ValueError:  # a statement type the duckdb module itself has no name for
        return "this statement"


def _reads_only(con: duckdb.DuckDBPyConnection, statement: Any) -> bool:
    try:
        kind = statement.type
    except ValueError:
        return False
    if kind == duckdb.StatementType.SELECT:
        return True
    if kind not in (duckdb.StatementType.CREATE, duckdb.StatementType.EXPLAIN):
        return False
    text = statement.query
    try:
        words = _words(text)
    except (duckdb.Error, ValueError):
        return False
    if kind == duckdb.StatementType.CREATE:
        return _spelled(words, 0, "CREATE") and _temporary(words)
    # EXPLAIN ANALYZE runs the statement it explains, so that one must read.
    start = _explained(words) if _spelled(words, 0, "EXPLAIN") else None
    if start is None:
        return False
    try:
        inner = con.extract_statements(text[start:])
    except (duckdb.Error, ValueError):
        return False
    return len(inner) == 1 and _kind(inner[0]) == "SELECT"


def refuse_writes(con: duckdb.DuckDBPyConnection, text: str) -> None:
    """LakeError unless every statement of ``text`` only reads: SELECT, EXPLAIN of one, or a
    temporary view or macro (kept in the session's memory).

    COPY, EXPORT, ATTACH, CREATE, INSERT, SET, PRAGMA, INSTALL, LOAD, CALL, PREPARE and every
    other statement are refused before any statement of ``text`` runs.
    """
    try:
        statements = con.extract_statements(text)
    except duckdb.Error as exc:
        raise LakeError(f"SQL error: {exc}") from None
    except ValueError:  # a statement type the duckdb module itself has no name for
        raise LakeError(
            f"{READ_ONLY}: only {READ_STATEMENTS} statements run, and this one is not one"
        ) from None
    for statement in statements:
        if not _reads_only(con, statement):
            shown = " ".join(statement.query.split())
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            kind = _kind(statement)
            raise LakeError(
                f"{READ_ONLY}: {kind} is refused ({shown}); only {READ_STATEMENTS} "
                "statements run, and nothing was run"
            )


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
        root: Path,
        con: duckdb.DuckDBPyConnection,
        files: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        self.root = root
        self.con = con
        #: Each data file's path as DuckDB reads it -> (table, path relative to the lake).
        self._files = files or {}

    @classmethod
    def open(cls, path: Path | str) -> Self:
        root = Path(path)
        check_path(root)
        if not root.is_dir() or not any(
            (table_path(root, t) / "_delta_log").is_dir() or table_path(root, t).is_dir()
            for t in TABLES
        ):
            raise LakeError(
                f"{root} is not an attestlake lake (no tables): run 'attestlake crawl --lake {root}' first"
            )
        resolved = root.resolve()
        live = intact_tables(resolved)
        files = {str(f.path): (name, f.relative) for name, listed in live.items() for f in listed}
        con = duckdb.connect(":memory:")
        try:
            con.sql("SET TimeZone = 'UTC'")
            for table in TABLES:
                listed = live.get(table.name, ())
                try:
                    con.sql(_view_sql(con, table, listed))
                except duckdb.Error as exc:
                    raise _unreadable(root, table.name, listed, exc) from None
            for name, body in DERIVED_VIEWS.items():
                con.sql(f'CREATE VIEW "{name}" AS {body}')
            # DuckDB reads the lake's Parquet files itself (the live files of each Delta
            # snapshot); SQL gets no other file or network access, and cannot change that.
            # Only those files are allowed, not the lake's directory: a file can be read, and
            # nothing can be created or replaced in the lake.
            allowed = ", ".join(_literal(path) for path in files)
            con.sql(f"SET allowed_paths = [{allowed}]")
            con.sql("SET enable_external_access = false")
            con.sql("SET autoinstall_known_extensions = false")
            con.sql("SET autoload_known_extensions = false")
            con.sql("SET lock_configuration = true")
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
        message = str(exc)
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

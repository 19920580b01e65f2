"""Diagnosis of a damaged lake: what is wrong, in which table and file, and how to repair it.

A table is damaged when its transaction log (``TABLE/_delta_log/``) lacks an entry, holds an
empty, truncated or garbled one, or is missing while data files remain; when a data file the
log lists is missing, has another size than the log says, or cannot be read as Parquet; or when
a data file is in the table's directory but in no entry of its log (the entry that added it
was deleted, or a write was interrupted before its commit).

:func:`attestlake.lake.structure.structural_problems` makes the cheap checks (the log, and the
presence and size of each live file); every lake session and writer runs them before using a
table. :func:`check_lake`
adds a full read of every live data file and the search for files the log does not know
(``attestlake lake check``). Repairs are in docs/lake.md, "Damage and repair".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attestlake.lake.fan_out import each_table
from attestlake.lake.object_files import filesystem, listing
from attestlake.lake.object_store import LakeRoot, ObjectLake
from attestlake.lake.structure import (
    RESTORE,
    LiveFile,
    Problem,
    data_files,
    table_directory,
    table_state,
    tables_listed,
)
from attestlake.lake.tables import TABLES, Table

#: The repair of a data file that no log entry names.
UNLISTED = (
    "if a log entry of this table was deleted, its rows are lost: " + RESTORE + "; if a crawl "
    "was killed while writing, the file holds no row of the lake and can be deleted"
)


@dataclass(frozen=True)
class TableHealth:
    """One table as the check found it: its version and live files (None when unreadable or
    absent), and its rows (counted by the full check only)."""

    name: str
    present: bool
    version: int | None = None
    files: int | None = None
    rows: int | None = None


@dataclass(frozen=True)
class LakeHealth:
    """The result of :func:`check_lake`."""

    root: LakeRoot
    tables: tuple[TableHealth, ...]
    problems: tuple[Problem, ...]
    #: Data files that no log entry names, left by a write that was killed before its commit
    #: (shown as notes, not damage, once the crawl journal accounts for every row).
    leftovers: tuple[Problem, ...] = ()

    @property
    def healthy(self) -> bool:
        return not self.problems


#: Rows decoded at a time when a data file is read through: every page of every column is
#: decoded, a slice at a time (a whole file of ``blobs`` or ``attestations`` read at once
#: took gigabytes at 100k runs).
_READ_ROWS = 4096


#: Bytes of a column chunk read from the file at a time: without it (and with pyarrow's
#: pre-buffering) each column chunk is read whole before its pages are decoded.
_READ_BUFFER = 8 << 20


def _rows_read(source: Any) -> int:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(source, pre_buffer=False, buffer_size=_READ_BUFFER)
    slices = parquet.iter_batches(batch_size=_READ_ROWS)
    return sum(batch.num_rows for batch in slices)


def _read_fully(root: LakeRoot, table: Table, live: LiveFile) -> tuple[Problem | None, int]:
    try:
        if isinstance(root, ObjectLake):
            key = root.key(live.relative)
            with filesystem(root).open_input_file(key) as fh:
                rows = _rows_read(fh)
        else:
            rows = _rows_read(live.path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... on a damaged file
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        what = f"data file is not readable Parquet: {first}"
        return Problem(table.name, live.relative, what, RESTORE), 0
    if live.rows is not None and rows != live.rows:
        what = f"data file holds {rows} rows, its log entry says {live.rows}"
        return Problem(table.name, live.relative, what, RESTORE), rows
    return None, rows


def unlisted_files(root: Path, table: Table, location: str) -> list[Path]:
    """Data files in the table's directory that no entry of its log names."""
    state = table_state(root, table, location)
    directory = root / table.name
    known = state.named | {str(Path(live.path).relative_to(directory)) for live in state.files}
    return [p for p in data_files(directory) if str(p.relative_to(directory)) not in known]


def _unlisted(
    root: LakeRoot, table: Table, named: frozenset[str], listed: Mapping[str, int] | None = None
) -> list[str]:
    """The data files in the table's directory that no log entry names, relative to the lake
    (``listed``: in object storage, the table's objects as already listed)."""
    if isinstance(root, ObjectLake):
        objects = listing(root, table.name) if listed is None else listed
        keys = (k for k in objects if k.endswith(".parquet"))
        found = [k for k in keys if not k.startswith("_delta_log/")]
    else:
        directory = root / table.name
        found = [str(p.relative_to(directory)) for p in data_files(directory)]
    return [f"{table.name}/{k}" for k in sorted(found) if k not in named]


def unreadable_files(root: LakeRoot, table: Table, location: str) -> list[Problem]:
    """The cheap checks of ``table`` and, when they pass, a full read of each live file."""
    state = table_state(root, table, location)
    if state.problems:
        return list(state.problems)
    return [p for p in (_read_fully(root, table, f)[0] for f in state.files) if p is not None]


def check_lake(root: LakeRoot, location: Callable[[Table], str] | None = None) -> LakeHealth:
    """Diagnose the lake at ``root``: every check of the module doc, table by table."""

    everything = tables_listed(root) if isinstance(root, ObjectLake) else None

    def one(table: Table) -> tuple[TableHealth, list[Problem]]:
        where = location(table) if location else table_directory(root, table)
        listed = None if everything is None else everything.get(table.name, {})
        state = table_state(root, table, where, listed)
        problems = list(state.problems)
        if not state.present:
            return TableHealth(table.name, present=False), problems
        rows: int | None = 0
        for live in state.files:
            problem, count = _read_fully(root, table, live)
            if problem is not None:
                problems.append(problem)
                rows = None
            elif rows is not None:
                rows += count
        known = state.named | {f.relative.split("/", 1)[1] for f in state.files}
        for relative in _unlisted(root, table, frozenset(known), listed):
            what = "data file is in no entry of the table's log"
            problems.append(Problem(table.name, relative, what, UNLISTED))
        healthy = not state.problems
        health = TableHealth(
            table.name,
            present=True,
            version=state.version,
            files=len(state.files) if healthy else None,
            rows=rows if healthy else None,
        )
        return health, problems

    checked = each_table(root, one, TABLES)
    tables = [health for health, _ in checked]
    problems = [p for _, found in checked for p in found]
    return LakeHealth(root, tuple(tables), tuple(problems))

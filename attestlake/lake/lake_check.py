"""Diagnosis of a damaged lake: what is wrong, in which table and file, and how to repair it.

A table is damaged when its transaction log (``TABLE/_delta_log/``) lacks an entry, holds an
empty, truncated or garbled one, or is missing while data files remain; when a data file the
log lists is missing, has another size than the log says, or cannot be read as Parquet; or when
a data file is in the table's directory but in no entry of its log (the entry that added it
was deleted, or a write was interrupted before its commit).

:func:`structural_problems` makes the cheap checks (the log, and the presence and size of each
live file); every lake session and writer runs them before using a table. :func:`check_lake`
adds a full read of every live data file and the search for files the log does not know
(``attestlake lake check``). Repairs are in docs/lake.md, "Damage and repair".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from attestlake.lake.tables import TABLES, Table

LOG = "_delta_log"
_COMMIT = re.compile(r"^(\d{20})\.json$")
_CHECKPOINT = re.compile(r"^(\d{20})\.checkpoint(?:\.\d+\.\d+)?\.parquet$")

#: The repair of a lost or damaged log entry or data file.
RESTORE = (
    "restore the lake directory from a backup, or rebuild it: crawl the same sources into a "
    "new lake directory and use that one (docs/lake.md, Damage and repair)"
)
#: The repair of a data file that no log entry names.
UNLISTED = (
    "if a log entry of this table was deleted, its rows are lost: " + RESTORE + "; if a crawl "
    "was killed while writing, the file holds no row of the lake and can be deleted"
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a lake: the table, the file (relative to the lake), what is wrong
    and how to repair it."""

    table: str
    file: str
    what: str
    repair: str

    def describe(self) -> str:
        return f"table {self.table}, {self.file}: {self.what}"


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

    root: Path
    tables: tuple[TableHealth, ...]
    problems: tuple[Problem, ...]
    #: Data files that no log entry names, left by a write that was killed before its commit
    #: (shown as notes, not damage, once the crawl journal accounts for every row).
    leftovers: tuple[Problem, ...] = ()

    @property
    def healthy(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class LiveFile:
    """A data file of a table's current snapshot, as its log describes it."""

    path: Path
    relative: str  # relative to the lake root
    size: int | None
    rows: int | None


@dataclass(frozen=True)
class TableState:
    """What the cheap checks read of one table."""

    present: bool
    problems: tuple[Problem, ...] = ()
    version: int | None = None
    files: tuple[LiveFile, ...] = ()
    #: Every data file path (relative to the table) named by an add or remove action.
    named: frozenset[str] = frozenset()


def _rel(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _data_files(directory: Path) -> Iterable[Path]:
    for path in directory.rglob("*.parquet"):
        if LOG not in path.relative_to(directory).parts:
            yield path


def _read_log(root: Path, table: Table) -> tuple[list[Problem], int | None, set[str]]:
    """Check the log's entries: contiguous from 0 (or from the last checkpoint), each a
    non-empty sequence of JSON objects. Returns problems, the newest version and every data
    path the entries name."""
    log = root / table.name / LOG
    problems: list[Problem] = []
    named: set[str] = set()
    commits: dict[int, Path] = {}
    checkpoints: list[int] = []
    for entry in log.iterdir() if log.is_dir() else ():
        if m := _COMMIT.match(entry.name):
            commits[int(m.group(1))] = entry
        elif m := _CHECKPOINT.match(entry.name):
            checkpoints.append(int(m.group(1)))
    if not commits and not checkpoints:
        data = sum(1 for _ in _data_files(root / table.name))
        what = (
            f"the table's transaction log is missing ({data} data file(s) are no longer a table)"
            if data
            else "the table's transaction log is missing"
        )
        problems.append(Problem(table.name, _rel(root, log), what, RESTORE))
        return problems, None, named
    start = max(checkpoints) + 1 if checkpoints else 0
    newest = max([*commits, *checkpoints])
    for version in range(start, newest + 1):
        path = commits.get(version)
        if path is None:
            problems.append(
                Problem(
                    table.name,
                    _rel(root, log / f"{version:020d}.json"),
                    f"log entry {version} is missing (the log has entries up to {newest})",
                    RESTORE,
                )
            )
            continue
        problem = _check_entry(root, table, version, path, named)
        if problem is not None:
            problems.append(problem)
    return problems, newest, named


def _check_entry(
    root: Path, table: Table, version: int, path: Path, named: set[str]
) -> Problem | None:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return Problem(
            table.name, _rel(root, path), f"log entry cannot be read: {exc.strerror}", RESTORE
        )
    if not raw.strip():
        return Problem(table.name, _rel(root, path), f"log entry {version} is empty", RESTORE)
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            action = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            action = None
        if not isinstance(action, dict):
            return Problem(
                table.name,
                _rel(root, path),
                f"log entry {version} is truncated or garbled (line {number} is not a JSON object)",
                RESTORE,
            )
        for kind in ("add", "remove"):
            body = action.get(kind)
            if isinstance(body, dict) and isinstance(body.get("path"), str):
                named.add(unquote(body["path"]))
    return None


def _live_files(
    root: Path, table: Table, location: str
) -> tuple[list[Problem], int | None, list[LiveFile]]:
    """Open the table with delta-rs and list its live files, checking each exists and has
    the size its log entry gives."""
    import pyarrow as pa
    from deltalake import DeltaTable

    directory = root / table.name
    try:
        delta = DeltaTable(location)
        version = delta.version()
        actions: list[dict[str, Any]] = pa.table(delta.get_add_actions(flatten=True)).to_pylist()
    except BaseException as exc:  # delta-rs raises DeltaError, OSError, or a Rust panic
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        what = f"the table's log cannot be read: {first}"
        return [Problem(table.name, _rel(root, directory / LOG), what, RESTORE)], None, []
    problems: list[Problem] = []
    files: list[LiveFile] = []
    for action in actions:
        relative = unquote(str(action["path"]))
        path = directory / relative
        shown = _rel(root, path)
        if "://" in relative or relative.startswith("/") or ".." in Path(relative).parts:
            what = "the log names a data file outside the table's directory"
            problems.append(Problem(table.name, relative, what, RESTORE))
            continue
        size = action.get("size_bytes")
        rows = action.get("num_records")
        try:
            actual = path.stat().st_size
        except OSError:
            problems.append(Problem(table.name, shown, "data file is missing", RESTORE))
            continue
        if isinstance(size, int) and actual != size:
            what = f"data file has {actual} bytes, its log entry says {size} (truncated or overwritten)"
            problems.append(Problem(table.name, shown, what, RESTORE))
            continue
        files.append(LiveFile(path, shown, size, rows if isinstance(rows, int) else None))
    return problems, version, files


def table_state(root: Path, table: Table, location: str) -> TableState:
    """The cheap checks of one table (``location``: where delta-rs opens it)."""
    directory = root / table.name
    if not directory.is_dir():
        return TableState(present=False)
    log = directory / LOG
    entries = [
        e
        for e in (log.iterdir() if log.is_dir() else ())
        if _COMMIT.match(e.name) or _CHECKPOINT.match(e.name)
    ]
    if not entries and not any(_data_files(directory)):  # never created, or its creation failed
        return TableState(present=False)
    problems, newest, named = _read_log(root, table)
    if problems:
        return TableState(True, tuple(problems), newest, named=frozenset(named))
    problems, version, files = _live_files(root, table, location)
    return TableState(True, tuple(problems), version, tuple(files), frozenset(named))


def structural_problems(
    root: Path, location: Callable[[Table], str] | None = None
) -> list[Problem]:
    """The problems the cheap checks find in every table of the lake at ``root``.

    ``location(table)`` gives where delta-rs opens a table (default: its directory).
    """
    out: list[Problem] = []
    for table in TABLES:
        where = location(table) if location else str(root / table.name)
        out.extend(table_state(root, table, where).problems)
    return out


def _read_fully(root: Path, table: Table, live: LiveFile) -> tuple[Problem | None, int]:
    import pyarrow.parquet as pq

    try:
        rows = pq.ParquetFile(live.path).read().num_rows
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
    known = state.named | {str(live.path.relative_to(directory)) for live in state.files}
    return [p for p in _data_files(directory) if str(p.relative_to(directory)) not in known]


def unreadable_files(root: Path, table: Table, location: str) -> list[Problem]:
    """The cheap checks of ``table`` and, when they pass, a full read of each live file."""
    state = table_state(root, table, location)
    if state.problems:
        return list(state.problems)
    return [p for p in (_read_fully(root, table, f)[0] for f in state.files) if p is not None]


def check_lake(root: Path, location: Callable[[Table], str] | None = None) -> LakeHealth:
    """Diagnose the lake at ``root``: every check of the module doc, table by table."""
    tables: list[TableHealth] = []
    problems: list[Problem] = []
    for table in TABLES:
        where = location(table) if location else str(root / table.name)
        state = table_state(root, table, where)
        problems.extend(state.problems)
        if not state.present:
            tables.append(TableHealth(table.name, present=False))
            continue
        rows: int | None = 0
        for live in state.files:
            problem, count = _read_fully(root, table, live)
            if problem is not None:
                problems.append(problem)
                rows = None
            elif rows is not None:
                rows += count
        directory = root / table.name
        known = state.named | {str(live.path.relative_to(directory)) for live in state.files}
        for path in sorted(_data_files(directory)):
            if str(path.relative_to(directory)) not in known:
                what = "data file is in no entry of the table's log"
                problems.append(Problem(table.name, _rel(root, path), what, UNLISTED))
        healthy = not state.problems
        tables.append(
            TableHealth(
                table.name,
                present=True,
                version=state.version,
                files=len(state.files) if healthy else None,
                rows=rows if healthy else None,
            )
        )
    return LakeHealth(root, tuple(tables), tuple(problems))

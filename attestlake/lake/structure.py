"""The cheap checks of a lake's tables: each transaction log, and each live file's presence and size.

A table is damaged when its transaction log (``TABLE/_delta_log/``) lacks an entry, holds an
empty, truncated or garbled one, or is missing while data files remain, or when a data file the
log lists is missing or has another size than the log says. :func:`table_state` reads one table
so (every lake session and writer runs it before using a table) and :func:`structural_problems`
every table of a lake; each thing wrong is a :class:`Problem` naming the table, the file and
its repair (docs/lake.md, "Damage and repair").
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
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
REVERIFY_AGAIN = (
    "run 'attestlake reverify' with the trust policy the lake should follow (a crawl does it "
    "first, too): it rebuilds the tables from the bytes the lake kept"
)
RESTORE = (
    "restore the lake directory from a backup, or rebuild it: crawl the same sources into a "
    "new lake directory and use that one (docs/lake.md, Damage and repair)"
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


def lake_relative(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def data_files(directory: Path) -> Iterable[Path]:
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
        data = sum(1 for _ in data_files(root / table.name))
        what = (
            f"the table's transaction log is missing ({data} data file(s) are no longer a table)"
            if data
            else "the table's transaction log is missing"
        )
        problems.append(Problem(table.name, lake_relative(root, log), what, RESTORE))
        return problems, None, named
    start = max(checkpoints) + 1 if checkpoints else 0
    newest = max([*commits, *checkpoints])
    for version in range(start, newest + 1):
        path = commits.get(version)
        if path is None:
            problems.append(
                Problem(
                    table.name,
                    lake_relative(root, log / f"{version:020d}.json"),
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
            table.name,
            lake_relative(root, path),
            f"log entry cannot be read: {exc.strerror}",
            RESTORE,
        )
    if not raw.strip():
        return Problem(
            table.name, lake_relative(root, path), f"log entry {version} is empty", RESTORE
        )
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
                lake_relative(root, path),
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
        listed = pa.table(delta.get_add_actions(flatten=True))
        wanted = [c for c in ("path", "size_bytes", "num_records") if c in listed.column_names]
        actions: list[dict[str, Any]] = listed.select(wanted).to_pylist()
    except BaseException as exc:  # delta-rs raises DeltaError, OSError, or a Rust panic
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        what = f"the table's log cannot be read: {first}"
        return [Problem(table.name, lake_relative(root, directory / LOG), what, RESTORE)], None, []
    problems: list[Problem] = []
    files: list[LiveFile] = []
    for action in actions:
        relative = unquote(str(action["path"]))
        path = directory / relative
        shown = lake_relative(root, path)
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


#: Healthy table states already read in this process, by their log's listing (see
#: :func:`table_state`); the newest :data:`_KEPT` are kept.
_READ: OrderedDict[tuple[Any, ...], TableState] = OrderedDict()
_KEPT = 256


def _log_listing(entries: list[Path]) -> tuple[tuple[str, int, int], ...] | None:
    """Each log file's name, size and modification time, or None when one cannot be read."""
    try:
        return tuple(
            sorted((e.name, *(lambda st: (st.st_size, st.st_mtime_ns))(e.stat())) for e in entries)
        )
    except OSError:
        return None


def _files_intact(state: TableState) -> bool:
    """Whether every live data file of ``state`` is still there, with the size its log gives."""
    for live in state.files:
        try:
            if live.size is not None and live.path.stat().st_size != live.size:
                return False
        except OSError:
            return False
    return True


def table_state(root: Path, table: Table, location: str) -> TableState:
    """The cheap checks of one table (``location``: where delta-rs opens it).

    A healthy table whose log files are the ones read before in this process (same names,
    sizes and modification times) is not read again: only its data files are checked to be
    there with their sizes. A command that opens a lake many times pays for its log once."""
    directory = root / table.name
    if not directory.is_dir():
        return TableState(present=False)
    log = directory / LOG
    entries = [
        e
        for e in (log.iterdir() if log.is_dir() else ())
        if _COMMIT.match(e.name) or _CHECKPOINT.match(e.name)
    ]
    if not entries and not any(data_files(directory)):  # never created, or its creation failed
        return TableState(present=False)
    listing = _log_listing(entries)
    key = (str(directory.resolve()), location, listing)
    known = _READ.get(key) if listing is not None else None
    if known is not None and _files_intact(known):
        _READ.move_to_end(key)
        return known
    problems, newest, named = _read_log(root, table)
    if problems:
        return TableState(True, tuple(problems), newest, named=frozenset(named))
    problems, version, files = _live_files(root, table, location)
    state = TableState(True, tuple(problems), version, tuple(files), frozenset(named))
    if not problems and listing is not None:
        _READ[key] = state
        while len(_READ) > _KEPT:
            _READ.popitem(last=False)
    return state


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

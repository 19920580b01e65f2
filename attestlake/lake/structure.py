"""The cheap checks of a lake's tables: each transaction log, and each live file's presence and size.

A table is damaged when its transaction log (``TABLE/_delta_log/``) lacks an entry, holds an
empty, truncated or garbled one, or is missing while data files remain, or when a data file the
log lists is missing or has another size than the log says. :func:`table_state` reads one table
so (every lake session and writer runs it before using a table) and :func:`structural_problems`
every table of a lake; each thing wrong is a :class:`Problem` naming the table, the file and
its repair (docs/lake.md, "Damage and repair").
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from attestlake.lake.fan_out import each_table
from attestlake.lake.object_files import listing, read_bytes
from attestlake.lake.object_store import LakeRoot, ObjectLake
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


#: The highest Delta reader protocol whose tables are plain Parquet files: version 2 adds
#: column mapping (the files' columns have other names) and version 3 reader features such
#: as deletion vectors (rows deleted without rewriting their file), which reading the files
#: alone would get wrong. attestlake writes version 1; another engine can raise it.
PLAIN_READER_VERSION = 1
#: How to repair a table another engine raised beyond :data:`PLAIN_READER_VERSION`.
REWRITE_PLAIN = (
    "rewrite the table with plain Parquet files in the engine that changed it (Spark: REORG "
    "TABLE ... APPLY (PURGE), then ALTER TABLE ... DROP FEATURE for each feature), or restore "
    "the lake directory from a backup"
)


def needs_delta_reader(delta: Any) -> str | None:
    """Why the Delta table ``delta`` (opened by delta-rs) is not its Parquet files read as
    they are (None: it is): the reader protocol and features it requires."""
    protocol = delta.protocol()
    version = protocol.min_reader_version
    if version <= PLAIN_READER_VERSION:
        return None
    features = sorted(protocol.reader_features or ()) or (["columnMapping"] if version == 2 else [])
    named = f" ({', '.join(features)})" if features else ""
    return (
        f"the table needs a Delta reader of protocol {version}{named}: its Parquet files "
        "alone are not its rows"
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

    path: Path | str  # a local path, or a URI in object storage
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
    #: The ``commitInfo`` of each log entry read (from the last checkpoint on), by version,
    #: with its ``version`` added, as delta-rs's history gives it (see :meth:`history`).
    commits: tuple[tuple[int, dict[str, Any]], ...] = field(default=(), compare=False)
    #: In object storage, the table as delta-rs opened it for these checks (a session reads
    #: its snapshot from it rather than asking for the log again).
    delta: Any = field(default=None, compare=False, repr=False)

    def history(self, since: int) -> list[dict[str, Any]] | None:
        """The ``commitInfo`` of every version after ``since`` up to the newest, newest first
        (delta-rs's ``DeltaTable.history`` without opening the table again); None when the
        entries read do not reach back that far (a checkpoint) or one has no ``commitInfo``."""
        if self.version is None:
            return None
        read = dict(self.commits)
        wanted = range(self.version, max(since, -1), -1)
        if not all(v in read for v in wanted):
            return None
        return [read[v] for v in wanted]


def lake_relative(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def data_files(directory: Path) -> Iterable[Path]:
    for path in directory.rglob("*.parquet"):
        if LOG not in path.relative_to(directory).parts:
            yield path


#: What :func:`_check_log` finds: problems, the newest version, every data path the entries
#: name, and each entry's ``commitInfo`` by version.
_LogRead = tuple[list[Problem], int | None, set[str], dict[int, dict[str, Any]]]


def _read_log(root: Path, table: Table) -> _LogRead:
    """The checks of :func:`_check_log` on the log of a table in a local directory."""
    log = root / table.name / LOG
    entries = {e.name: e.read_bytes for e in (log.iterdir() if log.is_dir() else ())}
    return _check_log(table, entries, lambda: sum(1 for _ in data_files(root / table.name)))


def _check_log(
    table: Table, entries: dict[str, Callable[[], bytes]], count_data: Callable[[], int]
) -> _LogRead:
    """Check the log's entries (``entries``: each file of the log by name, and how to read
    it): contiguous from 0 (or from the last checkpoint), each a non-empty sequence of JSON
    objects. Returns problems, the newest version, every data path the entries name and the
    ``commitInfo`` of each entry that has one."""
    shown = f"{table.name}/{LOG}"
    problems: list[Problem] = []
    named: set[str] = set()
    infos: dict[int, dict[str, Any]] = {}
    commits: dict[int, str] = {}
    checkpoints: list[int] = []
    for name in entries:
        if m := _COMMIT.match(name):
            commits[int(m.group(1))] = name
        elif m := _CHECKPOINT.match(name):
            checkpoints.append(int(m.group(1)))
    if not commits and not checkpoints:
        data = count_data()
        what = (
            f"the table's transaction log is missing ({data} data file(s) are no longer a table)"
            if data
            else "the table's transaction log is missing"
        )
        problems.append(Problem(table.name, shown, what, RESTORE))
        return problems, None, named, infos
    start = max(checkpoints) + 1 if checkpoints else 0
    newest = max([*commits, *checkpoints])
    for version in range(start, newest + 1):
        entry = commits.get(version)
        if entry is None:
            problems.append(
                Problem(
                    table.name,
                    f"{shown}/{version:020d}.json",
                    f"log entry {version} is missing (the log has entries up to {newest})",
                    RESTORE,
                )
            )
            continue
        problem = _check_entry(table, version, f"{shown}/{entry}", entries[entry], named, infos)
        if problem is not None:
            problems.append(problem)
    return problems, newest, named, infos


def _check_entry(
    table: Table,
    version: int,
    shown: str,
    read: Callable[[], bytes],
    named: set[str],
    infos: dict[int, dict[str, Any]],
) -> Problem | None:
    try:
        raw = read()
    except OSError as exc:
        return Problem(
            table.name, shown, f"log entry cannot be read: {exc.strerror or exc}", RESTORE
        )
    if not raw.strip():
        return Problem(table.name, shown, f"log entry {version} is empty", RESTORE)
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
                shown,
                f"log entry {version} is truncated or garbled (line {number} is not a JSON object)",
                RESTORE,
            )
        for kind in ("add", "remove"):
            body = action.get(kind)
            if isinstance(body, dict) and isinstance(body.get("path"), str):
                named.add(unquote(body["path"]))
        info = action.get("commitInfo")
        if isinstance(info, dict):
            infos[version] = {**info, "version": version}
    return None


def _live_files(
    table: Table,
    open_delta: Callable[[], Any],
    size_of: Callable[[str], int | None],
    place: Callable[[str], Path | str],
) -> tuple[list[Problem], int | None, list[LiveFile], Any]:
    """Open the table with delta-rs (``open_delta``) and list its live files, checking each
    exists and has the size its log entry gives (``size_of``: a file's size by its path in
    the table, None when it is missing; ``place``: where it is read); the opened table last."""
    import pyarrow as pa

    try:
        delta = open_delta()
        version = delta.version()
        listed = pa.table(delta.get_add_actions(flatten=True))
        wanted = [c for c in ("path", "size_bytes", "num_records") if c in listed.column_names]
        actions: list[dict[str, Any]] = listed.select(wanted).to_pylist()
    except BaseException as exc:  # delta-rs raises DeltaError, OSError, or a Rust panic
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        what = f"the table's log cannot be read: {first}"
        return [Problem(table.name, f"{table.name}/{LOG}", what, RESTORE)], None, [], None
    refused = needs_delta_reader(delta)
    if refused is not None:
        return [Problem(table.name, f"{table.name}/{LOG}", refused, REWRITE_PLAIN)], None, [], None
    problems: list[Problem] = []
    files: list[LiveFile] = []
    for action in actions:
        relative = unquote(str(action["path"]))
        shown = f"{table.name}/{relative}"
        if "://" in relative or relative.startswith("/") or ".." in Path(relative).parts:
            what = "the log names a data file outside the table's directory"
            problems.append(Problem(table.name, relative, what, RESTORE))
            continue
        size = action.get("size_bytes")
        rows = action.get("num_records")
        actual = size_of(relative)
        if actual is None:
            problems.append(Problem(table.name, shown, "data file is missing", RESTORE))
            continue
        if isinstance(size, int) and actual != size:
            what = f"data file has {actual} bytes, its log entry says {size} (truncated or overwritten)"
            problems.append(Problem(table.name, shown, what, RESTORE))
            continue
        files.append(
            LiveFile(place(relative), shown, size, rows if isinstance(rows, int) else None)
        )
    return problems, version, files, delta


def _local_size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _local_files(
    root: Path, table: Table, location: str
) -> tuple[list[Problem], int | None, list[LiveFile], Any]:
    from deltalake import DeltaTable

    directory = root / table.name
    return _live_files(
        table,
        lambda: DeltaTable(location),
        lambda relative: _local_size(directory / relative),
        lambda relative: directory / relative,
    )


#: Healthy table states already read in this process, by their log's listing (see
#: :func:`table_state`); the newest :data:`_KEPT` are kept.
_READ: OrderedDict[tuple[Any, ...], TableState] = OrderedDict()
_KEPT = 256
#: Tables of a lake in object storage are read by several threads at once.
_READ_LOCK = threading.Lock()


def _known(key: tuple[Any, ...], intact: Callable[[TableState], bool]) -> TableState | None:
    """The state kept under ``key``, if ``intact`` says its data files are still there."""
    with _READ_LOCK:
        known = _READ.get(key)
    if known is None or not intact(known):
        return None
    with _READ_LOCK:
        if key in _READ:
            _READ.move_to_end(key)
    return known


def _keep(key: tuple[Any, ...], state: TableState) -> None:
    with _READ_LOCK:
        _READ[key] = state
        while len(_READ) > _KEPT:
            _READ.popitem(last=False)


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
            if live.size is not None and Path(live.path).stat().st_size != live.size:
                return False
        except OSError:
            return False
    return True


def _object_state(
    lake: ObjectLake, table: Table, location: str, listed: Mapping[str, int] | None
) -> TableState:
    """The cheap checks of a table in object storage (:func:`table_state`): one listing of
    its objects (``listed``, or asked now) gives the log's entries and each data file's size."""
    from deltalake import DeltaTable

    objects = listing(lake, table.name) if listed is None else listed
    log = {k[len(LOG) + 1 :]: n for k, n in objects.items() if k.startswith(f"{LOG}/")}
    entries = {n: size for n, size in log.items() if _COMMIT.match(n) or _CHECKPOINT.match(n)}
    data = [k for k in objects if k.endswith(".parquet") and not k.startswith(f"{LOG}/")]
    if not entries and not data:
        return TableState(present=False)
    key = (location, tuple(sorted(entries.items())))
    known = _known(
        key,
        lambda kept: all(objects.get(f.relative.split("/", 1)[1]) == f.size for f in kept.files),
    )
    if known is not None:
        return known
    readers: dict[str, Callable[[], bytes]] = {
        name: functools.partial(read_bytes, lake, table.name, LOG, name) for name in entries
    }
    problems, newest, named, infos = _check_log(table, readers, lambda: len(data))
    if problems:
        return TableState(True, tuple(problems), newest, named=frozenset(named))
    problems, version, files, delta = _live_files(
        table,
        lambda: DeltaTable(location, storage_options=dict(lake.options)),
        objects.get,
        lambda relative: lake.child(table.name, relative),
    )
    state = TableState(
        True,
        tuple(problems),
        version,
        tuple(files),
        frozenset(named),
        commits=tuple(infos.items()),
        delta=delta,
    )
    if not problems:
        _keep(key, state)
    return state


def table_directory(root: LakeRoot, table: Table) -> str:
    """Where delta-rs opens ``table`` of the lake at ``root`` (its directory, or its URI)."""
    return root.child(table.name) if isinstance(root, ObjectLake) else str(root / table.name)


def tables_listed(lake: ObjectLake) -> dict[str, dict[str, int]]:
    """Every object of a lake in object storage, by the table directory it is in (its key
    relative to there, and its size): one listing for all the tables."""
    return by_table(listing(lake))


def by_table(objects: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """The objects of a lake (keys relative to its prefix) by the table directory each is in,
    their keys relative to there."""
    out: dict[str, dict[str, int]] = {}
    for key, size in objects.items():
        head, _, rest = key.partition("/")
        if rest:
            out.setdefault(head, {})[rest] = size
    return out


#: Every object of a lake in object storage, by table (see :func:`tables_listed`).
LakeListing = Mapping[str, Mapping[str, int]]


def table_states(
    root: LakeRoot, tables: Sequence[Table], listed: LakeListing | None = None
) -> list[TableState]:
    """The cheap checks of each of ``tables``, in order (:func:`table_state`). In object
    storage one listing of the lake serves them all: ``listed``, or asked now."""
    if isinstance(root, ObjectLake) and listed is None:
        listed = tables_listed(root)
    return each_table(
        root,
        lambda t: table_state(
            root, t, table_directory(root, t), None if listed is None else listed.get(t.name, {})
        ),
        tables,
    )


def table_state(
    root: LakeRoot, table: Table, location: str, listed: Mapping[str, int] | None = None
) -> TableState:
    """The cheap checks of one table (``location``: where delta-rs opens it; ``listed``: in
    object storage, the table's objects as :func:`tables_listed` found them).

    A healthy table whose log files are the ones read before in this process (same names,
    sizes and modification times) is not read again: only its data files are checked to be
    there with their sizes. A command that opens a lake many times pays for its log once."""
    if isinstance(root, ObjectLake):
        return _object_state(root, table, location, listed)
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
    known = _known(key, _files_intact) if listing is not None else None
    if known is not None:
        return known
    problems, newest, named, infos = _read_log(root, table)
    if problems:
        return TableState(True, tuple(problems), newest, named=frozenset(named))
    problems, version, files, _ = _local_files(root, table, location)
    state = TableState(
        True, tuple(problems), version, tuple(files), frozenset(named), tuple(infos.items())
    )
    if not problems and listing is not None:
        _keep(key, state)
    return state


def structural_problems(
    root: LakeRoot, location: Callable[[Table], str] | None = None
) -> list[Problem]:
    """The problems the cheap checks find in every table of the lake at ``root``.

    ``location(table)`` gives where delta-rs opens a table (default: its directory).
    """
    out: list[Problem] = []
    for table in TABLES:
        where = location(table) if location else table_directory(root, table)
        out.extend(table_state(root, table, where).problems)
    return out

"""Writing the lake: creating its tables, appending batches, deleting and compacting.

Writers of one lake take turns under :func:`writer_lock`; each table write is one Delta commit
through a guarded delta-rs call (:mod:`attestlake.lake.delta`), and a failed append removes the
data files it left that no log entry names.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, PostCommitHookProperties, write_deltalake

from attestlake._internal.process_start import refuse_while_starting
from attestlake.errors import LakeError
from attestlake.lake.delta import (
    check_path,
    guarded,
    intact_states,
    intact_tables,
    is_table,
    open_table,
    storage_options,
    table_location,
    table_path,
)
from attestlake.lake.fan_out import each_table
from attestlake.lake.file_layout import (
    LARGE_VALUE_ROW_GROUP,
    ordered,
    table_properties,
    writer_properties,
)
from attestlake.lake.lake_check import unlisted_files
from attestlake.lake.location import LOCK_FILE
from attestlake.lake.log_cleanup import COMMIT_HOOKS, after_commit
from attestlake.lake.maintained_views import MAINTAINED
from attestlake.lake.object_lock import object_writer_lock
from attestlake.lake.object_store import LakeRoot, ObjectLake
from attestlake.lake.scan import column_slices
from attestlake.lake.structure import LOG, LakeListing, tables_listed
from attestlake.lake.tables import TABLES, Table

_T = TypeVar("_T")


def create_tables(root: LakeRoot) -> None:
    """Create every table that does not exist yet (idempotent); LakeError if one that exists
    is damaged (its log or a data file is missing or garbled)."""
    check_path(root)
    if isinstance(root, Path):
        root.mkdir(parents=True, exist_ok=True)
    present = intact_tables(root)

    def create(table: Table) -> None:
        call = functools.partial(
            DeltaTable.create,
            table_location(root, table),
            table.schema,
            mode="ignore",
            partition_by=list(table.partition_by) or None,
            storage_options=storage_options(root),
            configuration=table_properties(table),
        )
        guarded(root, table, "create", call)

    each_table(root, create, [t for t in TABLES if t.name not in present])


def _set_properties(root: LakeRoot, table: Table, delta: DeltaTable) -> None:
    """Give ``delta`` the table properties of ``table`` where it lacks them (a table created
    before they were set): one commit that changes no row; the files written from then on
    follow them."""
    wanted = table_properties(table)
    configuration = delta.metadata().configuration
    if all(configuration.get(k) == v for k, v in wanted.items()):
        return

    def alter(hooks: PostCommitHookProperties | None) -> None:
        delta.alter.set_table_properties(wanted, post_commithook_properties=hooks)

    guarded(root, table, "set the properties of", lambda: _commit(root, delta, alter))


def _commit(
    root: LakeRoot, delta: DeltaTable, commit: Callable[[PostCommitHookProperties | None], None]
) -> None:
    """Make the commit ``commit`` on ``delta`` (given its post-commit hooks) with the lake's
    post-commit work: in object storage, :data:`COMMIT_HOOKS` and then :func:`after_commit`;
    on a disk, delta-rs's own."""
    in_store = isinstance(root, ObjectLake)
    commit(COMMIT_HOOKS if in_store else None)
    if in_store:
        after_commit(delta)


@contextlib.contextmanager
def writer_lock(root: LakeRoot) -> Iterator[None]:
    """Serialise writers of one lake (two crawls at once take turns, never interleave): a
    file lock in a local lake, a lease in object storage (:mod:`attestlake.lake.object_lock`).
    Refused in a worker process that is starting (:mod:`attestlake._internal.process_start`):
    its parent may hold the lock."""
    refuse_while_starting("a lake writer")
    if isinstance(root, ObjectLake):
        with object_writer_lock(root):
            yield
        return
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_FILE, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


#: Commits an :class:`Appender` makes to a table before it opens the table again. A table kept
#: open grows with each commit it makes (delta-rs adds the commit's actions to the snapshot it
#: holds, about 0.1 MiB a commit for a wide table), and its commits get slower; one opened
#: again reads its newest checkpoint and the entries after it. Measured in
#: docs/performance.md (*A crawl's open tables*).
REOPEN_AFTER = 25
#: The size below which a data file counts as small, and about the size of the files small ones
#: are merged into.
MERGE_TARGET = 16 * 1024 * 1024
#: How many small files a table holds before an :class:`Appender` merges them: a crawl writes
#: one file per table per batch, and every file's statistics and footer cost its readers (the
#: crawl's open tables, each lake session) memory. 128 batches of a table make about
#: :data:`MERGE_TARGET` bytes or more, so a row is merged about once; measured in
#: docs/performance.md (*Small files merged during a crawl*).
MERGE_AFTER = 128

log = logging.getLogger(__name__)


def _small_files(delta: DeltaTable) -> int:
    """How many of ``delta``'s live data files are smaller than :data:`MERGE_TARGET`."""
    sizes = pa.table(delta.get_add_actions(flatten=True)).column("size_bytes")
    return int(pc.sum(pc.less(sizes, MERGE_TARGET)).as_py() or 0)


def merges(table: Table) -> bool:
    """Whether an :class:`Appender` merges ``table``'s small files: not a table with large
    values (whole files), which delta-rs reads 8,192 rows at a time to merge, a few hundred
    MB of them (``attestlake lake compact`` merges it)."""
    return not table.large_values


class Appender:
    """Appends batches to a lake's tables, keeping each table open for
    :data:`REOPEN_AFTER` commits (no log replay per batch), and merging a table's small files
    once it holds :data:`MERGE_AFTER` of them, so that the files of a table a crawl writes
    do not grow with its batches (those it :func:`merges`). For one writer at a time: use it
    under :func:`writer_lock`."""

    def __init__(self, root: LakeRoot) -> None:
        self.root = root
        self._open: dict[str, DeltaTable] = {}
        self._commits: dict[str, int] = {}  # commits made since each table was opened
        self._small: dict[str, int] = {}  # small files each table is known to hold (at least)
        self._merge_at: dict[str, int] = {}  # how many small files make the next merge

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
            delta = self._open[table.name] = guarded(
                self.root, table, "open", lambda: open_table(self.root, table)
            )
            self._commits[table.name] = 0
            _set_properties(self.root, table, delta)
            if table.name not in self._small:
                self._small[table.name] = _small_files(delta)
                self._merge_at[table.name] = MERGE_AFTER
        # A table keeps the partitions it was created with (lakes written before tables
        # were unpartitioned have run_date= or crawl_date= directories).
        partitions = list(delta.metadata().partition_columns) or None
        data = ordered(table, data)

        def write(hooks: PostCommitHookProperties | None) -> None:
            write_deltalake(
                delta,
                data,
                mode="append",
                partition_by=partitions,
                schema_mode="merge",  # a lake made by an older version gains the new columns
                writer_properties=writer_properties(table),
                post_commithook_properties=hooks,
            )

        started = time.time()
        try:
            guarded(self.root, table, "write", lambda: _commit(self.root, delta, write))
        except LakeError:
            self._open.pop(table.name, None)  # reopen from the log next time
            self._remove_partial(table, started)
            raise
        self._commits[table.name] += 1
        self._small[table.name] += 1
        if self._small[table.name] >= self._merge_at[table.name] and merges(table):
            self._merge(table, delta)
        if self._commits[table.name] >= REOPEN_AFTER:
            self._open.pop(table.name, None)
        return int(data.num_rows)

    def _merge(self, table: Table, delta: DeltaTable) -> None:
        """Merge ``table``'s small files into files of about :data:`MERGE_TARGET` bytes, in
        one commit that changes no row (a reader of an earlier version still finds its files:
        only a vacuum deletes them). A merge that fails leaves the table as it was and the
        crawl going, with a warning: the rows are written either way."""
        small = self._small[table.name] = _small_files(delta)
        if small < self._merge_at[table.name]:
            return

        def merge(hooks: PostCommitHookProperties | None) -> None:
            delta.optimize.compact(
                target_size=MERGE_TARGET,
                writer_properties=writer_properties(table),
                max_concurrent_tasks=1,  # one file at a time: the crawl's memory stays bounded
                post_commithook_properties=hooks,
            )

        started = time.time()
        try:
            guarded(
                self.root, table, "merge the files of", lambda: _commit(self.root, delta, merge)
            )
        except LakeError as exc:
            log.warning("%s; its rows are written, its small files stay as they are", exc)
            self._open.pop(table.name, None)
            self._remove_partial(table, started)
            self._merge_at[table.name] = small + MERGE_AFTER  # not again at every append
            return
        left = self._small[table.name] = _small_files(delta)
        # a table partitioned by an older version keeps a small file per partition: merged
        # again only once it holds MERGE_AFTER more
        self._merge_at[table.name] = max(MERGE_AFTER, left + MERGE_AFTER // 2)
        log.info("%s: %d small files merged, %d left", table.name, small, left)

    def close(self) -> None:
        """Let go of the open tables (and the lists of data files they hold); a later append
        opens its table again."""
        self._open.clear()
        self._commits.clear()
        self._small.clear()
        self._merge_at.clear()

    def _remove_partial(self, table: Table, since: float) -> None:
        """Delete the data files a failed write left that no log entry names (a full disk
        stops delta-rs after some files, before its commit). In object storage they stay
        until a vacuum deletes them (no snapshot names them)."""
        if isinstance(self.root, ObjectLake):
            return
        with contextlib.suppress(OSError, LakeError):
            for path in unlisted_files(self.root, table, table_location(self.root, table)):
                if path.stat().st_mtime >= since - 1:
                    path.unlink()


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def delete_batches_after(root: LakeRoot, table: Table, crawl_id: str, batch: int) -> int:
    """Delete the rows that crawl ``crawl_id`` wrote in its batches after ``batch``; return
    how many were deleted."""
    if not _UUID.fullmatch(crawl_id):
        raise LakeError(f"refusing to delete by a crawl id that is not a UUID: {crawl_id!r}")
    predicate = f"crawl_id = '{crawl_id}' AND crawl_batch > {int(batch)}"
    metrics = guarded(root, table, "delete from", lambda: open_table(root, table).delete(predicate))
    return int(metrics.get("num_deleted_rows") or 0)


@dataclass(frozen=True)
class CompactResult:
    """What ``compact`` did per table: files before and after, and files removed from disk."""

    tables: dict[str, tuple[int, int, int]]


#: Whether a file (its path relative to the table, as delta-rs names it) is still stored.
Stored = Callable[[str], bool]


def _stored(root: LakeRoot, table: Table, listed: LakeListing | None) -> Stored:
    if isinstance(root, Path):
        directory = table_path(root, table)
        return lambda relative: (directory / unquote(relative)).exists()
    objects = (listed or {}).get(table.name, {})
    return lambda relative: unquote(relative) in objects


def _on_table(
    run: Callable[[Table, DeltaTable, Stored], _T],
    root: LakeRoot,
    table: Table,
    opened: DeltaTable | None,
    stored: Stored,
) -> _T:
    return run(table, opened if opened is not None else open_table(root, table), stored)


def _each_table(
    root: LakeRoot, doing: str, run: Callable[[Table, DeltaTable, Stored], _T]
) -> dict[str, _T]:
    """``run(table, its Delta table, whether a file of it is stored)`` on every table
    present, the maintained tables included, under the writer lock (never interleaved with a
    crawl), after the cheap damage checks; results by table name. In object storage one
    listing of the lake finds the tables and their files, and each table is the handle its
    checks opened."""
    out: dict[str, _T] = {}
    with writer_lock(root):
        listed = tables_listed(root) if isinstance(root, ObjectLake) else None
        opened = {name: state.delta for name, state in intact_states(root, listed).items()}
        maintained = [m.table for m in MAINTAINED]
        for table in maintained:
            there = (
                is_table(root, table) if listed is None else _has_log(listed.get(table.name, {}))
            )
            if there:
                opened[table.name] = None
        for table in (*TABLES, *maintained):
            if table.name in opened:
                stored = _stored(root, table, listed)
                call = functools.partial(_on_table, run, root, table, opened[table.name], stored)
                out[table.name] = guarded(root, table, doing, call)
    return out


def _has_log(objects: Mapping[str, int]) -> bool:
    """Whether a table's objects (as listed) hold a log entry: a Delta table is there."""
    return any(k.startswith(f"{LOG}/") and k.endswith((".json", ".parquet")) for k in objects)


def _oversized_row_groups(table: Table, dt: DeltaTable) -> bool:
    """Whether a live file of ``table`` (one with large values) has a row group of more than
    :data:`~attestlake.lake.file_layout.LARGE_VALUE_ROW_GROUP` rows (written by an earlier
    version): a reader must take it whole to reach any of its rows."""
    if not table.large_values:
        return False
    for fragment in dt.to_pyarrow_dataset().get_fragments():
        meta = fragment.metadata  # the file's footer
        if any(
            meta.row_group(i).num_rows > LARGE_VALUE_ROW_GROUP for i in range(meta.num_row_groups)
        ):
            return True
    return False


def _rewrite(table: Table, dt: DeltaTable) -> None:
    """Rewrite every row of ``table`` in files of today's layout, in one commit, the rows in
    the order they are stored; read a few pages at a time (a row group of an earlier version
    can hold gigabytes of files), on a thread of its own: delta-rs's file system cannot be
    called from within the write that consumes the rows."""
    dataset = dt.to_pyarrow_dataset()
    columns = {f.name: f.type for f in dataset.schema}
    ready: queue.Queue[pa.RecordBatch | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def offer(item: pa.RecordBatch | BaseException | None) -> bool:
        """Hand ``item`` to the writer; False once it stopped taking them."""
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                ready.put(item, timeout=0.5)
                return True
        return False

    def read() -> None:
        try:
            for batch in column_slices(dataset, columns, LARGE_VALUE_ROW_GROUP):
                if not offer(batch):
                    return
            offer(None)
        except BaseException as exc:  # handed to the writer, which raises it
            offer(exc)

    def batches() -> Iterator[pa.RecordBatch]:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    reader = threading.Thread(target=read, name="attestlake-rewrite", daemon=True)
    reader.start()
    try:
        rows = pa.RecordBatchReader.from_batches(dataset.schema, batches())
        write_deltalake(dt, rows, mode="overwrite", writer_properties=writer_properties(table))
    finally:
        stop.set()
        reader.join()


def _compact_one(table: Table, dt: DeltaTable, stored: Stored) -> tuple[int, int, int]:
    before = len(dt.file_uris())
    if _oversized_row_groups(table, dt):
        _rewrite(table, dt)
        dt.update_incremental()
    else:  # updates ``dt`` to its commit
        dt.optimize.compact(writer_properties=writer_properties(table))
    after = len(dt.file_uris())  # a vacuum deletes no live file
    return before, after, _vacuum_one(dt, 0, stored)


def _vacuum_one(dt: DeltaTable, retain_hours: int, stored: Stored) -> int:
    """Vacuum one table; how many of its files were deleted. delta-rs names every file its
    log's tombstones name, deleted already or not, and commits the vacuum either way: a table
    whose files to delete are all gone already is left as it is (no commit that deletes
    nothing, in a log every later reader reads)."""
    vacuum = functools.partial(
        dt.vacuum, retention_hours=retain_hours, enforce_retention_duration=False
    )
    there = [f for f in vacuum(dry_run=True) if stored(f)]
    if not there:
        return 0
    vacuum(dry_run=False)
    return len(there)


def compact(root: LakeRoot) -> CompactResult:
    """Rewrite each table's small files into large ones and delete superseded files.

    Runs under the writer lock, so it never interleaves with a crawl.
    """
    check_path(root)
    if isinstance(root, Path) and not root.is_dir():
        raise LakeError(f"{root} is not a lake directory")
    return CompactResult(_each_table(root, "compact", _compact_one))


def vacuum(root: LakeRoot, retain_hours: int) -> dict[str, int]:
    """Delete the data files of every table that no snapshot of the last ``retain_hours``
    hours needs (Delta vacuum), under the writer lock; files deleted per table. Readers of an
    older snapshot (time travel) lose it; the current snapshot is never touched."""
    check_path(root)
    if retain_hours < 0:
        raise LakeError(f"--retain must be 0 or more hours, not {retain_hours}")

    return _each_table(root, "vacuum", lambda _, dt, stored: _vacuum_one(dt, retain_hours, stored))

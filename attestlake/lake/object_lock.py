"""The writers' lock of a lake in object storage: a lease kept in a one-row Delta table.

A local lake's writers take turns under a file lock; object storage has none. There, the lock
is the Delta table ``LAKE/_writer_lock`` whose one row says who holds the lease and until when.
A writer takes the lease by overwriting that row with a commit that may not be retried
(delta-rs commits with a conditional put: of two writers that read the same version, exactly
one writes the next one; the other's commit fails and it reads again). The holder renews the
lease every :data:`RENEW_EVERY` seconds while it works and writes the row "released" when it
is done. A writer killed while it holds the lease (no release) holds it until the lease
expires (:data:`LEASE_SECONDS` after its last renewal); then the next writer takes it. Clocks
of the writers' machines must agree to well within the lease.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError

from attestlake.errors import LakeError
from attestlake.lake.log_cleanup import COMMIT_HOOKS, after_commit
from attestlake.lake.object_files import why
from attestlake.lake.object_store import ObjectLake

#: The lock table's directory under the lake.
LOCK_TABLE = "_writer_lock"
LEASE_SECONDS = 300.0
RENEW_EVERY = 60.0
#: How long a writer waits between two looks at a held lease.
POLL_SECONDS = 0.5
#: A holder stops writing this long before its lease expires (a commit takes a while).
MARGIN_SECONDS = 30.0
_SCHEMA = pa.schema(
    [
        ("holder", pa.string()),
        ("state", pa.string()),
        ("expires", pa.timestamp("us", tz="UTC")),
    ]
)


def _location(lake: ObjectLake) -> str:
    return lake.child(LOCK_TABLE)


def _open(lake: ObjectLake) -> DeltaTable:
    """The lock table, created first if the lake has none (its log is read once)."""
    location, options = _location(lake), dict(lake.options)
    try:
        return DeltaTable(location, storage_options=options)
    except TableNotFoundError:
        with contextlib.suppress(Exception):  # another writer may create it at the same time
            DeltaTable.create(location, _SCHEMA, mode="ignore", storage_options=options)
    return DeltaTable(location, storage_options=options)


def _current(table: DeltaTable) -> dict[str, Any] | None:
    rows = table.to_pyarrow_dataset().to_table().to_pylist()
    return rows[0] if rows else None


def _free(row: dict[str, Any] | None, holder: str, now: datetime) -> bool:
    if row is None or row["state"] == "released" or row["holder"] == holder:
        return True
    expires = row["expires"]
    return expires is None or expires <= now


def _put(table: DeltaTable, holder: str, state: str) -> datetime | None:
    """Overwrite the lease row, only if nobody committed since ``table`` was read; when the
    lease expires then (None: another writer committed first)."""
    expires = datetime.now(UTC) + timedelta(seconds=LEASE_SECONDS)
    row = pa.Table.from_pylist([{"holder": holder, "state": state, "expires": expires}], _SCHEMA)
    try:
        write_deltalake(
            table,
            row,
            mode="overwrite",
            commit_properties=CommitProperties(max_commit_retries=0),
            post_commithook_properties=COMMIT_HOOKS,
        )
    except Exception as exc:  # delta-rs: CommitFailedError, or a conflict error
        if "commit" in type(exc).__name__.lower() or "Concurrent" in type(exc).__name__:
            return None
        raise
    after_commit(table)
    return expires


def _acquire(table: DeltaTable, holder: str) -> datetime:
    """Take the lease of the lock table ``table``; when it expires. A writer that waits keeps
    the table open and reads only the log entries committed since its last look."""
    while True:
        row = _current(table)
        if _free(row, holder, datetime.now(UTC)):
            expires = _put(table, holder, "held")
            if expires is not None:
                return expires
        time.sleep(POLL_SECONDS)
        table.update_incremental()


class _Renewer(threading.Thread):
    """Renews the lease every :data:`RENEW_EVERY` seconds until stopped."""

    def __init__(self, lake: ObjectLake, holder: str, expires: datetime) -> None:
        super().__init__(daemon=True)
        self.lake, self.holder = lake, holder
        #: The lock table as of the last renewal (opened again after a failed one).
        self.table: DeltaTable | None = None
        self.done = threading.Event()
        self.lost = False
        #: When the lease expires, as of its last renewal.
        self.expires = expires

    def run(self) -> None:
        while not self.done.wait(RENEW_EVERY):
            try:
                self._renew()
            except Exception:  # the next renewal tries again, from the log
                self.table = None
            if self.lost:
                return

    def _renew(self) -> None:
        """Renew the lease, reading only the log entries committed since the last renewal."""
        table = self.table
        if table is None:
            table = self.table = _open(self.lake)
        else:
            table.update_incremental()
        row = _current(table)
        if row is None or row["holder"] != self.holder:
            self.lost = True
            return
        expires = _put(table, self.holder, "held")
        if expires is not None:
            self.expires = expires

    def held(self) -> bool:
        """Whether the lease is surely still this writer's (and will be for a commit)."""
        margin = timedelta(seconds=MARGIN_SECONDS)
        return not self.lost and datetime.now(UTC) + margin < self.expires


#: The renewers of the leases this process holds, by the lake's URI.
_HELD: dict[str, list[_Renewer]] = {}


def require_lease(lake: ObjectLake) -> None:
    """LakeError when this process took the lake's writer lease and may have lost it (see
    the module doc): nothing more may be written then. Nothing when it holds no lease."""
    if not all(renewer.held() for renewer in _HELD.get(lake.uri, ())):
        raise LakeError(
            f"the writer lock of the lake {lake} expired while this command wrote (no renewal "
            f"for {LEASE_SECONDS:.0f} s), or is about to: another writer may write now, so "
            "nothing more is written; run the command again, and 'attestlake lake check'"
        )


@contextlib.contextmanager
def object_writer_lock(lake: ObjectLake) -> Iterator[None]:
    """Hold the lake's writer lease for the block (see the module doc)."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4()}"
    try:
        table = _open(lake)
        expires = _acquire(table, holder)
    except LakeError:
        raise
    except Exception as exc:
        raise LakeError(f"cannot take the writer lock of the lake {lake}: {why(exc)}") from None
    renewer = _Renewer(lake, holder, expires)
    renewer.table = table
    renewer.start()
    _HELD.setdefault(lake.uri, []).append(renewer)
    try:
        yield
    finally:
        _HELD[lake.uri].remove(renewer)
        renewer.done.set()
        renewer.join()
        with contextlib.suppress(Exception):  # an expired lease is free for the next anyway
            table = renewer.table or _open(lake)
            table.update_incremental()
            if (_current(table) or {}).get("holder") == holder:
                _put(table, holder, "released")
            else:  # taken since the last renewal
                renewer.lost = True
    if renewer.lost:
        raise LakeError(
            f"the writer lock of the lake {lake} expired while this command wrote (no renewal "
            f"for {LEASE_SECONDS:.0f} s): another writer may have written meanwhile; run "
            "'attestlake lake check'"
        )

"""Bounding the memory of a DuckDB session over a lake.

Work that reads a whole lake in the crawler's process (computing the maintained tables,
reading the kept crawl units back for a re-evaluation) runs in a session that holds at most
:data:`WORK_MEMORY` of working data and spills the rest to a private temporary directory,
so the crawler's memory does not grow with the lake's history.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

__all__ = ["WIDER_WORK_MEMORY", "WORK_MEMORY", "MemoryBound", "bound", "spilling", "sweep_spills"]

#: How much working data a session over the whole lake may hold (DuckDB's ``memory_limit``).
WORK_MEMORY = "256MB"
#: The bound of a second try, for work that did not fit in :data:`WORK_MEMORY`: an earlier
#: definition of ``workflow_packages`` needed about 1 GB at once at a million runs (the
#: process 1.3 GB), and without a bound DuckDB took 10 GB; what can be computed in parts is
#: computed so within :data:`WORK_MEMORY` first.
WIDER_WORK_MEMORY = "1GB"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MemoryBound:
    """How much memory a session's queries may hold (DuckDB's ``memory_limit``, e.g.
    ``"256MB"``), and the directory where what does not fit is spilled. A query that cannot
    spill enough fails with ``duckdb.OutOfMemoryException``."""

    limit: str
    spill: Path
    #: Whether rows of a query without ORDER BY may come back in any order (cheaper).
    any_order: bool = False


#: A spill directory's name: the prefix, the pid of the process that made it, a random part.
_PREFIX = "attestlake-spill-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def sweep_spills(folder: Path | None = None) -> list[Path]:
    """Remove the spill directories that processes which no longer run left in ``folder``
    (the temporary directory): a crawl killed while it computed its maintained tables leaves
    the lake's data there. Only directories of this user whose maker's pid is gone are
    removed; anything else (a symbolic link, another user's, a running crawl's) is left."""
    where = Path(folder or tempfile.gettempdir())
    removed: list[Path] = []
    try:
        entries = list(os.scandir(where))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(_PREFIX):
            continue
        pid, sep, _ = entry.name.removeprefix(_PREFIX).partition("-")
        if not sep or not pid.isdigit():
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or _alive(int(pid)):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(Path(entry.path))
    if removed:
        log.warning("removed %d spill directory(ies) of crawls that were killed", len(removed))
    return removed


@contextlib.contextmanager
def spilling(limit: str = WORK_MEMORY, *, any_order: bool = False) -> Iterator[MemoryBound | None]:
    """A bound of ``limit`` with a new private spill directory (mode 0700: what spills is the
    lake's data), removed on exit (close the sessions that use it first). None, with a
    warning, when no such directory can be made (``$TMPDIR`` missing, full or not writable):
    the work then runs without a bound rather than not at all. Spill directories that killed
    processes left are removed first (:func:`sweep_spills`)."""
    sweep_spills()
    try:
        spill = tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-")
    except OSError as exc:
        log.warning(
            "no temporary directory to spill to (%s): computing without a memory bound",
            exc.strerror or exc,
        )
        yield None
        return
    try:
        yield MemoryBound(limit, Path(spill), any_order)
    finally:
        shutil.rmtree(spill, ignore_errors=True)


def bound(con: duckdb.DuckDBPyConnection, memory: MemoryBound) -> None:
    """Apply ``memory`` to ``con`` (before its configuration is locked)."""
    con.execute("SET memory_limit = $limit", {"limit": memory.limit})
    con.execute("SET temp_directory = $spill", {"spill": str(memory.spill)})
    if memory.any_order:
        con.sql("SET preserve_insertion_order = false")

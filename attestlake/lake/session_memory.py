"""Bounding the memory of a DuckDB session over a lake.

Work that reads a whole lake in the crawler's process (computing the maintained tables,
reading the kept crawl units back for a re-evaluation) runs in a session that holds at most
:data:`WORK_MEMORY` of working data and spills the rest to a private temporary directory,
so the crawler's memory does not grow with the lake's history.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

__all__ = ["WORK_MEMORY", "MemoryBound", "bound", "spilling"]

#: How much working data a session over the whole lake may hold (DuckDB's ``memory_limit``).
WORK_MEMORY = "256MB"

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


@contextlib.contextmanager
def spilling(limit: str = WORK_MEMORY, *, any_order: bool = False) -> Iterator[MemoryBound | None]:
    """A bound of ``limit`` with a new private spill directory (mode 0700: what spills is the
    lake's data), removed on exit (close the sessions that use it first). None, with a
    warning, when no such directory can be made (``$TMPDIR`` missing, full or not writable):
    the work then runs without a bound rather than not at all."""
    try:
        spill = tempfile.mkdtemp(prefix="attestlake-spill-")
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

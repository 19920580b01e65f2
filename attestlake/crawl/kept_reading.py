"""Reading back the crawl units a lake kept (``blobs``), for a re-evaluation: in the order
the crawls first read them, with the statement of each document kept without it.

That order is one sort of every ``blobs`` row by time, crawl, batch, unit and part
(``kept_sql/kept_units.sql``). One sort of every kept file does not fit in the bound of a lake
session at 100k runs (DuckDB cannot sort rows of whole files out of core), so the rows are read
a window at a time: consecutive crawl batches (``kept_batches.sql``) up to
:data:`WINDOW_BYTES` of kept files, batches whose rows could sort among each other's always
in one window, each window's statements looked up for it alone, and each window's query skips
the row groups of other batches by their time and batch statistics. The rows with no time come
last, as the sort puts them.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from attestlake.crawl.kept import units_from_rows
from attestlake.crawl.kept_sessions import kept_session, kept_sql
from attestlake.crawl.sources import Candidate, Source, Unit
from attestlake.errors import LakeError
from attestlake.lake.journal import REVERIFY
from attestlake.lake.object_store import LakeRoot
from attestlake.lake.session_memory import WORK_MEMORY
from attestlake.lake.tables import ATTESTATIONS, BLOBS, VERIFICATIONS

__all__ = ["WINDOW_BYTES", "KeptSource", "Window", "check_statements_kept", "windows"]

#: Kept bytes read back at once (more when one crawl batch holds more: a batch is bounded by
#: the crawl's batch bytes, 64 MB).
WINDOW_BYTES = 32 * 1024 * 1024
#: Rows handed on at a time.
_READ_ROWS = 256

#: A crawl batch as ``kept_batches.sql`` gives it: crawl id, batch, first and last time of
#: its rows, bytes of kept files.
Batch = tuple[str | None, int | None, datetime, datetime, int | None]


@dataclass
class Window:
    """Crawl batches read back together: their ids, their rows' first and last time, and
    their kept bytes."""

    batches: list[tuple[str | None, int | None]] = field(default_factory=list)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    size: int = 0

    def add(self, batch: Batch) -> None:
        crawl_id, crawl_batch, first_seen, last_seen, size = batch
        self.batches.append((crawl_id, crawl_batch))
        self.first_seen = (
            first_seen if self.first_seen is None else min(self.first_seen, first_seen)
        )
        self.last_seen = last_seen if self.last_seen is None else max(self.last_seen, last_seen)
        self.size += size or 0


def _order_key(seen: Any, crawl_id: str | None, crawl_batch: int | None) -> tuple[Any, ...]:
    """How ``kept_units`` orders a row of a batch by time, crawl and batch (NULLs last)."""
    return (seen, crawl_id is None, crawl_id or "", crawl_batch is None, crawl_batch or 0)


def windows(batches: list[Batch], limit: int = WINDOW_BYTES) -> Iterator[Window]:
    """The crawl batches (in ``kept_batches``'s order) in windows to read one after another:
    a batch whose first row could sort before the last row of the window so far joins it
    (a crawl's batches share one time, and follow each other: they need not), and so does one
    that keeps the window within ``limit`` bytes."""
    window = Window()
    last: tuple[Any, ...] | None = None
    for batch in batches:
        crawl_id, crawl_batch, first_seen, last_seen, size = batch
        interleaves = last is not None and not last < _order_key(first_seen, crawl_id, crawl_batch)
        if window.batches and not interleaves and window.size + (size or 0) > limit:
            yield window
            window, last = Window(), None
        window.add(batch)
        end = _order_key(last_seen, crawl_id, crawl_batch)
        last = end if last is None else max(last, end)
    if window.batches:
        yield window


def _kept_tables(root: LakeRoot, *, blobs: LakeRoot | None = None, limit: str = WORK_MEMORY) -> Any:
    """A DuckDB session bounded by ``limit`` (:func:`~attestlake.crawl.kept_sessions.kept_session`)
    on the lake's ``blobs``, ``verifications`` and ``attestations`` (``blobs`` of the lake at
    ``blobs``, when given)."""
    tables = {t.name: (root, t) for t in (VERIFICATIONS, ATTESTATIONS)}
    return kept_session({BLOBS.name: (blobs or root, BLOBS), **tables}, limit)


@contextlib.contextmanager
def _within_bound(what: str) -> Iterator[None]:
    """Reading ``what`` that does not fit in the session's bound is a LakeError."""
    import duckdb  # the session's module; loaded already

    try:
        yield
    except duckdb.OutOfMemoryException as exc:
        raise LakeError(
            f"{what} do not fit in the re-evaluation's memory bound "
            f"({str(exc).splitlines()[0]}); nothing was changed. If the lake was compacted "
            "by an earlier version, 'attestlake lake compact' rewrites blobs in row groups "
            "a re-evaluation can read one crawl batch at a time"
        ) from None


def _window_rows(con: Any, window: Window | None) -> Iterator[dict[str, Any]]:
    """The ``kept_units`` rows of the crawl batches of ``window``, those with a time; with no
    window, every batch's rows with no time."""
    batches = window.batches if window is not None else []
    reading = pa.table(
        {
            "crawl_id": pa.array([b[0] for b in batches], pa.string()),
            "crawl_batch": pa.array([b[1] for b in batches], pa.int32()),
        }
    )
    numbered = [b[1] for b in batches if b[1] is not None]
    every_numbered = bool(numbered) and len(numbered) == len(batches)
    params = {
        "dated": window is not None,
        "first_seen": window.first_seen if window is not None else None,
        "last_seen": window.last_seen if window is not None else None,
        "first_batch": min(numbered) if every_numbered else None,
        "last_batch": max(numbered) if every_numbered else None,
    }
    where = f"crawl batch(es) {batches[:3]}" if batches else "the rows with no time"
    con.register("reading", reading)
    try:
        with _within_bound(f"the kept bytes of {where}"):
            reader = con.sql(kept_sql("kept_units"), params=params).to_arrow_reader(_READ_ROWS)
            for batch in reader or ():
                yield from batch.to_pylist()
    finally:
        con.unregister("reading")


class KeptSource(Source):
    """The crawl units of a lake, read back from ``blobs`` in the order they were first read
    (each document kept without its statement made again with it: :mod:`attestlake.crawl.kept`)."""

    ref = REVERIFY

    def __init__(
        self, root: LakeRoot, limit: str = WORK_MEMORY, window_bytes: int = WINDOW_BYTES
    ) -> None:
        self.root = root
        #: The bound of the session that reads the kept units back.
        self.limit = limit
        #: The kept bytes read back at once.
        self.window_bytes = window_bytes
        self.count = 0
        #: ``documents``: how many documents were made again with their statement.
        self.restored: Counter[str] = Counter()

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every ``blobs`` row in the order ``kept_units`` gives, a window at a time."""
        with _kept_tables(self.root, limit=self.limit) as con:
            with _within_bound("the sizes of the kept crawl batches"):
                batches = con.sql(kept_sql("kept_batches")).fetchall()
            for window in windows(batches, self.window_bytes):
                yield from _window_rows(con, window)
            yield from _window_rows(con, None)

    def candidates(self) -> Iterator[Candidate]:
        for unit in units_from_rows(self.rows(), self.restored):
            self.count += 1
            yield Candidate(unit.key, unit.source, _loader(unit))


def _loader(unit: Unit) -> Callable[[], Unit]:
    return lambda: unit


def check_statements_kept(root: LakeRoot, scratch: Path, restored: int) -> None:
    """LakeError if the scratch lake's ``attestations`` would leave a document the lake
    keeps without its statement with none to make it again (each was made again from the
    lake's, so the scratch crawl wrote each again): nothing of the lake is replaced then."""
    with _kept_tables(scratch, blobs=root) as con:
        ((held,),) = con.execute(kept_sql("cut_with_statement")).fetchall()
    if held < restored:
        raise LakeError(
            f"the re-evaluation of {root} would leave {restored - held} kept document(s) "
            "without the statement their bytes need (the attestations rows it wrote lack "
            "them): none of the lake's tables was replaced"
        )

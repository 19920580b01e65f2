"""The crawl journal (table ``crawls``): which crawls started, which batches they wrote, which ended.

Every crawl has an id (a UUID) and numbers its batches from 1; every row it writes carries both
(``crawl_id``, ``crawl_batch``). It journals itself in ``crawls``: ``started`` before it writes
anything, ``batch`` (with the batch's number) after the last write of each batch that wrote
rows, and ``completed`` after its last write. A crawl that never completed is journalled
``interrupted`` by the next crawl, once that one has deleted the rows of its unjournalled batch
(:mod:`attestlake.lake.crawl_start`).

A re-evaluation of the lake's verdicts under another trust policy (:mod:`attestlake.crawl.reverify`)
journals itself as a crawl of the source :data:`REVERIFY`: it rebuilds every table but ``blobs``
and ``trust_changes``, so the rows that earlier crawls journalled in those tables are no longer
there; :attr:`Journal.written` leaves them out. Every ``started`` and ``completed`` row records
the digest of the trust policy the crawl's verdicts were made under.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from deltalake import DeltaTable

from attestlake._internal.untrusted_json import loads
from attestlake._internal.version import __version__
from attestlake.lake.object_store import LakeRoot
from attestlake.lake.scan import distinct_rows
from attestlake.lake.tables import CRAWLS, REBUILT_TABLES
from attestlake.lake.write import Appender

__all__ = [
    "BATCH",
    "COMPLETED",
    "INTERRUPTED",
    "REVERIFY",
    "STARTED",
    "Journal",
    "journal_batch",
    "journal_completed",
    "journal_row",
    "now",
    "read_journal",
]

STARTED, BATCH, COMPLETED, INTERRUPTED = "started", "batch", "completed", "interrupted"
_EVENTS = (STARTED, BATCH, COMPLETED, INTERRUPTED)
#: The source a re-evaluation of the lake's verdicts journals itself under.
REVERIFY = "(reverify)"
_REBUILT = frozenset(t.name for t in REBUILT_TABLES)
#: Bound on one journal column's JSON (a list of table names, or rows per table).
_MAX_LISTED = 64 * 1024


def _is_crawl_id(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


@dataclass(frozen=True)
class Journal:
    """The ``crawls`` table as a crawl finds it."""

    crawls: frozenset[str] = frozenset()
    #: Crawls journalled ``completed`` or ``interrupted``.
    finished: frozenset[str] = frozenset()
    #: The last batch journalled by each crawl (absent: none).
    last_batch: Mapping[str, int] = field(default_factory=dict)
    #: What each crawl crawled, from its ``started`` row.
    sources: Mapping[str, str] = field(default_factory=dict)
    #: Every table a journalled crawl found in the lake when it started.
    tables: frozenset[str] = frozenset()
    #: Rows each journalled batch wrote, per table: (crawl id, batch) -> table -> rows; the
    #: rebuilt tables left out for crawls that the last re-evaluation superseded.
    written: Mapping[tuple[str, int], Mapping[str, int]] = field(default_factory=dict)
    #: The trust policy digest of the last completed crawl or re-evaluation (None: none, or
    #: written by a version that did not record it).
    policy_digest: str | None = None
    #: The last re-evaluation started did not complete: the rebuilt tables may mix verdicts.
    reverify_pending: bool = False
    #: Whether any crawl or re-evaluation completed.
    any_completed: bool = False

    @property
    def unfinished(self) -> frozenset[str]:
        return self.crawls - self.finished

    def to_delete(self, crawl_id: object, batch: object) -> bool:
        """Whether a row of this crawl and batch is one the clean-up deletes: a batch that an
        unfinished crawl never journalled."""
        return (
            crawl_id in self.unfinished
            and isinstance(batch, int)
            and batch > self.last_batch.get(str(crawl_id), 0)
        )


def _listed(value: object, valid: Callable[[Any], bool]) -> Any:
    """The JSON a journal column holds (``tables``, ``rows``), or None when it is not what
    the crawler writes there (``valid`` says)."""
    try:
        data = loads(value.encode(), max_bytes=_MAX_LISTED) if isinstance(value, str) else None
    except ValueError:
        return None
    return data if valid(data) else None


def _table_names(listed: object) -> set[str] | None:
    names = _listed(listed, lambda v: isinstance(v, list) and all(isinstance(n, str) for n in v))
    return None if names is None else set(names)


def _counts(listed: object) -> dict[str, int] | None:
    """Rows per table, as a ``batch`` row of the journal lists them."""
    counts: dict[str, int] | None = _listed(
        listed,
        lambda v: (
            isinstance(v, dict) and all(isinstance(k, str) and type(n) is int for k, n in v.items())
        ),
    )
    return counts


@dataclass(frozen=True)
class _Timeline:
    """When each crawl started, and what completed, in the order it happened."""

    started: dict[str, datetime] = field(default_factory=dict)
    reverifies: list[str] = field(default_factory=list)
    completed: list[tuple[datetime, str, str | None]] = field(default_factory=list)

    def _done(self) -> set[str]:
        return {c for _, c, _ in self.completed}

    def _last_reverify(self) -> str | None:
        return max(self.reverifies, key=lambda c: self.started[c]) if self.reverifies else None

    def pending(self) -> bool:
        """Whether the last re-evaluation started did not complete."""
        last = self._last_reverify()
        return last is not None and last not in self._done()

    def superseded(self) -> set[str]:
        """Crawls whose rows in the rebuilt tables the last re-evaluation replaced (itself
        too when it did not complete)."""
        last = self._last_reverify()
        if last is None:
            return set()
        earlier = {c for c, at in self.started.items() if at < self.started[last]}
        return earlier | ({last} if self.pending() else set())

    def policy_digest(self) -> str | None:
        """The policy digest of the last completed crawl or re-evaluation."""
        return max(self.completed, key=lambda e: e[0])[2] if self.completed else None


def read_journal(root: LakeRoot, *, opened: DeltaTable | None = None) -> tuple[Journal, list[str]]:
    """The journal of the lake at ``root`` (empty if it has no ``crawls`` table), and what is
    wrong with its rows (rows the crawler never writes). ``opened``: the ``crawls`` table as
    its cheap checks opened it."""
    columns = ("crawl_id", "event", "batch", "source", "tables", "rows", "at", "policy_digest")
    rows = distinct_rows(root, CRAWLS, columns, opened=opened)
    timeline = _Timeline()
    crawls: set[str] = set()
    finished: set[str] = set()
    last: dict[str, int] = {}
    sources: dict[str, str] = {}
    tables: set[str] = set()
    written: dict[tuple[str, int], dict[str, int]] = {}
    problems: list[str] = []
    for crawl_id, event, batch, source, listed, counts, at, digest in sorted(rows, key=repr):
        if not _is_crawl_id(crawl_id) or event not in _EVENTS:
            problems.append(
                f"table {CRAWLS.name} has a row of crawl {crawl_id!r} and event {event!r}, "
                "which the crawler never writes"
            )
            continue
        crawls.add(crawl_id)
        if event == COMPLETED and at is not None:
            timeline.completed.append((at, crawl_id, digest))
        if event in (COMPLETED, INTERRUPTED):
            finished.add(crawl_id)
        elif event == BATCH and isinstance(batch, int):
            last[crawl_id] = max(last.get(crawl_id, 0), batch)
            per_table = _counts(counts)
            if per_table is None:
                problems.append(
                    f"table {CRAWLS.name}: batch {batch} of crawl {crawl_id} lists the rows it "
                    f"wrote as {counts!r}, which the crawler never writes"
                )
            written[(crawl_id, batch)] = per_table or {}
        elif event == STARTED:
            names = _table_names(listed)
            if names is None:
                problems.append(
                    f"table {CRAWLS.name}: the started row of crawl {crawl_id} lists tables as "
                    f"{listed!r}, which the crawler never writes"
                )
            tables |= names or set()
            if isinstance(source, str):
                sources[crawl_id] = source
            if at is not None:
                timeline.started[crawl_id] = at
                if source == REVERIFY:
                    timeline.reverifies.append(crawl_id)
    superseded = timeline.superseded()
    for (crawl_id, batch), per_table in list(written.items()):
        if crawl_id in superseded:
            written[(crawl_id, batch)] = {t: n for t, n in per_table.items() if t not in _REBUILT}
    journal = Journal(
        frozenset(crawls),
        frozenset(finished),
        last,
        sources,
        frozenset(tables),
        written,
        timeline.policy_digest(),
        timeline.pending(),
        bool(timeline.completed),
    )
    return journal, problems


def now() -> datetime:
    """The time a journal entry records: now, in UTC."""
    return datetime.now(UTC)


def journal_row(values: Mapping[str, Any]) -> dict[str, Any]:
    return {c: values.get(c) for c in CRAWLS.schema.names}


def journal_batch(
    appender: Appender, crawl_id: str, batch: int, written: Mapping[str, int]
) -> None:
    """Journal that crawl ``crawl_id`` wrote every row of batch ``batch`` (``written``: rows
    per table)."""
    rows = {t: n for t, n in sorted(written.items()) if n}
    entry = {"crawl_id": crawl_id, "event": BATCH, "batch": batch, "at": now()}
    appender.append(CRAWLS, [journal_row({**entry, "rows": json.dumps(rows)})])


def journal_completed(
    appender: Appender,
    crawl_id: str,
    source: str,
    written: Mapping[str, int],
    policy_digest: str | None = None,
) -> None:
    """Journal that crawl ``crawl_id`` completed: every row it wrote is in (``written``: rows
    per table), its verdicts made under the trust policy ``policy_digest``."""
    rows = {t: n for t, n in sorted(written.items()) if n}
    entry = {
        "crawl_id": crawl_id,
        "event": COMPLETED,
        "at": now(),
        "source": source,
        "policy_digest": policy_digest,
    }
    appender.append(
        CRAWLS, [journal_row({**entry, "version": __version__, "rows": json.dumps(rows)})]
    )

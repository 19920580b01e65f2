"""The crawl journal (table ``crawls``), and what a crawl checks and cleans before it writes.

Every crawl has an id (a UUID) and numbers its batches from 1; every row it writes carries both
(``crawl_id``, ``crawl_batch``). It journals itself in ``crawls``: ``started`` before it writes
anything, ``batch`` (with the batch's number) after the last write of each batch that wrote
rows, and ``completed`` after its last write. A crawl that never completed (killed, or stopped by
an error) may have written part of one batch: the rows of its batches after the last one
journalled. The next crawl, under the writer lock (so never while that crawl runs), deletes
exactly those rows, in every table, and journals the crawl ``interrupted`` with the rows it
deleted. No other row is ever deleted; the crawl units of the deleted rows are no longer in the
lake, so that crawl reads them again.

Before that, the lake must agree with itself. Otherwise the crawl stops with a LakeError naming
each table and what is wrong, and deletes and creates nothing:

- a table that a journalled crawl found in the lake is missing, or has no transaction log;
- rows name a crawl that the journal does not record (the journal lost rows, or is missing);
- rows of a finished crawl name a batch after the last one journalled;
- rows (other than those of the batches to delete) name crawl units that neither
  ``verifications`` nor ``published_documents`` records: those tables lost rows.

A lake written before the journal existed has no ``crawls`` table and no ``crawl_id`` column:
its rows (``crawl_id`` NULL) are never deleted, and it is crawled as it is (the journal is
created), unless the last check finds rows of crawl units that no completion table records (left
by an older crawler killed mid-way): those are reported, not deleted.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deltalake import DeltaTable

from attestlake._internal.untrusted_json import loads
from attestlake._internal.version import __version__
from attestlake.errors import LakeError
from attestlake.lake import lake as lakeio
from attestlake.lake.lake_check import RESTORE, UNLISTED, LakeHealth, Problem, check_lake
from attestlake.lake.tables import (
    BY_NAME,
    COMPLETION_TABLES,
    CRAWLS,
    PUBLISHED_DOCUMENTS,
    TABLES,
    UNIT_TABLES,
    VERIFICATIONS,
    Table,
)

__all__ = [
    "BATCH",
    "COMPLETED",
    "INTERRUPTED",
    "STARTED",
    "Journal",
    "begin",
    "check",
    "disagreements",
    "journal_batch",
    "journal_completed",
    "read_journal",
]

STARTED, BATCH, COMPLETED, INTERRUPTED = "started", "batch", "completed", "interrupted"
_EVENTS = (STARTED, BATCH, COMPLETED, INTERRUPTED)
_SHOWN = 8
#: Bound on one journal column's JSON (a list of table names, or rows per table).
_MAX_LISTED = 64 * 1024
#: (crawl_id, crawl_batch, manifest_digest) of a crawled table's rows, distinct.
_Rows = set[tuple[Any, ...]]


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
    #: Rows each journalled batch wrote, per table: (crawl id, batch) -> table -> rows.
    written: Mapping[tuple[str, int], Mapping[str, int]] = field(default_factory=dict)

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


def _damage(root: Path, problems: list[str]) -> LakeError:
    shown = [f"  - {p}" for p in problems[:_SHOWN]]
    if len(problems) > _SHOWN:
        shown.append(f"  ... and {len(problems) - _SHOWN} more")
    return LakeError(
        f"the lake {root} is inconsistent, so the crawl stopped without deleting or writing "
        "anything:\n"
        + "\n".join(shown)
        + f"\nRun 'attestlake lake check --lake {root}' to see the damage. Repair: restore the "
        "lake directory from a backup, or crawl the same sources into a new lake directory and "
        "use that one (docs/lake.md, Damage and repair)."
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


def read_journal(root: Path) -> tuple[Journal, list[str]]:
    """The journal of the lake at ``root`` (empty if it has no ``crawls`` table), and what is
    wrong with its rows (rows the crawler never writes)."""
    rows = lakeio.distinct_rows(
        root, CRAWLS, ("crawl_id", "event", "batch", "source", "tables", "rows")
    )
    crawls: set[str] = set()
    finished: set[str] = set()
    last: dict[str, int] = {}
    sources: dict[str, str] = {}
    tables: set[str] = set()
    written: dict[tuple[str, int], dict[str, int]] = {}
    problems: list[str] = []
    for crawl_id, event, batch, source, listed, counts in sorted(rows, key=repr):
        if not _is_crawl_id(crawl_id) or event not in _EVENTS:
            problems.append(
                f"table {CRAWLS.name} has a row of crawl {crawl_id!r} and event {event!r}, "
                "which the crawler never writes"
            )
            continue
        crawls.add(crawl_id)
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
    journal = Journal(
        frozenset(crawls), frozenset(finished), last, sources, frozenset(tables), written
    )
    return journal, problems


def _miscounted(
    journal: Journal, counted: Mapping[Table, Mapping[tuple[Any, ...], int]]
) -> list[str]:
    """Tables whose rows of a journalled batch are not as many as the batch wrote: a deleted
    log entry or data file (fewer), or rows written by something other than a crawl (more)."""
    problems: list[str] = []
    for table, per_batch in counted.items():
        wrong = sorted(
            (crawl, batch, per_batch.get((crawl, batch), 0), tables[table.name])
            for (crawl, batch), tables in journal.written.items()
            if table.name in tables and per_batch.get((crawl, batch), 0) != tables[table.name]
        )
        if wrong:
            crawl, batch, found, expected = wrong[0]
            more = f" (and {len(wrong) - 1} more batch(es))" if len(wrong) > 1 else ""
            what = (
                "lost rows: a log entry or data file was deleted"
                if found < expected
                else ("holds rows no crawl wrote")
            )
            problems.append(
                f"table {table.name} holds {found} row(s) of batch {batch} of crawl {crawl}, "
                f"which the journal records as writing {expected}{more}: the table {what}"
            )
    return problems


def _missing(root: Path, name: str) -> str:
    path = root / name
    if path.is_dir():
        return (
            f"table {name} has no transaction log ({path / '_delta_log'} is missing or empty), "
            "but earlier crawls journalled it"
        )
    return f"table {name} is missing ({path} does not exist), but earlier crawls journalled it"


def _disagreements(journal: Journal, rows: Mapping[Table, _Rows], has_journal: bool) -> list[str]:
    """How the crawled tables disagree with the journal and with each other."""
    problems: list[str] = []
    complete = {
        m
        for table in COMPLETION_TABLES
        for c, b, m in rows.get(table, set())
        if not journal.to_delete(c, b)
    }
    unknown: dict[str, set[str]] = {}  # crawl id -> tables
    lost: dict[str, set[str]] = {}  # crawl unit -> tables
    for table, found in rows.items():
        for c, b, m in found:
            if c is not None and c not in journal.crawls:
                unknown.setdefault(c, set()).add(table.name)
            if (
                table not in COMPLETION_TABLES
                and m is not None
                and m not in complete
                and not journal.to_delete(c, b)
            ):
                lost.setdefault(m, set()).add(table.name)
        late = sorted(
            (c, b)
            for c, b, _ in found
            if c in journal.finished and isinstance(b, int) and b > journal.last_batch.get(c, 0)
        )
        if late:
            c, b = late[0]
            problems.append(
                f"table {table.name} holds rows of batch {b} of crawl {c}, which the journal "
                f"records as finished after batch {journal.last_batch.get(c, 0)}"
            )
    if unknown:
        journal_is = (
            "the journal (table crawls) does not record them: it lost rows"
            if has_journal
            else "table crawls, the journal that records them, is missing or has no transaction log"
        )
        problems.insert(
            0,
            f"tables {_names(unknown)} hold rows of {len(unknown)} crawl(s) (crawl_id "
            f"{min(unknown)}), but {journal_is}",
        )
    if lost:
        problems.append(
            f"tables {_names(lost)} hold rows of {len(lost)} crawl unit(s) (manifest_digest "
            f"{min(lost)}) that neither verifications nor published_documents records: those "
            "tables lost rows"
        )
    return problems


def _names(tables_by_key: Mapping[str, set[str]]) -> str:
    found = set().union(*tables_by_key.values())
    return ", ".join(t.name for t in TABLES if t.name in found)


def _now() -> datetime:
    return datetime.now(UTC)


def _clean(
    root: Path, journal: Journal, unfinished: str, rows: Mapping[Table, _Rows], by: str
) -> dict[str, Any]:
    """Delete the rows of the batches ``unfinished`` never journalled; its ``interrupted``
    journal row."""
    last = journal.last_batch.get(unfinished, 0)
    deleted: dict[str, int] = {}
    for table, found in rows.items():
        if any(c == unfinished and journal.to_delete(c, b) for c, b, _ in found):
            deleted[table.name] = lakeio.delete_batches_after(root, table, unfinished, last)
    total = sum(deleted.values())
    return {
        "crawl_id": unfinished,
        "event": INTERRUPTED,
        "at": _now(),
        "source": journal.sources.get(unfinished),
        "version": __version__,
        "rows": json.dumps({t: n for t, n in sorted(deleted.items()) if n}),
        "detail": (
            f"interrupted before it completed, after journalling {last} batch(es); crawl {by} "
            f"deleted the {total} row(s) of its unjournalled batch"
        ),
    }


@dataclass(frozen=True)
class _Survey:
    """What a crawl reads of the lake before it writes."""

    journal: Journal
    rows: Mapping[Table, _Rows]
    problems: list[str]


def _survey(root: Path) -> _Survey:
    present = frozenset(
        t for t in TABLES if DeltaTable.is_deltatable(str(lakeio.table_path(root, t)))
    )
    has_journal = CRAWLS in present
    journal, problems = read_journal(root) if has_journal else (Journal(), [])
    missing = sorted(n for n in journal.tables if n in BY_NAME and BY_NAME[n] not in present)
    problems += [_missing(root, name) for name in missing]
    columns = ("crawl_id", "crawl_batch", "manifest_digest")
    per_unit = {t: lakeio.count_rows(root, t, columns) for t in UNIT_TABLES if t in present}
    rows = {t: set(found) for t, found in per_unit.items()}
    problems += _disagreements(journal, rows, has_journal)
    counted: dict[Table, Counter[tuple[Any, ...]]] = {t: Counter() for t in per_unit}
    for table, found in per_unit.items():
        for (crawl, batch, _), n in found.items():
            counted[table][(crawl, batch)] += n
    problems += _miscounted(journal, counted)
    return _Survey(journal, rows, problems)


def disagreements(root: Path) -> list[str]:
    """How the tables of the lake at ``root`` disagree with each other and with the journal
    (see the module doc), one sentence each; empty when they agree. Writes nothing."""
    return _survey(root).problems


def check(root: Path) -> LakeHealth:
    """Diagnose the lake at ``root``: :func:`attestlake.lake.lake_check.check_lake`, then, when every
    table reads, how the tables disagree with the journal (:func:`disagreements`).

    A data file that no log entry names is damage (a deleted log entry) or the leftover of a
    write killed before its commit; when the lake has a journal and every journalled batch has
    exactly the rows it wrote, it is a leftover: reported in ``leftovers``, not as damage.
    """
    health = check_lake(root)
    unlisted = tuple(p for p in health.problems if p.repair == UNLISTED)
    if len(unlisted) < len(health.problems):
        return health
    survey = _survey(root)
    found = tuple(
        Problem(CRAWLS.name, f"{CRAWLS.name}/_delta_log", what, RESTORE) for what in survey.problems
    )
    if found or not survey.journal.crawls:
        return replace(health, problems=found + unlisted)
    return replace(health, problems=(), leftovers=unlisted)


def begin(root: Path, crawl_id: str, source: str) -> tuple[set[str], set[str]]:
    """Check the lake at ``root``, create its missing tables, clean up after interrupted
    crawls and journal crawl ``crawl_id`` of ``source`` as started (see the module doc).
    Returns the crawl units in the lake: attestations (in ``verifications``) and published
    documents. Call it under the lake's writer lock, before the crawl writes anything."""
    if root.is_dir():
        lakeio.intact_tables(root)  # a damaged log or data file, named before anything else
    survey = _survey(root)
    if survey.problems:
        raise _damage(root, survey.problems)
    journal, rows = survey.journal, survey.rows
    lakeio.create_tables(root)
    entries = [_clean(root, journal, c, rows, crawl_id) for c in sorted(journal.unfinished)]
    entries.append(
        {
            "crawl_id": crawl_id,
            "event": STARTED,
            "at": _now(),
            "source": source,
            "version": __version__,
            "tables": json.dumps([t.name for t in TABLES]),
        }
    )
    lakeio.Appender(root).append(CRAWLS, [_row(e) for e in entries])

    def units(table: Table) -> set[str]:
        return {m for c, b, m in rows.get(table, set()) if m and not journal.to_delete(c, b)}

    return units(VERIFICATIONS), units(PUBLISHED_DOCUMENTS)


def _row(values: Mapping[str, Any]) -> dict[str, Any]:
    return {c: values.get(c) for c in CRAWLS.schema.names}


def journal_batch(
    appender: lakeio.Appender, crawl_id: str, batch: int, written: Mapping[str, int]
) -> None:
    """Journal that crawl ``crawl_id`` wrote every row of batch ``batch`` (``written``: rows
    per table)."""
    rows = {t: n for t, n in sorted(written.items()) if n}
    entry = {"crawl_id": crawl_id, "event": BATCH, "batch": batch, "at": _now()}
    appender.append(CRAWLS, [_row({**entry, "rows": json.dumps(rows)})])


def journal_completed(
    appender: lakeio.Appender, crawl_id: str, source: str, written: Mapping[str, int]
) -> None:
    """Journal that crawl ``crawl_id`` completed: every row it wrote is in (``written``: rows
    per table)."""
    rows = {t: n for t, n in sorted(written.items()) if n}
    entry = {"crawl_id": crawl_id, "event": COMPLETED, "at": _now(), "source": source}
    appender.append(CRAWLS, [_row({**entry, "version": __version__, "rows": json.dumps(rows)})])

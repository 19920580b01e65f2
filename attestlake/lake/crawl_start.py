"""What a crawl does to a lake before it writes: check it, create its tables, clean up.

A crawl that never completed (killed, or stopped by an error) may have written part of one
batch: the rows of its batches after the last one journalled (:mod:`attestlake.lake.journal`).
The next crawl, under the writer lock (so never while that crawl runs), deletes exactly those
rows, in every table, and journals the crawl ``interrupted`` with the rows it deleted. No other
row is ever deleted; the crawl units of the deleted rows are no longer in the lake, so that
crawl reads them again.

Before that, the lake must agree with itself (:mod:`attestlake.lake.consistency`); otherwise the
crawl stops with a LakeError naming each table and what is wrong, and deletes and creates
nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from attestlake._internal.version import __version__
from attestlake.errors import LakeError
from attestlake.lake.consistency import TableUnits, survey_lake
from attestlake.lake.delta import intact_states
from attestlake.lake.journal import INTERRUPTED, STARTED, Journal, journal_row, now
from attestlake.lake.object_store import LakeRoot, ObjectLake
from attestlake.lake.tables import CRAWLS, PUBLISHED_DOCUMENTS, TABLES, VERIFICATIONS, Table
from attestlake.lake.write import Appender, create_tables, delete_batches_after

__all__ = ["begin"]

_SHOWN = 8


def _damage(root: LakeRoot, problems: list[str]) -> LakeError:
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


def _clean(
    root: LakeRoot, journal: Journal, unfinished: str, tables: Mapping[Table, TableUnits], by: str
) -> dict[str, Any]:
    """Delete the rows of the batches ``unfinished`` never journalled; its ``interrupted``
    journal row."""
    last = journal.last_batch.get(unfinished, 0)
    deleted: dict[str, int] = {}
    for table, found in tables.items():
        if any(c == unfinished and journal.to_delete(c, b) for c, b in found.batches):
            deleted[table.name] = delete_batches_after(root, table, unfinished, last)
    total = sum(deleted.values())
    return {
        "crawl_id": unfinished,
        "event": INTERRUPTED,
        "at": now(),
        "source": journal.sources.get(unfinished),
        "version": __version__,
        "rows": json.dumps({t: n for t, n in sorted(deleted.items()) if n}),
        "detail": (
            f"interrupted before it completed, after journalling {last} batch(es); crawl {by} "
            f"deleted the {total} row(s) of its unjournalled batch"
        ),
    }


def begin(
    root: LakeRoot, crawl_id: str, source: str, policy_digest: str | None = None
) -> tuple[Iterator[str], Iterator[str]]:
    """Check the lake at ``root``, create its missing tables, clean up after interrupted
    crawls and journal crawl ``crawl_id`` of ``source`` as started (see the module doc).
    Returns the crawl units in the lake, read a slice at a time: attestations (in
    ``verifications``) and published documents. Call it under the lake's writer lock, before
    the crawl writes anything."""
    states = None
    if isinstance(root, ObjectLake) or root.is_dir():
        states = intact_states(root)  # a damaged log or data file, named before anything else
    survey = survey_lake(root, states)
    if survey.problems:
        raise _damage(root, survey.problems)
    journal = survey.journal
    create_tables(root)
    entries = [
        _clean(root, journal, c, survey.tables, crawl_id) for c in sorted(journal.unfinished)
    ]
    entries.append(
        {
            "crawl_id": crawl_id,
            "event": STARTED,
            "at": now(),
            "source": source,
            "version": __version__,
            "tables": json.dumps([t.name for t in TABLES]),
            "policy_digest": policy_digest,
        }
    )
    Appender(root).append(CRAWLS, [journal_row(e) for e in entries])
    return survey.units(VERIFICATIONS), survey.units(PUBLISHED_DOCUMENTS)

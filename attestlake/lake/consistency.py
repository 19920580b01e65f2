"""Whether a lake agrees with itself and with its crawl journal.

A crawl writes only into a lake that agrees (:mod:`attestlake.lake.crawl_start`). Otherwise it
stops with a LakeError naming each table and what is wrong, and deletes and creates nothing:

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

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from attestlake.lake.delta import intact_states, is_table
from attestlake.lake.fan_out import each_table
from attestlake.lake.journal import Journal, read_journal
from attestlake.lake.lake_check import UNLISTED, LakeHealth, check_lake
from attestlake.lake.object_store import LakeRoot, ObjectLake
from attestlake.lake.scan import count_rows
from attestlake.lake.structure import RESTORE, REVERIFY_AGAIN, Problem, TableState
from attestlake.lake.tables import BY_NAME, COMPLETION_TABLES, CRAWLS, TABLES, UNIT_TABLES, Table

__all__ = ["Survey", "UnitRows", "check", "disagreements", "survey_lake"]

#: (crawl_id, crawl_batch, manifest_digest) of a crawled table's rows, distinct.
UnitRows = set[tuple[Any, ...]]


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


def _missing(root: LakeRoot, name: str) -> str:
    if isinstance(root, ObjectLake):
        return f"table {name} has no transaction log in {root}, but earlier crawls journalled it"
    path = root / name
    if path.is_dir():
        return (
            f"table {name} has no transaction log ({path / '_delta_log'} is missing or empty), "
            "but earlier crawls journalled it"
        )
    return f"table {name} is missing ({path} does not exist), but earlier crawls journalled it"


def _disagreements(
    journal: Journal, rows: Mapping[Table, UnitRows], has_journal: bool
) -> list[str]:
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


@dataclass(frozen=True)
class Survey:
    """What a crawl reads of the lake before it writes."""

    journal: Journal
    rows: Mapping[Table, UnitRows]
    problems: list[str]


def survey_lake(root: LakeRoot, states: Mapping[str, TableState] | None = None) -> Survey:
    """What a crawl reads of the lake before it writes. ``states``: what the cheap checks
    read of each table present (:func:`~attestlake.lake.delta.intact_states`), whose handles
    are read rather than each table found and opened again."""
    if states is None:
        there = each_table(root, partial(is_table, root), TABLES)
        present = frozenset(t for t, found in zip(TABLES, there, strict=True) if found)
        opened: dict[str, Any] = {}
    else:
        present = frozenset(t for t in TABLES if t.name in states)
        opened = {name: state.delta for name, state in states.items()}
    has_journal = CRAWLS in present
    journal, problems = (
        read_journal(root, opened=opened.get(CRAWLS.name)) if has_journal else (Journal(), [])
    )
    missing = sorted(n for n in journal.tables if n in BY_NAME and BY_NAME[n] not in present)
    problems += [_missing(root, name) for name in missing]
    columns = ("crawl_id", "crawl_batch", "manifest_digest")
    counting = [t for t in UNIT_TABLES if t in present]
    counts = each_table(
        root, lambda t: count_rows(root, t, columns, opened=opened.get(t.name)), counting
    )
    per_unit = dict(zip(counting, counts, strict=True))
    rows = {t: set(found) for t, found in per_unit.items()}
    problems += _disagreements(journal, rows, has_journal)
    counted: dict[Table, Counter[tuple[Any, ...]]] = {t: Counter() for t in per_unit}
    for table, found in per_unit.items():
        for (crawl, batch, _), n in found.items():
            counted[table][(crawl, batch)] += n
    problems += _miscounted(journal, counted)
    return Survey(journal, rows, problems)


def disagreements(root: LakeRoot) -> list[str]:
    """How the tables of the lake at ``root`` disagree with each other and with the journal
    (see the module doc), one sentence each; empty when they agree. Writes nothing."""
    return survey_lake(root).problems


def check(root: LakeRoot) -> LakeHealth:
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
    survey = survey_lake(root, intact_states(root))  # the states check_lake read
    found = tuple(
        Problem(CRAWLS.name, f"{CRAWLS.name}/_delta_log", what, RESTORE) for what in survey.problems
    )
    if survey.journal.reverify_pending:
        what = (
            "a re-evaluation of the lake's verdicts under another trust policy did not complete: "
            "the tables may hold verdicts of two policies"
        )
        found += (Problem(CRAWLS.name, f"{CRAWLS.name}/_delta_log", what, REVERIFY_AGAIN),)
    if found or not survey.journal.crawls:
        return replace(health, problems=found + unlisted)
    return replace(health, problems=(), leftovers=unlisted)

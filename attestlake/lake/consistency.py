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

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from attestlake._internal.memory_release import give_back
from attestlake.lake.delta import guarded, intact_states, is_table, open_table
from attestlake.lake.fan_out import each_table
from attestlake.lake.journal import Journal, read_journal
from attestlake.lake.lake_check import UNLISTED, LakeHealth, check_lake
from attestlake.lake.object_store import LakeRoot, ObjectLake
from attestlake.lake.scan import SLICE_ROWS, column_slices
from attestlake.lake.structure import RESTORE, REVERIFY_AGAIN, Problem, TableState
from attestlake.lake.tables import BY_NAME, COMPLETION_TABLES, CRAWLS, TABLES, UNIT_TABLES, Table

__all__ = ["Batches", "Survey", "TableUnits", "check", "disagreements", "strings", "survey_lake"]

#: How many rows of a crawled table each (crawl_id, crawl_batch) holds.
Batches = dict[tuple[Any, Any], int]


def _miscounted(journal: Journal, counted: Mapping[Table, Batches]) -> list[str]:
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


@dataclass(frozen=True)
class TableUnits:
    """What a crawl needs of one crawled table: its rows per journalled batch, and the distinct
    crawl units (``manifest_digest``) of the rows that the clean-up keeps, as Arrow strings
    (about 80 bytes a unit, not a Python object each)."""

    batches: Batches
    units: pa.Array = field(default_factory=lambda: _no_units())


def _no_units() -> pa.Array:
    return pa.array([], pa.string())


def _kept_units(
    data: pa.RecordBatch, journal: Journal, batches: Iterable[tuple[Any, Any]]
) -> pa.Array:
    """The distinct non-empty ``manifest_digest`` values of the rows of ``data`` that the
    clean-up keeps (``batches``: the batches ``data`` holds rows of)."""
    units = data.column("manifest_digest")
    keep = pc.and_(pc.is_valid(units), pc.not_equal(pc.fill_null(units, ""), ""))
    crawl, batch = data.column("crawl_id"), data.column("crawl_batch")
    for c, b in (pair for pair in batches if journal.to_delete(*pair)):
        deleted = pc.fill_null(pc.and_(pc.equal(crawl, c), pc.equal(batch, b)), False)
        keep = pc.and_(keep, pc.invert(deleted))
    return pc.unique(units.filter(keep))


def _table_units(
    root: LakeRoot, table: Table, journal: Journal, opened: DeltaTable | None
) -> TableUnits:
    """``table``'s rows per batch and kept units, read a slice of rows at a time in Arrow."""

    def read() -> TableUnits:
        dataset = (opened or open_table(root, table)).to_pyarrow_dataset()
        if not any(c in dataset.schema.names for c in _UNIT_COLUMNS):
            return TableUnits({(None, None): dataset.count_rows()})
        batches: Batches = {}
        found: list[pa.Array] = []
        # The units found are made distinct again once they have doubled since they last
        # were: each unit is hashed a few times however many slices the table has, and at
        # most twice the table's distinct units (and a slice) are held at once.
        distinct_past = SLICE_ROWS
        for data in column_slices(dataset, _UNIT_COLUMNS):
            counted = pa.Table.from_batches([data]).group_by(["crawl_id", "crawl_batch"])
            here = {
                (row["crawl_id"], row["crawl_batch"]): int(row["count_all"])
                for row in counted.aggregate([([], "count_all")]).to_pylist()
            }
            for key, n in here.items():
                batches[key] = batches.get(key, 0) + n
            found.append(_kept_units(data, journal, here))
            if sum(len(a) for a in found) > distinct_past:
                found = [pc.unique(pa.concat_arrays(found))]
                distinct_past = max(SLICE_ROWS, 2 * len(found[0]))
        units = pc.unique(pa.concat_arrays(found)) if found else _no_units()
        return TableUnits(batches, units)

    if opened is None and not is_table(root, table):
        return TableUnits({})
    return guarded(root, table, "read", read)


#: The crawl columns of a crawled table, as the survey reads them.
_UNIT_COLUMNS = {"crawl_id": pa.string(), "crawl_batch": pa.int64(), "manifest_digest": pa.string()}


def _disagreements(
    journal: Journal,
    tables: Mapping[Table, TableUnits],
    lost: Mapping[str, pa.Array],
    has_journal: bool,
) -> list[str]:
    """How the crawled tables disagree with the journal and with each other. ``lost``: per
    table, the units it keeps that no completion table records."""
    problems: list[str] = []
    unknown: dict[str, set[str]] = {}  # crawl id -> tables
    for table, found in tables.items():
        for c, _ in found.batches:
            if c is not None and c not in journal.crawls:
                unknown.setdefault(c, set()).add(table.name)
        late = sorted(
            (c, b)
            for c, b in found.batches
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
    named = {name: units for name, units in lost.items() if len(units)}
    if named:
        units = pc.unique(pa.concat_arrays(list(named.values())))
        problems.append(
            f"tables {_names({n: {n} for n in named})} hold rows of {len(units)} crawl unit(s) "
            f"(manifest_digest {pc.min(units).as_py()}) that neither verifications nor "
            "published_documents records: those tables lost rows"
        )
    return problems


def _names(tables_by_key: Mapping[str, set[str]]) -> str:
    found = set().union(*tables_by_key.values())
    return ", ".join(t.name for t in TABLES if t.name in found)


@dataclass(frozen=True)
class Survey:
    """What a crawl reads of the lake before it writes: the journal, each crawled table's rows
    per batch and kept units, and how the lake disagrees with itself."""

    journal: Journal
    tables: Mapping[Table, TableUnits]
    problems: list[str]

    def units(self, table: Table) -> Iterator[str]:
        """The crawl units ``table`` keeps (a completion table: the units in the lake)."""
        found = self.tables.get(table)
        return strings(found.units) if found is not None else iter(())


def strings(values: pa.Array, step: int = SLICE_ROWS) -> Iterator[str]:
    """The strings of ``values``, as Python strings a slice at a time (never all at once)."""
    for start in range(0, len(values), step):
        yield from values.slice(start, step).to_pylist()


def survey_lake(root: LakeRoot, states: Mapping[str, TableState] | None = None) -> Survey:
    """What a crawl reads of the lake before it writes. ``states``: what the cheap checks
    read of each table present (:func:`~attestlake.lake.delta.intact_states`), whose handles
    are read rather than each table found and opened again.

    Each table's crawl columns are read in Arrow and reduced there: its rows per batch (a few
    per crawl) and its distinct units, of which only the completion tables' are kept. Memory
    is a table's three columns at a time, never a Python object per row.
    """
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

    def read(table: Table) -> TableUnits:
        return _table_units(root, table, journal, opened.get(table.name))

    completion = [t for t in COMPLETION_TABLES if t in present]
    tables = dict(zip(completion, each_table(root, read, completion), strict=True))
    recorded = [tables[t].units for t in completion]
    complete = pc.unique(pa.concat_arrays(recorded)) if recorded else _no_units()

    def lost_units(table: Table) -> TableUnits:
        found = read(table)
        units = found.units.filter(pc.invert(pc.is_in(found.units, value_set=complete)))
        return TableUnits(found.batches, units)

    others = [t for t in UNIT_TABLES if t in present and t not in COMPLETION_TABLES]
    read_others = dict(zip(others, each_table(root, lost_units, others), strict=True))
    lost = {t.name: found.units for t, found in read_others.items()}
    tables.update({t: TableUnits(found.batches) for t, found in read_others.items()})
    tables = {t: tables[t] for t in UNIT_TABLES if t in tables}
    problems += _disagreements(journal, tables, lost, has_journal)
    problems += _miscounted(journal, _per_batch(tables))
    give_back()  # the pages that reading every table's columns took, before the crawl lists
    return Survey(journal, tables, problems)


def _per_batch(tables: Mapping[Table, TableUnits]) -> dict[Table, Batches]:
    counted: dict[Table, Batches] = {}
    for table, found in tables.items():
        per = counted.setdefault(table, {})
        for (crawl, batch), n in found.batches.items():
            if n:
                per[(crawl, batch)] = per.get((crawl, batch), 0) + n
    return counted


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

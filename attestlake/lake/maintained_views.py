"""Maintained tables: views over the lake's tables that the crawler also writes out as tables.

Each maintained table (``latest_runs``, ``contract_revisions``, ``runner_moves``,
``image_sbom_gaps``, ``shared_digests``, ``workflow_packages``, ``component_gaps``,
``signer_moves``, ``contract_lags``, ``workflow_activity``, ``run_outcomes``,
``off_ci_builds``, ``impersonations``, documented in docs/lake.md) is defined by one SQL file
(``maintained_sql/<name>.sql``) over the lake's tables. The crawler writes its rows as a Delta
table of that name after every crawl and re-evaluation (:mod:`attestlake.lake.maintain`), in
one commit that records the version of each table it was computed from (:data:`BUILT_FROM`). A
lake session reads the written table only while it is current, every table it was computed from
at that version (or changed since by compaction alone); otherwise (a crawl that is running or
was killed, a lake written by an older version, a missing or damaged maintained table) the
session computes it from its definition, so an answer never depends on whether the maintained
tables are current: only its speed does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attestlake.lake.delta import open_table
from attestlake.lake.fan_out import each_table
from attestlake.lake.object_store import LakeRoot, ObjectLake
from attestlake.lake.structure import (
    LakeListing,
    LiveFile,
    TableState,
    table_states,
    tables_listed,
)
from attestlake.lake.table_schema import Table, schema_of
from attestlake.lake.tables import BY_NAME

__all__ = [
    "BUILT_FROM",
    "MAINTAINED",
    "MAINTAINED_BY_NAME",
    "Maintained",
    "built_from",
    "computed_in_parts",
    "current_tables",
    "current_versions",
    "recorded_versions",
    "too_large_at_once",
]

#: The commit metadata key that records the tables' versions a maintained table was built from.
BUILT_FROM = "attestlake.built_from"
#: Delta operations that change no row: a table changed only by them still holds its rows.
_NO_DATA_CHANGE = frozenset({"OPTIMIZE", "VACUUM START", "VACUUM END", "SET TBLPROPERTIES"})
_SQL = Path(__file__).with_name("maintained_sql")
#: How many commits back the history is read (a table compacted more often since is rebuilt).
_HISTORY = 32


@dataclass(frozen=True)
class Maintained:
    """A maintained table: its name, the lake tables its definition reads, and the definition.
    ``parts_of``: a table it reads and columns of it such that each row of its result is
    computed from the rows of that table with one value of those columns alone (and of the
    other tables, whatever it joins to them): its rows are then those computed from each share
    of the table's rows together, and the crawler computes it so when it does not fit in
    memory at once (:mod:`attestlake.lake.maintain`). ``parts_past``: a table it reads and a
    number of rows past which (in that table) it is computed in parts from the start, without
    a first try at once that would run out of memory."""

    name: str
    reads: tuple[str, ...]
    parts_of: tuple[str, tuple[str, ...]] | None = None
    parts_past: tuple[str, int] | None = None

    @property
    def table(self) -> Table:
        """The table as the lake's writers and checks handle it (its columns are those of the
        definition's result)."""
        return Table(self.name, schema_of())

    @property
    def sql(self) -> str:
        return (_SQL / f"{self.name}.sql").read_text(encoding="utf-8")

    @property
    def digest(self) -> str:
        """``sha256:`` of the definition: a table written by another definition is not current."""
        return "sha256:" + hashlib.sha256(self.sql.encode()).hexdigest()


#: Every maintained table, in the order they are defined in a session.
MAINTAINED: tuple[Maintained, ...] = (
    Maintained(
        "latest_runs",
        ("runs", "attestations", "materials", "provenance", "subjects", "verification_summaries"),
    ),
    Maintained("contract_revisions", ("runs", "contract_requirements", "attestations")),
    Maintained("runner_moves", ("runs", "attestations")),
    Maintained("image_sbom_gaps", ("runs", "materials")),
    Maintained("shared_digests", ("runs", "subjects")),
    Maintained(
        "workflow_packages",
        ("runs", "sbom_components"),
        parts_of=("runs", ("project", "workflow")),
        # within the refresh's 256 MB: 5.3 million components fit at once, 12.5 million do not
        parts_past=("sbom_components", 8_000_000),
    ),
    Maintained("component_gaps", ("runs", "sbom_components")),
    Maintained("signer_moves", ("runs", "verifications")),
    Maintained("contract_lags", ("runs", "contract_requirements")),
    Maintained("workflow_activity", ("runs", "run_events", "verifications")),
    Maintained("run_outcomes", ("run_events",)),
    Maintained("off_ci_builds", ("runs",)),
    Maintained("impersonations", ("runs", "verifications")),
)
MAINTAINED_BY_NAME = {m.name: m for m in MAINTAINED}


def current_versions(versions: Mapping[str, int | None], maintained: Maintained) -> dict[str, int]:
    """The versions of the tables ``maintained`` reads, from ``versions`` (by table name; a
    table the lake does not have is -1)."""
    out: dict[str, int] = {}
    for name in maintained.reads:
        version = versions.get(name)
        out[name] = -1 if version is None else version
    return out


def built_from(
    maintained: Maintained, versions: Mapping[str, int], *, in_parts: bool = False
) -> str:
    """What a maintained table's commit records: the digest of its definition, the version of
    each table it was computed from, and (``in_parts``) that it was computed in parts."""
    record: dict[str, Any] = {"definition": maintained.digest, "tables": dict(versions)}
    if in_parts:
        record["in_parts"] = True
    return json.dumps(record)


def _record(maintained: Maintained, recorded: str | None) -> dict[str, Any] | None:
    """A maintained table's commit record, when written by its current definition."""
    try:
        data = json.loads(recorded) if recorded else None
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("definition") != maintained.digest:
        return None
    return data


def recorded_versions(maintained: Maintained, recorded: str | None) -> dict[str, int] | None:
    """The table versions a maintained table's commit records, when it was computed by its
    current definition (None: another definition, none recorded, or not what the crawler
    writes)."""
    data = _record(maintained, recorded)
    if data is None:
        return None
    tables = data.get("tables")
    if not isinstance(tables, dict) or not all(
        isinstance(k, str) and type(v) is int for k, v in tables.items()
    ):
        return None
    return tables


def no_data_change(operations: list[str]) -> bool:
    """Whether commits of these operations left a table's rows as they were."""
    return all(op in _NO_DATA_CHANGE for op in operations)


def _history(root: LakeRoot, table: Table, state: TableState, since: int) -> list[dict[str, Any]]:
    """The commits of ``table`` after version ``since``, newest first: from the log entries
    its cheap checks read (``state``), or from delta-rs when those do not reach back that far
    (a checkpoint). A log that cannot be read gives no commits."""
    read = state.history(since)
    if read is not None:
        return read
    if state.version is None:
        return []
    try:
        history = open_table(root, table).history(limit=state.version - since)
    except Exception:  # a damaged log: computed from its definition instead
        return []
    return [c for c in history if since < c.get("version", -1) <= state.version]


def _newest_record(root: LakeRoot, maintained: Maintained, state: TableState) -> str | None:
    """What the newest commit (among the last :data:`_HISTORY`) that wrote the maintained
    table's rows records (None: none, or not readable)."""
    if state.version is None:
        return None
    for commit in _history(root, maintained.table, state, state.version - _HISTORY):
        if commit.get("operation") in _NO_DATA_CHANGE:
            continue
        recorded = commit.get(BUILT_FROM)
        return recorded if isinstance(recorded, str) else None
    return None


def _recorded(root: LakeRoot, maintained: Maintained, state: TableState) -> dict[str, int] | None:
    """The versions the newest commit that wrote the maintained table's rows records (None:
    none, or not readable)."""
    return recorded_versions(maintained, _newest_record(root, maintained, state))


def computed_in_parts(
    root: LakeRoot, maintained: Iterable[Maintained], listed: LakeListing | None = None
) -> set[str]:
    """The names of those of ``maintained`` that can be computed in parts and whose rows, as
    written last by their current definition, were (they did not fit in memory at once then).
    A record that says so wrongly costs time, never rows: parts give the rows at once gives."""
    can = [m for m in maintained if m.parts_of]
    states = table_states(root, [m.table for m in can], listed)
    out = set()
    for table, state in zip(can, states, strict=True):
        if state.present and not state.problems:
            data = _record(table, _newest_record(root, table, state))
            if data is not None and data.get("in_parts") is True:
                out.add(table.name)
    return out


def too_large_at_once(
    root: LakeRoot, maintained: Iterable[Maintained], listed: LakeListing | None = None
) -> dict[str, str]:
    """Those of ``maintained`` that can be computed in parts and read a table with more rows
    than their ``parts_past`` (the rows its log records of its live files), by name, with
    why. Guessing wrongly costs time, never rows."""
    sized = [(m, m.parts_past) for m in maintained if m.parts_of and m.parts_past]
    tables = [BY_NAME[table] for _, (table, _) in sized]
    out = {}
    for (m, (table, past)), state in zip(sized, table_states(root, tables, listed), strict=True):
        rows = sum(f.rows or 0 for f in state.files) if state.present else 0
        if rows > past:
            out[m.name] = f"reads {rows:,} rows of {table} (over {past:,})"
    return out


def _unchanged(root: LakeRoot, table: Table, state: TableState, then: int) -> bool:
    """Whether ``table`` (now as ``state`` reads it) holds the rows it held at version
    ``then``: every commit since changed no row (compaction)."""
    now = -1 if state.version is None else state.version
    if then == now:
        return True
    if then < 0 or now < then or now - then > _HISTORY:
        return False
    operations = [str(c.get("operation")) for c in _history(root, table, state, then)]
    return len(operations) == now - then and no_data_change(operations)


def current_states(root: LakeRoot, listed: LakeListing | None = None) -> dict[str, TableState]:
    """What the cheap checks read of each maintained table of the lake at ``root`` that is
    current: written from the tables its definition reads as they are now (see the module
    doc). In object storage one listing of the lake serves every table: ``listed``, or asked
    now."""
    if isinstance(root, ObjectLake) and listed is None:
        listed = tables_listed(root)
    states = _states(root, {n for m in MAINTAINED for n in m.reads}, listed)
    versions = {name: state.version for name, state in states.items()}
    written = table_states(root, [m.table for m in MAINTAINED], listed)

    def current(maintained: Maintained, state: TableState) -> TableState | None:
        if not state.present or state.problems or state.version is None:
            return None
        recorded = _recorded(root, maintained, state)
        now = current_versions(versions, maintained)
        if (
            recorded is not None
            and set(recorded) == set(now)
            and all(_unchanged(root, BY_NAME[name], states[name], recorded[name]) for name in now)
        ):
            return state
        return None

    found = each_table(
        root, lambda pair: current(*pair), list(zip(MAINTAINED, written, strict=True))
    )
    return {m.name: state for m, state in zip(MAINTAINED, found, strict=True) if state is not None}


def current_tables(root: LakeRoot) -> dict[str, tuple[LiveFile, ...]]:
    """The live data files of each maintained table that is current (:func:`current_states`)."""
    return {name: state.files for name, state in current_states(root).items()}


def _states(
    root: LakeRoot, names: Iterable[str], listed: LakeListing | None = None
) -> dict[str, TableState]:
    """What the cheap checks read of each table named."""
    tables = sorted(names)
    states = table_states(root, [BY_NAME[n] for n in tables], listed)
    return dict(zip(tables, states, strict=True))


def table_versions(
    root: LakeRoot, names: Iterable[str], listed: LakeListing | None = None
) -> dict[str, int | None]:
    """The current version of each table named (None: not there, or damaged); in object
    storage from one listing of the lake (``listed``, or asked now)."""
    return {name: state.version for name, state in _states(root, names, listed).items()}

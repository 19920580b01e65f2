"""Writing the maintained tables (:mod:`attestlake.lake.maintained_views`) after a crawl.

:func:`refresh` computes each maintained table that is not current from its definition, in
one lake session, and replaces its rows in one Delta commit that records the version of each
table it was computed from. It runs under the lake's writer lock, at the end of every crawl
and re-evaluation, so no write happens while it reads; a refresh that is killed leaves the
maintained table it was writing as it was, or written and current: either way a session reads
the right rows (stale tables are computed from their definitions).

The session that computes them holds at most :data:`~attestlake.lake.session_memory.WORK_MEMORY` of their working data and
spills the rest to a private temporary directory, so a crawl's memory does not grow with the
lake's history (only with the maintained tables' own rows). A definition that cannot fit in
that bound (an operator that does not spill) and can be computed in parts
(:attr:`~attestlake.lake.maintained_views.Maintained.parts_of`) is computed again in
:data:`PARTS` parts, one after the other, within the same bound (then in more:
:data:`PARTS_TRIED`): each part from a share of the rows of the table it is computed in parts
of, chosen by a hash of the columns named. One
whose last rows were computed so, or that reads a table larger than its
:attr:`~attestlake.lake.maintained_views.Maintained.parts_past`, is computed in parts from the
start. One that still does not fit is computed again within
:data:`~attestlake.lake.session_memory.WIDER_WORK_MEMORY` (at once, then in parts), and only if
it does not fit in that either, without a bound; a warning says which.
"""

from __future__ import annotations

import functools
import logging

import duckdb
import pyarrow as pa
from deltalake import CommitProperties, write_deltalake

from attestlake.lake.delta import guarded, storage_options, table_location
from attestlake.lake.file_layout import writer_properties
from attestlake.lake.lake import Lake
from attestlake.lake.maintained_views import (
    BUILT_FROM,
    MAINTAINED,
    Maintained,
    built_from,
    computed_in_parts,
    current_states,
    current_versions,
    table_versions,
    too_large_at_once,
)
from attestlake.lake.object_store import LakeRoot, ObjectLake
from attestlake.lake.session_memory import WIDER_WORK_MEMORY, WORK_MEMORY, MemoryBound, spilling
from attestlake.lake.structure import tables_listed

__all__ = ["PARTS", "PARTS_TRIED", "computed", "refresh"]

log = logging.getLogger(__name__)

#: How many parts a definition that can be computed in parts is split into when it does not fit
#: in the bound at once: a million runs' ``workflow_packages`` fits in 8 parts, not in 4.
PARTS = 8
#: The parts it is tried in, in turn, within one bound: a million runs' ``workflow_packages``
#: read from merged files needed 16 (see docs/performance.md, *Small files merged during a
#: crawl*); each try that fails costs a scan, where a wider bound costs the machine's memory.
PARTS_TRIED = (PARTS, 2 * PARTS, 4 * PARTS)


def _write(
    root: LakeRoot,
    maintained: Maintained,
    rows: pa.Table,
    versions: dict[str, int],
    *,
    in_parts: bool = False,
) -> None:
    table = maintained.table
    write = functools.partial(
        write_deltalake,
        table_location(root, table),
        rows,
        mode="overwrite",
        schema_mode="overwrite",
        storage_options=storage_options(root),
        writer_properties=writer_properties(),
        commit_properties=CommitProperties(
            custom_metadata={BUILT_FROM: built_from(maintained, versions, in_parts=in_parts)}
        ),
    )
    guarded(root, table, "write", write)


def computed(con: duckdb.DuckDBPyConnection, maintained: Maintained, parts: int = 1) -> pa.Table:
    """The rows of ``maintained``'s definition in the session ``con``: at once, or (``parts``
    over 1, for a definition that can be) from each share of the rows of the table it is
    computed in parts of, in turn, together. The session's view of that table is whole again
    when it returns."""
    if parts == 1:
        return _arrow(con.sql(maintained.sql))
    if maintained.parts_of is None:
        raise ValueError(f"maintained table {maintained.name} cannot be computed in parts")
    table, columns = maintained.parts_of
    keys = ", ".join(f'"{column}"' for column in columns)
    whole = f"_{table}_whole"
    tables = []
    con.execute(f'ALTER VIEW "{table}" RENAME TO "{whole}"')
    try:
        for part in range(int(parts)):
            con.execute(
                f'CREATE OR REPLACE VIEW "{table}" AS SELECT * FROM "{whole}" '  # noqa: S608
                f"WHERE hash({keys}) % {int(parts)} = {part}"
            )
            tables.append(_arrow(con.sql(maintained.sql)))
    finally:
        con.execute(f'DROP VIEW IF EXISTS "{table}"')
        con.execute(f'ALTER VIEW "{whole}" RENAME TO "{table}"')
    return pa.concat_tables(tables)


def _arrow(relation: duckdb.DuckDBPyRelation) -> pa.Table:
    rows = relation.arrow()
    return rows if isinstance(rows, pa.Table) else rows.read_all()


def _compute(
    root: LakeRoot,
    stale: list[Maintained],
    versions: dict[str, int | None],
    bound: MemoryBound | None,
    in_parts: dict[str, str],
) -> list[Maintained]:
    """Write each of ``stale`` from one session (bounded by ``bound``), in :data:`PARTS` parts
    when one that can be does not fit at once (or would not: named in ``in_parts``, with why);
    return those whose definition did not fit in the bound (left as they were)."""
    unfit: list[Maintained] = []
    with Lake.open(root, memory=bound, derived=False) as lake:
        for maintained in stale:
            tries = [1, *PARTS_TRIED] if maintained.parts_of and bound is not None else [1]
            if maintained.name in in_parts and bound is not None:
                tries = list(PARTS_TRIED)
            data = None
            for parts in tries:
                try:
                    data = computed(lake.con, maintained, parts)
                    break
                except (duckdb.OutOfMemoryException, duckdb.IOException):
                    if bound is None:  # else: over the bound, or nowhere left to spill
                        raise
            if data is None:
                unfit.append(maintained)
                continue
            if parts > 1 and bound is not None:  # parts are tried only within a bound
                why = (
                    f"does not fit in {bound.limit} of memory at once"
                    if 1 in tries
                    else in_parts[maintained.name]
                )
                fewer = [str(n) for n in tries[: tries.index(parts)] if n > 1]
                if fewer:
                    why += f", nor in {' or '.join(fewer)} parts"
                log.info(
                    "maintained table %s %s: computed in %d parts", maintained.name, why, parts
                )
            _write(
                root, maintained, data, current_versions(versions, maintained), in_parts=parts > 1
            )
    return unfit


def refresh(
    root: LakeRoot,
    *,
    memory_limit: str | None = WORK_MEMORY,
    wider_limit: str | None = WIDER_WORK_MEMORY,
) -> list[str]:
    """Write every maintained table of the lake at ``root`` that is not current; return their
    names. Call it under the lake's writer lock. ``memory_limit``: the bound of the session
    that computes them (None: DuckDB's default, most of the machine's memory); a definition
    that does not fit in it is computed again within ``wider_limit``, and one that does not
    fit in that either, without a bound (each with a warning)."""
    listed = tables_listed(root) if isinstance(root, ObjectLake) else None  # nothing writes
    current = current_states(root, listed)
    stale = [m for m in MAINTAINED if m.name not in current]
    if not stale:
        return []
    versions = table_versions(root, {n for m in stale for n in m.reads}, listed)
    why = "did not fit in memory at once the last time"
    in_parts = {
        **too_large_at_once(root, stale, listed),
        **dict.fromkeys(computed_in_parts(root, stale, listed), why),
    }
    unfit = stale
    limits = [memory_limit, wider_limit] if memory_limit is not None else []
    for limit, then in zip(limits, [*limits[1:], None], strict=True):
        if limit is None or not unfit:
            break
        with spilling(limit, any_order=True) as memory:
            if memory is None:  # nowhere to spill: computed without a bound below
                break
            unfit = _compute(root, unfit, versions, memory, in_parts)
        for maintained in unfit:
            log.warning(
                "maintained table %s does not fit in %s of memory: computed %s",
                maintained.name,
                limit,
                f"again within {then}" if then is not None else "without a bound",
            )
    if unfit:
        _compute(root, unfit, versions, None, in_parts)
    return [m.name for m in stale]

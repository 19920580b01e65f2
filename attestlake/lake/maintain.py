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
that bound (an operator that does not spill) is computed again within
:data:`~attestlake.lake.session_memory.WIDER_WORK_MEMORY`, and only if it does not fit in that
either, without a bound; a warning says which.
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
    current_states,
    current_versions,
    table_versions,
)
from attestlake.lake.object_store import LakeRoot, ObjectLake
from attestlake.lake.session_memory import WIDER_WORK_MEMORY, WORK_MEMORY, MemoryBound, spilling
from attestlake.lake.structure import tables_listed

__all__ = ["refresh"]

log = logging.getLogger(__name__)


def _write(
    root: LakeRoot,
    maintained: Maintained,
    rows: pa.Table,
    versions: dict[str, int],
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
            custom_metadata={BUILT_FROM: built_from(maintained, versions)}
        ),
    )
    guarded(root, table, "write", write)


def _compute(
    root: LakeRoot,
    stale: list[Maintained],
    versions: dict[str, int | None],
    bound: MemoryBound | None,
) -> list[Maintained]:
    """Write each of ``stale`` from one session (bounded by ``bound``); return those whose
    definition did not fit in the bound (left as they were)."""
    unfit: list[Maintained] = []
    with Lake.open(root, memory=bound, derived=False) as lake:
        for maintained in stale:
            try:
                rows = lake.con.sql(maintained.sql).arrow()
            except (duckdb.OutOfMemoryException, duckdb.IOException):
                if bound is None:  # else: over the bound, or nowhere left to spill
                    raise
                unfit.append(maintained)
                continue
            data = rows if isinstance(rows, pa.Table) else rows.read_all()
            _write(root, maintained, data, current_versions(versions, maintained))
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
    unfit = stale
    limits = [memory_limit, wider_limit] if memory_limit is not None else []
    for limit, then in zip(limits, [*limits[1:], None], strict=True):
        if limit is None or not unfit:
            break
        with spilling(limit, any_order=True) as memory:
            if memory is None:  # nowhere to spill: computed without a bound below
                break
            unfit = _compute(root, unfit, versions, memory)
        for maintained in unfit:
            log.warning(
                "maintained table %s does not fit in %s of memory: computed %s",
                maintained.name,
                limit,
                f"again within {then}" if then is not None else "without a bound",
            )
    if unfit:
        _compute(root, unfit, versions, None)
    return [m.name for m in stale]

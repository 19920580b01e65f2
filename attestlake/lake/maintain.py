"""Writing the maintained tables (:mod:`attestlake.lake.maintained_views`) after a crawl.

:func:`refresh` computes each maintained table that is not current from its definition, in
one lake session, and replaces its rows in one Delta commit that records the version of each
table it was computed from. It runs under the lake's writer lock, at the end of every crawl
and re-evaluation, so no write happens while it reads; a refresh that is killed leaves the
maintained table it was writing as it was, or written and current: either way a session reads
the right rows (stale tables are computed from their definitions).
"""

from __future__ import annotations

import functools

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
    current_tables,
    current_versions,
    table_versions,
)
from attestlake.lake.object_store import LakeRoot

__all__ = ["refresh"]


def _write(
    root: LakeRoot, maintained: Maintained, rows: pa.Table, versions: dict[str, int]
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


def refresh(root: LakeRoot) -> list[str]:
    """Write every maintained table of the lake at ``root`` that is not current; return their
    names. Call it under the lake's writer lock."""
    stale = [m for m in MAINTAINED if m.name not in current_tables(root)]
    if not stale:
        return []
    versions = table_versions(root, {n for m in stale for n in m.reads})
    with Lake.open(root) as lake:
        for maintained in stale:
            rows = lake.con.sql(maintained.sql).arrow()
            data = rows if isinstance(rows, pa.Table) else rows.read_all()
            _write(root, maintained, data, current_versions(versions, maintained))
    return [m.name for m in stale]

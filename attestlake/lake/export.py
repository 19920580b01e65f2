"""The lake as plain Parquet, for tools that read no Delta: ``attestlake lake export``.

:func:`export_parquet` writes the current snapshot of every table into ``DIR/<table>/``: the
table's rows as Parquet files with the table's Arrow schema, every column in the files (the
partition column of a table that a lake created partitioned included), so
``read_parquet('DIR/runs/*.parquet')`` reads it. It reads one snapshot per table under the
lake's writer lock (no crawl commits meanwhile), writes into a fresh directory beside the
target and renames it into place, so the target holds a whole export or nothing.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow.dataset as ds
from deltalake import DeltaTable

from attestlake.errors import InputError
from attestlake.lake.delta import guarded, intact_states, open_table
from attestlake.lake.location import require_lake
from attestlake.lake.object_store import LakeRoot
from attestlake.lake.tables import TABLES, Table
from attestlake.lake.write import writer_lock


@dataclass(frozen=True)
class Exported:
    """What an export wrote: rows per table, and where."""

    directory: Path
    rows: dict[str, int]


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _dataset(root: LakeRoot, table: Table, opened: DeltaTable | None) -> ds.Dataset:
    """``table``'s current snapshot, from the handle its cheap checks opened if they did."""
    return (opened if opened is not None else open_table(root, table)).to_pyarrow_dataset()


def export_parquet(root: LakeRoot, target: Path) -> Exported:
    """Export the lake at ``root`` (a directory, or in object storage) into the new local
    directory ``target`` (see the module doc)."""
    require_lake(root)
    if isinstance(root, Path) and _inside(target, root):
        raise InputError(f"the export directory {target} is inside the lake {root}: choose another")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(f"{target} exists and is not an empty directory: give a new directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    rows: dict[str, int] = {}
    try:
        with writer_lock(root):
            present = intact_states(root)  # a damaged lake is named, never half-exported
            for table in TABLES:
                if table.name not in present:
                    continue
                opened = present[table.name].delta
                read = functools.partial(_dataset, root, table, opened)
                data = guarded(root, table, "read", read)
                out = scratch / table.name
                out.mkdir()
                scanner = data.scanner(columns=table.schema.names)
                ds.write_dataset(
                    scanner,
                    out,
                    format="parquet",
                    existing_data_behavior="overwrite_or_ignore",
                    basename_template="part-{i}.parquet",
                )
                rows[table.name] = int(data.count_rows())
        if target.exists():
            target.rmdir()
        scratch.rename(target)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return Exported(target, rows)

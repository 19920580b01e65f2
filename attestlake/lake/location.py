"""Where a lake is: a directory holding the lake's Delta tables.

A command that reads a lake refuses a path that is not one (:func:`require_lake`). A crawl
writes a new lake into a directory that does not exist yet or is empty, or adds to an existing
lake; it refuses a file and a directory that holds other things (:func:`require_lake_target`),
so that it never writes tables among someone else's files.
"""

from __future__ import annotations

from pathlib import Path

from attestlake.errors import LakeError
from attestlake.lake.delta import check_path
from attestlake.lake.structure import LOG, data_files
from attestlake.lake.tables import TABLES

#: What a lake's directory may hold that is not a table: the writers' lock file.
LOCK_FILE = ".writer.lock"


def is_lake(root: Path) -> bool:
    """True if ``root`` is a directory holding at least one of the lake's Delta tables (its
    transaction log, or data files left without one)."""
    if not root.is_dir():
        return False
    for table in TABLES:
        directory = root / table.name
        if directory.is_dir() and ((directory / LOG).is_dir() or any(data_files(directory))):
            return True
    return False


def _not_a_lake(root: Path, why: str) -> LakeError:
    return LakeError(f"not a lake: {root} ({why})")


def require_lake(root: Path) -> None:
    """LakeError unless ``root`` is a lake (see :func:`is_lake`)."""
    check_path(root)
    if not root.exists():
        raise _not_a_lake(root, "no such directory; 'attestlake crawl --lake DIR' makes one")
    if not root.is_dir():
        raise _not_a_lake(root, "not a directory")
    if not is_lake(root):
        raise _not_a_lake(root, "no Delta tables found; 'attestlake crawl --lake DIR' makes a lake")


def require_lake_target(root: Path) -> None:
    """LakeError unless a crawl may write the lake at ``root``: a lake, a directory that does
    not exist yet, or an empty one (or one holding only the lock file and table directories:
    a lake that another crawl, started at the same time, is creating)."""
    check_path(root)
    if not root.exists() and not root.is_symlink():
        return
    if not root.is_dir():
        raise _not_a_lake(root, "not a directory: give a new or empty directory")
    if is_lake(root):
        return
    ours = {LOCK_FILE, *(t.name for t in TABLES)}  # a lake another crawl is creating now
    try:
        others = any(entry.name not in ours for entry in root.iterdir())
    except OSError as exc:
        raise _not_a_lake(root, f"cannot list it: {exc.strerror or exc}") from None
    if others:
        raise _not_a_lake(
            root,
            "no Delta tables found, and the directory holds other files: give a new or "
            "empty directory, or an existing lake",
        )

"""Where a lake is: a directory holding the lake's Delta tables.

A command that reads a lake refuses a path that is not one (:func:`require_lake`). A crawl
writes a new lake into a directory that does not exist yet or is empty, or adds to an existing
lake; it refuses a file and a directory that holds other things (:func:`require_lake_target`),
so that it never writes tables among someone else's files. A lake in object storage
(``s3://bucket/prefix``, :mod:`attestlake.lake.object_store`) is checked the same way, its
prefix standing for the directory, after the store has answered (a missing bucket, refused
credentials or an unreachable endpoint stop the command before anything is written).
"""

from __future__ import annotations

from collections.abc import Iterable

from attestlake.errors import LakeError
from attestlake.lake.delta import check_path
from attestlake.lake.object_files import listing, reach
from attestlake.lake.object_lock import LOCK_TABLE
from attestlake.lake.object_store import LakeRoot, ObjectLake
from attestlake.lake.structure import LOG, LakeListing, by_table, data_files
from attestlake.lake.tables import TABLES

#: What a lake's directory may hold that is not a table: the writers' lock file.
LOCK_FILE = ".writer.lock"


def _object_is_lake(keys: Iterable[str]) -> bool:
    """Whether the objects under a prefix (``keys``, relative to it) hold a table."""
    tables = {t.name for t in TABLES}
    return any(
        k.split("/", 1)[0] in tables and (k.split("/")[1:2] == [LOG] or k.endswith(".parquet"))
        for k in keys
    )


def is_lake(root: LakeRoot) -> bool:
    """True if ``root`` is a directory (or prefix) holding at least one of the lake's Delta
    tables (its transaction log, or data files left without one)."""
    if isinstance(root, ObjectLake):
        return _object_is_lake(listing(root))
    if not root.is_dir():
        return False
    for table in TABLES:
        directory = root / table.name
        if directory.is_dir() and ((directory / LOG).is_dir() or any(data_files(directory))):
            return True
    return False


def _not_a_lake(root: LakeRoot, why: str) -> LakeError:
    return LakeError(f"not a lake: {root} ({why})")


def object_lake(lake: ObjectLake) -> LakeListing:
    """:func:`require_lake` for a prefix in object storage; every object of the lake, by
    table (as :func:`~attestlake.lake.structure.tables_listed` gives them): the one listing
    that found it a lake."""
    objects = reach(lake)
    if not _object_is_lake(objects):
        raise _not_a_lake(lake, "no Delta tables found; 'attestlake crawl --lake URI' makes a lake")
    return by_table(objects)


def require_lake(root: LakeRoot) -> None:
    """LakeError unless ``root`` is a lake (see :func:`is_lake`)."""
    check_path(root)
    if isinstance(root, ObjectLake):
        object_lake(root)
        return
    if not root.exists():
        raise _not_a_lake(root, "no such directory; 'attestlake crawl --lake DIR' makes one")
    if not root.is_dir():
        raise _not_a_lake(root, "not a directory")
    if not is_lake(root):
        raise _not_a_lake(root, "no Delta tables found; 'attestlake crawl --lake DIR' makes a lake")


def require_lake_target(root: LakeRoot) -> None:
    """LakeError unless a crawl may write the lake at ``root``: a lake, a directory that does
    not exist yet, or an empty one (or one holding only the lock file and table directories:
    a lake that another crawl, started at the same time, is creating)."""
    check_path(root)
    if isinstance(root, ObjectLake):
        _require_object_target(root)
        return
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


def _require_object_target(lake: ObjectLake) -> None:
    """:func:`require_lake_target` for a prefix in object storage."""
    objects = reach(lake)
    if not objects or _object_is_lake(objects):
        return
    others = {key.split("/", 1)[0] for key in objects} - {LOCK_TABLE, *(t.name for t in TABLES)}
    if others:
        raise _not_a_lake(
            lake,
            f"no Delta tables found, and the prefix holds other objects ({min(others)}, ...): "
            "give a new or empty prefix, or an existing lake",
        )

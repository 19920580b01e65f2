"""The lake's tables as delta-rs opens them: where each one is, and every call guarded.

A table lives in ``LAKE/<table>/`` and delta-rs opens it by that plain path, which must hold no
character delta-rs misreads (:func:`check_path`), or, for a lake in object storage, by its URI
with the lake's storage options (:func:`open_table`, :func:`is_table`). Every delta-rs call on a table goes through
:func:`guarded`, so that its failure (a damaged table, a full disk, a Rust panic) becomes a
LakeError naming the table and the repair; :func:`intact_tables` runs the cheap checks of
:mod:`attestlake.lake.structure` on every table before a session or writer uses the lake.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from deltalake import DeltaTable

from attestlake.errors import LakeError
from attestlake.lake.lake_check import unreadable_files
from attestlake.lake.object_files import why
from attestlake.lake.object_lock import require_lease
from attestlake.lake.object_store import LakeRoot, ObjectLake
from attestlake.lake.structure import (
    LakeListing,
    LiveFile,
    Problem,
    TableState,
    table_states,
)
from attestlake.lake.tables import TABLES, Table

_T = TypeVar("_T")

#: Path characters delta-rs misreads: it percent-decodes a path (twice when reading a log), and
#: parses '[', ']' and '\\' as URL syntax.
_UNUSABLE = re.compile(r"%[0-9A-Fa-f]{2}|[\[\]\\]")


def table_path(root: Path, table: Table) -> Path:
    return root / table.name


def table_location(root: LakeRoot, table: Table) -> str:
    """Where delta-rs opens ``table``: its directory as a plain path (never a URI), or its URI
    in object storage."""
    if isinstance(root, ObjectLake):
        return root.child(table.name)
    return str(table_path(root, table))


def storage_options(root: LakeRoot) -> dict[str, str] | None:
    """The storage options delta-rs needs to reach the lake (None: a local directory)."""
    return dict(root.options) if isinstance(root, ObjectLake) else None


def open_table(root: LakeRoot, table: Table, location: str | None = None) -> DeltaTable:
    """``table`` (or the table at ``location``, of the same lake) opened by delta-rs."""
    where = location or table_location(root, table)
    return DeltaTable(where, storage_options=storage_options(root))


def is_table(root: LakeRoot, table: Table) -> bool:
    """Whether the lake has ``table`` (a Delta log at its location)."""
    location = table_location(root, table)
    return bool(DeltaTable.is_deltatable(location, storage_options=storage_options(root)))


def check_path(root: LakeRoot) -> None:
    """LakeError if the lake's path holds characters the Delta library cannot use (a URI in
    object storage is checked where it is read, :func:`~attestlake.lake.object_store.lake_root`)."""
    if isinstance(root, ObjectLake):
        return
    found = _UNUSABLE.search(str(root.absolute()))
    if found:
        raise LakeError(
            f"the lake path {root} contains {found.group()!r}, which the Delta library "
            "misreads in paths ('%' followed by two hex digits, '[', ']', '\\'): choose a "
            "lake directory whose path has none of them"
        )


def damaged(root: LakeRoot, problems: Sequence[Problem]) -> LakeError:
    shown = [f"  {p.describe()}" for p in problems[:8]]
    if len(problems) > 8:
        shown.append(f"  ... and {len(problems) - 8} more")
    return LakeError(
        f"the lake {root} is damaged:\n"
        + "\n".join(shown)
        + f"\nrepair: {problems[0].repair}; 'attestlake lake check --lake {root}' lists every "
        "problem"
    )


def _delta_failure(exc: BaseException) -> bool:
    """True for what delta-rs raises on a damaged table or a failed write (DeltaError,
    OSError, ...), including a Rust panic, which is no Exception."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def guarded(root: LakeRoot, table: Table, doing: str, call: Callable[[], _T]) -> _T:
    """Run one delta-rs operation on ``table``; its failure becomes a LakeError naming the
    table (a full disk: free space and run the command again). In object storage, nothing
    runs once this process's writer lease may be lost (:func:`require_lease`)."""
    if isinstance(root, ObjectLake):
        require_lease(root)
    try:
        return call()
    except BaseException as exc:
        if not _delta_failure(exc) or isinstance(exc, LakeError):
            raise
        reason = _first_line(exc)
        for line in str(exc).splitlines()[1:]:  # delta-rs nests the OS error below
            if "os error" in line:
                reason = re.sub(r"\x1b\[[0-9;]*m", "", line).strip().lstrip("↳").strip()
        damage = unreadable_files(root, table, table_location(root, table))
        if damage:
            raise damaged(root, damage) from None
        if isinstance(root, ObjectLake):
            raise LakeError(
                f"cannot {doing} table {table.name} of the lake {root}: {why(exc)}. What was "
                "committed stays, what was not is written again by the next run; 'attestlake "
                "lake check' checks the lake"
            ) from None
        raise LakeError(
            f"cannot {doing} table {table.name} of the lake {root}: {reason}. If the disk is "
            "full, free space and run the command again: what was committed stays, what was "
            "not is written again; 'attestlake lake check' checks the lake"
        ) from None


def intact_states(root: LakeRoot, listed: LakeListing | None = None) -> dict[str, TableState]:
    """What the cheap checks of :mod:`attestlake.lake.lake_check` read of each table present
    in the lake; LakeError naming every damaged table and file. In object storage they read
    one listing of the lake: ``listed``, or asked now."""
    check_path(root)
    states = table_states(root, TABLES, listed)
    problems = [p for state in states for p in state.problems]
    if problems:
        raise damaged(root, problems)
    return {t.name: state for t, state in zip(TABLES, states, strict=True) if state.present}


def intact_tables(root: LakeRoot) -> dict[str, tuple[LiveFile, ...]]:
    """The live data files of each table present in the lake; LakeError naming every damaged
    table and file (the cheap checks of :mod:`attestlake.lake.lake_check`)."""
    return {name: state.files for name, state in intact_states(root).items()}

"""The trend of a report against the previous one: per query, previous count -> current count.

The previous report is the JSON that ``attestlake report --format json`` wrote on an earlier
run (a scheduled job keeps it between runs). Only what a trend needs is read from it: when it
was generated, and each query's name and number of findings. It is parsed strictly: anything
else is an :class:`attestlake.errors.InputError` naming the file and the field. A report of
version 1 counted rows, not findings: nothing in it compares, so every query shows as new
(:attr:`PreviousReport.counted_rows` says why).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attestlake._internal.regular_files import open_regular
from attestlake._internal.untrusted_json import MalformedJSON, loads
from attestlake.errors import InputError

MAX_PREVIOUS_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class PreviousReport:
    """What a trend needs from an earlier JSON report."""

    generated_at: str
    lake: str
    counts: dict[str, int]  # query name -> findings
    counted_rows: bool = False  # a version 1 report: it counted rows, so nothing compares


@dataclass(frozen=True)
class Change:
    """One query's finding count now and in the previous report (None: it was not run)."""

    name: str
    title: str
    severity: str
    previous: int | None
    current: int

    @property
    def delta(self) -> int | None:
        return None if self.previous is None else self.current - self.previous

    @property
    def direction(self) -> str:
        """``up`` (more findings), ``down`` (fewer), ``same`` or ``new``."""
        if self.delta is None:
            return "new"
        return "up" if self.delta > 0 else "down" if self.delta < 0 else "same"

    @property
    def arrow(self) -> str:
        return {"up": "↑", "down": "↓", "same": "→", "new": "new"}[self.direction]


@dataclass(frozen=True)
class Trend:
    previous: PreviousReport
    changes: tuple[Change, ...]

    def totals(self) -> tuple[int, int]:
        """(previous, current) findings over the queries both reports ran."""
        both = [c for c in self.changes if c.previous is not None]
        return sum(c.previous or 0 for c in both), sum(c.current for c in both)


def _count(value: object, where: str, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{source}: {where}: expected a count (a whole number >= 0)")
    return value


def previous_from_json(data: Any, source: str) -> PreviousReport:
    """A :class:`PreviousReport` from parsed JSON; InputError if it is not a report."""
    if not isinstance(data, Mapping):
        raise InputError(f"{source}: not an attestlake JSON report (expected an object)")
    queries = data.get("queries")
    if not isinstance(queries, list):
        raise InputError(f"{source}: not an attestlake JSON report (no 'queries' list)")
    counted_rows = data.get("version", 1) == 1
    counts: dict[str, int] = {}
    for i, entry in enumerate(queries):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise InputError(f"{source}: queries[{i}]: expected an object with a 'name'")
        field = "count" if counted_rows else "findings"
        counts[entry["name"]] = _count(entry.get(field), f"queries[{i}].{field}", source)
    generated_at = data.get("generated_at", "")
    lake = data.get("lake", "")
    if not isinstance(generated_at, str) or not isinstance(lake, str):
        raise InputError(f"{source}: 'generated_at' and 'lake' must be strings")
    if counted_rows:
        counts = {}
    return PreviousReport(generated_at, lake, counts, counted_rows)


def load_previous(path: Path) -> PreviousReport:
    """Read the previous JSON report at ``path``; InputError naming the problem."""
    try:
        with open_regular(path) as fh:
            raw = fh.read(MAX_PREVIOUS_BYTES + 1)
    except OSError as exc:
        raise InputError(f"--previous {path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_PREVIOUS_BYTES:
        raise InputError(f"--previous {path}: larger than {MAX_PREVIOUS_BYTES} bytes")
    try:
        data = loads(raw, max_bytes=MAX_PREVIOUS_BYTES, what=f"--previous {path}")
    except MalformedJSON as exc:
        raise InputError(f"{exc}; give a --format json report") from None
    return previous_from_json(data, f"--previous {path}")


def load_previous_if_any(path: Path) -> PreviousReport | None:
    """The previous JSON report at ``path``, or None when there is none yet (nothing by that
    name: a first run). Anything else wrong with it is an InputError, as in
    :func:`load_previous`."""
    if not os.path.lexists(path):
        return None
    return load_previous(path)


def compare(current: Sequence[tuple[str, str, str, int]], previous: PreviousReport) -> Trend:
    """The trend of ``current`` (name, title, severity, findings per query) against
    ``previous``."""
    changes = tuple(
        Change(name, title, severity, previous.counts.get(name), count)
        for name, title, severity, count in current
    )
    return Trend(previous, changes)

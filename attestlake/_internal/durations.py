"""Relative durations for the date parameters of saved queries: ``since="30 days"``.

A *time parameter* is one whose default is an ISO date or timestamp (``since = 1970-01-01``)
or whose name says it is one: ``since``, ``until``, ``before``, ``after``, or a name ending in
``_since``, ``_until``, ``_before``, ``_after``, ``_at`` or ``_date``. Its value may be a
relative duration, ``N UNIT`` with UNIT one of second, minute, hour, day, week (singular or
plural, or the short forms s, m, h, d, w, optionally followed by "ago"): ``30 days``,
``12 hours``, ``2w``, ``1 day ago``. It resolves to the UTC instant that long before now,
written ``YYYY-MM-DDTHH:MM:SSZ``, which DuckDB casts to a DATE (the day), a TIMESTAMP or a
TIMESTAMPTZ. Otherwise the value must be an ISO 8601 date or timestamp, passed on unchanged
(and, like every value, bound, never pasted into SQL); anything else is refused before the
query runs.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}
_SHORT = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week"}
_RELATIVE = re.compile(
    r"^\s*(?P<n>\d{1,9})\s*(?P<unit>seconds?|minutes?|hours?|days?|weeks?|[smhdw])"
    r"(?:\s+ago)?\s*$",
    re.IGNORECASE,
)
TIME_NAMES = frozenset({"since", "until", "before", "after"})
TIME_SUFFIXES = ("_since", "_until", "_before", "_after", "_at", "_date")


def relative_duration(value: str) -> timedelta | None:
    """``value`` as a duration if it is ``N UNIT`` (see the module doc), else None."""
    match = _RELATIVE.match(value)
    if not match:
        return None
    unit = match["unit"].lower()
    unit = _SHORT.get(unit, unit.removesuffix("s"))
    return timedelta(seconds=int(match["n"]) * _SECONDS[unit])


def is_iso_time(text: str | None) -> bool:
    """True for an ISO 8601 date (``2024-05-01``) or timestamp (``2024-05-01T10:00:00Z``)."""
    if not text:
        return False
    try:
        date.fromisoformat(text)
        return True
    except ValueError:
        pass
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


def is_time_param(name: str, default: str | None) -> bool:
    """True for a time parameter: an ISO date/timestamp default, or a time-like name."""
    lowered = name.lower()
    return is_iso_time(default) or lowered in TIME_NAMES or lowered.endswith(TIME_SUFFIXES)


def iso(ts: datetime) -> str:
    """``ts`` in seconds, with ``Z`` for UTC (other offsets are kept)."""
    return ts.isoformat(timespec="seconds").replace("+00:00", "Z")


def iso_utc(instant: datetime) -> str:
    """``instant`` as ``YYYY-MM-DDTHH:MM:SSZ`` (naive instants are taken as UTC)."""
    aware = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def resolve(value: str, now: datetime | None = None) -> str:
    """A time parameter's value to bind: a relative duration becomes the instant that long
    before ``now``; an ISO date or timestamp stays as it is; ValueError for anything else."""
    duration = relative_duration(value)
    if duration is not None:
        return iso_utc((now or datetime.now(UTC)) - duration)
    if is_iso_time(value.strip()):
        return value.strip()
    raise ValueError(f"not a date, timestamp or relative duration: {value!r}")


def instant(value: str, now: datetime | None = None) -> datetime:
    """``value`` as a UTC instant: a relative duration before ``now``, or an ISO 8601 date
    (its midnight) or timestamp (without an offset: UTC). ValueError for anything else."""
    duration = relative_duration(value)
    if duration is not None:
        return (now or datetime.now(UTC)) - duration
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a date, timestamp or relative duration: {value!r}") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)

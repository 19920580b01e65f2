"""Fields that every kind of signer of a trust policy shares: lists of names, a signer's
``projects``/``workflows`` scope and its ``untrusted_after`` time."""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime
from typing import Any

from attestlake.errors import TrustPolicyError


def str_list(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TrustPolicyError(f"{where} must be a list of strings")
    return tuple(value)


def root_names(
    where: str, value: Any, names: tuple[str, ...], *, kind: str, of: str, who: str
) -> tuple[str, ...]:
    """The roots a signer of the policy is trusted under (its ``roots`` field, at ``where``):
    required when there are several (``names``, the ``kind`` of ``of``), the only one
    otherwise; each one of ``names``."""
    if value is None:
        if len(names) == 1:
            return names
        raise TrustPolicyError(
            f"{where} needs 'roots': {of} has several {kind} ({', '.join(names)}), so each "
            f"{who} names the one(s) it is trusted under"
        )
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise TrustPolicyError(f"{where}.roots must be a non-empty list of root names")
    unknown = [v for v in value if v not in names]
    if unknown:
        raise TrustPolicyError(
            f"{where}.roots: {unknown[0]!r} is not one of the {kind} of {of} ({', '.join(names)})"
        )
    return tuple(dict.fromkeys(value))


def in_scope(
    projects: tuple[str, ...], workflows: tuple[str, ...], project: Any, workflow: Any
) -> bool:
    if projects and project not in projects:
        return False
    return not (workflows and workflow not in workflows)


def scope_text(projects: tuple[str, ...], workflows: tuple[str, ...]) -> str:
    parts = [
        f"{what} {', '.join(names)}"
        for what, names in (("projects", projects), ("workflows", workflows))
        if names
    ]
    return " and ".join(parts) or "any statement"


def when(value: Any, where: str) -> datetime | None:
    """An ``untrusted_after`` time: an RFC 3339 / ISO 8601 time with a timezone, or a date
    (midnight UTC)."""
    if value is None:
        return None
    if isinstance(value, datetime):  # YAML reads unquoted timestamps itself
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
    else:
        parsed = (
            datetime(value.year, value.month, value.day, tzinfo=UTC)
            if isinstance(value, dt.date)
            else None
        )
    if parsed is None:
        raise TrustPolicyError(
            f"{where} must be a time such as 2026-10-01T00:00:00Z or a date such as 2026-10-01"
        )
    if parsed.tzinfo is None:
        if isinstance(value, str) and "T" not in value and " " not in value:
            return parsed.replace(tzinfo=UTC)
        raise TrustPolicyError(f"{where} needs a timezone (write ...Z for UTC): {value!s}")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise TrustPolicyError(f"{where} is out of range in UTC: {value!s}") from None

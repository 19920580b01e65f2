"""Shared pieces of normalisation: the rows of one batch, the context of one document, and
careful readers for untrusted JSON values (a wrong type reads as None, never raises)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from attestlake.verify.outcome import Outcome

#: A string as JSON text, as ``json.dumps`` writes it without ASCII escapes.
_string = json.encoder.encode_basestring

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@dataclass(frozen=True)
class Columns:
    """Rows of one table as columns: each column's values in row order, every column as long
    (the rows of an SBOM's components, built without a dictionary per row)."""

    values: dict[str, list[Any]]

    def __len__(self) -> int:
        return len(next(iter(self.values.values()), ()))

    def copy(self) -> Columns:
        return Columns({name: list(column) for name, column in self.values.items()})

    def rows(self) -> list[dict[str, Any]]:
        names = list(self.values)
        return [
            dict(zip(names, row, strict=True)) for row in zip(*self.values.values(), strict=True)
        ]


#: A run of one table's rows: dictionaries, or columns.
Part = list[dict[str, Any]] | Columns


class Rows:
    """Rows per table name, gathered for one batch, in order: each row a dictionary, or runs of
    rows as :class:`Columns` (the tables whose rows come many at a time)."""

    def __init__(self) -> None:
        self._parts: dict[str, list[Part]] = {}

    def add(self, table: str, row: dict[str, Any]) -> None:
        self._extend(table, [row])

    def _extend(self, table: str, rows: list[dict[str, Any]]) -> None:
        parts = self._parts.setdefault(table, [])
        last = parts[-1] if parts else None
        if isinstance(last, list):
            last.extend(rows)
        else:
            parts.append(list(rows))

    def add_columns(self, table: str, columns: Columns) -> None:
        """Add the rows of ``columns`` (not kept: later rows never change it)."""
        if not len(columns):
            return
        parts = self._parts.setdefault(table, [])
        last = parts[-1] if parts else None
        if isinstance(last, Columns) and last.values.keys() == columns.values.keys():
            for name, column in last.values.items():
                column.extend(columns.values[name])
        else:
            parts.append(columns.copy())

    def extend(self, other: Rows) -> None:
        for table, parts in other._parts.items():
            for part in parts:
                if isinstance(part, Columns):
                    self.add_columns(table, part)
                else:
                    self._extend(table, part)

    def tables(self) -> list[str]:
        """The tables that have rows, in the order their first rows came."""
        return list(self._parts)

    def parts(self, table: str) -> list[Part]:
        """The rows of ``table``, in order, as they were added: runs of dictionaries and of
        columns (not copies: read them, do not change them)."""
        return self._parts.get(table, [])

    def rows(self, table: str) -> list[dict[str, Any]]:
        """The rows of ``table``, each as a dictionary."""
        out: list[dict[str, Any]] = []
        for part in self.parts(table):
            out.extend(part.rows() if isinstance(part, Columns) else part)
        return out

    def replace(self, table: str, rows: list[dict[str, Any]]) -> None:
        """``rows`` in place of the rows of ``table``."""
        self._parts[table] = [list(rows)]

    @property
    def by_table(self) -> dict[str, list[dict[str, Any]]]:
        """Every table's rows, each as a dictionary."""
        return {table: self.rows(table) for table in self._parts}

    def count(self, table: str) -> int:
        return sum(len(part) for part in self.parts(table))


@dataclass(frozen=True)
class Context:
    """Where one document was found, and what verified it."""

    manifest_digest: str
    envelope_digest: str
    source: str
    outcome: Outcome
    statement_digest: str | None = None
    #: Other blobs of the same OCI manifest (digest -> bytes): evidence such as SBOM files.
    evidence: Mapping[str, bytes] = field(default_factory=dict)

    @property
    def statement(self) -> dict[str, Any]:
        return self.outcome.statement or {}

    @property
    def predicate(self) -> dict[str, Any]:
        return as_object(self.statement.get("predicate"))

    @property
    def predicate_type(self) -> str | None:
        return self.outcome.predicate_type or predicate_type_of(self.statement)


def sha256_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def predicate_type_of(statement: Mapping[str, Any]) -> str | None:
    """``predicateType``, or the old snake_case ``predicate_type``."""
    return s(statement.get("predicateType", statement.get("predicate_type")))


def as_object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def s(value: Any) -> str | None:
    """A non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def string(value: Any) -> str | None:
    """A string (empty ones kept), else None."""
    return value if isinstance(value, str) else None


#: Characters kept of one free-text value of an evidence file (a message, a statement).
MAX_TEXT = 1000


def bounded(text: Any) -> str | None:
    """A string cut to :data:`MAX_TEXT` characters (``…`` marking the cut), else None."""
    value = string(text)
    if value is None or len(value) <= MAX_TEXT:
        return value
    return value[: MAX_TEXT - 1] + "…"


def integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    return None


def ts(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (nanoseconds cut to microseconds) as an aware UTC datetime."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    match = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", text)
    if match:
        frac = (match[2] or "")[:7]
        text = match[1] + frac + match[3]
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # 9999-12-31T23:59:59-23:59 is past year 9999 in UTC
        return None


def day(value: datetime | None) -> str:
    """The partition value for a time: its UTC day, or ``unknown``."""
    return value.date().isoformat() if value else "unknown"


def get(obj: Mapping[str, Any], key: str) -> Any:
    """``obj[key]`` for a camelCase key, or its old snake_case spelling."""
    if key in obj:
        return obj[key]
    return obj.get(_CAMEL.sub("_", key).lower())


def sha256_digest(value: Any) -> str | None:
    """``sha256:<hex>`` from an in-toto digest set, if it has a sha256."""
    hexd = as_object(value).get("sha256")
    return "sha256:" + hexd.lower() if isinstance(hexd, str) and hexd else None


def to_json(value: Any) -> str | None:
    """Stable JSON text for a nested value (None stays None): ``json.dumps`` with sorted keys,
    no spaces and no ASCII escapes; a list of strings or an object of string values (most of
    the values made into JSON text: hashes, licences, digests) written directly, the same
    text."""
    if value is None:
        return None
    kind = type(value)
    if kind is list and all(type(item) is str for item in value):
        return "[" + ",".join(map(_string, value)) + "]"
    if kind is dict and all(type(k) is str and type(v) is str for k, v in value.items()):
        return (
            "{" + ",".join([f"{_string(k)}:{_string(v)}" for k, v in sorted(value.items())]) + "}"
        )
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def subject_rows(ctx: Context, *, run_id: str | None, run_date: str) -> list[dict[str, Any]]:
    """One ``subjects`` row per subject of the statement."""
    rows = []
    for subject in as_list(ctx.statement.get("subject")):
        if not isinstance(subject, dict):
            continue
        ann = as_object(subject.get("annotations"))
        digests = as_object(subject.get("digest"))
        rows.append(
            {
                "run_id": run_id,
                "manifest_digest": ctx.manifest_digest,
                "name": s(subject.get("name")),
                "digest": sha256_digest(digests),
                "material_name": s(ann.get("attestlake.material"))
                or s(ann.get("chainloop.material.name")),
                "material_type": s(ann.get("attestlake.type"))
                or s(ann.get("chainloop.material.type")),
                "run_date": run_date,
                "envelope_digest": ctx.envelope_digest,
                "predicate_type": ctx.predicate_type,
                "digests": to_json({str(k): v for k, v in digests.items() if isinstance(v, str)}),
            }
        )
    return rows

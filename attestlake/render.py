"""Rendering result tables as text: aligned columns, JSON, CSV and Markdown.

Shared by ``attestlake sql``, ``attestlake query run`` and reports. Cell values come from
attestations, which are untrusted: the plain-text and Markdown forms escape control and
bidirectional-override characters (and Markdown syntax), so a value cannot rewrite a terminal
or a rendered report. JSON and CSV carry the values unchanged.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa

from attestlake.errors import InputError

FORMATS = ("table", "json", "csv")
MAX_CELL = 60
NO_ROWS = "(no rows)"

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|])")


def plain_value(value: Any) -> Any:
    """``value`` as JSON-ready data: timestamps become ISO 8601 strings (UTC when zoned)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Mapping):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_value(v) for v in value]
    return str(value)


def plain_rows(table: pa.Table) -> list[dict[str, Any]]:
    """The table's rows as JSON-ready dictionaries."""
    return [{k: plain_value(v) for k, v in row.items()} for row in table.to_pylist()]


def cell_text(value: Any, *, null: str = "") -> str:
    """One cell as text (not escaped): nested values as compact JSON."""
    value = plain_value(value)
    if value is None:
        return null
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


def _escape_control(text: str) -> str:
    def sub(m: re.Match[str]) -> str:
        c = m.group(0)
        return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(
            c, f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
        )

    return _UNSAFE.sub(sub, text)


def _cut(text: str, width: int = MAX_CELL) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _is_number(dtype: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype)
    )


def text_table(table: pa.Table) -> str:
    """Aligned plain-text columns with a header row; long cells cut with "…"."""
    if table.num_rows == 0:
        return NO_ROWS
    names = [_cut(_escape_control(n)) for n in table.column_names]
    numeric = [_is_number(f.type) for f in table.schema]
    cells = [
        [_cut(_escape_control(cell_text(v, null="NULL"))) for v in row.values()]
        for row in table.to_pylist()
    ]
    widths = [max(len(n), *(len(r[i]) for r in cells)) for i, n in enumerate(names)]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(names), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    return "\n".join(out)


def json_text(table: pa.Table) -> str:
    """A JSON array of objects, one per row."""
    return json.dumps(plain_rows(table), indent=2, ensure_ascii=False)


def csv_text(table: pa.Table) -> str:
    """CSV with a header row (values unchanged; NULL is an empty field)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in table.to_pylist():
        writer.writerow([cell_text(v) for v in row.values()])
    return buf.getvalue()


def format_table(table: pa.Table, fmt: str) -> str:
    """Render ``table`` as ``table`` (aligned text), ``json`` or ``csv``."""
    if fmt == "table":
        return text_table(table)
    if fmt == "json":
        return json_text(table)
    if fmt == "csv":
        return csv_text(table)
    raise InputError(f"unknown output format {fmt!r}; one of: {', '.join(FORMATS)}")


def markdown_cell(value: Any, *, trusted: bool = False) -> str:
    """A value as Markdown text for a table cell: pipes and control characters escaped.

    Untrusted values (from attestations) also have Markdown syntax escaped, so they cannot
    become links, images or HTML; ``trusted`` text (titles, column names) keeps it.
    """
    text = _escape_control(cell_text(value))
    return text.replace("|", "\\|") if trusted else _MARKDOWN.sub(r"\\\1", text)


def markdown_table(table: pa.Table, *, limit: int | None = None) -> str:
    """A Markdown table of at most ``limit`` rows, then "… N more" if rows were left out."""
    if table.num_rows == 0:
        return NO_ROWS
    shown = table if limit is None else table.slice(0, limit)
    out = [
        "| " + " | ".join(markdown_cell(n, trusted=True) for n in table.column_names) + " |",
        "|" + "|".join("---" for _ in table.column_names) + "|",
    ]
    out += [
        "| " + " | ".join(markdown_cell(v) for v in row.values()) + " |"
        for row in shown.to_pylist()
    ]
    if shown.num_rows < table.num_rows:
        out += ["", f"… {table.num_rows - shown.num_rows} more"]
    return "\n".join(out)

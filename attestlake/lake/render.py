"""Rendering result tables: aligned text, JSON, CSV, Markdown, HTML and Parquet.

Shared by ``attestlake sql``, ``attestlake query run``, reports and notebook displays. Cell
values come from attestations, which are untrusted: the plain-text, Markdown and HTML forms
escape control and bidirectional-override characters (and Markdown syntax, or HTML), so a
value cannot rewrite a terminal or a rendered report. JSON, CSV and Parquet carry the values
unchanged.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa

from attestlake._internal.printable import printable
from attestlake.errors import InputError

FORMATS = ("table", "json", "csv")
OUTPUT_FORMATS = (*FORMATS, "parquet")  # parquet: to a file only
MAX_CELL = 60
NO_ROWS = "(no rows)"
#: Badge colours per severity (white text on these meets WCAG AA contrast).
SEVERITY_COLOURS = {
    "critical": "#7f1d1d",
    "high": "#b91c1c",
    "medium": "#a16207",
    "low": "#1d4ed8",
    "info": "#4b5563",
}

_MARKDOWN = re.compile(r"([\\`*_\[\]<>|])")
_NUM = ' class="num"'
_DIGEST = re.compile(r"(sha256:[0-9a-f]{8})[0-9a-f]{56}")
_BREAK_AFTER = re.compile(r"([/_@=]|(?<!\d)[.:]|[.:](?!\d))(?=\S)")
_LONG_WORD = re.compile(r"[^\s/_@:.=]{25,}")


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


def _cut(text: str, width: int = MAX_CELL, *, keep_end: bool = False) -> str:
    if len(text) <= width:
        return text
    return "…" + text[-(width - 1) :] if keep_end else text[: width - 1] + "…"


def row_values(table: pa.Table) -> list[tuple[Any, ...]]:
    """The rows as tuples in column order (unlike ``to_pylist``, keeps duplicate names)."""
    return list(zip(*(column.to_pylist() for column in table.columns), strict=True))


def _is_number(dtype: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype)
    )


def text_table(table: pa.Table, *, keep_end: Collection[str] = ()) -> str:
    """Aligned plain-text columns with a header row; long cells cut with "…".

    Cells of the columns named in ``keep_end`` (paths, identities: where the end tells them
    apart) lose their start instead of their end.
    """
    if table.num_rows == 0:
        return NO_ROWS
    names = [_cut(printable(n)) for n in table.column_names]
    numeric = [_is_number(f.type) for f in table.schema]
    tails = [n in keep_end for n in table.column_names]
    cells = [
        [
            _cut(printable(cell_text(v, null="NULL")), keep_end=tail)
            for v, tail in zip(row, tails, strict=True)
        ]
        for row in row_values(table)
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


#: What a spreadsheet reads as the start of a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> str:
    """One CSV field: the text of ``value``; a text value a spreadsheet would run as a
    formula (``=HYPERLINK(...)`` in a workflow name from an attestation) gets a leading
    ``'``, so it is shown, never run. Numbers are left as they are."""
    text = cell_text(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_text(table: pa.Table) -> str:
    """CSV with a header row; NULL is an empty field; text that a spreadsheet would run as a
    formula starts with ``'`` (see :func:`_csv_cell`)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([_csv_cell(name) for name in table.column_names])
    for row in row_values(table):
        writer.writerow([_csv_cell(v) for v in row])
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
    text = printable(cell_text(value))
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
    out += ["| " + " | ".join(markdown_cell(v) for v in row) + " |" for row in row_values(shown)]
    if shown.num_rows < table.num_rows:
        out += ["", f"… {table.num_rows - shown.num_rows} more"]
    return "\n".join(out)


# -- HTML and binary outputs ---------------------------------------------------------------
def _wbr(escaped: str) -> str:
    """Escaped text with line-break opportunities after ``/ _ @ : . =`` (for paths, URLs)."""
    return _BREAK_AFTER.sub(r"\1<wbr>", escaped)


def html_cell(value: Any, *, short_digests: bool = False) -> str:
    """One value as escaped HTML (control and bidi characters shown as escapes).

    Line-break opportunities (``<wbr>``) follow ``/ _ @ = . :`` (not between digits). With
    ``short_digests``, each sha256 digest shows its first 8 hex digits and "…", in a
    ``<span class="digest">`` whose ``title`` (a tooltip) holds the whole digest.
    """
    if value is None:
        return '<span class="null">null</span>'
    text = printable(cell_text(value))
    if isinstance(value, datetime) and "T" in text:  # break between date and time only
        day, _, clock = text.partition("T")
        return f'<span class="nw">{html.escape(day)}</span><wbr><span class="nw">T{html.escape(clock)}</span>'
    if not short_digests:
        return _wbr(html.escape(text, quote=True))
    out, at = [], 0
    for match in _DIGEST.finditer(text):
        out.append(_wbr(html.escape(text[at : match.start()], quote=True)))
        out.append(
            f'<span class="digest" title="{html.escape(match.group(0))}">{match.group(1)}…</span>'
        )
        at = match.end()
    out.append(_wbr(html.escape(text[at:], quote=True)))
    return "".join(out)


def _cell_attrs(value: Any, kind: str, short_digests: bool) -> str:
    text = cell_text(value)
    text = _DIGEST.sub(r"\1…", text) if short_digests else text
    classes = ([kind] if kind else []) + (["long"] if _LONG_WORD.search(text) else [])
    return f' class="{" ".join(classes)}"' if classes else ""


def _kind(dtype: pa.DataType) -> str:
    """``num`` for numbers, ``time`` for dates and timestamps (CSS classes), else ''."""
    if _is_number(dtype):
        return "num"
    return "time" if pa.types.is_temporal(dtype) else ""


def html_table(table: pa.Table, *, limit: int | None = None, short_digests: bool = False) -> str:
    """An HTML ``<table>`` of at most ``limit`` rows, every name and value escaped.

    Rows left out are announced in a ``<p class="more">`` after the table. Numeric cells have
    the class ``num``, dates and timestamps ``time``; cells with 25 characters or more that offer no line break (a hex id)
    the class ``long``, so a stylesheet can let those, and only those, break anywhere.
    """
    if table.num_rows == 0:
        return f'<p class="empty">{NO_ROWS}</p>'
    shown = table if limit is None else table.slice(0, limit)
    kinds = [_kind(f.type) for f in table.schema]
    head = "".join(
        f"<th{_NUM if kind == 'num' else ''}>{_wbr(html.escape(printable(n)))}</th>"
        for n, kind in zip(table.column_names, kinds, strict=True)
    )
    body = "\n".join(
        "<tr>"
        + "".join(
            f"<td{_cell_attrs(v, kind, short_digests)}>"
            f"{html_cell(v, short_digests=short_digests)}</td>"
            for v, kind in zip(row, kinds, strict=True)
        )
        + "</tr>"
        for row in row_values(shown)
    )
    out = f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"
    left = table.num_rows - shown.num_rows
    if left:
        out += f'\n<p class="more">… {left} more row{"s" if left != 1 else ""}</p>'
    return out


def table_bytes(table: pa.Table, fmt: str) -> bytes:
    """``table`` in one of :data:`OUTPUT_FORMATS` as bytes (text formats in UTF-8)."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        buf = io.BytesIO()
        pq.write_table(table, buf)
        return buf.getvalue()
    if fmt not in FORMATS:
        raise InputError(f"unknown output format {fmt!r}; one of: {', '.join(OUTPUT_FORMATS)}")
    text = format_table(table, fmt)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")

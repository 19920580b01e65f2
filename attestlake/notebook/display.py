"""HTML for notebooks: tables with links to runs, key/value cards and notes.

Every value is escaped: lake rows carry claims made by CI jobs (a runner URL, a branch name)
and must never become markup. Only ``http``/``https`` URLs become links.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl

_TABLE = 'style="border-collapse:collapse;font-size:12px;margin:4px 0 12px 0"'
_CELL = 'style="border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top"'
# Digests and URLs are one long word: let those (only) wrap anywhere.
_LONG_CELL = _CELL[:-1] + ';max-width:420px;overflow-wrap:anywhere"'
_LONG_WORD = 28
_HEAD = 'style="border:1px solid #ddd;padding:3px 6px;text-align:left;background:#f3f3f3"'
_NOTES = {
    "info": "#e7f5ff",
    "warning": "#fff4e6",
    "problem": "#fff5f5",
}


def cell_text(value: Any) -> str:
    """A value as an auditor reads it (UTC times to the second, ``—`` for nothing)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _td(value: Any, url: Any = None) -> str:
    long = any(len(word) > _LONG_WORD for word in cell_text(value).split())
    return f"<td {_LONG_CELL if long else _CELL}>{_cell(value, url)}</td>"


def _cell(value: Any, url: Any = None) -> str:
    text = html.escape(cell_text(value))
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener">{text}</a>'
    return text


@dataclass(frozen=True)
class Table:
    """A titled table. ``links`` maps a column to the column holding its URL (then hidden)."""

    frame: pl.DataFrame
    title: str | None = None
    links: Mapping[str, str] = field(default_factory=dict)
    empty: str = "Nothing found."
    limit: int = 200

    def columns(self) -> list[str]:
        hidden = set(self.links.values())
        return [c for c in self.frame.columns if c not in hidden]

    def _repr_html_(self) -> str:
        out = [f"<h4>{html.escape(self.title)}</h4>"] if self.title else []
        if self.frame.is_empty():
            return "".join(out) + f"<p><em>{html.escape(self.empty)}</em></p>"
        columns = self.columns()
        out.append(f"<table {_TABLE}><thead><tr>")
        out += [f"<th {_HEAD}>{html.escape(c)}</th>" for c in columns]
        out.append("</tr></thead><tbody>")
        for row in self.frame.head(self.limit).iter_rows(named=True):
            cells = [_td(row[c], row.get(self.links.get(c, ""))) for c in columns]
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</tbody></table>")
        if self.frame.height > self.limit:
            out.append(f"<p><em>{self.frame.height - self.limit} more rows not shown.</em></p>")
        return "".join(out)

    def __repr__(self) -> str:
        return f"<{self.title or 'table'}: {self.frame.height} rows>"


@dataclass(frozen=True)
class Card:
    """One record as a two-column (field, value) table."""

    title: str
    fields: Sequence[tuple[str, Any]]
    links: Mapping[str, str] = field(default_factory=dict)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th {_HEAD}>{html.escape(k)}</th>{_td(v, self.links.get(k))}</tr>"
            for k, v in self.fields
        )
        return f"<h4>{html.escape(self.title)}</h4><table {_TABLE}>{rows}</table>"


@dataclass(frozen=True)
class Note:
    """A sentence for the reader: ``info``, ``warning`` or ``problem``."""

    text: str
    kind: str = "info"

    def _repr_html_(self) -> str:
        colour = _NOTES.get(self.kind, _NOTES["info"])
        return (
            f'<p style="background:{colour};padding:6px 10px;border-radius:4px">'
            f"{html.escape(self.text)}</p>"
        )

    def __repr__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Section:
    """A heading and the parts under it, rendered in order."""

    title: str
    parts: Sequence[Any]

    def _repr_html_(self) -> str:
        body = "".join(p._repr_html_() for p in self.parts)
        return f"<h3>{html.escape(self.title)}</h3>{body}"

    def __repr__(self) -> str:
        return f"<{self.title}: {len(self.parts)} parts>"

"""Results of saved queries in Python: Polars, Arrow, text, files and notebook displays.

``AuditLake.query(name, **params)`` returns a :class:`attestlake.audit.queries.QueryResult`, which has
everything :class:`Tabular` offers over its Arrow table::

    result = lake.query("missing_sbom_digests", since="30 days")
    result.pl()          # polars.DataFrame
    result.arrow()       # pyarrow.Table
    result.rows          # list of dicts
    result.write("out.parquet", "parquet")   # atomically
    result               # in a notebook: title, severity and an HTML table, values escaped

Ad-hoc SQL stays ``Lake.sql(sql, params)``: a ``pyarrow.Table``, or a ``polars.DataFrame``
with ``as_="polars"``.
"""

from __future__ import annotations

import html
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from attestlake._internal._atomic import write_atomic
from attestlake._internal.durations import iso_utc
from attestlake.errors import InputError, QueryError
from attestlake.lake.object_store import LakeRoot, ObjectLake
from attestlake.lake.render import (
    OUTPUT_FORMATS,
    SEVERITY_COLOURS,
    format_table,
    html_table,
    table_bytes,
)

if TYPE_CHECKING:
    import polars
HTML_ROWS = 50


def to_polars(table: pa.Table) -> polars.DataFrame:
    """An Arrow table as a Polars DataFrame (Polars is imported on first use)."""
    import polars

    frame = polars.from_arrow(table)
    assert isinstance(frame, polars.DataFrame)  # a Table always gives a DataFrame
    return frame


class Tabular:
    """What every result offers over its Arrow table ``self.table``."""

    table: pa.Table

    # -- the data, as Arrow, Polars or Python ----------------------------------------------
    def arrow(self) -> pa.Table:
        """The rows as a ``pyarrow.Table``."""
        return self.table

    def pl(self) -> polars.DataFrame:
        """The rows as a ``polars.DataFrame``."""
        return to_polars(self.table)

    to_arrow = arrow
    to_polars = pl

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows as dictionaries (column name to Python value)."""
        return list(self.table.to_pylist())

    @property
    def count(self) -> int:
        """The number of rows."""
        return int(self.table.num_rows)

    # -- text, files and notebooks ----------------------------------------------------------
    def format(self, fmt: str = "table") -> str:
        """The rows as ``table`` (aligned text), ``json`` or ``csv``."""
        return format_table(self.table, fmt)

    def write(self, path: Path | str, fmt: str) -> Path:
        """Write the rows to ``path`` as table, json, csv or parquet, atomically."""
        target = Path(path)
        write_atomic(target, table_bytes(self.table, fmt))
        return target

    def _heading_html(self) -> str:
        return ""

    def _repr_html_(self) -> str:
        shape = f"{self.count} row{'s' if self.count != 1 else ''} × {self.table.num_columns}"
        return (
            '<div class="attestlake-result">'
            + self._heading_html()
            + html_table(self.table, limit=HTML_ROWS)
            + f'<p style="color:#555;font-size:90%">{shape} columns</p></div>'
        )


def query_heading_html(title: str, severity: str, description: str, params: dict[str, str]) -> str:
    """The heading of a saved query's notebook display: title, severity badge, parameters."""
    colour = SEVERITY_COLOURS.get(severity, "#4b5563")
    given = ", ".join(f"{k}={v}" for k, v in params.items())
    return (
        f"<p><strong>{html.escape(title)}</strong> "
        f'<span style="background:{colour};color:#fff;border-radius:3px;padding:0 6px">'
        f"{html.escape(severity)}</span>"
        + (f" <code>{html.escape(given)}</code>" if given else "")
        + f'<br><span style="color:#555">{html.escape(description)}</span></p>'
    )


def param_text(name: str, value: object) -> str:
    """A Python parameter value as the text a saved query binds.

    ``str`` as is; ``datetime`` as ISO 8601 UTC; ``date`` as ``YYYY-MM-DD``; ``timedelta``
    as a relative duration (that long before now); ``bool`` as true/false; numbers as digits.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"{int(value.total_seconds())} seconds"
    if isinstance(value, int | float):
        return str(value)
    raise QueryError(
        f"parameter {name}: cannot use a {type(value).__name__} value; "
        "give a str, number, bool, date, datetime or timedelta"
    )


def check_output(fmt: str, output: Path | None, lake: LakeRoot | str | None = None) -> None:
    """InputError unless ``fmt`` can be written where asked (parquet needs a file, and no
    file is written inside the lake ``lake``)."""
    if fmt not in OUTPUT_FORMATS:
        raise InputError(f"unknown output format {fmt!r}; one of: {', '.join(OUTPUT_FORMATS)}")
    if fmt == "parquet" and output is None:
        raise InputError("--format parquet writes a binary file: give --output FILE.parquet")
    if output is not None and lake is not None:
        check_outside_lake(output, lake)


def check_outside_lake(output: Path, lake: LakeRoot | str) -> None:
    """InputError if writing ``output`` would create or replace a file inside the lake
    directory ``lake`` (its directories followed through symbolic links): a file written
    there could replace a table's data or add to its log. (A lake in object storage is never
    where a local file is written.)"""
    if isinstance(lake, ObjectLake) or (isinstance(lake, str) and "://" in lake):
        return
    written = output.absolute().parent.resolve() / output.name
    root = Path(lake).resolve()
    if written == root or written.is_relative_to(root):
        raise InputError(
            f"--output {output} is inside the lake {lake}: a file written there could change "
            "its tables; write it outside the lake directory"
        )

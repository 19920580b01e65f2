"""Running saved queries on the lake.

A saved query (:mod:`attestlake.audit.query_files`) runs with its parameter values checked
against its ``param`` lines, defaults filled in and relative durations resolved, then bound
by DuckDB, never pasted into the SQL; a failure names the parameter whose value is at fault.
:class:`AuditLake` is the lake with its saved queries, what :func:`attestlake.open_lake`
returns. ``get_query`` is importable from here too, beside ``run_query``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from attestlake._internal.durations import is_time_param, resolve
from attestlake.audit.findings import Entity, check_finding, distinct, entities
from attestlake.audit.inputs import MissingInput, missing_inputs
from attestlake.audit.query_files import SavedQuery, get_query
from attestlake.errors import LakeError, QueryError
from attestlake.lake.lake import Lake
from attestlake.lake.render import plain_rows
from attestlake.lake.results import Tabular, param_text, query_heading_html

__all__ = ["AuditLake", "QueryResult", "bind_params", "get_query", "query_lake", "run_query"]


@dataclass(frozen=True)
class QueryResult(Tabular):
    """A saved query's answer: the query, the parameter values used, the rows, and the
    inputs it required that the lake lacks (then an empty answer proves nothing).

    ``.findings`` counts what the rows are about (the query's ``finding`` columns, see
    :mod:`attestlake.audit.findings`); ``.count`` counts rows. ``.pl()``, ``.arrow()``,
    ``.rows``, ``.write()`` and a notebook display come from
    :class:`attestlake.lake.results.Tabular`.
    """

    query: SavedQuery
    params: dict[str, str]
    table: pa.Table
    missing: tuple[MissingInput, ...] = field(default=())

    def entities(self) -> list[Entity]:
        """What each row is a finding about, in row order."""
        return entities(self.query.name, self.query.finding, self.table)

    def json_data(self) -> dict[str, Any]:
        """The answer as JSON-ready data: the query, its parameters, what a finding is
        (``finding``: columns; empty: one per row), ``findings``, ``row_count``, the inputs
        it lacked (``missing_inputs``) and every row."""
        q = self.query
        return {
            "name": q.name,
            "title": q.title,
            "severity": q.severity,
            "description": q.description,
            "params": dict(self.params),
            "finding": list(q.finding),
            "findings": self.findings,
            "row_count": self.count,
            "missing_inputs": [{"input": m.name, "message": m.message} for m in self.missing],
            "rows": plain_rows(self.table),
        }

    @property
    def findings(self) -> int:
        """The number of findings: distinct entities, or rows for a query that declares no
        ``finding`` columns."""
        return distinct(self.entities())

    def _heading_html(self) -> str:
        q = self.query
        notes = "".join(
            f'<p style="color:#9a3412"><strong>Input missing:</strong> {html.escape(m.message)}</p>'
            for m in self.missing
        )
        return query_heading_html(q.title, q.severity, q.description, self.params) + notes


def bind_params(
    query: SavedQuery, params: Mapping[str, str] | None = None, *, now: datetime | None = None
) -> dict[str, str]:
    """The values to bind: ``params`` checked against the query, defaults filled in.

    A time parameter given as a relative duration (``30 days``) becomes the UTC instant that
    long before ``now`` (see :mod:`attestlake._internal.durations`).
    """
    given = dict(params or {})
    accepted = ", ".join(p.name for p in query.params) or "none"
    unknown = sorted(set(given) - {p.name for p in query.params})
    if unknown:
        raise QueryError(
            f"query {query.name} has no parameter {', '.join(unknown)}; accepted: {accepted}"
        )
    values: dict[str, str] = {}
    for p in query.params:
        value = given.get(p.name, p.default)
        if value is None:
            raise QueryError(
                f"query {query.name} needs parameter {p.name} ({p.description}): "
                f"give it as {p.name}=VALUE"
            )
        if not isinstance(value, str):
            raise QueryError(f"query {query.name}: parameter {p.name} must be a string")
        if is_time_param(p.name, p.default):
            try:
                value = resolve(value, now)
            except ValueError:
                raise QueryError(
                    f"query {query.name}: bad value for parameter {p.name}={value!r}: not a "
                    f"date (expected: {p.description}; or a relative duration such as "
                    "'30 days')"
                ) from None
        values[p.name] = value
    return values


def run_query(
    lake: Lake,
    query: SavedQuery,
    params: Mapping[str, str] | None = None,
    *,
    now: datetime | None = None,
) -> QueryResult:
    """Run ``query`` on ``lake`` with its parameters bound (never formatted into the SQL)."""
    values = bind_params(query, params, now=now)
    missing = missing_inputs(lake, query.requires)
    try:
        table = lake.sql(query.sql, dict(values) or None)
    except LakeError as exc:
        problem = str(exc).removeprefix("SQL error: ").strip().splitlines()[0]
        suspects = [p for p in query.params if values[p.name] and values[p.name] in problem]
        if suspects:
            p = suspects[0]
            raise QueryError(
                f"query {query.name}: bad value for parameter {p.name}={values[p.name]!r}: "
                f"{problem} (expected: {p.description})"
            ) from None
        given = ", ".join(f"{k}={v!r}" for k, v in values.items())
        raise QueryError(
            f"query {query.name} failed{' with ' + given if given else ''}: {problem}"
            + (" (check the parameter values)" if given else "")
        ) from None
    check_finding(query.name, query.finding, table)
    return QueryResult(query, values, table, missing)


def query_lake(
    lake: Lake,
    name: str,
    params: dict[str, object],
    *,
    directory: Path | None = None,
    now: datetime | None = None,
) -> QueryResult:
    """Run the saved query ``name`` with ``params`` (None values mean the default)."""
    query = get_query(name, directory)
    values = {k: param_text(k, v) for k, v in params.items() if v is not None}
    return run_query(lake, query, values, now=now)


class AuditLake(Lake):
    """The lake with its saved queries: what :func:`attestlake.open_lake` returns."""

    def query(
        self,
        name: str,
        /,
        *,
        directory: Path | None = None,
        now: datetime | None = None,
        **params: object,
    ) -> QueryResult:
        """Run the saved query ``name``: ``lake.query("missing_sbom_digests", since="30 days")``.

        Parameters are keywords (str, number, bool, date, datetime or timedelta; None means
        the default); a date parameter also takes a relative duration such as ``"30 days"``.
        The result has ``.pl()``, ``.arrow()``, ``.rows`` and an HTML notebook display.
        """
        return query_lake(self, name, params, directory=directory, now=now)

"""Reports: every saved query (or a chosen few) run once over a lake, summarised by severity.

:func:`run_report` returns a :class:`Report`, with a :class:`attestlake.audit.trend.Trend` when
given the previous JSON report; :func:`render_report` turns it into Markdown, HTML
(:mod:`attestlake.audit.report_html`) or JSON, and :meth:`Report.fail_on` is the
``--fail-on SEVERITY`` gate. The JSON report carries what the next run needs for its trend.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from attestlake.audit.findings import Entity, distinct
from attestlake.audit.queries import QueryResult, run_query
from attestlake.audit.query_files import (
    SEVERITIES,
    SavedQuery,
    get_query,
    load_queries,
    severity_rank,
)
from attestlake.audit.trend import PreviousReport, Trend, compare
from attestlake.errors import FindingsAtSeverity
from attestlake.lake.lake import Lake
from attestlake.lake.render import markdown_cell, markdown_table, plain_value

MAX_MARKDOWN_ROWS = 50
JSON_VERSION = 2


@dataclass(frozen=True)
class Report:
    lake: str
    generated_at: datetime
    results: tuple[QueryResult, ...]
    trend: Trend | None = None  # against the previous report, when one was given

    def findings_by_severity(self) -> dict[str, int]:
        """Findings per severity, every severity listed (info first): the distinct entities
        its queries report, each once however many rows or queries of that severity name it
        (see :mod:`attestlake.audit.findings`)."""
        return {s: distinct(self._entities(s.__eq__)) for s in SEVERITIES}

    def findings_at_or_above(self, severity: str) -> int:
        """Distinct entities reported at ``severity`` or above, each counted once."""
        rank = severity_rank(severity)
        return distinct(self._entities(lambda q: severity_rank(q) >= rank))

    def _entities(self, keep: Callable[[str], bool]) -> list[Entity]:
        return [e for r in self.results if keep(r.query.severity) for e in r.entities()]

    def max_severity(self) -> str | None:
        """The highest severity with at least one finding, or None if nothing was found."""
        found = [s for s, n in self.findings_by_severity().items() if n]
        return max(found, key=severity_rank) if found else None

    def reaches(self, severity: str) -> bool:
        """True if some finding is at ``severity`` or above."""
        rank = severity_rank(severity)
        top = self.max_severity()
        return top is not None and severity_rank(top) >= rank

    def fail_on(self, severity: str) -> None:
        """Raise FindingsAtSeverity if some finding is at ``severity`` or above."""
        if self.reaches(severity):
            raise FindingsAtSeverity(
                f"{self.findings_at_or_above(severity)} finding(s) at severity {severity} or "
                f"above (highest: {self.max_severity()}) in {self.lake}"
            )

    def unanswered(self) -> list[QueryResult]:
        """Results of queries that lacked a required input, in report order."""
        return [r for r in self.ordered() if r.missing]

    def missing_inputs(self) -> dict[str, list[str]]:
        """Each missing input's message → the queries that lacked it, in report order."""
        by_input: dict[str, list[str]] = {}
        for r in self.unanswered():
            for m in r.missing:
                by_input.setdefault(m.message, []).append(r.query.name)
        return by_input

    def ordered(self) -> list[QueryResult]:
        """Results, most severe query first, then by name."""
        return sorted(self.results, key=lambda r: (-severity_rank(r.query.severity), r.query.name))


def select_queries(names: Sequence[str] = ()) -> list[SavedQuery]:
    """The saved queries called ``names`` (in that order, once each); when empty, every saved
    query that runs on its defaults (one with a required parameter, such as
    ``component_search``, is a search to run by hand, not a check)."""
    if not names:
        return [q for q in load_queries() if not any(p.required for p in q.params)]
    return [get_query(n) for n in dict.fromkeys(names)]


def run_report(
    lake: Lake,
    queries: Sequence[SavedQuery] | None = None,
    *,
    now: datetime | None = None,
    previous: PreviousReport | None = None,
) -> Report:
    """Run saved queries (default: :func:`select_queries`) with their default parameters.

    With ``previous`` (an earlier JSON report, :func:`attestlake.audit.trend.load_previous`), the
    report carries the trend of each query's finding count.
    """
    when = now or datetime.now(UTC)
    chosen = select_queries() if queries is None else list(queries)
    results = tuple(run_query(lake, q, now=when) for q in chosen)
    report = Report(str(lake.root), when, results)
    if previous is None:
        return report
    counts = [(r.query.name, r.query.title, r.query.severity, r.findings) for r in report.ordered()]
    return Report(report.lake, when, results, compare(counts, previous))


def _when(ts: datetime) -> str:
    return str(plain_value(ts))


def finding_unit(result: QueryResult) -> str:
    """What one finding of ``result`` is, for a reader: ``one per project, workflow``."""
    columns = result.query.finding
    return f"one per {', '.join(columns)}" if columns else "one per row"


def findings_line(result: QueryResult) -> str:
    """``2 findings (one per project, workflow) in 3 rows``."""
    n, rows = result.findings, result.count
    return (
        f"{n} finding{'s' if n != 1 else ''} ({finding_unit(result)}) in {rows} "
        f"row{'s' if rows != 1 else ''}"
    )


COUNTING_NOTE = (
    "A finding is what the rows are about (a workflow, an envelope, an image...), not a row: "
    "each severity counts the distinct ones its queries report, once even when several rows "
    "or queries name the same one."
)


def render_markdown(report: Report) -> str:
    counts = report.findings_by_severity()
    out = [
        "# Attestation lake report",
        "",
        f"- Lake: {markdown_cell(report.lake)}",
        f"- Generated: {_when(report.generated_at)}",
        f"- Highest severity found: {report.max_severity() or 'none'}",
        "",
        "| Severity | Findings |",
        "|---|---|",
    ]
    out += [f"| {s} | {counts[s]} |" for s in reversed(SEVERITIES)]
    out += ["", COUNTING_NOTE]
    missing = report.missing_inputs()
    if missing:
        out += ["", "**Inputs missing**: these queries could not see everything they judge:", ""]
        out += [
            f"- {markdown_cell(message, trusted=True)} (for "
            + ", ".join(f"`{name}`" for name in names)
            + ")"
            for message, names in missing.items()
        ]
    if report.trend is not None:
        out += _markdown_trend(report.trend)
    for result in report.ordered():
        out += _markdown_section(result)
    return "\n".join(out) + "\n"


def _markdown_section(result: QueryResult) -> list[str]:
    q = result.query
    out = [
        "",
        f"## {markdown_cell(q.title, trusted=True)}",
        "",
        f"- Query: `{q.name}`",
        f"- Severity: {q.severity}",
        f"- Findings: {findings_line(result)}",
    ]
    if result.params:
        given = ", ".join(f"{k}={v}" for k, v in result.params.items())
        out.append(f"- Parameters: {markdown_cell(given)}")
    out += [
        f"- **Input missing**: {markdown_cell(m.message, trusted=True)}" for m in result.missing
    ]
    out += ["", markdown_cell(q.description, trusted=True), ""]
    if result.count == 0 and result.missing:
        out.append("(no rows: the input above is missing, so this proves nothing)")
    else:
        out.append(markdown_table(result.table, limit=MAX_MARKDOWN_ROWS))
    return out


def _markdown_trend(trend: Trend) -> list[str]:
    before, now = trend.totals()
    when = markdown_cell(trend.previous.generated_at or "an earlier run")
    out = ["", "## Trend", "", f"Since the report of {when}: {before} → {now} findings.", ""]
    if trend.previous.counted_rows:
        out[-2] = f"{ROWS_NOTE} ({when})."
    out += ["| Query | Severity | Previous | Current | Change |", "|---|---|---|---|---|"]
    for c in trend.changes:
        delta = "" if c.delta is None else f" {c.delta:+d}"
        previous = "–" if c.previous is None else str(c.previous)
        out.append(
            f"| {markdown_cell(c.title, trusted=True)} | {c.severity} | {previous} | "
            f"{c.current} | {c.arrow}{delta} |"
        )
    return out


ROWS_NOTE = (
    "The previous report counted rows, not findings, so nothing compares: the trend starts "
    "with this report"
)


def trend_json(trend: Trend) -> dict[str, Any]:
    return {
        "previous_generated_at": trend.previous.generated_at,
        "previous_lake": trend.previous.lake,
        "queries": [
            {"name": c.name, "previous": c.previous, "current": c.current, "change": c.direction}
            for c in trend.changes
        ],
    }


def report_json(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data (what :func:`render_json` serialises).

    ``summary`` counts findings per severity as the cards do; each query carries its
    ``findings`` (what the next report's trend reads, by ``name``), what one is
    (``finding``: its columns, empty for one per row), ``row_count``, every row, and the
    inputs it lacked (``missing_inputs``).
    """
    return {
        "version": JSON_VERSION,
        "lake": report.lake,
        "generated_at": _when(report.generated_at),
        "summary": report.findings_by_severity(),
        "max_severity": report.max_severity(),
        "queries": [r.json_data() for r in report.ordered()],
        "trend": None if report.trend is None else trend_json(report.trend),
    }


def render_json(report: Report) -> str:
    return json.dumps(report_json(report), indent=2, ensure_ascii=False) + "\n"

"""Reports: every saved query run once over a lake, summarised by severity.

:func:`run_report` returns a :class:`Report`; :func:`render_markdown` and :func:`render_json`
turn it into text, and :meth:`Report.fail_on` is the ``--fail-on SEVERITY`` gate.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from attestlake.errors import FindingsAtSeverity
from attestlake.lake import Lake
from attestlake.queries import (
    SEVERITIES,
    QueryResult,
    SavedQuery,
    load_queries,
    run_query,
    severity_rank,
)
from attestlake.render import markdown_cell, markdown_table, plain_rows, plain_value

MAX_MARKDOWN_ROWS = 50


@dataclass(frozen=True)
class Report:
    lake: str
    generated_at: datetime
    results: tuple[QueryResult, ...]

    def findings_by_severity(self) -> dict[str, int]:
        """Rows found per severity, every severity listed (info first)."""
        counts = dict.fromkeys(SEVERITIES, 0)
        for result in self.results:
            counts[result.query.severity] += result.count
        return counts

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
            counts = self.findings_by_severity()
            at = sum(n for s, n in counts.items() if severity_rank(s) >= severity_rank(severity))
            raise FindingsAtSeverity(
                f"{at} finding(s) at severity {severity} or above (highest: "
                f"{self.max_severity()}) in {self.lake}"
            )

    def ordered(self) -> list[QueryResult]:
        """Results, most severe query first, then by name."""
        return sorted(self.results, key=lambda r: (-severity_rank(r.query.severity), r.query.name))


def run_report(
    lake: Lake, queries: Sequence[SavedQuery] | None = None, *, now: datetime | None = None
) -> Report:
    """Run every saved query (default: all of :func:`load_queries`) with default parameters."""
    chosen = load_queries() if queries is None else list(queries)
    results = tuple(run_query(lake, q) for q in chosen)
    return Report(str(lake.root), now or datetime.now(UTC), results)


def _when(ts: datetime) -> str:
    return str(plain_value(ts))


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
    for result in report.ordered():
        q = result.query
        out += [
            "",
            f"## {markdown_cell(q.title, trusted=True)}",
            "",
            f"- Query: `{q.name}`",
            f"- Severity: {q.severity}",
            f"- Findings: {result.count}",
        ]
        if result.params:
            given = ", ".join(f"{k}={v}" for k, v in result.params.items())
            out.append(f"- Parameters: {markdown_cell(given)}")
        out += ["", markdown_cell(q.description, trusted=True), ""]
        out.append(markdown_table(result.table, limit=MAX_MARKDOWN_ROWS))
    return "\n".join(out) + "\n"


def report_json(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data (what :func:`render_json` serialises)."""
    return {
        "lake": report.lake,
        "generated_at": _when(report.generated_at),
        "summary": report.findings_by_severity(),
        "max_severity": report.max_severity(),
        "queries": [
            {
                "name": r.query.name,
                "title": r.query.title,
                "severity": r.query.severity,
                "description": r.query.description,
                "params": dict(r.params),
                "count": r.count,
                "rows": plain_rows(r.table),
            }
            for r in report.ordered()
        ],
    }


def render_json(report: Report) -> str:
    return json.dumps(report_json(report), indent=2, ensure_ascii=False) + "\n"

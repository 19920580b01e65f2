"""Report formats: a :class:`ReportFormat` names a renderer of a :class:`Report`; Markdown and
JSON are rendered in :mod:`attestlake.audit.report`, HTML in :mod:`attestlake.audit.report_html`,
SARIF and JUnit XML in :mod:`attestlake.audit.report_ci`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from attestlake.audit.report import Report, render_json, render_markdown
from attestlake.audit.report_ci import render_junit, render_sarif
from attestlake.audit.report_html import render_html
from attestlake.errors import InputError


@dataclass(frozen=True)
class ReportFormat:
    """One way to write a report: its name (``--format``) and its renderer."""

    name: str
    render: Callable[[Report], str]


FORMATS = {
    f.name: f
    for f in (
        ReportFormat("md", render_markdown),
        ReportFormat("html", render_html),
        ReportFormat("json", render_json),
        ReportFormat("sarif", render_sarif),
        ReportFormat("junit", render_junit),
    )
}
REPORT_FORMATS = tuple(FORMATS)


def render_report(report: Report, fmt: str) -> str:
    """The report as ``md`` (Markdown), ``html`` (one self-contained page), ``json``,
    ``sarif`` (SARIF 2.1.0) or ``junit`` (JUnit XML)."""
    chosen = FORMATS.get(fmt)
    if chosen is None:
        raise InputError(f"unknown report format {fmt!r}; one of: {', '.join(REPORT_FORMATS)}")
    return chosen.render(report)

"""The overview's tables: a summary of the lake, the findings (with links to the CI runs) and
the risk ranking's numbers. Each is a view ``(audit, selection) -> displayable``."""

from __future__ import annotations

import polars as pl

from attestlake.audit.query_files import SEVERITIES
from attestlake.notebook.audit import NON_COMPLIANCE_WEIGHT, AuditData
from attestlake.notebook.display import Card, Note, Section, Table
from attestlake.notebook.selection import Selection


def summary(audit: AuditData) -> Section:
    """What lake this is: runs, teams, period, findings by severity, where owners come from."""
    runs = audit.runs
    options = audit.options()
    counts = audit.report.findings_by_severity()
    verified = audit.verifications.filter(pl.col("status") == "verified").height
    fields = [
        ("lake", str(audit.context.path)),
        ("runs (finished, verified)", runs.height),
        (
            "teams / projects / workflows",
            f"{len(options.teams)} / {len(options.projects)} / {len(options.workflows)}",
        ),
        ("period (UTC days)", f"{options.first_day or '—'} to {options.last_day or '—'}"),
        ("attestations crawled", f"{audit.verifications.height} ({verified} verified)"),
        (
            "findings by severity",
            ", ".join(f"{s} {counts[s]}" for s in reversed(SEVERITIES) if counts[s]) or "none",
        ),
        ("team owners from", audit.context.owners_source),
    ]
    parts: list[object] = [Card("The lake", fields)]
    top = audit.report.max_severity()
    if top in ("high", "critical"):
        parts.append(Note(f"The saved queries found problems up to severity {top}.", "problem"))
    return Section("Summary", parts)


def findings_table(audit: AuditData, sel: Selection) -> Table:
    """Every finding in scope, most severe first; the run id links to the CI run."""
    rows = audit.findings_in(sel).select(
        "severity", "title", "team", "project", "workflow", "run_id", "when", "detail", "runner_url"
    )
    return Table(
        rows,
        f"Findings ({rows.height})",
        links={"run_id": "runner_url"},
        empty="No findings match the filters.",
    )


def risk_table(audit: AuditData, sel: Selection) -> Table:
    """The risk ranking's numbers: how each workflow's score is made up."""
    data = audit.risk_ranking(sel).select(
        "team",
        "project",
        "workflow",
        "runs",
        "not_meeting",
        "findings",
        "finding_points",
        (pl.col("not_meeting_share") * NON_COMPLIANCE_WEIGHT).alias("contract_points"),
        "risk_score",
    )
    return Table(data, "How the risk scores add up", empty="No workflows match the filters.")

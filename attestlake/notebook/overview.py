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
        ("runs (successful, verified)", runs.height),
        (
            "teams / projects / workflows",
            f"{len(options.teams)} / {len(options.projects)} / {len(options.workflows)}",
        ),
        ("period (UTC days)", f"{options.first_day or '—'} to {options.last_day or '—'}"),
        ("attestations crawled", f"{audit.verifications.height} ({verified} verified)"),
        (
            "findings by severity (one per entity, as the report counts them)",
            ", ".join(f"{s} {counts[s]}" for s in reversed(SEVERITIES) if counts[s]) or "none",
        ),
        ("team owners from", audit.context.owners_source),
    ]
    parts: list[object] = [Card("The lake", fields)]
    top = audit.report.max_severity()
    if top in ("high", "critical"):
        parts.append(Note(f"The saved queries found problems up to severity {top}.", "problem"))
    parts += [
        Note(f"{r.query.title} ({r.query.name}): input missing: {m.message}", "warning")
        for r in audit.report.unanswered()
        for m in r.missing
    ]
    return Section("Summary", parts)


def severity_line(counts: dict[str, int]) -> str:
    """``critical 3 · high 11 · medium 8 · low 5 · info 2``."""
    return " · ".join(f"{s} {counts[s]}" for s in reversed(SEVERITIES))


def window_note(audit: AuditData, sel: Selection) -> Note | None:
    """What the date window hides, or None when no window is set."""
    if not (sel.start or sel.end):
        return None
    hidden, undated = audit.hidden_by_window(sel)
    return Note(
        f"The date window ({sel.start or '…'} to {sel.end or '…'}) hides {hidden} finding(s)"
        f", {undated} of them undated; clear From and To to see every finding.",
        "warning" if hidden else "info",
    )


def findings_table(audit: AuditData, sel: Selection) -> tuple[object, ...]:
    """Every row behind the findings in scope, most severe first, under the findings per
    severity (each entity once, as the report counts them); the run id links to the CI run."""
    rows = audit.findings_in(sel).select(
        "severity", "title", "team", "project", "workflow", "run_id", "when", "detail", "runner_url"
    )
    table = Table(
        rows,
        f"Findings: {severity_line(audit.findings_by_severity(sel))} ({rows.height} rows)",
        links={"run_id": "runner_url"},
        empty="No findings match the filters.",
    )
    note = window_note(audit, sel)
    return (table,) if note is None else (note, table)


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

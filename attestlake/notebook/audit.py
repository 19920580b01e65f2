"""The numbers behind the audit overview, computed from the lake as polars frames
(:mod:`attestlake.notebook.frames` reads them).

Definitions (also in docs/notebooks.md):

- **Meeting its contract.** A successful run meets its contract when the saved query
  ``non_compliant_workflows`` (with ``runs = all``) finds no problem with it: it has every
  required material, required annotation and an allowed runner type of the newest revision
  of its contract known by the time the workflow's next run replaced it (for its latest run:
  known now, exactly as the report judges it). A run with no contract does not meet one.
- **Findings** are counted as the report counts them: one per entity a query reports (see
  :mod:`attestlake.audit.findings`), once per severity.
- **Risk score** of a workflow: the sum over the findings that name it of a severity weight
  (critical 10, high 5, medium 2, low 1, info 0) plus 10 × the share of its runs that did not
  meet their contract. Higher is worse; 0 means nothing found.
- **Date window.** None by default: every finding and run, the report's numbers. A window
  keeps runs that started in it and findings dated in it (by their run, or their crawl);
  :meth:`AuditData.hidden_by_window` counts the findings it hides, undated ones included.
- **Revision adoption.** A revision is *rolled out* when it first appears (its first run) and
  is higher than every revision of that contract seen before. For each team that ran the
  contract afterwards: days from the rollout to the team's first run on that revision, or, if
  it has none yet, the days waited so far (to the lake's last run).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import polars as pl

from attestlake.audit.queries import run_query
from attestlake.audit.query_files import SEVERITIES, get_query, severity_rank
from attestlake.audit.report import Report, run_report
from attestlake.lake.lake import Lake
from attestlake.notebook.context import Context
from attestlake.notebook.frames import (
    RUNS_SQL,
    VERIFICATIONS_SQL,
    findings_frame,
    frame,
    judged_runs,
)
from attestlake.notebook.selection import FilterOptions, Selection

SEVERITY_WEIGHTS = {"critical": 10, "high": 5, "medium": 2, "low": 1, "info": 0}
NON_COMPLIANCE_WEIGHT = 10


@dataclass
class AuditData:
    """Everything the overview draws, loaded once; each method applies a :class:`Selection`."""

    context: Context
    runs: pl.DataFrame
    verifications: pl.DataFrame
    findings: pl.DataFrame
    report: Report

    @classmethod
    def load(cls, context: Context, *, now: datetime | None = None) -> AuditData:
        lake: Lake = context.lake
        history = run_query(lake, get_query("non_compliant_workflows"), {"runs": "all"}, now=now)
        runs = judged_runs(frame(lake.sql(RUNS_SQL)), frame(history.table))
        report = run_report(lake, now=now)
        return cls(
            context=context,
            runs=runs,
            verifications=frame(lake.sql(VERIFICATIONS_SQL)),
            findings=findings_frame(report, runs),
            report=report,
        )

    def options(self) -> FilterOptions:
        return FilterOptions.of(self.runs)

    def compliance_by_day(self, sel: Selection) -> pl.DataFrame:
        """Per team and day: runs, runs meeting their contract, and the share in percent."""
        return (
            sel.keep(self.runs)
            .with_columns(pl.col("team").fill_null("(no team)"))
            .group_by("team", "day")
            .agg(runs=pl.len(), compliant=pl.col("compliant").sum())
            .with_columns(percent=100.0 * pl.col("compliant") / pl.col("runs"))
            .sort("team", "day")
        )

    def verification_outcomes(self, sel: Selection) -> pl.DataFrame:
        """Attestations (crawl units) per verification outcome: ``verified`` when every
        document of the attestation verified (a run and its provenance), else the reason its
        first failing document gives."""
        return (
            sel.keep(self.verifications)
            .group_by("status", "reason")
            .agg(attestations=pl.len())
            .sort("attestations", "reason", descending=[True, False])
        )

    def findings_in(self, sel: Selection) -> pl.DataFrame:
        """Findings in scope at or above the selected severity, most severe first."""
        kept = sel.keep(self.findings)
        kept = kept.filter(pl.col("severity").map_elements(sel.severe_enough, pl.Boolean))
        rank = pl.col("severity").map_elements(severity_rank, pl.Int64)
        return kept.sort(
            rank, "query", "project", "workflow", descending=[True, False, False, False]
        )

    def findings_by_severity(self, sel: Selection) -> dict[str, int]:
        """Findings in scope per severity, every severity listed (info first), each entity
        once per severity: with no filter, the report's summary."""
        kept = self.findings_in(sel)
        return {s: kept.filter(pl.col("severity") == s)["entity"].n_unique() for s in SEVERITIES}

    def hidden_by_window(self, sel: Selection) -> tuple[int, int]:
        """(findings the date window of ``sel`` hides, how many of them have no date): the
        findings in scope without the window, less those within it."""
        if not (sel.start or sel.end):
            return 0, 0
        keys = ["severity", "entity"]
        everything = self.findings_in(replace(sel, start=None, end=None))
        shown = self.findings_in(sel).select(keys).unique()
        hidden = (
            everything.join(shown, on=keys, how="anti")
            .group_by(keys)
            .agg(undated=pl.col("day").is_null().all())
        )
        return hidden.height, int(hidden["undated"].sum())

    def findings_by_query(self, sel: Selection) -> pl.DataFrame:
        """Findings per saved query (every query listed, 0 when it found nothing)."""
        counts = self.findings_in(sel).group_by("query").agg(findings=pl.col("entity").n_unique())
        queries = pl.DataFrame(
            [
                {"query": r.query.name, "title": r.query.title, "severity": r.query.severity}
                for r in self.report.ordered()
                if sel.severe_enough(r.query.severity)
            ],
            schema={"query": pl.String, "title": pl.String, "severity": pl.String},
        )
        return queries.join(counts, on="query", how="left").with_columns(
            pl.col("findings").fill_null(0)
        )

    def risk_ranking(self, sel: Selection) -> pl.DataFrame:
        """Workflows by risk score (see the module doc), highest first."""
        keys = ["team", "project", "workflow"]
        runs = (
            sel.keep(self.runs)
            .group_by(keys)
            .agg(runs=pl.len(), not_meeting=(~pl.col("compliant")).sum())
            .with_columns(not_meeting_share=pl.col("not_meeting") / pl.col("runs"))
        )
        weight = pl.col("severity").replace_strict(
            SEVERITY_WEIGHTS, default=0, return_dtype=pl.Int64
        )
        found = (
            sel.keep(self.findings)
            .filter(pl.col("workflow").is_not_null())
            .unique([*keys, "severity", "entity"])
            .group_by(keys)
            .agg(findings=pl.len(), finding_points=weight.sum())
        )
        merged = runs.join(found, on=keys, how="full", coalesce=True, nulls_equal=True)
        return (
            merged.with_columns(
                pl.col("runs", "not_meeting", "findings", "finding_points").fill_null(0),
                pl.col("not_meeting_share").fill_null(0.0),
            )
            .with_columns(
                risk_score=pl.col("finding_points")
                + NON_COMPLIANCE_WEIGHT * pl.col("not_meeting_share")
            )
            .sort(["risk_score", "project", "workflow"], descending=[True, False, False])
        )

    def revision_adoption(self, sel: Selection) -> pl.DataFrame:
        """Per rolled-out revision and team: days to adopt it (see the module doc).

        The date filter does not apply: adoption needs the whole history.
        """
        runs = self.runs.filter(pl.col("contract_revision").is_not_null())
        if runs.is_empty():
            return pl.DataFrame(
                schema={
                    "contract_name": pl.String,
                    "contract_revision": pl.Int32,
                    "rolled_out": pl.Datetime("us", "UTC"),
                    "team": pl.String,
                    "adopted": pl.Boolean,
                    "days": pl.Float64,
                }
            )
        last_run = runs["started_at"].max()
        revisions = (
            runs.group_by("contract_name", "contract_revision")
            .agg(rolled_out=pl.col("started_at").min())
            .sort("contract_name", "rolled_out", "contract_revision")
            .with_columns(
                before=pl.col("contract_revision").cum_max().shift(1).over("contract_name")
            )
            .filter(pl.col("before").is_null() | (pl.col("contract_revision") > pl.col("before")))
            .drop("before")
        )
        scoped = sel.keep(runs, day=None)
        firsts = scoped.group_by("contract_name", "contract_revision", "team").agg(
            first_run=pl.col("started_at").min()
        )
        expected = (
            revisions.join(scoped.select("contract_name", "team", "started_at"), on="contract_name")
            .filter(pl.col("started_at") >= pl.col("rolled_out"))
            .select("contract_name", "contract_revision", "rolled_out", "team")
            .unique()
        )
        return (
            expected.join(firsts, on=["contract_name", "contract_revision", "team"], how="left")
            .with_columns(adopted=pl.col("first_run").is_not_null())
            .with_columns(
                days=(
                    pl.col("first_run").fill_null(last_run) - pl.col("rolled_out")
                ).dt.total_seconds()
                / 86400.0
            )
            .select("contract_name", "contract_revision", "rolled_out", "team", "adopted", "days")
            .sort("contract_name", "contract_revision", "team")
        )

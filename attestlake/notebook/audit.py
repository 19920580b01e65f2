"""The numbers behind the audit overview, computed from the lake as polars frames.

Definitions (also in docs/notebooks.md):

- **Meeting its contract.** A finished run (status not ``started``, ``failed`` or
  ``cancelled``) meets its contract when (1) it recorded every non-optional material of the
  contract revision it was checked against (``contract_requirements`` by ``contract_digest``)
  and (2) that revision was not outdated: no higher revision of the same contract had been
  used by any run in the lake before this run started. A run with no contract does not meet
  one. The lake only knows a revision once some run used it.
- **Risk score** of a workflow: the sum over the findings that name it of a severity weight
  (critical 10, high 5, medium 2, low 1, info 0) plus 10 × the share of its runs that did not
  meet their contract. Higher is worse; 0 means nothing found.
- **Revision adoption.** A revision is *rolled out* when it first appears (its first run) and
  is higher than every revision of that contract seen before. For each team that ran the
  contract afterwards: days from the rollout to the team's first run on that revision, or, if
  it has none yet, the days waited so far (to the lake's last run).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
import pyarrow as pa

from attestlake.audit.query_files import severity_rank
from attestlake.audit.report import Report, run_report
from attestlake.lake.lake import Lake
from attestlake.notebook.context import Context
from attestlake.notebook.selection import FilterOptions, Selection

SEVERITY_WEIGHTS = {"critical": 10, "high": 5, "medium": 2, "low": 1, "info": 0}
NON_COMPLIANCE_WEIGHT = 10
UNFINISHED = ("started", "failed", "cancelled")

RUNS_SQL = """
WITH first_seen AS (
    SELECT contract_name, contract_revision, min(started_at) AS first_seen
    FROM runs WHERE contract_name IS NOT NULL AND contract_revision IS NOT NULL
    GROUP BY contract_name, contract_revision
),
missing AS (
    SELECT r.manifest_digest, count(*) AS missing_required,
        string_agg(q.material_name, ', ' ORDER BY q.material_name) AS missing
    FROM runs AS r
    JOIN contract_requirements AS q ON q.contract_digest = r.contract_digest AND NOT q.optional
    WHERE NOT EXISTS (
        SELECT 1 FROM materials AS m
        WHERE m.manifest_digest = r.manifest_digest AND m.name = q.material_name
    )
    GROUP BY r.manifest_digest
),
newest AS (
    SELECT r.manifest_digest, max(f.contract_revision) AS newest_revision
    FROM runs AS r
    JOIN first_seen AS f ON f.contract_name = r.contract_name AND f.first_seen <= r.started_at
    GROUP BY r.manifest_digest
)
SELECT
    r.run_id, r.manifest_digest, r.team, r.project, r.workflow, r.status,
    r.started_at, CAST(r.started_at AS DATE) AS day, r.runner_url,
    r.contract_name, r.contract_revision, n.newest_revision,
    coalesce(m.missing_required, 0) AS missing_required, m.missing,
    coalesce(r.contract_revision < n.newest_revision, false) AS outdated,
    (r.contract_name IS NOT NULL AND coalesce(m.missing_required, 0) = 0
        AND NOT coalesce(r.contract_revision < n.newest_revision, false)) AS compliant
FROM runs AS r
LEFT JOIN missing AS m USING (manifest_digest)
LEFT JOIN newest AS n USING (manifest_digest)
WHERE coalesce(r.status, 'success') NOT IN ('started', 'failed', 'cancelled')
ORDER BY r.started_at, r.manifest_digest
"""

VERIFICATIONS_SQL = """
WITH teams AS (
    SELECT project, workflow, min(team) AS team FROM runs GROUP BY project, workflow
),
attestations AS (
    SELECT
        manifest_digest,
        bool_and(status = 'verified') AS verified,
        min(coalesce(reason, 'unknown')) FILTER (WHERE status IS DISTINCT FROM 'verified')
            AS reason,
        min(project) AS project, min(workflow) AS workflow, min(crawled_at) AS crawled_at
    FROM verifications
    GROUP BY manifest_digest
)
SELECT
    v.manifest_digest,
    CASE WHEN v.verified THEN 'verified' ELSE 'not_verified' END AS status,
    CASE WHEN v.verified THEN 'verified' ELSE v.reason END AS reason,
    coalesce(r.team, t.team) AS team, coalesce(r.project, v.project) AS project,
    coalesce(r.workflow, v.workflow) AS workflow,
    CAST(coalesce(r.started_at, v.crawled_at) AS DATE) AS day
FROM attestations AS v
LEFT JOIN runs AS r USING (manifest_digest)
LEFT JOIN teams AS t ON t.project = v.project AND t.workflow = v.workflow
"""

_FINDING_KEYS = ("team", "project", "workflow", "run_id", "started_at", "crawled_at")
_DIGEST_RE = re.compile(r"\b(sha256:[0-9a-f]{12})[0-9a-f]{52}\b")


def short_digests(text: str) -> str:
    """``sha256:`` digests in ``text`` cut to 12 hex digits (``sha256:0123456789ab…``)."""
    return _DIGEST_RE.sub(r"\1…", text)


def frame(table: pa.Table) -> pl.DataFrame:
    """An Arrow table as a polars DataFrame."""
    out = pl.from_arrow(table)
    assert isinstance(out, pl.DataFrame)
    return out


def _findings(report: Report, runs: pl.DataFrame) -> pl.DataFrame:
    teams = {(r["project"], r["workflow"]): r["team"] for r in runs.iter_rows(named=True)}
    urls = {r["run_id"]: r["runner_url"] for r in runs.iter_rows(named=True)}
    rows: list[dict[str, Any]] = []
    for result in report.ordered():
        q = result.query
        for row in result.rows:
            when = row.get("started_at") or row.get("crawled_at")
            project, workflow = row.get("project"), row.get("workflow")
            detail = "; ".join(
                f"{k}: {short_digests(str(v))}"
                for k, v in row.items()
                if k not in (*_FINDING_KEYS, "runner_url") and v not in (None, "")
            )
            rows.append(
                {
                    "severity": q.severity,
                    "query": q.name,
                    "title": q.title,
                    "team": row.get("team") or teams.get((project, workflow)),
                    "project": project,
                    "workflow": workflow,
                    "run_id": row.get("run_id"),
                    "when": when if isinstance(when, datetime) else None,
                    "runner_url": row.get("runner_url") or urls.get(row.get("run_id")),
                    "detail": detail,
                }
            )
    schema = pl.Schema(
        {
            **dict.fromkeys(("severity", "query", "title", "team", "project"), pl.String()),
            **dict.fromkeys(("workflow", "run_id"), pl.String()),
            "when": pl.Datetime("us", "UTC"),
            "runner_url": pl.String(),
            "detail": pl.String(),
        }
    )
    out = pl.DataFrame(rows, schema=schema)
    return out.with_columns(day=pl.col("when").dt.date())


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
        runs = frame(lake.sql(RUNS_SQL))
        report = run_report(lake, now=now)
        return cls(
            context=context,
            runs=runs,
            verifications=frame(lake.sql(VERIFICATIONS_SQL)),
            findings=_findings(report, runs),
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

    def findings_by_query(self, sel: Selection) -> pl.DataFrame:
        """Findings per saved query (every query listed, 0 when it found nothing)."""
        counts = self.findings_in(sel).group_by("query").agg(findings=pl.len())
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

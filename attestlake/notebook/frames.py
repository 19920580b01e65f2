"""The lake's answers as polars frames, and the frames the audit overview is drawn from.

:func:`frame` turns an Arrow table into a polars DataFrame. :data:`RUNS_SQL` reads the finished
runs with whether each met its contract (the definition is in :mod:`attestlake.notebook.audit`
and docs/notebooks.md), :data:`VERIFICATIONS_SQL` one verification outcome per attestation,
and :func:`findings_frame` the report's findings as one row each, with the team and run URL
taken from the runs when a query's row does not name them.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import polars as pl
import pyarrow as pa

from attestlake.audit.report import Report

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


def findings_frame(report: Report, runs: pl.DataFrame) -> pl.DataFrame:
    """One row per finding of ``report``: severity, query, where, when and the other columns
    as ``detail``, digests cut short."""
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

"""The lake's answers as polars frames, and the frames the audit overview is drawn from.

:func:`frame` turns an Arrow table into a polars DataFrame. :data:`RUNS_SQL` reads the
successful runs, and :func:`judged_runs` marks whether each met its contract, as the saved
query ``non_compliant_workflows`` judges it (docs/notebooks.md), :data:`VERIFICATIONS_SQL` one
verification outcome per attestation,
and :func:`findings_frame` the report's findings as one row each, with the team and run URL
taken from the runs when a query's row does not name them.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import polars as pl
import pyarrow as pa

from attestlake.audit.report import Report

RUNS_SQL = """
SELECT
    r.run_id, r.manifest_digest, r.team, r.project, r.workflow, r.status,
    r.started_at, CAST(r.started_at AS DATE) AS day, r.runner_url,
    r.contract_name, r.contract_revision
FROM runs AS r
WHERE coalesce(r.status, 'success') = 'success'
ORDER BY r.started_at, r.manifest_digest
"""
_RUN_KEYS = ["project", "workflow", "run_id", "started_at"]


def judged_runs(runs: pl.DataFrame, problems: pl.DataFrame) -> pl.DataFrame:
    """``runs`` (:data:`RUNS_SQL`) with ``problems`` (what ``non_compliant_workflows`` with
    ``runs = all`` found wrong with each, joined by ``; ``) and ``compliant``: the run has a
    contract and no problem."""
    found = (
        problems.with_columns(
            what=pl.concat_str(
                "problem",
                pl.coalesce("missing_material", "missing_annotation", "allowed_runner_types"),
                separator=": ",
                ignore_nulls=True,
            )
        )
        .group_by(_RUN_KEYS)
        .agg(problems=pl.col("what").sort().str.join("; "))
    )
    return runs.join(found, on=_RUN_KEYS, how="left", nulls_equal=True).with_columns(
        compliant=pl.col("contract_name").is_not_null() & pl.col("problems").is_null()
    )


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
    """One row per row of ``report``'s answers: severity, query, where, when, the other
    columns as ``detail`` (digests cut short), and ``entity``, what the row is a finding
    about (equal for rows about the same entity, as the report counts them)."""
    teams = {(r["project"], r["workflow"]): r["team"] for r in runs.iter_rows(named=True)}
    urls = {r["run_id"]: r["runner_url"] for r in runs.iter_rows(named=True)}
    rows: list[dict[str, Any]] = []
    for result in report.ordered():
        q = result.query
        for row, entity in zip(result.rows, result.entities(), strict=True):
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
                    "entity": json.dumps([entity.columns, entity.values]),
                }
            )
    schema = pl.Schema(
        {
            **dict.fromkeys(("severity", "query", "title", "team", "project"), pl.String()),
            **dict.fromkeys(("workflow", "run_id"), pl.String()),
            "when": pl.Datetime("us", "UTC"),
            "runner_url": pl.String(),
            "detail": pl.String(),
            "entity": pl.String(),
        }
    )
    out = pl.DataFrame(rows, schema=schema)
    return out.with_columns(day=pl.col("when").dt.date())

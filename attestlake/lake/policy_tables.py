"""What the contracts' policies said about each run at push, as its signed statement records
it: ``policy_evaluations`` (one row per run and policy) and ``policy_violations`` (one row per
recorded violation). Trusted tables: rows only from verified run statements."""

from __future__ import annotations

import pyarrow as pa

from attestlake.lake.table_schema import Table, crawled

_RUN = ("run_id", "manifest_digest", "envelope_digest", "workflow", "project", "team")
_POLICY = ("policy_name", "policy_digest", ("gate", pa.bool_()))

POLICY_EVALUATIONS = Table(
    "policy_evaluations",
    crawled(
        *_RUN,
        *_POLICY,
        "severity",
        "status",
        ("violations", pa.int64()),
        ("recorded_violations", pa.int32()),
        "skipped_reason",
        "parameters",
        "run_date",
    ),
    key=("manifest_digest", "envelope_digest", "policy_name"),
    no_statistics=("parameters",),
)

POLICY_VIOLATIONS = Table(
    "policy_violations",
    crawled(*_RUN, *_POLICY, ("position", pa.int32()), "violation", "run_date"),
    key=("manifest_digest", "envelope_digest", "policy_name", "position"),
    no_statistics=("violation",),
)

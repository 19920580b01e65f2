"""What a run's contract policies said at push, from the signed run statement's
``policyEvaluations`` (docs/predicate-run-v1.md), into ``policy_evaluations`` (one row per
policy) and ``policy_violations`` (one row per recorded violation).

Like every trusted table, these rows come from verified statements only: a forged or unsigned
statement's evaluations never reach them. Untrusted JSON is read carefully (a wrong type reads
as NULL), and at most :data:`MAX_RECORDED_VIOLATIONS` violations of one policy, as the
collector records, become rows.
"""

from __future__ import annotations

import json
from typing import Any

from attestlake.collect.policy_outcome import (
    MAX_RECORDED_VIOLATIONS,
    PASSED,
    SKIPPED,
    VIOLATED,
)
from attestlake.crawl.normalize.common import (
    Context,
    Rows,
    as_list,
    as_object,
    integer,
    sha256_digest,
    string,
)

#: Policies of one statement made into rows (a contract names a handful).
MAX_EVALUATIONS = 1000


def policy_rows(ctx: Context, pred: dict[str, Any], common: dict[str, Any]) -> Rows:
    """Rows for the ``policyEvaluations`` of a run statement (``common``: its run columns)."""
    rows = Rows()
    run = {
        "run_id": common["run_id"],
        "manifest_digest": ctx.manifest_digest,
        "envelope_digest": ctx.envelope_digest,
        "workflow": common["workflow"],
        "project": common["project"],
        "team": common["team"],
        "run_date": common["run_date"],
    }
    for entry in as_list(pred.get("policyEvaluations"))[:MAX_EVALUATIONS]:
        if not isinstance(entry, dict):
            continue
        violations = [v for v in as_list(entry.get("violations")) if isinstance(v, str)]
        violations = violations[:MAX_RECORDED_VIOLATIONS]
        policy = {
            "policy_name": string(entry.get("name")),
            "policy_digest": sha256_digest(entry.get("digest")),
            "gate": entry.get("gate") if isinstance(entry.get("gate"), bool) else None,
        }
        count = integer(entry.get("violationCount"))
        rows.add(
            "policy_evaluations",
            {
                **run,
                **policy,
                "severity": string(entry.get("severity")),
                "status": _status(entry),
                "violations": count if count is not None else len(violations),
                "recorded_violations": len(violations),
                "skipped_reason": string(entry.get("skipped")),
                "parameters": _parameters(entry.get("parameters")),
            },
        )
        for position, violation in enumerate(violations):
            rows.add(
                "policy_violations",
                {**run, **policy, "position": position, "violation": violation},
            )
    return rows


def _status(entry: dict[str, Any]) -> str | None:
    status = string(entry.get("status"))
    return status if status in (PASSED, VIOLATED, SKIPPED) else None


def _parameters(value: Any) -> str | None:
    params = {str(k): v for k, v in as_object(value).items() if isinstance(v, str)}
    return json.dumps(params, sort_keys=True) if params else None

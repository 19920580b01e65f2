"""In-toto v1 statements for a workflow run, with attestlake's run predicate.

The predicate type is :data:`RUN_PREDICATE_TYPE`; its fields are documented in
``docs/predicate-run-v1.md``. Statements are serialised as RFC 8785 canonical JSON: those exact
bytes are what gets signed and stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import rfc8785

from attestlake._internal.durations import iso
from attestlake._internal.version import __version__
from attestlake.contracts.model import Contract
from attestlake.evidence.materials import Material
from attestlake.evidence.runner_context import RunnerContext
from attestlake.intoto.predicates import RUN_PREDICATE_TYPE, STATEMENT_TYPE


def subjects_for(
    materials: Sequence[Material], run_id: str, workflow: str, project: str
) -> list[dict[str, Any]]:
    """The statement's subjects: every output material that has a digest.

    A run with no outputs still needs one subject (in-toto requires it): it is the run itself,
    named ``attestlake.run/<project>/<workflow>`` with the sha256 of the run id.
    """
    subjects = []
    for m in materials:
        if not m.output or not m.digest:
            continue
        name = (
            str(m.details.get("repository"))
            if m.kind == "CONTAINER_IMAGE"
            else m.to_json().get("filename", m.name)
        )
        subjects.append(
            {
                "name": name,
                "digest": {"sha256": m.digest.split(":", 1)[1]},
                "annotations": {"attestlake.material": m.name, "attestlake.type": m.kind},
            }
        )
    if not subjects:
        subjects.append(
            {
                "name": f"attestlake.run/{project}/{workflow}",
                "digest": {"sha256": hashlib.sha256(run_id.encode()).hexdigest()},
            }
        )
    return subjects


#: ``run.status`` values: the final record, the start record, and the two reset triggers.
RUN_STATUSES = ("success", "started", "failed", "cancelled")


def run_statement(
    *,
    run_id: str,
    status: str,
    workflow: str,
    project: str,
    team: str | None,
    contract: Contract,
    runner: RunnerContext,
    materials: Sequence[Material],
    annotations: Mapping[str, str],
    started_at: datetime,
    finished_at: datetime | None,
    reason: str | None = None,
    contract_source: str | None = None,
    dry_run: bool = False,
    policy_evaluations: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The run statement; ``finished_at`` is None for the start record (``status`` started).

    ``policy_evaluations`` (what the contract's policies said, evaluated before signing) is
    recorded as ``predicate.policyEvaluations`` when given."""
    if status not in RUN_STATUSES:
        raise ValueError(f"run status must be one of {RUN_STATUSES}, not {status!r}")
    run: dict[str, Any] = {"id": run_id, "status": status, "startedAt": iso(started_at)}
    if finished_at is not None:
        run["finishedAt"] = iso(finished_at)
    if reason is not None:
        run["reason"] = reason
    if dry_run:
        run["dryRun"] = True
    contract_summary = contract.summary()
    if contract_source is not None:
        contract_summary["source"] = contract_source
    predicate: dict[str, Any] = {
        "run": run,
        "workflow": {"name": workflow, "project": project, "team": team},
        "contract": contract_summary,
        "runner": runner.to_json(),
        "materials": [m.to_json() for m in materials],
        "annotations": dict(sorted(annotations.items())),
        "collector": {"name": "attestlake", "version": __version__},
    }
    if policy_evaluations is not None:
        predicate["policyEvaluations"] = [dict(e) for e in policy_evaluations]
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects_for(materials, run_id, workflow, project),
        "predicateType": RUN_PREDICATE_TYPE,
        "predicate": predicate,
    }


def canonical_bytes(obj: Any) -> bytes:
    """RFC 8785 canonical JSON: the bytes that are signed."""
    return bytes(rfc8785.dumps(obj))

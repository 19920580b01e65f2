"""A run's records in the store: its start, its final attestation, or its failure.

Each step builds a :class:`~attestlake.collect.push.Record` from the
:class:`~attestlake.collect.record.RunRecord` (statements, evidence, annotations, tag) and pushes it with
:func:`~attestlake.collect.push.push_record`, then remembers the result in the state so that running
the step again changes nothing:

- :func:`start`: ``run-<id>-started``, ``run.status: started``;
- :func:`push`: ``run-<id>``, ``success``, refused (nothing pushed, nothing signed) while the
  contract is not satisfied or a gating policy it names is violated; with SLSA provenance for
  the outputs (unless turned off) and what the contract's policies said
  (:mod:`attestlake.collect.policy_outcome`);
- :func:`reset`: ``run-<id>-failure`` / ``-cancellation``, ``failed`` / ``cancelled`` with the
  reason.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from attestlake._internal.durations import iso
from attestlake.collect.policy_outcome import (
    PolicyEvaluation,
    PolicyEvaluator,
    PolicyInputs,
    blocking,
)
from attestlake.collect.provenance import has_outputs
from attestlake.collect.push import PushResult, Record, push_record
from attestlake.collect.record import RunRecord
from attestlake.errors import ContractUnsatisfied, InputError, MaterialError, PolicyViolated
from attestlake.evidence.materials import Material, read_material
from attestlake.intoto.predicates import RUN_PREDICATE_TYPE
from attestlake.redaction import redact_optional
from attestlake.signing.signing import Signer
from attestlake.store import Store

ANNOTATION_PREFIX = "dev.attestlake."
#: ``attest reset --trigger`` values and the run status each records.
TRIGGERS = {"failure": "failed", "cancellation": "cancelled"}


def start(
    att: RunRecord, signer: Signer, store: Store, *, now: datetime | None = None
) -> PushResult:
    """Record in the store that the run started (``run-<id>-started``)."""
    if att.started is not None:
        return PushResult.from_state(att.started, already_pushed=True)
    when = now or datetime.now(UTC)
    record = run_record(att, "started", [("envelope", att.statement_bytes(None, "started"))], when)
    result = push_record(store, signer, record)
    att.started = result.to_state()
    return result


def push(
    att: RunRecord,
    signer: Signer,
    store: Store,
    *,
    now: datetime | None = None,
    provenance: bool = True,
    bundle_out: Path | None = None,
    policies: PolicyEvaluator | None = None,
) -> PushResult:
    """Sign and push; nothing is written to the store unless the contract is satisfied.

    With ``provenance`` (the default) a run that has outputs also gets SLSA provenance v1 for
    them, signed the same way, as a second layer of the same record. When the contract names
    policies, ``policies`` evaluates them first (InputError without one); a violated gating
    policy raises PolicyViolated and nothing is signed or written."""
    if att.reset_record is not None:
        raise InputError(
            f"this run was reset ({att.reset_record.get('trigger')}): start a new one "
            "with 'attestlake attest init'"
        )
    if att.pushed is not None:
        return PushResult.from_state(att.pushed, already_pushed=True)
    status = att.status()
    if not status.runner_allowed:
        raise ContractUnsatisfied(
            f"this run was started with --dry-run on runner {att.runner.type}, which "
            f"contract {att.contract.name} does not allow; a dry run cannot be pushed",
            [f"runner {'/'.join(att.contract.runner_types)}"],
        )
    if not status.complete:
        raise ContractUnsatisfied(
            f"contract {att.contract.name} (revision {att.contract.revision}) is not satisfied; "
            f"missing: {', '.join(status.missing())}. Nothing was pushed.",
            status.missing(),
        )
    evidence = _evidence(att)  # re-read and re-check every file before anything is written
    finished = now or datetime.now(UTC)
    proven = att.provenance(finished) if provenance and has_outputs(att.materials) else None
    evaluations = _evaluate(att, policies, PolicyInputs(att.statement(finished), proven, evidence))
    recorded = [e.to_json() for e in evaluations] if att.contract.policies else None
    statements = [("envelope", att.statement_bytes(finished, policy_evaluations=recorded))]
    if proven is not None:
        statements.append(("provenance", att.provenance_bytes(finished)))
    uploaded = [(m, data) for m, data in evidence if not _skips_upload(att, m.name)]
    record = run_record(att, "success", statements, finished, evidence=uploaded)
    result = push_record(store, signer, record, bundle_out=bundle_out)
    att.pushed = result.to_state()
    return replace(result, policy_evaluations=tuple(evaluations))


def _evaluate(
    att: RunRecord, policies: PolicyEvaluator | None, inputs: PolicyInputs
) -> list[PolicyEvaluation]:
    """The contract's policies evaluated on the run; PolicyViolated when a gating one is
    violated (nothing signed, nothing written)."""
    named = att.contract.policies
    if not named:
        return []
    if policies is None:
        raise InputError(
            f"contract {att.contract.name} names policies "
            f"({', '.join(p.policy for p in named)}) and nothing was given to evaluate them; "
            "nothing was pushed"
        )
    evaluations = list(policies(inputs))
    refused = blocking(evaluations)
    if refused:
        violations = [line for e in refused for line in e.sentences()]
        raise PolicyViolated(
            f"contract {att.contract.name} (revision {att.contract.revision}): gating "
            f"polic{'y' if len(refused) == 1 else 'ies'} {', '.join(e.name for e in refused)} "
            f"violated; nothing was signed or pushed:\n  " + "\n  ".join(violations),
            violations,
            tuple(evaluations),
        )
    return evaluations


def reset(
    att: RunRecord,
    trigger: str,
    reason: str | None,
    signer: Signer,
    store: Store,
    *,
    now: datetime | None = None,
) -> PushResult:
    """Record the run as failed or cancelled (``run-<id>-failure``/``-cancellation``)."""
    reason = redact_optional(reason)
    if trigger not in TRIGGERS:
        raise InputError(f"--trigger must be one of {', '.join(TRIGGERS)}, not {trigger!r}")
    if att.pushed is not None:
        raise InputError("this run was already pushed as a success; there is nothing to reset")
    if att.reset_record is not None:
        if att.reset_record.get("trigger") != trigger:
            raise InputError(f"this run was already reset ({att.reset_record.get('trigger')})")
        return PushResult.from_state(att.reset_record["result"], already_pushed=True)
    when = now or datetime.now(UTC)
    stmt = att.statement_bytes(when, TRIGGERS[trigger], reason or None)
    record = run_record(att, TRIGGERS[trigger], [("envelope", stmt)], when, tag_suffix=trigger)
    result = push_record(store, signer, record)
    att.reset_record = {"trigger": trigger, "reason": reason, "result": result.to_state()}
    return result


def run_record(
    att: RunRecord,
    status: str,
    statements: list[tuple[str, bytes]],
    when: datetime,
    *,
    evidence: list[tuple[Material, bytes]] | None = None,
    tag_suffix: str | None = None,
) -> Record:
    """What recording ``att`` with ``status`` pushes: the signed statements to be (by role),
    the evidence, the manifest's annotations and the tag."""
    suffix = tag_suffix or ("" if status == "success" else status)
    ann = {
        "org.opencontainers.image.created": iso(when),
        ANNOTATION_PREFIX + "kind": "attestation",
        ANNOTATION_PREFIX + "predicate-type": RUN_PREDICATE_TYPE,
        ANNOTATION_PREFIX + "run-id": att.run_id,
        ANNOTATION_PREFIX + "run-status": status,
        ANNOTATION_PREFIX + "workflow": att.workflow,
        ANNOTATION_PREFIX + "project": att.project,
        ANNOTATION_PREFIX + "contract": f"{att.contract.name}@{att.contract.revision}",
    }
    if att.team:
        ann[ANNOTATION_PREFIX + "team"] = att.team
    return Record(
        tag=f"run-{att.run_id}" + (f"-{suffix}" if suffix else ""),
        run_id=att.run_id,
        status=status,
        statements=tuple(statements),
        evidence=tuple(evidence or ()),
        annotations=ann,
        # Only a successful run is attached to its output images.
        images=tuple(
            m
            for m in att.materials
            if status == "success" and m.output and m.kind == "CONTAINER_IMAGE" and m.digest
        ),
    )


def _skips_upload(att: RunRecord, name: str) -> bool:
    """Whether the contract says the material's file is recorded by digest only."""
    req = att.contract.material(name)
    return req is not None and req.skip_upload


def _evidence(att: RunRecord) -> list[tuple[Material, bytes]]:
    out = []
    for m in att.materials:
        if not m.is_file:
            continue
        checked, data = read_material(
            m.name, m.kind, m.value, output=m.output, annotations=m.annotations
        )
        if checked.digest != m.digest or data is None:
            raise MaterialError(
                f"{m.value} changed since it was added (digest differs): add it again"
            )
        out.append((m, data))
    return out

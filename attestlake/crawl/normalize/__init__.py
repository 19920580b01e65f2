"""Normalisation: each document of a crawl unit is verified, then becomes rows of the lake.

Every document gets a ``verifications`` row; every readable in-toto statement an
``attestations`` row (its exact signed bytes, ``trusted`` when verified). A verified statement
is then exploded by its predicate family, chosen by predicate type (:data:`FAMILIES`): our run
predicate, SLSA provenance, Chainloop, witness collections, VSAs, SBOM predicates. Any other
predicate is kept in ``attestations`` with its type and raw JSON. An in-toto link's materials
and products become ``link_artifacts`` rows, ``trusted`` when verified. A bare SBOM document (found in
a folder) is recorded as unsigned and its components with ``trusted = false``. A published
contract or inventory (:mod:`attestlake.crawl.normalize.published`) is read, not verified.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from attestlake._internal.untrusted_json import MalformedJSON, loads
from attestlake.crawl.normalize import chainloop, run, sbom, slsa, vsa, witness
from attestlake.crawl.normalize.common import (
    Context,
    Rows,
    as_list,
    s,
    sha256_of,
    subject_rows,
    to_json,
)
from attestlake.crawl.normalize.links import link_rows
from attestlake.crawl.normalize.published import published_rows
from attestlake.crawl.sources.interface import Unit
from attestlake.intoto.claims import Claims
from attestlake.verify.outcome import INTERNAL_ERROR, NOT_VERIFIED, Outcome, internal_error
from attestlake.verify.trust import TrustPolicy
from attestlake.verify.verify import verify_or_record

__all__ = ["FAMILIES", "Context", "Rows", "inspect_unit", "normalise"]


class Family(Protocol):
    """A predicate family: a module that normalises the statements of its predicate types."""

    @property
    def PREDICATE_TYPES(self) -> tuple[str, ...]: ...

    #: True if its rows already hold the statement's subjects (else they are added).
    @property
    def OWNS_SUBJECTS(self) -> bool: ...

    def normalise(self, ctx: Context) -> Rows: ...


#: The registered predicate families, the one table a new family is added to.
REGISTERED: tuple[Family, ...] = (run, slsa, chainloop, witness, vsa)
#: Predicate families by predicate type.
FAMILIES: dict[str, Family] = {
    ptype: module for module in REGISTERED for ptype in module.PREDICATE_TYPES
}
#: The reason recorded for a bare SBOM (as verify_document does for a bare statement).
UNSIGNED = "no_trust_material"


def normalise(ctx: Context) -> Rows:
    """Rows of the trusted tables for one verified statement."""
    ptype = ctx.predicate_type
    family = FAMILIES.get(ptype or "")
    if family is not None:
        rows: Rows = family.normalise(ctx)
    elif sbom.is_sbom_predicate(ptype, ctx.predicate):
        rows = sbom.predicate_rows(ctx)
    else:
        rows = Rows()
    if "subjects" not in rows.tables() and not (family and family.OWNS_SUBJECTS):
        for row in subject_rows(ctx, run_id=None, run_date="unknown"):
            rows.add("subjects", row)
    return rows


def _verification(
    ctx: Context, now: datetime, fmt: str | None, detail: str | None, policy: TrustPolicy
) -> dict[str, Any]:
    outcome = ctx.outcome
    claims = outcome.claims or outcome.statement_claims
    return {
        "manifest_digest": ctx.manifest_digest,
        "envelope_digest": ctx.envelope_digest,
        "source": ctx.source,
        "status": outcome.status,
        "reason": outcome.reason,
        "detail": detail,
        "signer": outcome.signer,
        "key_id": outcome.key_id,
        "predicate_type": ctx.predicate_type,
        "run_id": claims.run_id,
        "workflow": claims.workflow,
        "project": claims.project,
        "crawled_at": now,
        "crawl_date": now.date().isoformat(),
        "format": fmt,
        "issuer": outcome.issuer,
        "statement_digest": ctx.statement_digest,
        "policy_digest": policy.digest,
    }


def _attestation(ctx: Context, fmt: str | None, now: datetime) -> dict[str, Any]:
    stmt, payload = ctx.statement, ctx.outcome.payload
    text = None
    if payload is not None:
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    return {
        "manifest_digest": ctx.manifest_digest,
        "envelope_digest": ctx.envelope_digest,
        "statement_digest": ctx.statement_digest,
        "source": ctx.source,
        "format": fmt,
        "statement_type": s(stmt.get("_type")) or s(stmt.get("type")),
        "predicate_type": ctx.predicate_type,
        "subjects": to_json(as_list(stmt.get("subject"))),
        "statement": text if text is not None else to_json(stmt),
        "trusted": ctx.outcome.verified,
        "signer": ctx.outcome.signer,
        "issuer": ctx.outcome.issuer,
        "crawl_date": now.date().isoformat(),
    }


def _bare_sbom(raw: bytes) -> str | None:
    try:
        return sbom.sbom_format(loads(raw, max_bytes=len(raw)))
    except MalformedJSON:
        return None


#: What a run id of one crawl unit names: (project, workflow) of its first verified statement.
RunBinding = dict[str, tuple[str | None, str | None]]


def _bound(outcome: Outcome, runs: RunBinding) -> Outcome:
    """``outcome``, or ``untrusted_signer`` when a verified statement names a run id that an
    earlier verified statement of the same unit names with another project or workflow: the
    rows of one unit name a run by its id, so one unit holds one run per run id."""
    if not outcome.verified:
        return outcome
    claims: Claims = outcome.statement_claims
    if claims.run_id is None:
        return outcome
    mine = (claims.project, claims.workflow)
    first = runs.setdefault(claims.run_id, mine)
    if first == mine:
        return outcome
    return replace(
        outcome,
        status=NOT_VERIFIED,
        reason="untrusted_signer",
        detail=(
            f"signed by {outcome.signer}, but run id {claims.run_id!r} is already run of "
            f"project {first[0]!r} workflow {first[1]!r} in this manifest, and this statement "
            f"names project {mine[0]!r} workflow {mine[1]!r}: one manifest holds one run per "
            "run id"
        ),
    )


def document_rows(
    unit: Unit,
    digest: str,
    raw: bytes | None,
    error: str | None,
    policy: TrustPolicy,
    now: datetime,
    runs: RunBinding | None = None,
) -> Rows:
    """Every row for one document of ``unit``. Never raises on bad content. ``runs``: the run
    ids the unit's earlier documents named (see :func:`_bound`)."""
    rows = Rows()
    if raw is None:
        outcome = Outcome(NOT_VERIFIED, "malformed", error or "document unreadable")
    else:
        outcome = _bound(verify_or_record(raw, policy, now), {} if runs is None else runs)
    fmt, detail = outcome.format, outcome.detail
    sbom_kind = _bare_sbom(raw) if raw is not None and outcome.statement is None else None
    if sbom_kind is not None:
        outcome = Outcome(
            NOT_VERIFIED,
            UNSIGNED,
            f"a bare {sbom_kind} SBOM is unsigned: its components are recorded, never trusted",
        )
        fmt, detail = sbom_kind.lower(), outcome.detail
    statement_digest = sha256_of(outcome.payload) if outcome.payload is not None else None
    ctx = Context(unit.key, digest, unit.source, outcome, statement_digest, unit.evidence)
    if outcome.statement is not None:
        if outcome.verified:
            try:
                rows.extend(normalise(ctx))
            except Exception as exc:  # a normaliser bug: nothing of the document is trusted
                rows = Rows()
                detail = "signature verified; " + internal_error("its normaliser", exc)
                outcome = replace(outcome, status=NOT_VERIFIED, reason=INTERNAL_ERROR)
                ctx = replace(ctx, outcome=outcome)
        rows.add("attestations", _attestation(ctx, fmt, now))
    elif outcome.link is not None:
        rows.extend(link_rows(ctx, outcome.link))
    elif sbom_kind is not None and raw is not None:
        rows.extend(sbom.sbom_rows(ctx, raw, carrier="document", trusted=False))
    rows.add("verifications", _verification(ctx, now, fmt, detail, policy))
    return rows


def inspect_unit(unit: Unit, policy: TrustPolicy, now: datetime) -> Rows:
    """Verify and normalise every document of one unit (or read a published contract or
    inventory, which has none). Never raises on bad content. ``now`` is when the crawl saw
    the unit, unless the unit says when the lake first saw it (``Unit.seen_at``)."""
    now = unit.seen_at or now
    if unit.published is not None:
        return published_rows(unit, policy, now)
    rows = Rows()
    if unit.error is not None:
        outcome = Outcome(NOT_VERIFIED, "malformed", unit.error)
        ctx = Context(unit.key, unit.key, unit.source, outcome)
        rows.add("verifications", _verification(ctx, now, None, unit.error, policy))
        return rows
    runs: RunBinding = {}
    for doc in unit.documents:
        rows.extend(document_rows(unit, doc.digest, doc.raw, doc.error, policy, now, runs))
    return rows

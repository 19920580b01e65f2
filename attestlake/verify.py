"""Verification: the outcome of checking one envelope against a trust policy.

Every envelope gets an :class:`Outcome`: ``verified``, or ``not_verified`` with a reason
category (see :data:`REASONS`) and a detail. The signer and key id are recorded either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from attestlake.dsse import Envelope
from attestlake.errors import ContentError
from attestlake.keys import verify_signature
from attestlake.trust import TrustPolicy

VERIFIED = "verified"
NOT_VERIFIED = "not_verified"
REASONS = ("bad_signature", "untrusted_signer", "no_trust_material", "unsupported", "malformed")


@dataclass(frozen=True)
class Outcome:
    status: str
    reason: str | None = None
    detail: str | None = None
    signer: str | None = None
    key_id: str | None = None
    predicate_type: str | None = None
    statement: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    #: The document's format: "dsse", "sigstore-bundle-v0.1" ... "sigstore-bundle-v0.3",
    #: "statement" (a bare, unsigned in-toto statement) or None when unknown.
    format: str | None = None
    #: OIDC issuer of a keyless (Sigstore) signer.
    issuer: str | None = None
    #: The exact signed payload bytes (the in-toto statement as signed), when readable.
    payload: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def verified(self) -> bool:
        return self.status == VERIFIED


def _scope(statement: dict[str, Any] | None) -> tuple[str | None, str | None]:
    predicate = (statement or {}).get("predicate")
    wf = predicate.get("workflow") if isinstance(predicate, dict) else None
    if not isinstance(wf, dict):
        return None, None
    return wf.get("project"), wf.get("name")


def verify_envelope(raw: bytes, policy: TrustPolicy) -> Outcome:
    """Verify DSSE envelope bytes against ``policy``. Never raises on bad input."""
    try:
        envelope = Envelope.parse(raw)
    except ContentError as exc:
        return Outcome(NOT_VERIFIED, "malformed", str(exc))
    statement: dict[str, Any] | None
    try:
        statement = envelope.statement()
        predicate_type: str | None = statement["predicateType"]
    except ContentError as exc:
        statement, predicate_type = None, None
        if envelope.payload_type == "application/vnd.in-toto+json":
            return Outcome(NOT_VERIFIED, "malformed", str(exc))
    if not envelope.signatures:
        return Outcome(
            NOT_VERIFIED,
            "no_trust_material",
            "envelope has no signatures",
            predicate_type=predicate_type,
            statement=statement,
        )
    if policy.empty:
        return Outcome(
            NOT_VERIFIED,
            "no_trust_material",
            "the trust policy has no keys",
            predicate_type=predicate_type,
            statement=statement,
        )
    message = envelope.pae()
    project, workflow = _scope(statement)
    first_kid = envelope.signatures[0].keyid or None
    out_of_scope: Outcome | None = None
    for sig in envelope.signatures:
        for trusted in policy.keys:
            if not verify_signature(trusted.key, message, sig.sig):
                continue
            if not trusted.allows(project, workflow):
                out_of_scope = out_of_scope or Outcome(
                    NOT_VERIFIED,
                    "untrusted_signer",
                    f"signed by {trusted.path}, which is not trusted for project {project!r} "
                    f"workflow {workflow!r}",
                    signer=trusted.path,
                    key_id=trusted.key_id,
                    predicate_type=predicate_type,
                    statement=statement,
                )
                continue
            if statement is None:
                return Outcome(
                    NOT_VERIFIED,
                    "unsupported",
                    f"signature is valid but payload type {envelope.payload_type!r} is not an "
                    "in-toto statement",
                    signer=trusted.path,
                    key_id=trusted.key_id,
                )
            return Outcome(
                VERIFIED, None, None, trusted.path, trusted.key_id, predicate_type, statement
            )
    if out_of_scope is not None:
        return out_of_scope
    named = next(
        (policy.key_by_id(s.keyid) for s in envelope.signatures if policy.key_by_id(s.keyid)), None
    )
    if named is not None:
        return Outcome(
            NOT_VERIFIED,
            "bad_signature",
            f"signature does not verify with {named.path} (the content was changed after signing, or the signature is corrupt)",
            signer=named.path,
            key_id=named.key_id,
            predicate_type=predicate_type,
            statement=statement,
        )
    return Outcome(
        NOT_VERIFIED,
        "untrusted_signer",
        f"no trusted key verifies the signature (key id {first_kid or 'not given'})",
        key_id=first_kid,
        predicate_type=predicate_type,
        statement=statement,
    )


def verify_document(raw: bytes, policy: TrustPolicy) -> Outcome:
    """Verify one JSON document of any supported format against ``policy``.

    Formats: a DSSE envelope, a Sigstore bundle (v0.1-v0.3), or a bare in-toto statement
    (recorded, never trusted). Never raises on bad input: a malformed document is an outcome.
    """
    return verify_envelope(raw, policy)

"""The outcome of checking one attestation document: ``verified``, or ``not_verified`` with a
reason category (see :data:`REASONS`) and a detail; what every verdict on an envelope shares;
and the scope check that a valid signature must pass too."""

from __future__ import annotations

import functools
import logging
import os
import traceback
from dataclasses import dataclass, field, replace
from typing import Any

from attestlake._internal.untrusted_json import MalformedJSON, loads
from attestlake.errors import ContentError
from attestlake.intoto.claims import Claims, statement_claims
from attestlake.intoto.dsse import INTOTO_PAYLOAD_TYPE, MAX_ENVELOPE_SIZE, Envelope, as_statement
from attestlake.intoto.links import DSSE_LINK_FORMAT, Link, is_link, parse_link
from attestlake.redaction import redact
from attestlake.verify.trust import TrustedIdentity, TrustedKey
from attestlake.verify.x509_trust import CertificateSigner

VERIFIED = "verified"
NOT_VERIFIED = "not_verified"
INTERNAL_ERROR = "internal_error"
REVOKED = "revoked"
REASONS = (
    "bad_signature",
    "untrusted_signer",
    REVOKED,
    "no_trust_material",
    "unsupported",
    "malformed",
    INTERNAL_ERROR,
)
#: Set to ``1`` to raise a verifier's or normaliser's unexpected exception instead of recording
#: it as ``internal_error`` (the test suite runs this way, so a bug cannot pass as an outcome).
STRICT_ENV = "ATTESTLAKE_STRICT"

_log = logging.getLogger("attestlake")


@dataclass(frozen=True)
class Outcome:
    status: str
    reason: str | None = None
    detail: str | None = None
    #: Who signed: the policy path of a key, or the certificate identity (SAN) of a keyless
    #: signer; recorded whether or not the signer is trusted.
    signer: str | None = None
    #: A key's id (``sha256:<SPKI hash>``, or the envelope's keyid when no policy key has it).
    key_id: str | None = None
    predicate_type: str | None = None
    statement: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    #: The document's format: "dsse", "sigstore-bundle-v0.1" ... "sigstore-bundle-v0.3",
    #: "cosign-legacy-att", "pep740-attestation", "pypi-provenance", "npm-attestation",
    #: "statement" (a bare, unsigned in-toto statement) or None (the table in
    #: ``docs/trust-policy.md`` lists them all).
    format: str | None = None
    #: OIDC issuer of a keyless (Sigstore) signer.
    issuer: str | None = None
    #: The exact signed payload bytes (the in-toto statement as signed), when readable.
    payload: bytes | None = field(default=None, compare=False, repr=False)
    #: The in-toto link the document holds instead of a statement (never trusted unless
    #: verified).
    link: Link | None = field(default=None, compare=False, repr=False)
    #: What the document says of its project and workflow outside its statement, as its
    #: certificate confirms it (a PyPI Trusted Publisher's repository and workflow); None
    #: when the statement's own claims are the only ones.
    claims: Claims | None = field(default=None, compare=False, repr=False)

    @property
    def verified(self) -> bool:
        return self.status == VERIFIED

    @functools.cached_property
    def statement_claims(self) -> Claims:
        """The claims of :attr:`statement` (read once: the verdict and every normaliser
        of the statement ask for them)."""
        return statement_claims(self.statement)


def internal_error(what: str, exc: Exception) -> str:
    """The detail recorded when ``what`` (the verifier, a normaliser, a parser) raised ``exc``
    on one document: a bug in attestlake, never a verdict on the document. The traceback is
    logged (redacted). Under ``ATTESTLAKE_STRICT=1`` the exception is raised again instead."""
    if os.environ.get(STRICT_ENV) == "1":
        raise exc
    trace = "".join(traceback.format_exception(exc))
    _log.error("attestlake bug: %s failed on one document:\n%s", what, redact(trace))
    return redact(
        f"{what} failed (a bug in attestlake, please report it): {type(exc).__name__}: {exc}"
    )


def _predicate_type(obj: Any) -> str | None:
    value = obj.get("predicateType") if isinstance(obj, dict) else None
    return value if isinstance(value, str) else None


def _loose_predicate_type(payload: bytes) -> str | None:
    try:
        return _predicate_type(loads(payload, max_bytes=len(payload)))
    except MalformedJSON:
        return None


def envelope_base(envelope: Envelope, fmt: str) -> Outcome:
    """What every verdict on ``envelope`` shares; ``malformed`` already when the in-toto
    payload is neither a statement nor a link. A link in a plain DSSE envelope is recorded
    with the format ``in-toto-link-dsse``. The payload is parsed once."""
    base = Outcome(NOT_VERIFIED, format=fmt, payload=envelope.payload)
    if envelope.payload_type != INTOTO_PAYLOAD_TYPE:
        return base
    try:
        obj = loads(envelope.payload, max_bytes=MAX_ENVELOPE_SIZE, what="payload")
    except MalformedJSON as exc:
        loose = _loose_predicate_type(envelope.payload)
        return replace(base, reason="malformed", detail=str(exc), predicate_type=loose)
    if is_link(obj):
        base = replace(base, format=DSSE_LINK_FORMAT if fmt == "dsse" else fmt)
        try:
            return replace(base, link=parse_link(obj))
        except ContentError as exc:
            return replace(base, reason="malformed", detail=str(exc))
    try:
        statement = as_statement(obj)
    except ContentError as exc:
        return replace(
            base, reason="malformed", detail=str(exc), predicate_type=_predicate_type(obj)
        )
    return replace(base, statement=statement, predicate_type=statement["predicateType"])


def scope_refusal(
    signer: str, trusted: TrustedKey | TrustedIdentity | CertificateSigner, claims: Claims
) -> str | None:
    """Why a valid signature by ``trusted`` does not make the statement verified (its claims
    disagree, or name a project or workflow outside the signer's scope); None if it does."""
    if claims.conflict is not None:
        return (
            f"signed by {signer}, but the statement's claims disagree: {claims.conflict}; "
            "a statement must name one run, workflow and project"
        )
    if not trusted.allows(claims.project, claims.workflow):
        return (
            f"signed by {signer}, which the policy trusts only for {trusted.scope()}; this "
            f"statement names project {claims.project!r} workflow {claims.workflow!r}"
        )
    return None

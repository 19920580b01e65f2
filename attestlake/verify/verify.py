"""Verification: the outcome of checking one attestation document against a trust policy.

Every envelope gets an :class:`Outcome`: ``verified``, or ``not_verified`` with a reason
category (see :data:`REASONS`) and a detail. The signer, issuer and key id are recorded either
way, and so is the statement whenever it can be read (never trusted unless verified).
:func:`verify_document` takes any supported format (see :mod:`attestlake.intoto.bundles`); DSSE
envelopes are verified with the policy's keys here, Sigstore bundles in :mod:`attestlake.verify.keyless`.
The reasons and their order are documented in ``docs/trust-policy.md``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from attestlake._internal.regular_files import shown
from attestlake.errors import ContentError, InputError
from attestlake.intoto.bundles import (
    Document,
    UnsupportedDocument,
    parse_document,
    read_documents,
    statement_predicate_type,
)
from attestlake.intoto.claims import statement_claims
from attestlake.intoto.dsse import Envelope, Signature
from attestlake.intoto.links import METABLOCK_LINK_FORMAT, Metablock
from attestlake.intoto.pep740 import ATTESTATION_FORMAT, PROVENANCE_FORMAT
from attestlake.signing.keys import verify_signature
from attestlake.verify.outcome import (
    INTERNAL_ERROR,
    NOT_VERIFIED,
    REVOKED,
    VERIFIED,
    Outcome,
    envelope_base,
    internal_error,
    scope_refusal,
)
from attestlake.verify.trust import TrustedKey, TrustPolicy, read_policy, revoked_since
from attestlake.verify.x509_envelope import verify_x509_signatures


def load_policy(path: Path | str) -> TrustPolicy:
    """Read and check a trust policy; the Sigstore trusted root is loaded here when needed."""
    policy = read_policy(path)
    declared = policy.declared.identities if policy.declared else ()
    if policy.identities or declared:
        from attestlake.verify.sigstore_trust import sigstore_trust  # imports sigstore

        for root in policy.roots:  # fail now on an unusable root, not once per envelope
            sigstore_trust(root.source)
    return policy


def _candidates(policy: TrustPolicy, keyid: str) -> list[TrustedKey]:
    """The policy's keys, the one the signature names first (a keyid is only a hint)."""
    named = policy.key_by_id(keyid)
    return [named, *(k for k in policy.keys if k is not named)] if named else list(policy.keys)


def verify_dsse(
    envelope: Envelope, policy: TrustPolicy, fmt: str = "dsse", seen_at: datetime | None = None
) -> Outcome:
    """Verify a parsed DSSE envelope with the policy's keys. A key signature carries no
    trustworthy time: ``seen_at`` (when the lake first saw the envelope; default now) bounds
    when it was made, for the keys the policy revokes after a date."""
    base = envelope_base(envelope, fmt)
    if base.reason:
        return base
    what = f"payload type {envelope.payload_type!r}"
    keyed = functools.partial(
        _verify_signatures, base, envelope.pae(), envelope.signatures, policy, seen_at, what
    )
    if not any(s.certificate is not None for s in envelope.signatures):
        return keyed()
    # signed with X.509 certificates (in-toto witness): the policy's x509 roots judge them;
    # a key of the policy may still verify a signature (as go-witness tries its keys too)
    certified = verify_x509_signatures(base, envelope, policy, seen_at)
    if certified.verified or not policy.keys:
        return certified
    by_key = keyed()
    if by_key.verified:
        return by_key
    # a refusal naming a policy key says more, when the policy has no x509 section
    return by_key if policy.x509 is None and by_key.signer is not None else certified


def verify_metablock(block: Metablock, policy: TrustPolicy, seen_at: datetime | None) -> Outcome:
    """Verify an in-toto metablock link with the policy's keys: each signature is over the
    canonical JSON of the link (see :func:`verify_dsse` for ``seen_at``)."""
    base = Outcome(NOT_VERIFIED, format=METABLOCK_LINK_FORMAT, payload=block.signed)
    base = replace(base, link=block.link)
    return _verify_signatures(base, block.signed, block.signatures, policy, seen_at, "a link")


def _verify_signatures(
    base: Outcome,
    message: bytes,
    signatures: tuple[Signature, ...],
    policy: TrustPolicy,
    seen_at: datetime | None,
    what: str,
) -> Outcome:
    """The outcome of key signatures over ``message`` (a DSSE PAE or a metablock's signed
    bytes); ``what`` the payload names it, should it be neither a statement nor a link."""

    def no(reason: str, detail: str, key: TrustedKey | None = None) -> Outcome:
        signer, kid = (key.path, key.key_id) if key else (None, None)
        return replace(base, reason=reason, detail=detail, signer=signer, key_id=kid)

    if not signatures:
        return no("no_trust_material", "the envelope has no signatures")
    if not policy.keys:
        return no("no_trust_material", "the trust policy has no keys to verify a DSSE envelope")
    claims = statement_claims(base.statement)
    out_of_scope: Outcome | None = None
    for sig in signatures:
        for trusted in _candidates(policy, sig.keyid):
            if not verify_signature(trusted.key, message, sig.sig):
                continue
            refusal = scope_refusal(trusted.path, trusted, claims)
            if refusal is not None:
                out_of_scope = out_of_scope or no("untrusted_signer", refusal, trusted)
                continue
            revoked = revoked_since(trusted, seen_at or datetime.now(UTC))
            if revoked is not None:
                return no(
                    REVOKED,
                    f"signed by {trusted.path}, which the policy has {revoked}; this envelope was "
                    f"first seen at {(seen_at or datetime.now(UTC)).isoformat()}, and a key "
                    "signature carries no time of its own",
                    trusted,
                )
            if base.statement is None and base.link is None:
                return no(
                    "unsupported",
                    f"the signature is valid but {what} is not an in-toto statement",
                    trusted,
                )
            return replace(base, status=VERIFIED, signer=trusted.path, key_id=trusted.key_id)
    if out_of_scope is not None:
        return out_of_scope
    return _unverified(base, signatures, policy, no)


def _unverified(
    base: Outcome,
    signatures: tuple[Signature, ...],
    policy: TrustPolicy,
    no: Callable[[str, str], Outcome],
) -> Outcome:
    """Why no policy key verifies any signature: the key a signature names (a bad
    signature), an unknown key (an untrusted signer), or no key named at all."""
    for sig in signatures:
        named = policy.key_by_id(sig.keyid)
        if named is not None:
            return replace(
                no(
                    "bad_signature",
                    f"the signature does not verify with {named.path}, the key it names (the "
                    "content was changed after signing, or the signature is corrupt)",
                ),
                signer=named.path,
                key_id=named.key_id,
            )
    kid = next((s.keyid for s in signatures if s.keyid), None)
    if kid:
        return replace(
            no(
                "untrusted_signer",
                f"no key of the trust policy verifies the signature of key {kid}",
            ),
            key_id=kid,
        )
    return no(
        "no_trust_material",
        "the signature names no key (empty keyid) and no key of the trust policy verifies it: "
        "nothing identifies the signer",
    )


def verify_envelope(raw: bytes, policy: TrustPolicy) -> Outcome:
    """Verify DSSE envelope bytes against ``policy``. Never raises on bad input."""
    try:
        envelope = Envelope.parse(raw)
    except ContentError as exc:
        return Outcome(NOT_VERIFIED, "malformed", str(exc), format="dsse")
    return verify_dsse(envelope, policy)


def verify_document(raw: bytes, policy: TrustPolicy, seen_at: datetime | None = None) -> Outcome:
    """Verify one JSON document of any supported format against ``policy``.

    Formats: a DSSE envelope, a Sigstore bundle (v0.1-v0.3), a cosign legacy attestation
    layer, an in-toto link, a PEP 740 attestation (or PyPI provenance object of one), one
    attestation of npm's attestations endpoint, or a bare in-toto statement (recorded, never
    trusted). Never raises on bad input: a malformed document is an outcome.
    ``seen_at``: when the document was first seen (see :func:`verify_dsse`).
    """
    try:
        doc = parse_document(raw)
    except UnsupportedDocument as exc:
        return Outcome(NOT_VERIFIED, "unsupported", str(exc), format=exc.format)
    except ContentError as exc:
        return Outcome(NOT_VERIFIED, "malformed", str(exc))
    if doc.statement is not None:
        return Outcome(
            NOT_VERIFIED,
            "no_trust_material",
            "a bare in-toto statement is unsigned: recorded for inspection, never trusted",
            predicate_type=statement_predicate_type(doc.statement),
            statement=doc.statement,
            format=doc.format,
            payload=raw,
        )
    if doc.cosign is not None:
        if doc.cosign.certificate is None:  # key-signed
            return verify_dsse(doc.cosign.envelope, policy, doc.format, seen_at)
        from attestlake.verify.cosign_att import verify_cosign_layer  # imports sigstore

        return verify_cosign_layer(doc.cosign, policy)
    if doc.metablock is not None:
        return verify_metablock(doc.metablock, policy, seen_at)
    if doc.bundle is not None:
        return _verify_bundle_document(doc, policy, seen_at)
    assert doc.envelope is not None
    return verify_dsse(doc.envelope, policy, doc.format, seen_at)


def _verify_bundle_document(
    doc: Document, policy: TrustPolicy, seen_at: datetime | None
) -> Outcome:
    """A Sigstore bundle, or a document read as one (PEP 740, npm); ``seen_at`` as for
    :func:`verify_dsse`, for a key-signed one."""
    bundle = doc.bundle
    assert bundle is not None
    if bundle.envelope is not None and bundle.certificate is None:
        return verify_dsse(bundle.envelope, policy, doc.format, seen_at)  # key-signed
    if doc.format in (ATTESTATION_FORMAT, PROVENANCE_FORMAT):
        from attestlake.verify.pep740 import verify_pep740  # imports sigstore

        return verify_pep740(doc, policy)
    from attestlake.verify.keyless import verify_bundle  # sigstore is imported on first use

    return replace(verify_bundle(bundle, policy), format=doc.format)


@dataclass(frozen=True)
class SourcedOutcome:
    """The outcome of one document of a file: ``source`` is the path, ``path:N`` for line N of
    a JSON Lines file."""

    source: str
    outcome: Outcome
    #: The file could not be read (missing, not a regular file, too large): the outcome's
    #: detail says why.
    unreadable: bool = False

    def to_json(self) -> dict[str, str | None]:
        o = self.outcome
        return {
            "source": self.source,
            "status": o.status,
            "reason": o.reason,
            "detail": o.detail,
            "signer": o.signer,
            "issuer": o.issuer,
            "key_id": o.key_id,
            "predicate_type": o.predicate_type,
            "format": o.format,
        }


def verify_or_record(raw: bytes, policy: TrustPolicy, seen_at: datetime | None = None) -> Outcome:
    """:func:`verify_document`, with a bug in the verifier recorded as an ``internal_error``
    outcome (see :func:`~attestlake.verify.outcome.internal_error`): one document's failure
    never hides the others' outcomes."""
    try:
        return verify_document(raw, policy, seen_at)
    except Exception as exc:
        return Outcome(NOT_VERIFIED, INTERNAL_ERROR, internal_error("the verifier", exc))


def verify_files(paths: Iterable[Path], policy: TrustPolicy) -> Iterator[SourcedOutcome]:
    """Every document of every file, verified. A file that cannot be read (missing, not a
    regular file, too large) is one ``malformed`` outcome; the other files are still read."""
    for path in paths:
        try:
            for source, raw in read_documents(path):
                yield SourcedOutcome(source, verify_or_record(raw, policy))
        except InputError as exc:
            outcome = Outcome(NOT_VERIFIED, "malformed", str(exc))
            yield SourcedOutcome(shown(path), outcome, unreadable=True)

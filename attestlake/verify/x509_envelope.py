"""DSSE envelopes signed with X.509 certificates, as in-toto witness signs them (go-witness
``dsse/verify.go``): each signature object carries its signing certificate, the
intermediates of its chain and RFC 3161 timestamps over the signature bytes. A signature is
verified, against the policy's ``x509`` section (:mod:`attestlake.verify.x509_trust`), when

1. its timestamps are checked: with ``timestamp_authorities`` in the policy, at least one
   timestamp must be by one of them (:mod:`attestlake.verify.timestamps`), and the times they
   state are the times the chain is checked at; without, the chain is checked now, and the
   timestamps are not used (as go-witness does without timestamp verifiers);
2. the certificate chains to an x509 root of the policy at one of those times
   (:mod:`attestlake.verify.x509_chain`);
3. the signature over the DSSE PAE verifies with the certificate's key;
4. the certificate is a signer of the policy trusted under that root (its constraints), in
   scope, and not revoked at the time of the signature (the trusted timestamp, else when the
   lake first saw the envelope).

One verified signature is enough (go-witness's default threshold). Every failure is its own
outcome; none depends on another library's error message.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from attestlake.errors import ContentError
from attestlake.intoto.certificates import spki_id, with_readable_names
from attestlake.intoto.claims import statement_claims
from attestlake.intoto.dsse import MAX_INTERMEDIATES, Envelope, Signature
from attestlake.signing.keys import verify_signature
from attestlake.verify.outcome import NOT_VERIFIED, REVOKED, VERIFIED, Outcome, scope_refusal
from attestlake.verify.timestamps import TrustedTime, trusted_times
from attestlake.verify.trust import TrustPolicy, revoked_since
from attestlake.verify.x509_chain import Chained, name, verify_chain
from attestlake.verify.x509_trust import CertificateNames, X509Trust

Refusal = tuple[str, str]


@dataclass(frozen=True)
class _Material:
    leaf: x509.Certificate
    intermediates: tuple[x509.Certificate, ...]
    names: CertificateNames


@dataclass(frozen=True)
class _When:
    """The times a signature's chain is checked at, and how the detail tells them."""

    times: list[datetime]
    text: str
    stamps: tuple[TrustedTime, ...] = ()


def _certificates(data: bytes, what: str) -> tuple[x509.Certificate, ...]:
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            certs = tuple(x509.load_pem_x509_certificates(data))
        else:
            certs = (x509.load_der_x509_certificate(data),)
    except (ValueError, x509.InvalidVersion) as exc:
        raise ContentError(f"{what} is not a PEM or DER X.509 certificate: {exc}") from None
    return tuple(with_readable_names(c, what) for c in certs)


def _material(sig: Signature) -> _Material:
    assert sig.certificate is not None
    leaf = _certificates(sig.certificate, "the signature's certificate")
    if len(leaf) != 1:
        raise ContentError(
            f"the signature's certificate holds {len(leaf)} certificates: it is the one signing "
            "certificate (its chain goes in intermediates)"
        )
    chain = tuple(
        c
        for i, data in enumerate(sig.intermediates)
        for c in _certificates(data, f"the signature's intermediate {i + 1}")
    )
    if len(chain) > MAX_INTERMEDIATES:
        raise ContentError(
            f"the signature carries {len(chain)} intermediate certificates, over {MAX_INTERMEDIATES}"
        )
    try:
        names = CertificateNames.of(leaf[0])
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as exc:
        raise ContentError(f"the signature's certificate names cannot be read: {exc}") from None
    return _Material(leaf[0], chain, names)


def _when(sig: Signature, trust: X509Trust) -> _When | Refusal:
    if not trust.authorities:
        now = datetime.now(UTC)
        return _When(
            [now],
            f"now ({now.isoformat()}; the trust policy names no timestamp_authorities, so "
            "certificates are checked at the current time)",
        )
    stamps = trusted_times(sig.timestamps, sig.sig, trust.authorities)
    if isinstance(stamps, tuple):
        return stamps
    shown = ", ".join(f"{s.at.isoformat()} by {s.authority}" for s in stamps)
    return _When([s.at for s in stamps], f"at the time of its trusted timestamps ({shown})",
                 tuple(stamps))  # fmt: skip


def _signature_refusal(leaf: x509.Certificate, message: bytes, sig: bytes) -> Refusal | None:
    key = leaf.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey):
        return "unsupported", f"the certificate's key type {type(key).__name__} is not supported"
    if verify_signature(key, message, sig):
        return None
    return "bad_signature", (
        f"the signature does not verify with the key of the certificate {name(leaf)} (the "
        "content was changed after signing, or the signature is corrupt)"
    )


def _signed_at(chained: Chained, when: _When, seen_at: datetime | None) -> tuple[datetime, str]:
    """When the signature was made, for revocation: its trusted timestamp, else when the
    lake first saw the envelope."""
    if when.stamps:
        stamp = next((s for s in when.stamps if s.at == chained.at), when.stamps[0])
        return stamp.at, f"it was made at {stamp.at.isoformat()} (a timestamp by {stamp.authority})"
    at = seen_at or datetime.now(UTC)
    return at, f"this envelope was first seen at {at.isoformat()} and carries no trusted timestamp"


def _identity_refusal(
    material: _Material,
    chained: Chained,
    trust: X509Trust,
    base: Outcome,
    signed: tuple[datetime, str],
) -> Refusal | None:
    """Step 4: the certificate is a signer of the policy under its root, in scope, and not
    revoked at ``signed`` (the time, and how the detail says it)."""
    root, who = chained.root, material.names.identity
    candidates = [s for s in trust.signers if root.name in s.roots]
    matching = [s for s in candidates if s.mismatch(material.names) is None]
    if not matching:
        why = candidates[0].mismatch(material.names) if len(candidates) == 1 else None
        return "untrusted_signer", (
            f"the certificate {who} is certified by the x509 root {root.name}, but it is not a "
            f"signer of the trust policy trusted under it{f' ({why})' if why else ''}"
        )
    claims = statement_claims(base.statement)
    out_of_scope: str | None = None
    for signer in matching:
        refusal = scope_refusal(who, signer, claims)
        if refusal is not None:
            out_of_scope = out_of_scope or refusal
            continue
        revoked = revoked_since(signer, signed[0])
        if revoked is not None:
            return REVOKED, f"signed by {who}, which the policy has {revoked}; {signed[1]}"
        return None
    assert out_of_scope is not None
    return "untrusted_signer", out_of_scope


def _signature_outcome(
    base: Outcome, message: bytes, sig: Signature, policy: TrustPolicy, seen_at: datetime | None
) -> Outcome:
    try:
        material = _material(sig)
    except ContentError as exc:
        return replace(base, reason="malformed", detail=str(exc))
    leaf = material.leaf
    base = replace(
        base,
        signer=material.names.identity,
        issuer=leaf.issuer.rfc4514_string(),
        key_id=spki_id(leaf),
    )

    def no(refusal: Refusal) -> Outcome:
        return replace(base, status=NOT_VERIFIED, reason=refusal[0], detail=refusal[1])

    trust = policy.x509
    if trust is None:
        return no(("no_trust_material", (
            f"the envelope is signed with an X.509 certificate (issued by "
            f"{leaf.issuer.rfc4514_string()}), and the trust policy has no x509 roots"
        )))  # fmt: skip
    when = _when(sig, trust)
    if isinstance(when, tuple):
        return no(when)
    chained = verify_chain(leaf, material.intermediates, trust.roots, when.times, when.text)
    if isinstance(chained, tuple):
        return no(chained)
    base = replace(base, issuer=chained.root.certificate.subject.rfc4514_string())
    refusal = _signature_refusal(leaf, message, sig.sig)
    refusal = refusal or _identity_refusal(
        material, chained, trust, base, _signed_at(chained, when, seen_at)
    )
    if refusal is None and base.statement is None and base.link is None:
        refusal = (
            "unsupported",
            "the signature is valid but the payload is not an in-toto statement",
        )
    if refusal is not None:
        return no(refusal)
    detail = f"certificate chain to the x509 root {chained.root.label}, checked {when.text}"
    return replace(base, status=VERIFIED, detail=detail)


def verify_x509_signatures(
    base: Outcome, envelope: Envelope, policy: TrustPolicy, seen_at: datetime | None
) -> Outcome:
    """The outcome of the envelope's X.509 signatures: the first that verifies, else the
    refusal of the first (``base``: what every verdict on the envelope shares)."""
    message = envelope.pae()
    refused: Outcome | None = None
    for sig in envelope.signatures:
        if sig.certificate is None:
            continue
        outcome = _signature_outcome(base, message, sig, policy, seen_at)
        if outcome.verified:
            return outcome
        refused = refused or outcome
    assert refused is not None, "an envelope without X.509 signatures"
    return refused

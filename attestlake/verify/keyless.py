"""Sigstore keyless verification of a bundle, offline, against the policy's pinned trusted roots.

sigstore-python checks the cryptography (certificate chain at signing time, SCT, transparency
log inclusion proof and promise, the DSSE signature, log entry consistency) with a
verification policy that accepts any identity; the certificate's identity (SAN) and OIDC issuer
are then matched against the trust policy here. So a valid signature by an identity that the
policy does not list is reported as what it is: an impersonation (``untrusted_signer``), with
the identity and issuer recorded, rather than as a bad signature. With several trusted roots
(:mod:`attestlake.verify.roots`), the bundle is checked under each root whose CA issued its
certificate, and its identity must be trusted under one it verifies under.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from sigstore.errors import CertValidationError, VerificationError
from sigstore.errors import Error as SigstoreError
from sigstore.models import Bundle, IncompatibleEntry

from attestlake.errors import TrustPolicyError
from attestlake.intoto.bundles import SigstoreBundle
from attestlake.intoto.certificates import spki_id
from attestlake.intoto.claims import statement_claims
from attestlake.verify.fulcio_rekor import issued_by
from attestlake.verify.legacy_entry import legacy_entry_refusal
from attestlake.verify.outcome import (
    NOT_VERIFIED,
    REVOKED,
    VERIFIED,
    Outcome,
    envelope_base,
    scope_refusal,
)
from attestlake.verify.roots import SigstoreRoot
from attestlake.verify.sigstore_trust import SigstoreTrust, sigstore_trust
from attestlake.verify.trust import TrustPolicy, revoked_since

_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
_USERNAME = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.7")
#: What hostile bundles can make sigstore-python or cryptography raise (reported as malformed).
_REJECTED = (
    SigstoreError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    UnsupportedAlgorithm,
    InvalidSignature,
    x509.UnsupportedGeneralNameType,
)


def _der_utf8(data: bytes) -> str | None:
    """The text of a DER UTF8String (how Fulcio encodes its newer extensions)."""
    if len(data) < 2 or data[0] != 0x0C:
        return None
    length, offset = data[1], 2
    if length & 0x80:
        size = length & 0x7F
        if not 0 < size <= 4 or len(data) < 2 + size:
            return None
        length, offset = int.from_bytes(data[2 : 2 + size], "big"), 2 + size
    if len(data) != offset + length:
        return None
    try:
        return data[offset:].decode()
    except UnicodeDecodeError:
        return None


def _extension_bytes(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> bytes | None:
    try:
        value = cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None
    return value.value if isinstance(value, x509.UnrecognizedExtension) else None


def fulcio_extension(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str | None:
    """The text of one of Fulcio's (DER UTF8String) extensions, None when absent or not one."""
    try:
        value = _extension_bytes(cert, oid)
    except (ValueError, x509.DuplicateExtension):
        return None
    return _der_utf8(value) if value is not None else None


def certificate_identity(cert: x509.Certificate) -> tuple[str | None, str | None]:
    """(identity, OIDC issuer) of a Fulcio certificate: the SAN URI, email or username."""
    try:
        subject = None
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names: list[str] = [
                *san.get_values_for_type(x509.UniformResourceIdentifier),
                *san.get_values_for_type(x509.RFC822Name),
                *(
                    _der_utf8(o.value) or o.value.decode(errors="replace")
                    for o in san.get_values_for_type(x509.OtherName)
                    if o.type_id == _USERNAME
                ),
            ]
            subject = names[0] if names else None
        except x509.ExtensionNotFound:
            pass
        v2, v1 = _extension_bytes(cert, _ISSUER_V2), _extension_bytes(cert, _ISSUER_V1)
        issuer = _der_utf8(v2) if v2 else (v1.decode(errors="replace") if v1 else None)
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType):
        return None, None
    return subject, issuer


class _AnyIdentity:
    """A sigstore-python verification policy that accepts every identity: attestlake matches
    the identity against the trust policy after the cryptographic checks."""

    def verify(self, cert: x509.Certificate) -> None:
        return None


def check_signature(trust: SigstoreTrust, raw: bytes) -> tuple[str, str] | None:
    """None if sigstore-python verifies the bundle's cryptography, else (reason, detail)."""
    try:
        bundle = Bundle.from_json(raw)
    except IncompatibleEntry as exc:
        return "unsupported", f"sigstore-python cannot verify this log entry: {exc}"
    except _REJECTED as exc:
        return "malformed", f"sigstore-python cannot read the bundle: {str(exc).splitlines()[0]}"
    try:
        trust.verifier.verify_dsse(bundle, _AnyIdentity())
    except CertValidationError as exc:
        return "bad_signature", f"certificate chain not valid at signing time: {exc}"
    except VerificationError as exc:  # what it cannot verify is ruled out before (unsupported)
        return "bad_signature", f"Sigstore verification failed: {exc}"
    except _REJECTED as exc:
        return "malformed", f"sigstore-python rejected the bundle: {type(exc).__name__}: {exc}"
    return None


def no_identity(cert: x509.Certificate) -> str:
    """Why a certificate without a SAN has no signer a policy can trust."""
    return (
        f"the certificate (issued by {issued_by(cert)}) names no signer identity (no SAN URI, "
        "email or username): it is not a Sigstore keyless certificate, so no identity of "
        "a trust policy can match it"
    )


def _issuing_roots(
    policy: TrustPolicy, cert: x509.Certificate
) -> list[tuple[SigstoreRoot, SigstoreTrust]]:
    """The policy's roots that name the certificate's issuer as one of their CAs (loaded;
    TrustPolicyError when a root cannot be)."""
    loaded = [(root, sigstore_trust(root.source)) for root in policy.roots]
    return [(root, trust) for root, trust in loaded if trust.issued_by_trusted_ca(cert)]


def _root_names(roots: Iterable[SigstoreRoot | str]) -> str:
    names = [r.name if isinstance(r, SigstoreRoot) else r for r in roots]
    return ", ".join(names)


def _roots_shown(policy: TrustPolicy) -> str:
    """The policy's roots as a detail names them: the only root's file, or their names."""
    if len(policy.roots) == 1:
        return policy.roots[0].source
    return _root_names(policy.roots)


def _ca_note(policy: TrustPolicy, cert: x509.Certificate) -> str:
    if not policy.identities:
        return ""
    try:
        issuing = _issuing_roots(policy, cert)
    except TrustPolicyError:
        return ""
    if len(policy.roots) == 1:
        return " (a CA of the trusted root)" if issuing else " (not a CA of the trusted root)"
    if not issuing:
        return " (not a CA of any trusted root)"
    return f" (a CA of the trusted root {_root_names(r for r, _ in issuing)})"


def verify_bundle(bundle: SigstoreBundle, policy: TrustPolicy) -> Outcome:
    """The outcome of a keyless Sigstore bundle; see ``docs/trust-policy.md`` for the order."""
    cert = bundle.certificate
    if bundle.envelope is None:
        base = Outcome(NOT_VERIFIED, format=bundle.format)
    else:
        base = envelope_base(bundle.envelope, bundle.format)
    subject, issuer = certificate_identity(cert) if cert is not None else (None, None)
    if cert is not None:
        base = replace(base, signer=subject, issuer=issuer, key_id=spki_id(cert))
    if base.reason:  # an in-toto payload that is not a statement
        return base

    def no(reason: str, detail: str) -> Outcome:
        return replace(base, status=NOT_VERIFIED, reason=reason, detail=detail)

    if bundle.envelope is None:
        return no(
            "unsupported",
            "a message-signature bundle signs a file, not an attestation (no DSSE envelope)",
        )
    if cert is None:
        return no("no_trust_material", "the bundle has no certificate")
    if subject is None:
        return no("no_trust_material", no_identity(cert))
    why = bundle.unsupported(tuple(k for r in policy.roots for k in r.legacy_log_entries))
    if why is not None:
        return no(
            "unsupported", f"{why}; certificate issued by {issued_by(cert)}{_ca_note(policy, cert)}"
        )
    refusal = _signer_refusal(bundle, policy, cert, subject, issuer, base.statement)
    if refusal is not None:
        return no(*refusal)
    if base.statement is None and base.link is None:
        return no(
            "unsupported", "the signature is valid but the payload is not an in-toto statement"
        )
    return replace(base, status=VERIFIED, reason=None, detail=None)


def _signer_refusal(
    bundle: SigstoreBundle,
    policy: TrustPolicy,
    cert: x509.Certificate,
    subject: str,
    issuer: str | None,
    statement: dict[str, Any] | None,
) -> tuple[str, str] | None:
    """Why ``policy`` does not trust the signer of a bundle that carries a keyless certificate
    (reason, detail): no identities or trusted root, a CA outside the root, a bad signature,
    an identity the policy does not list or scope; None when it does."""
    if not policy.identities:
        return "no_trust_material", "the trust policy has no Sigstore identities"
    try:
        issuing = _issuing_roots(policy, cert)
    except TrustPolicyError as exc:
        return "no_trust_material", str(exc)
    if not issuing:
        return (
            "untrusted_signer",
            f"the certificate for {subject} is issued by {issued_by(cert)}, which is not a "
            f"certificate authority of the trusted root ({_roots_shown(policy)})",
        )
    under = _verified_under(issuing, bundle)
    if isinstance(under, tuple):
        return under
    return identity_refusal(policy, cert, subject, issuer, statement, under)


def identity_refusal(
    policy: TrustPolicy,
    cert: x509.Certificate,
    subject: str,
    issuer: str | None,
    statement: dict[str, Any] | None,
    under: set[str],
) -> tuple[str, str] | None:
    """Why ``policy`` does not trust the signer of a keyless signature by ``cert`` that is
    valid under the trusted roots named ``under`` (reason, detail): an identity it does not
    list, one trusted under another root, a scope, a revocation; None when it does."""
    matched = [i for i in policy.identities if i.matches(subject, issuer)]
    if not matched:
        return (
            "untrusted_signer",
            f"impersonation: the Sigstore signature is valid, but its signer {subject} "
            f"(issuer {issuer}) is not an identity of the trust policy",
        )
    matched = [i for i in matched if under.intersection(i.roots)]
    if not matched:
        return "untrusted_signer", _other_root(subject, policy, issuer, under)
    claims = statement_claims(statement)
    refusals = [scope_refusal(subject, identity, claims) for identity in matched]
    if all(refusals):
        return "untrusted_signer", str(refusals[0])
    # The certificate was valid for at most ten minutes; the signature is counted as made at
    # the latest moment it allowed.
    signed_by = cert.not_valid_after_utc
    in_scope = [i for i, refusal in zip(matched, refusals, strict=True) if refusal is None]
    revocations = [revoked_since(identity, signed_by) for identity in in_scope]
    if all(revocations):
        return (
            REVOKED,
            f"signed by {subject}, which the policy has {revocations[0]}; the certificate was "
            f"valid until {signed_by.isoformat()}",
        )
    return None


def _verified_under(
    issuing: list[tuple[SigstoreRoot, SigstoreTrust]], bundle: SigstoreBundle
) -> set[str] | tuple[str, str]:
    """The names of the roots (among those whose CA issued the certificate) under which
    the bundle verifies (by sigstore-python, or by attestlake for a legacy log entry); the
    first failure when it verifies under none."""
    under: set[str] = set()
    failure: tuple[str, str] | None = None
    for root, trust in issuing:
        if bundle.legacy_entry is not None:
            result = legacy_entry_refusal(root, trust, bundle)
        else:
            result = check_signature(trust, bundle.raw)
        if result is None:
            under.add(root.name)
        else:
            failure = failure or result
    if under or failure is None:
        return under
    return failure


def _other_root(subject: str, policy: TrustPolicy, issuer: str | None, under: set[str]) -> str:
    """Why a valid signature by a listed identity, made under another root, is not trusted."""
    named: dict[str, None] = {}
    for identity in policy.identities:
        if identity.matches(subject, issuer):
            named.update(dict.fromkeys(identity.roots))
    return (
        f"{subject} (issuer {issuer}) is trusted only under the trusted root "
        f"{_root_names(named)}, and this bundle is signed under {_root_names(sorted(under))}: "
        "a signer trusted under one Sigstore instance is not trusted for what another "
        "instance certifies"
    )
